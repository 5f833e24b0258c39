//! The terminal summary table: one row per concurrency level, with TTFT,
//! TPOT, ITL and E2E at p50/p90/p99, output tokens/s and ok/failed counts.

use std::fmt::Write;

use super::cost;
use crate::results::RunSummary;
use crate::stats::{LatencySummary, LevelSummary};

/// The metrics shown, with their column titles.
const COLUMNS: [(&str, &str); 4] = [("ttft", "TTFT"), ("tpot", "TPOT"), ("itl", "ITL"), ("e2e", "E2E")];

/// Renders the table for one benchmark × target run.
pub(crate) fn table(run: &RunSummary) -> String {
    let mut out = String::new();
    let _ = write!(out, "{} · {}", run.bench.id, run.target.name);
    if run.target.model != run.target.name && run.target.model != "sim" {
        let _ = write!(out, " ({})", run.target.model);
    }
    let _ = write!(out, "  — {} samples, {} warm-up", run.settings.samples, run.settings.warmup);
    if let Some(cold) = &run.cold_start {
        match (&cold.error, cold.ttft_ms) {
            (Some(class), _) => {
                let _ = write!(out, ", cold start failed ({class})");
            }
            (None, Some(ttft)) => {
                let _ = write!(out, ", cold start TTFT {ttft:.1} ms");
            }
            _ => {}
        }
    }
    if run.partial {
        out.push_str("  [PARTIAL: interrupted]");
    }
    out.push('\n');
    let priced = run.price.is_some();
    out.push_str(&header(priced));
    for level in &run.levels {
        out.push_str(&row(level, priced));
    }
    out.push_str(&cost::lines(run));
    out
}

fn header(priced: bool) -> String {
    let mut h = format!("{:>5} {:>6} {:>5}", "conc", "ok", "fail");
    for (_, title) in COLUMNS {
        let _ = write!(h, " │ {:^21}", format!("{title} ms p50/p90/p99"));
    }
    let _ = write!(h, " │ {:>9}", "out tok/s");
    if priced {
        let _ = write!(h, " │ {:>10}", cost::COLUMN);
    }
    h.push('\n');
    h
}

fn row(level: &LevelSummary, priced: bool) -> String {
    let mut r = format!("{:>5} {:>6} {:>5}", level.concurrency, level.requests.ok, level.requests.failed);
    for (key, _) in COLUMNS {
        let _ = write!(r, " │ {}", triple(level.metric(key)));
    }
    let _ = write!(r, " │ {:>9.1}", level.output_tok_per_s);
    if priced {
        let _ = write!(r, " │ {:>10}", cost::ok_request_cell(level));
    }
    r.push('\n');
    r
}

/// `p50 / p90 / p99`, with `—` where a percentile is missing.
fn triple(summary: Option<&LatencySummary>) -> String {
    let cell = |v: Option<f64>| match v {
        Some(v) if v >= 1000.0 => format!("{v:>7.0}"),
        Some(v) => format!("{v:>7.1}"),
        None => format!("{:>7}", "—"),
    };
    match summary {
        Some(s) => format!("{}{}{}", cell(s.p50), cell(s.p90), cell(s.p99)),
        None => format!("{:>21}", "—"),
    }
}

/// Renders many runs as one table, a row per benchmark × target × level:
/// the combined summary `cargo llmbench` prints at the end.
pub(crate) fn combined(runs: &[RunSummary]) -> String {
    let width = runs.iter().map(|r| r.bench.id.len() + r.target.name.len() + 3).max().unwrap_or(10).max(10);
    let priced = runs.iter().any(|r| r.price.is_some());
    let mut out = format!(
        "{:<width$} {:>5} {:>6} {:>5} │ {:>9} {:>9} │ {:>9} │ {:>9} │ {:>9}",
        "benchmark · target", "conc", "ok", "fail", "TTFT p50", "TTFT p99", "TPOT p50", "E2E p99", "out tok/s"
    );
    if priced {
        let _ = write!(out, " │ {:>10}", cost::COLUMN);
    }
    out.push('\n');
    for run in runs {
        for level in &run.levels {
            let get = |key: &str, stat: &str| level.metric(key).and_then(|s| s.get(stat));
            let cell = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into());
            let _ = write!(
                out,
                "{:<width$} {:>5} {:>6} {:>5} │ {:>9} {:>9} │ {:>9} │ {:>9} │ {:>9.1}",
                format!("{} · {}", run.bench.id, run.target.name),
                level.concurrency,
                level.requests.ok,
                level.requests.failed,
                cell(get("ttft", "p50")),
                cell(get("ttft", "p99")),
                cell(get("tpot", "p50")),
                cell(get("e2e", "p99")),
                level.output_tok_per_s,
            );
            if priced {
                let cell = if run.price.is_some() { cost::ok_request_cell(level) } else { "no price".into() };
                let _ = write!(out, " │ {cell:>10}");
            }
            out.push('\n');
        }
    }
    out.push_str("(latencies in ms; — = not enough samples for that percentile)\n");
    out
}
