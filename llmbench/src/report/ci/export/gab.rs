//! github-action-benchmark's custom tools (`--export gab-smaller=PATH`,
//! `--export gab-bigger=PATH`): a JSON array of `{name, unit, value, range?,
//! extra?}`, one file per direction because the action takes one tool per
//! file. Smaller is better: latency percentiles (ms), the error rate and
//! the cost per ok request (TTFO too where requests reasoned). Bigger is
//! better: throughput, goodput and, where prompt caching was reported, the
//! cache hit ratio.

use serde_json::{Value, json};

use super::{ExportRun, Series, series};

/// Which of the action's two custom tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// `customSmallerIsBetter`.
    Smaller,
    /// `customBiggerIsBetter`.
    Bigger,
}

/// The entries for `runs`, in one direction.
pub(crate) fn render(runs: &[ExportRun<'_>], direction: Direction) -> Value {
    let mut out = Vec::new();
    for s in series(runs) {
        let extra = extra(&s);
        let name =
            |metric: &str| format!("{} · {} · {} — {metric}", s.run.bench.id, s.run.target.name, s.level.label());
        let mut push = |metric: &str, unit: &str, value: Option<f64>, range: Option<String>| {
            if let Some(v) = value.filter(|v| v.is_finite()) {
                let mut e = json!({ "name": name(metric), "unit": unit, "value": v, "extra": extra });
                if let Some(r) = range {
                    e["range"] = json!(r);
                }
                out.push(e);
            }
        };
        match direction {
            Direction::Smaller => {
                for (key, label) in s.latencies() {
                    let Some(summary) = s.level.metric(key) else { continue };
                    // The action shows `range` beside the value: the spread of the requests.
                    let spread = Some(format!("± {:.3}", summary.stddev));
                    push(&format!("{label} p50"), "ms", summary.p50, spread);
                    push(&format!("{label} p90"), "ms", summary.p90, None);
                    push(&format!("{label} p99"), "ms", summary.p99, None);
                }
                push("error rate", "%", s.value("error_rate").map(|v| v * 100.0), None);
                push("cost per ok request", "USD", s.value("cost_per_ok_request"), None);
            }
            Direction::Bigger => {
                push("output tokens/s", "tokens/s", s.value("output_tok_per_s"), None);
                push("requests/s", "requests/s", s.value("req_per_s"), None);
                push("goodput", "%", s.goodput_ratio().map(|v| v * 100.0), None);
                push("good requests/s", "requests/s", s.level.goodput.as_ref().map(|g| g.good_per_s), None);
                push("cache hit ratio", "%", s.value("cache_hit_ratio").map(|v| v * 100.0), None);
            }
        }
    }
    Value::Array(out)
}

/// The tooltip line: what the figures rest on.
fn extra(s: &Series<'_>) -> String {
    let r = &s.level.requests;
    let cut = if r.cut_by_llmbench > 0 { format!(", {} cut by llmbench", r.cut_by_llmbench) } else { String::new() };
    format!("{} ok, {} failed{cut}; model {}; started {}", r.ok, r.failed, s.run.target.model, s.run.started_at)
}
