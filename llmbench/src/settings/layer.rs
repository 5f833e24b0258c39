//! [`SettingsLayer`]: every setting of a benchmark, each optional, as one
//! struct that is at once the `llmbench.toml` table (`[defaults]`,
//! `[benches.NAME]`), the command line's flags (`clap`), the
//! `#[llm_bench(...)]` options (their values are TOML) and what
//! `cargo llmbench` hands its benchmark binaries (JSON). A setting is one
//! field here; its views cannot disagree because they are the same field.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::value::{Count, Levels, Positive, PositiveTime, Rates, Spec, Time};
use super::{Arrival, Limit, Slo, StagesPlan, SweepSpec, Volume};

/// The settings of one layer (flags, a config table, an attribute); unset
/// ones are `None` (or empty) and fall through to the next layer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct SettingsLayer {
    /// Measured requests per load level (default 100).
    #[arg(long = "sample-size", value_name = "N", env = "LLMBENCH_SAMPLE_SIZE", help_heading = "Settings")]
    pub samples: Option<Spec<Positive>>,
    /// Warm-up requests per load level, discarded (default 10).
    #[arg(long = "warm-up", value_name = "N", env = "LLMBENCH_WARM_UP", help_heading = "Settings")]
    pub warmup: Option<Spec<Count>>,
    /// Concurrency levels, closed loop (`1,8,32`; default 1).
    #[arg(long, value_name = "LIST", env = "LLMBENCH_CONCURRENCY", help_heading = "Load")]
    pub concurrency: Option<Spec<Levels>>,
    /// Targets to run against, side by side (default: the built-in `sim`).
    #[arg(
        long = "target",
        value_name = "NAME",
        env = "LLMBENCH_TARGET",
        value_delimiter = ',',
        help_heading = "Settings"
    )]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// Per-request total timeout (`30s`; default 300s).
    #[arg(long, value_name = "DURATION", env = "LLMBENCH_TIMEOUT", help_heading = "Settings")]
    pub timeout: Option<Spec<PositiveTime>>,
    /// Time allowed until the first content (default 120s).
    #[arg(long, value_name = "DURATION", env = "LLMBENCH_FIRST_CONTENT_TIMEOUT", help_heading = "Settings")]
    pub first_content_timeout: Option<Spec<PositiveTime>>,
    /// TCP/TLS connect timeout (default 10s).
    #[arg(long, value_name = "DURATION", env = "LLMBENCH_CONNECT_TIMEOUT", help_heading = "Settings")]
    pub connect_timeout: Option<Spec<PositiveTime>>,
    /// Open loop at this rate (`50/s`, `1200/m`); a list runs one level per rate.
    #[arg(long, value_name = "RATE", env = "LLMBENCH_RATE", help_heading = "Load")]
    pub rate: Option<Spec<Rates>>,
    /// Open-loop arrivals: constant, poisson (default) or gamma:<burstiness>.
    #[arg(long, value_name = "ARRIVAL", env = "LLMBENCH_ARRIVAL", help_heading = "Load")]
    pub arrival: Option<Spec<Arrival>>,
    /// Run each level for this long (`30s`, `2m`) instead of a request count.
    #[arg(long, value_name = "DURATION", env = "LLMBENCH_DURATION", help_heading = "Load")]
    pub duration: Option<Spec<PositiveTime>>,
    /// After a duration-bounded level, let requests in flight finish for
    /// this long, then cut them (default 30s, at most the timeout).
    #[arg(long, value_name = "DURATION", env = "LLMBENCH_GRACE", help_heading = "Load")]
    pub grace: Option<Spec<Time>>,
    /// Stages with linear ramps (`30s@5/s,1m@50/s`, `20s@4,1m@32`, `spike:10/s*5`).
    #[arg(long, value_name = "STAGES", env = "LLMBENCH_STAGES", help_heading = "Load")]
    pub stages: Option<Spec<StagesPlan>>,
    /// Sweep load levels and report the knee (`1,2,4,8`, `5/s,10/s`, `auto`, `auto:rate`, `3x:20/s`).
    #[arg(long, value_name = "SWEEP", env = "LLMBENCH_SWEEP", help_heading = "Load")]
    pub sweep: Option<Spec<SweepSpec>>,
    /// Open loop: at most this many requests in flight (later ones wait,
    /// and the wait counts in their latency).
    #[arg(long, value_name = "N", env = "LLMBENCH_MAX_IN_FLIGHT", help_heading = "Load")]
    pub max_in_flight: Option<Spec<Positive>>,
    /// SLOs for goodput (`ttft<=500ms,tpot<=100ms,p99 e2e<=2s,goodput>=99%`).
    #[arg(long, value_name = "SLOS", env = "LLMBENCH_SLO", help_heading = "Load")]
    pub slo: Option<Spec<Slo>>,
    /// A limit (repeatable): `ttft.p90<=500ms`, `error_rate<=1%`,
    /// `output_tok_per_s>=100`, `ttft.p50=+5%` (relative to the baseline).
    /// A failed limit exits 3. Limits of every layer apply.
    #[arg(long = "limit", value_name = "LIMIT", env = "LLMBENCH_LIMIT", value_delimiter = ';', help_heading = "Gate")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limits: Vec<Spec<Limit>>,
    /// Project cost to this many successful requests per second, minute,
    /// hour, day or month (`1000/h`).
    #[arg(long, value_name = "RATE", env = "LLMBENCH_PROJECT", help_heading = "Settings")]
    pub project: Option<Spec<Volume>>,
    /// A parameter grid (`params = { temperature = [0.0, 0.7] }`): each
    /// combination runs as a sub-benchmark `name/key=value/…`.
    #[arg(skip)]
    pub params: Option<BTreeMap<String, Vec<super::value::Scalar>>>,
    /// A LiteLLM `model_prices_and_context_window.json` to take prices
    /// from (relative to llmbench.toml; `[defaults]` only).
    #[arg(skip)]
    pub litellm_prices: Option<PathBuf>,
}

/// The keys whose presence in a layer makes that layer choose the whole
/// load shape, in their order of preference within one layer.
pub(crate) const SHAPE_KEYS: [&str; 4] = ["stages", "sweep", "rate", "concurrency"];

/// Every key a layer may hold, for `#[llm_bench]`'s compile-time check of
/// option names (see `__private::setting_keys`).
pub(crate) const KEYS: &[&str] = &[
    "samples",
    "warmup",
    "concurrency",
    "targets",
    "timeout",
    "first_content_timeout",
    "connect_timeout",
    "rate",
    "arrival",
    "duration",
    "grace",
    "stages",
    "sweep",
    "max_in_flight",
    "slo",
    "limits",
    "project",
    "params",
    "litellm_prices",
];

impl SettingsLayer {
    /// The layer as a JSON object of the keys it sets (nothing for unset ones).
    pub(crate) fn to_map(&self) -> serde_json::Map<String, serde_json::Value> {
        let Ok(serde_json::Value::Object(mut map)) = serde_json::to_value(self) else {
            unreachable!("a struct serializes to an object")
        };
        map.retain(|_, v| !v.is_null());
        map
    }

    /// The layer from a JSON object of keys (what [`to_map`](Self::to_map) made).
    pub(crate) fn from_map(map: serde_json::Map<String, serde_json::Value>) -> Result<SettingsLayer, String> {
        serde_json::from_value(serde_json::Value::Object(map)).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_every_field() {
        // serde lists the fields it knows when it meets an unknown one.
        let e = toml::from_str::<SettingsLayer>("no_such_key = 1").unwrap_err().to_string();
        let listed: Vec<&str> = e.split('`').skip(3).step_by(2).collect();
        assert_eq!(listed, KEYS, "{e}");
    }

    #[test]
    fn a_layer_round_trips_through_json() {
        let layer: SettingsLayer = toml::from_str(
            "samples = 5\nconcurrency = [1, 8]\nrate = [\"5/s\", \"10/s\"]\nlimits = [\"ttft.p90<=500ms\"]\nparams = { temperature = [0.0, 0.7] }\n",
        )
        .unwrap();
        let map = layer.to_map();
        assert_eq!(map.len(), 5, "{map:?}");
        assert_eq!(SettingsLayer::from_map(map).unwrap(), layer);
    }
}
