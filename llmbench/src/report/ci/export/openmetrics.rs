//! OpenMetrics text exposition (`--export openmetrics=PATH`), which
//! Prometheus also reads: histograms with real buckets (`_bucket{le=…}`,
//! `_sum`, `_count`) built from the request records, gauges for the level
//! figures, a counter of requests by outcome, and the closing `# EOF`.
//!
//! Names follow what an OpenTelemetry-to-Prometheus translation makes of
//! the GenAI semantic conventions (`gen_ai.server.time_to_first_token` in
//! seconds becomes `gen_ai_server_time_to_first_token_seconds`), so one
//! dashboard reads both; llmbench's own figures are `llmbench_*`. Every
//! sample carries `bench`, `target`, `level`, `gen_ai_request_model` and
//! `gen_ai_provider_name`.

use std::fmt::Write;

use super::histogram::{Histogram, Measure};
use super::{ExportRun, Series, series};

/// A histogram family: name (with its unit suffix), help, measure.
const HISTOGRAMS: [(&str, &str, Measure); 6] = [
    (
        "gen_ai_server_time_to_first_token_seconds",
        "Time to first token of ok requests (request due to first content chunk), measured by the client.",
        Measure::Ttft,
    ),
    (
        "llmbench_time_to_first_output_seconds",
        "Time to the first answer token of ok requests (after any reasoning), where requests reasoned.",
        Measure::Ttfo,
    ),
    (
        "gen_ai_server_time_per_output_token_seconds",
        "Time per output token after the first of ok requests, measured by the client.",
        Measure::Tpot,
    ),
    (
        "llmbench_inter_token_latency_seconds",
        "Every gap between successive content chunks of ok requests.",
        Measure::Itl,
    ),
    (
        "gen_ai_client_operation_duration_seconds",
        "End-to-end latency of ok requests (request due to end of stream).",
        Measure::E2e,
    ),
    ("gen_ai_client_token_usage", "Tokens per ok request, by gen_ai_token_type.", Measure::OutputTokens),
];

/// A gauge family: name, unit, help, and the level figure.
type Figure = fn(&Series<'_>) -> Option<f64>;
const GAUGES: [(&str, &str, &str, Figure); 6] = [
    ("llmbench_requests_per_second", "", "Ok requests per second of the measured window.", |s| s.value("req_per_s")),
    ("llmbench_output_tokens_per_second", "", "Output tokens of ok requests per second of the measured window.", |s| {
        s.value("output_tok_per_s")
    }),
    ("llmbench_error_ratio", "ratio", "Failed requests / attempted.", |s| s.value("error_rate")),
    ("llmbench_goodput_ratio", "ratio", "Requests that succeeded and met every SLO / attempted.", |s| {
        s.goodput_ratio()
    }),
    ("llmbench_cost_per_ok_request_usd", "usd", "Cost of the level / ok requests, USD.", |s| {
        s.value("cost_per_ok_request")
    }),
    ("llmbench_cache_hit_ratio", "ratio", "Prompt tokens read from a cache / prompt tokens, where reported.", |s| {
        s.value("cache_hit_ratio")
    }),
];

/// The exposition for `runs`.
pub(crate) fn render(runs: &[ExportRun<'_>]) -> String {
    let all = series(runs);
    let mut out = String::new();
    for (name, help, measure) in HISTOGRAMS {
        let with_records: Vec<_> = all.iter().filter(|s| measure.applies(s)).collect();
        if with_records.is_empty() {
            continue;
        }
        // No `# UNIT` line: the name's suffix carries it, and strict readers
        // (the openmetrics-parser crate) accept units on counters and gauges only.
        family(&mut out, name, "histogram", "", help);
        for s in with_records {
            let labels = labels(s);
            if measure == Measure::OutputTokens {
                for (kind, m) in [("input", Measure::InputTokens), ("output", Measure::OutputTokens)] {
                    let h = m.histogram(s.ok().into_iter().flatten());
                    histogram(&mut out, name, &format!("{labels},gen_ai_token_type=\"{kind}\""), &h);
                }
            } else {
                histogram(&mut out, name, &labels, &measure.histogram(s.ok().into_iter().flatten()));
            }
        }
    }
    family(
        &mut out,
        "llmbench_requests",
        "counter",
        "",
        "Measured requests by outcome: ok, the error class, or cut_by_llmbench.",
    );
    for s in &all {
        let labels = labels(s);
        for (outcome, n) in s.outcomes() {
            let _ = writeln!(out, "llmbench_requests_total{{{labels},outcome=\"{}\"}} {n}", escape(outcome));
        }
    }
    for (name, unit, help, figure) in GAUGES {
        let values: Vec<_> = all.iter().filter_map(|s| figure(s).map(|v| (s, v))).collect();
        if values.is_empty() {
            continue;
        }
        family(&mut out, name, "gauge", unit, help);
        for (s, v) in values {
            let _ = writeln!(out, "{name}{{{}}} {}", labels(s), number(v));
        }
    }
    out.push_str("# EOF\n");
    out
}

fn family(out: &mut String, name: &str, kind: &str, unit: &str, help: &str) {
    let _ = writeln!(out, "# TYPE {name} {kind}");
    if !unit.is_empty() {
        let _ = writeln!(out, "# UNIT {name} {unit}");
    }
    let _ = writeln!(out, "# HELP {name} {help}");
}

fn histogram(out: &mut String, name: &str, labels: &str, h: &Histogram) {
    for (bound, cumulative) in h.bounds.iter().map(|b| format!("{b:?}")).chain(["+Inf".into()]).zip(h.cumulative()) {
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
    }
    let _ = writeln!(out, "{name}_sum{{{labels}}} {}", number(h.sum));
    let _ = writeln!(out, "{name}_count{{{labels}}} {}", h.count);
}

fn labels(s: &Series<'_>) -> String {
    format!(
        "bench=\"{}\",target=\"{}\",level=\"{}\",gen_ai_request_model=\"{}\",gen_ai_provider_name=\"{}\"",
        escape(&s.run.bench.id),
        escape(&s.run.target.name),
        escape(&s.level.label()),
        escape(&s.run.target.model),
        escape(&s.run.target.provider),
    )
}

/// A float as OpenMetrics writes it (`1.0`, `0.25`, `NaN` never occurs: figures are finite).
fn number(v: f64) -> String {
    format!("{v:?}")
}

/// Label values escape `\`, `"` and newlines (the only escapes the format has).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            _ => out.push(c),
        }
    }
    out
}
