//! What makes two runs comparable, and the list of what differs.
//!
//! The fingerprint is derived from a run's `summary.json`, so every stored
//! run has one and it grows with the schema (a dataset hash in the
//! workload, a region in the target identity) without a change here:
//!
//! - `tool.version`: the llmbench version;
//! - `target.*` except `target.name`: provider, model, endpoint (and region
//!   where the target has one) — a renamed target is the same endpoint;
//! - `workload.*`: the whole workload definition, seed and generation
//!   parameters included;
//! - `settings.concurrency`, `settings.warmup`, `settings.timeout_ms`,
//!   `settings.first_content_timeout_ms`: the load and what counts as a
//!   timeout.
//!
//! `settings.samples` is left out on purpose: the statistics compare runs of
//! different sizes correctly, so a quick 20-sample run may be checked
//! against a 100-sample baseline.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::results::RunSummary;

/// The comparable identity of a run: dotted key → value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint(pub BTreeMap<String, Value>);

/// One key whose value differs between two runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FingerprintDifference {
    /// The dotted key, e.g. `workload.temperature`.
    pub key: String,
    /// In the baseline (`null` when absent).
    pub baseline: Value,
    /// In the current run (`null` when absent).
    pub current: Value,
}

impl std::fmt::Display for FingerprintDifference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} → {}", self.key, self.baseline, self.current)
    }
}

impl Fingerprint {
    /// The fingerprint of a run.
    pub fn of(run: &RunSummary) -> Fingerprint {
        let mut out = BTreeMap::new();
        out.insert("tool.version".to_owned(), Value::String(run.tool.version.clone()));
        if let Ok(Value::Object(target)) = serde_json::to_value(&run.target) {
            for (k, v) in target.into_iter().filter(|(k, _)| k != "name") {
                flatten(&format!("target.{k}"), v, &mut out);
            }
        }
        flatten("workload", run.workload.clone(), &mut out);
        let s = &run.settings;
        out.insert("settings.concurrency".to_owned(), serde_json::json!(s.concurrency));
        out.insert("settings.warmup".to_owned(), serde_json::json!(s.warmup));
        out.insert("settings.timeout_ms".to_owned(), serde_json::json!(s.timeout_ms));
        out.insert("settings.first_content_timeout_ms".to_owned(), serde_json::json!(s.first_content_timeout_ms));
        Fingerprint(out)
    }

    /// What differs from `baseline` to `self`, sorted by key.
    pub fn differences(&self, baseline: &Fingerprint) -> Vec<FingerprintDifference> {
        let keys: std::collections::BTreeSet<&String> = self.0.keys().chain(baseline.0.keys()).collect();
        keys.into_iter()
            .filter_map(|k| {
                let (b, c) = (baseline.0.get(k).unwrap_or(&Value::Null), self.0.get(k).unwrap_or(&Value::Null));
                (b != c).then(|| FingerprintDifference { key: k.clone(), baseline: b.clone(), current: c.clone() })
            })
            .collect()
    }
}

fn flatten(prefix: &str, value: Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                flatten(&format!("{prefix}.{k}"), v, out);
            }
        }
        Value::Null => {}
        other => {
            out.insert(prefix.to_owned(), other);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn differences_are_listed_by_key() {
        let a = RunSummary::example();
        let mut b = a.clone();
        assert!(Fingerprint::of(&b).differences(&Fingerprint::of(&a)).is_empty());
        b.settings.samples = 99; // not part of the fingerprint
        b.target.name = "renamed".into();
        assert!(Fingerprint::of(&b).differences(&Fingerprint::of(&a)).is_empty());
        b.workload = serde_json::json!({"kind": "synthetic", "temperature": 0.7});
        b.settings.concurrency = vec![1, 8];
        b.target.model = "other".into();
        let diffs = Fingerprint::of(&b).differences(&Fingerprint::of(&a));
        let text: Vec<String> = diffs.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "settings.concurrency: [1] → [1,8]",
                "target.model: \"sim\" → \"other\"",
                "workload.temperature: null → 0.7"
            ]
        );
    }
}
