//! CloudWatch Embedded Metric Format (`--export emf=PATH`): one JSON line
//! per benchmark × target × level, ready for a log group that CloudWatch
//! extracts metrics from (or `aws logs put-log-events`).
//!
//! Each line holds the `_aws` metadata — `Timestamp` (the run's start, ms
//! since the epoch) and one metric directive: namespace `llmbench`,
//! dimension sets `[Bench, Target, Level]` and `[Bench, Model, Level]`, and
//! a definition with a CloudWatch unit for each metric — then the members
//! the directive names: the dimensions as strings, the metrics as numbers.
//! A figure the run could not measure is neither defined nor written: the
//! format has no "missing" and CloudWatch would reject a null.

use serde_json::{Map, Value, json};

use super::{ExportRun, epoch_ms, series};

/// The namespace of every directive.
pub(crate) const NAMESPACE: &str = "llmbench";

/// The lines for `runs`, each ending in a newline.
pub(crate) fn render(runs: &[ExportRun<'_>]) -> Result<String, String> {
    let mut out = String::new();
    for s in series(runs) {
        let mut root = Map::new();
        let mut definitions = Vec::new();
        let mut metric = |name: String, unit: &str, v: Option<f64>| {
            if let Some(v) = v.filter(|v| v.is_finite()) {
                definitions.push(json!({ "Name": name, "Unit": unit }));
                root.insert(name, json!(v));
            }
        };
        for (key, label) in s.latencies() {
            let Some(summary) = s.level.metric(key) else { continue };
            for (stat, v) in [("p50", summary.p50), ("p90", summary.p90), ("p99", summary.p99)] {
                metric(format!("{label}_{stat}"), "Milliseconds", v);
            }
        }
        let counts = &s.level.requests;
        metric("Requests".into(), "Count", Some(counts.attempted as f64));
        metric("FailedRequests".into(), "Count", Some(counts.failed as f64));
        // Results format 2: requests llmbench itself cut, neither attempted nor failed.
        if counts.cut_by_llmbench > 0 {
            metric("CutByLlmbench".into(), "Count", Some(counts.cut_by_llmbench as f64));
        }
        metric("RequestsPerSecond".into(), "Count/Second", s.value("req_per_s"));
        metric("OutputTokensPerSecond".into(), "Count/Second", s.value("output_tok_per_s"));
        metric("ErrorRate".into(), "Percent", s.value("error_rate").map(|v| v * 100.0));
        metric("Goodput".into(), "Percent", s.goodput_ratio().map(|v| v * 100.0));
        metric("CacheHitRatio".into(), "Percent", s.value("cache_hit_ratio").map(|v| v * 100.0));
        // CloudWatch has no currency unit: None, and the name says USD.
        metric("CostPerOkRequestUSD".into(), "None", s.value("cost_per_ok_request"));
        let timestamp = epoch_ms(&s.run.started_at)
            .ok_or_else(|| format!("{}: started_at {:?} is not an RFC 3339 time", s.name(), s.run.started_at))?;
        root.insert("Bench".into(), json!(s.run.bench.id));
        root.insert("Target".into(), json!(s.run.target.name));
        root.insert("Level".into(), json!(s.level.label()));
        root.insert("Model".into(), json!(s.run.target.model));
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Bench", "Target", "Level"], ["Bench", "Model", "Level"]],
                    "Metrics": definitions,
                }],
            }),
        );
        out.push_str(&serde_json::to_string(&Value::Object(root)).map_err(|e| e.to_string())?);
        out.push('\n');
    }
    Ok(out)
}
