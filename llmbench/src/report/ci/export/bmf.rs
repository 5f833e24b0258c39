//! Bencher Metric Format (`--export bmf=PATH`): one JSON object whose keys
//! are benchmark names (`bench/target/level`) and whose values map measure
//! slugs to `{value, lower_value, upper_value}`.
//!
//! Latency measures are in milliseconds: `value` is the p50 and the bounds
//! are the smallest and largest value observed (the band a dashboard draws);
//! the tail has measures of its own (`ttft-p90`, `ttft-p99`) so a threshold
//! can watch it. A percentile the run could not measure (p99 of 60 requests)
//! is left out rather than written as a number it is not. Levels whose
//! requests reasoned add `ttfo`; levels that reported prompt caching add
//! `cache-hit-ratio`.

use serde_json::{Map, Value, json};

use super::{ExportRun, series};

/// The BMF document for `runs`.
pub(crate) fn render(runs: &[ExportRun<'_>]) -> Value {
    let mut doc = Map::new();
    for s in series(runs) {
        let mut measures = Map::new();
        for (key, _) in s.latencies() {
            let Some(summary) = s.level.metric(key) else { continue };
            if let Some(p50) = summary.p50 {
                measures.insert(
                    key.to_owned(),
                    json!({ "value": p50, "lower_value": summary.min, "upper_value": summary.max }),
                );
            }
            for (stat, v) in [("p90", summary.p90), ("p99", summary.p99)] {
                if let Some(v) = v {
                    measures.insert(format!("{key}-{stat}"), json!({ "value": v }));
                }
            }
        }
        let mut single = |slug: &str, v: Option<f64>| {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                measures.insert(slug.to_owned(), json!({ "value": v }));
            }
        };
        // Bencher's built-in `throughput` measure counts operations per second: requests here.
        single("throughput", s.value("req_per_s"));
        single("output-tokens-per-second", s.value("output_tok_per_s"));
        single("error-rate", s.value("error_rate"));
        single("goodput", s.goodput_ratio());
        single("cost-per-ok-request", s.value("cost_per_ok_request"));
        // Only where requests reported prompt caching.
        single("cache-hit-ratio", s.value("cache_hit_ratio"));
        doc.insert(s.name(), Value::Object(measures));
    }
    Value::Object(doc)
}
