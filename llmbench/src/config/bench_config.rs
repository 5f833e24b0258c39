//! The load keys of `llmbench.toml` — in `[defaults]` and in per-benchmark
//! `[benches.NAME]` tables — and their validation. The values use the same
//! syntax as the attribute and the flags (see `load::stages`,
//! `load::sweep`, `stats::goodput`):
//!
//! ```toml
//! [defaults]
//! arrival = "poisson"
//! slo = ["ttft <= 500ms", "tpot <= 100ms", "goodput >= 99%"]
//!
//! [benches.summarise]
//! rate = "20/s"                 # or a list: ["5/s", "10/s", "20/s"]
//! duration = "2m"
//! grace = "30s"
//! max_in_flight = 256
//! stages = "30s@5/s, 1m@50/s"   # instead of rate
//! sweep = [1, 2, 4, 8, 16]      # or "auto", "3x:20/s", "5/s,10/s"
//! params = { temperature = [0.0, 0.7], max_tokens = [256, 1024] }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// `[benches.NAME]`: settings of one benchmark, overriding its attribute.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchConfig {
    /// Measured requests per level.
    pub samples: Option<u32>,
    /// Warm-up requests per level.
    pub warmup: Option<u32>,
    /// Concurrency levels.
    pub concurrency: Option<Vec<u32>>,
    /// Targets to run against.
    pub targets: Option<Vec<String>>,
    /// Per-request total timeout.
    pub timeout: Option<String>,
    /// Open-loop rate(s).
    #[serde(default, deserialize_with = "joined")]
    pub rate: Option<String>,
    /// Arrival process.
    pub arrival: Option<String>,
    /// Duration of each level.
    pub duration: Option<String>,
    /// Grace after a duration-bounded level.
    pub grace: Option<String>,
    /// Stages.
    #[serde(default, deserialize_with = "joined")]
    pub stages: Option<String>,
    /// Sweep.
    #[serde(default, deserialize_with = "joined")]
    pub sweep: Option<String>,
    /// Cap on requests in flight (open loop).
    pub max_in_flight: Option<u32>,
    /// SLOs.
    #[serde(default, deserialize_with = "joined")]
    pub slo: Option<String>,
    /// A parameter grid: key → values.
    pub params: Option<BTreeMap<String, Vec<toml::Value>>>,
    /// Limits checked for this benchmark (`["ttft.p90<=500ms"]`).
    pub limits: Option<Vec<String>>,
}

/// The load keys shared by `[defaults]` and `[benches.NAME]`, borrowed.
pub(crate) struct LoadKeys<'a> {
    pub(crate) rate: &'a Option<String>,
    pub(crate) arrival: &'a Option<String>,
    pub(crate) duration: &'a Option<String>,
    pub(crate) grace: &'a Option<String>,
    pub(crate) stages: &'a Option<String>,
    pub(crate) sweep: &'a Option<String>,
    pub(crate) slo: &'a Option<String>,
    pub(crate) max_in_flight: Option<u32>,
}

impl BenchConfig {
    pub(crate) fn load_keys(&self) -> LoadKeys<'_> {
        LoadKeys {
            rate: &self.rate,
            arrival: &self.arrival,
            duration: &self.duration,
            grace: &self.grace,
            stages: &self.stages,
            sweep: &self.sweep,
            slo: &self.slo,
            max_in_flight: self.max_in_flight,
        }
    }

    /// The parameter grid as text values.
    pub(crate) fn params_text(&self) -> Option<Vec<(String, Vec<String>)>> {
        self.params.as_ref().map(|p| {
            p.iter()
                .map(|(k, vs)| {
                    let values = vs
                        .iter()
                        .map(|v| match v {
                            toml::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect();
                    (k.clone(), values)
                })
                .collect()
        })
    }
}

/// Checks the load keys; on error, the key (relative to its table) and why.
pub(crate) fn validate(keys: &LoadKeys<'_>) -> Result<(), (&'static str, String)> {
    use crate::load::{schedule, stages::StagesPlan, sweep::SweepSpec};
    if let Some(r) = keys.rate {
        for part in r.split(',') {
            schedule::Rate::parse(part).map_err(|e| ("rate", e))?;
        }
    }
    if let Some(a) = keys.arrival {
        schedule::Arrival::parse(a).map_err(|e| ("arrival", e))?;
    }
    for (key, v) in [("duration", keys.duration), ("grace", keys.grace)] {
        if let Some(v) = v {
            let d = crate::units::parse_duration(v).map_err(|e| (key, e))?;
            if key == "duration" && d.is_zero() {
                return Err((key, "must be greater than zero".into()));
            }
        }
    }
    if let Some(s) = keys.stages {
        StagesPlan::parse(s).map_err(|e| ("stages", e))?;
    }
    if let Some(s) = keys.sweep {
        SweepSpec::parse(s).map_err(|e| ("sweep", e))?;
    }
    if let Some(s) = keys.slo {
        crate::stats::goodput::Slo::parse(s).map_err(|e| ("slo", e))?;
    }
    if keys.max_in_flight == Some(0) {
        return Err(("max_in_flight", "must be at least 1".into()));
    }
    Ok(())
}

/// Checks a parameter grid's keys and values.
pub(crate) fn validate_params(params: &[(String, Vec<String>)]) -> Result<(), String> {
    for (key, values) in params {
        if values.is_empty() {
            return Err(format!("param {key} needs at least one value"));
        }
        for v in values {
            crate::workload::Workload::synthetic().with_param(key, v)?;
        }
    }
    Ok(())
}

/// A string, or a list of strings and numbers joined with `, `.
pub(crate) fn joined<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Item {
        S(String),
        I(i64),
        F(f64),
    }
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(Item),
        Many(Vec<Item>),
    }
    let text = |i: Item| match i {
        Item::S(s) => s,
        Item::I(n) => n.to_string(),
        Item::F(f) => f.to_string(),
    };
    Ok(Some(match OneOrMany::deserialize(d)? {
        OneOrMany::One(i) => text(i),
        OneOrMany::Many(v) => v.into_iter().map(text).collect::<Vec<_>>().join(", "),
    }))
}
