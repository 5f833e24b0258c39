//! The one typed home of every benchmark setting.
//!
//! A setting is a field of [`SettingsLayer`]. The same struct is the
//! command line's flags, a table of `llmbench.toml` (`[defaults]`,
//! `[benches.NAME]`), the options of `#[llm_bench(...)]` and what `cargo
//! llmbench` hands its benchmark binaries, so its views cannot drift.
//! [`Settings::resolve`] merges the layers of one benchmark × target with
//! the one precedence (docs/settings.md):
//!
//! ```text
//! flags  >  [benches.NAME]  >  #[llm_bench(...)]  >  [targets.NAME]  >  [defaults]  >  built-in defaults
//! ```
//!
//! Two keys merge differently: the load *shape* (`stages`, `sweep`, `rate`,
//! `concurrency`) comes whole from the first layer that sets any of them,
//! so `--concurrency 4` replaces an attribute's `rate = "20/s"`; and
//! `limits` of every layer apply together.
//!
//! Values are parsed once, where they enter (see [`value`]), by the grammars
//! of this module: rates, arrivals, stages, sweeps, SLOs, limits, volumes,
//! durations. This module is the bottom of the crate: it knows no runner,
//! provider or report; they consume what it resolves.

mod export;
mod invocation;
mod limit;
mod merge;
mod rate;
mod replay;
mod shard;
mod slo;
mod stages;
mod sweep;
pub mod value;
mod volume;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;

use value::{Count, Levels, Positive, PositiveTime, Rates, Spec, Time};

pub(crate) use export::{ExportSpec, Format};
pub(crate) use invocation::{GateArgs, MessageFormat, RunArgs, ShardArgs, overlay};
pub use limit::{Check, Limit, LimitError};
pub use merge::{Layer, SettingsError, Source};
use merge::{Merged, merge};
pub use rate::{Arrival, Rate};
pub use replay::ReplaySpeed;
pub use shard::{FoundShard, MAX_SHARDS, SHARD_COUNT_ENV, Shard, ShardSpec, StartAt, instant_unix_us, unix_us};
pub use slo::{Slo, ms as slo_ms};
pub use stages::{Stage, StageValue, StagesPlan};
pub use sweep::{
    AUTO_MAX_CONCURRENCY, AUTO_MAX_LEVELS, AUTO_MAX_RATE, Level, SEARCH_MAX_LEVELS, SEARCH_TOLERANCE, SweepSpec,
};
pub use volume::{HOURS_PER_MONTH, Volume};

/// Measured requests per level when no layer says.
pub const DEFAULT_SAMPLES: u32 = 100;
/// Warm-up requests per level when no layer says.
pub const DEFAULT_WARMUP: u32 = 10;
/// The target used when no layer names one.
pub const DEFAULT_TARGET: &str = "sim";
/// Per-request total timeout when no layer says.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// Time allowed until the first content when no layer says.
pub const DEFAULT_FIRST_CONTENT_TIMEOUT: Duration = Duration::from_secs(120);
/// The longest wait between content chunks when no layer says: well
/// above any real model's gap, well below the total timeout, so a stalled
/// stream frees its slot long before the total timeout would.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Connect timeout when no layer says.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The grace after a duration-bounded level (aiperf's too), at most the
/// request timeout.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);

/// The settings of one layer (flags, a config table, an attribute); unset
/// ones are `None` (or empty) and fall through to the next layer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct SettingsLayer {
    /// Measured requests per load level (default 100).
    /// `--requests` is the same flag, the name people expect of an ad-hoc
    /// `llmbench run`: measured requests per level, warm-up not counted.
    #[arg(
        long = "sample-size",
        visible_alias = "requests",
        value_name = "N",
        env = "LLMBENCH_SAMPLE_SIZE",
        help_heading = "Settings"
    )]
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
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "value::one_or_many")]
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
    /// `warm` (default): warm-up opens as many connections as the level
    /// keeps in flight and measured requests reuse them; `fresh`: a new
    /// connection per request, to measure the handshake on purpose.
    #[arg(long, value_name = "warm|fresh", env = "LLMBENCH_CONNECTIONS", help_heading = "Settings")]
    pub connections: Option<Spec<value::Connections>>,
    /// Longest wait for the next content chunk once content has begun: a
    /// stalled stream fails as `timeout` after this (default 60s).
    #[arg(long, value_name = "DURATION", env = "LLMBENCH_IDLE_TIMEOUT", help_heading = "Settings")]
    pub idle_timeout: Option<Spec<PositiveTime>>,
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
    /// Trace replay: a factor of the trace's own clock (`2x`, `0.5x`) or
    /// the mean rate to scale it to (`20/s`); default `1x`.
    #[arg(long, value_name = "SPEED", env = "LLMBENCH_REPLAY_SPEED", help_heading = "Load")]
    pub replay_speed: Option<Spec<ReplaySpeed>>,
    /// SLOs for goodput (`ttft<=500ms,tpot<=100ms,p99 e2e<=2s,goodput>=99%`).
    #[arg(long, value_name = "SLOS", env = "LLMBENCH_SLO", help_heading = "Load")]
    pub slo: Option<Spec<Slo>>,
    /// A limit (repeatable): `ttft.p90<=500ms`, `error_rate<=1%`,
    /// `output_tok_per_s>=100`, `ttft.p50=+5%` (relative to the baseline).
    /// A failed limit exits 3. Limits of every layer apply.
    #[arg(long = "limit", value_name = "LIMIT", env = "LLMBENCH_LIMIT", value_delimiter = ';', help_heading = "Gate")]
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "value::one_or_many")]
    pub limits: Vec<Spec<Limit>>,
    /// Project cost to this many successful requests per second, minute,
    /// hour, day or month (`1000/h`).
    #[arg(long, value_name = "RATE", env = "LLMBENCH_PROJECT", help_heading = "Settings")]
    pub project: Option<Spec<Volume>>,
    /// A parameter grid (`params = { temperature = [0.0, 0.7] }`): each
    /// combination runs as a sub-benchmark `name/key=value/…`.
    #[arg(skip)]
    pub params: Option<value::Grid>,
    /// A LiteLLM `model_prices_and_context_window.json` to take prices
    /// from (relative to llmbench.toml; `[defaults]` only).
    #[arg(skip)]
    pub litellm_prices: Option<PathBuf>,
}

/// The keys whose presence in a layer makes that layer choose the whole
/// load shape, in their order of preference within one layer.
pub(crate) const SHAPE_KEYS: [&str; 4] = ["stages", "sweep", "rate", "concurrency"];

/// The keys of a layer, as a list and as one constant each: what
/// `#[llm_bench]` checks option names against at compile time (an unknown
/// option names no constant of `__private::setting_keys`).
macro_rules! keys {
    ($($key:ident),* $(,)?) => {
        pub(crate) const KEYS: &[&str] = &[$(stringify!($key)),*];

        /// One constant per setting key (not public API).
        #[doc(hidden)]
        #[allow(non_upper_case_globals, missing_docs)]
        pub mod setting_keys {
            $(pub const $key: () = ();)*
        }
    };
}

keys!(
    samples,
    warmup,
    concurrency,
    targets,
    timeout,
    first_content_timeout,
    connect_timeout,
    connections,
    idle_timeout,
    rate,
    arrival,
    duration,
    grace,
    stages,
    sweep,
    max_in_flight,
    replay_speed,
    slo,
    limits,
    project,
    params,
    litellm_prices,
);

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

/// A limit and where it was declared.
#[derive(Debug, Clone, PartialEq)]
pub struct SourcedLimit {
    /// The limit.
    pub limit: Limit,
    /// `--limit`, `llmbench.toml` or `#[llm_bench]`.
    pub source: String,
}

/// What loads a benchmark runs at.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// These levels, one after another.
    Levels(Vec<Level>),
    /// Doubling from this level until the knee (an automatic sweep).
    Auto(Level),
    /// One run following a profile; each stage is reported as a level.
    Stages(StagesPlan),
}

/// A benchmark's resolved load.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadPlan {
    /// The levels, sweep or stages.
    pub shape: Shape,
    /// The sweep as written, if the shape came from one.
    pub sweep: Option<SweepSpec>,
    /// Open-loop arrivals.
    pub arrival: Arrival,
    /// How long each level runs, instead of a request count.
    pub duration: Option<Duration>,
    /// After a duration-bounded level, how long requests in flight may finish.
    pub grace: Duration,
    /// Open loop: at most this many requests in flight.
    pub max_in_flight: Option<u32>,
    /// Trace replay: how fast the trace's clock runs (`1x` when unset).
    pub replay_speed: Option<ReplaySpeed>,
    /// The SLOs of goodput.
    pub slo: Slo,
    /// The shard whose part of the load this is (`--shard`), if split:
    /// it seeds the shard's own arrivals.
    pub shard: Option<Shard>,
}

impl LoadPlan {
    /// Whether any level is open loop.
    pub fn is_open(&self) -> bool {
        match &self.shape {
            Shape::Levels(levels) => levels.iter().any(|l| matches!(l, Level::Rate(_))),
            Shape::Auto(level) => matches!(level, Level::Rate(_)),
            Shape::Stages(s) => s.is_rate(),
        }
    }

    /// The concurrency levels, for the `settings.concurrency` of results.
    pub fn concurrencies(&self) -> Vec<u32> {
        match &self.shape {
            Shape::Levels(levels) => levels
                .iter()
                .filter_map(|l| match l {
                    Level::Concurrency(c) => Some(*c),
                    Level::Rate(_) => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The plan as JSON, for `settings.load` in results.
    pub fn describe(&self) -> serde_json::Value {
        let shape = match &self.shape {
            Shape::Levels(levels) => json!({ "levels": levels }),
            Shape::Auto(start) => json!({ "auto_from": start }),
            Shape::Stages(stages) => json!({ "stages": stages }),
        };
        let mut described = json!({
            "mode": if self.is_open() { "open" } else { "closed" },
            "shape": shape,
            "sweep": self.sweep,
            "arrival": self.is_open().then(|| self.arrival.to_string()),
            "duration_s": self.duration.map(|d| d.as_secs_f64()),
            "grace_s": self.duration.map(|_| self.grace.as_secs_f64()),
            "max_in_flight": self.max_in_flight,
            "replay_speed": self.replay_speed.map(|s| s.to_string()),
            "slo": self.slo.describe(),
        });
        if let Some(shard) = self.shard {
            described["shard"] = json!(shard.label());
        }
        described
    }
}

/// The resolved settings of one benchmark × target.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Measured requests per level.
    pub samples: u32,
    /// Warm-up requests per level.
    pub warmup: u32,
    /// The targets to run against, in order.
    pub targets: Vec<String>,
    /// Per-request total timeout.
    pub timeout: Duration,
    /// Time allowed until the first content.
    pub first_content_timeout: Duration,
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Warm (pooled) or fresh connections.
    pub connections: value::Connections,
    /// The longest wait between content chunks.
    pub idle_timeout: Duration,
    /// The load shape and its keys.
    pub load: LoadPlan,
    /// Every limit, with where it was declared.
    pub limits: Vec<SourcedLimit>,
    /// The parameter grid: key and values, in key order.
    pub params: Vec<(String, Vec<String>)>,
    /// The volume to project cost to.
    pub project: Option<Volume>,
}

impl Settings {
    /// Merges `layers` (highest precedence first) and fills in the
    /// built-in defaults. `check_param` validates a grid entry (the
    /// workload knows its parameters).
    pub fn resolve(
        layers: &[Layer<'_>],
        check_param: impl Fn(&str, &str) -> Result<(), String>,
    ) -> Result<Settings, SettingsError> {
        let Merged { layer: m, from, limits } = merge(layers);
        let error = |key: &str, message: String| SettingsError {
            origin: from.get(key).cloned().unwrap_or(Source::Flags),
            key: key.to_owned(),
            message,
        };
        let mut params = Vec::new();
        for (key, values) in m.params.iter().flat_map(|g| &g.0) {
            let values: Vec<String> = values.iter().map(|v| v.0.clone()).collect();
            if values.is_empty() {
                return Err(error("params", format!("param {key} needs at least one value")));
            }
            for v in &values {
                check_param(key, v).map_err(|e| error("params", e))?;
            }
            params.push((key.clone(), values));
        }
        let time = |s: &Option<value::Spec<value::PositiveTime>>, default| s.as_ref().map_or(default, |s| s.get().0);
        let timeout = time(&m.timeout, DEFAULT_TIMEOUT);
        Ok(Settings {
            samples: m.samples.as_ref().map_or(DEFAULT_SAMPLES, |s| s.get().0),
            warmup: m.warmup.as_ref().map_or(DEFAULT_WARMUP, |s| s.get().0),
            targets: if m.targets.is_empty() { vec![DEFAULT_TARGET.to_owned()] } else { m.targets.clone() },
            timeout,
            first_content_timeout: time(&m.first_content_timeout, DEFAULT_FIRST_CONTENT_TIMEOUT),
            connect_timeout: time(&m.connect_timeout, DEFAULT_CONNECT_TIMEOUT),
            connections: m.connections.as_ref().map(|c| *c.get()).unwrap_or_default(),
            idle_timeout: time(&m.idle_timeout, DEFAULT_IDLE_TIMEOUT),
            load: load_plan(&m, timeout),
            limits,
            params,
            project: m.project.as_ref().map(|p| *p.get()),
        })
    }
}

/// The load of the merged layer: the shape by its keys' order of
/// preference, then the keys that go with it.
fn load_plan(m: &SettingsLayer, timeout: Duration) -> LoadPlan {
    let (shape, sweep) = if let Some(stages) = &m.stages {
        (Shape::Stages(stages.get().clone()), None)
    } else if let Some(sweep) = &m.sweep {
        let spec = sweep.get().clone();
        let shape = match &spec {
            SweepSpec::Auto { start } => Shape::Auto(*start),
            other => Shape::Levels(other.initial_levels()),
        };
        (shape, Some(spec))
    } else if let Some(rates) = &m.rate {
        (Shape::Levels(rates.get().0.iter().map(|r| Level::Rate(r.per_s())).collect()), None)
    } else if let Some(levels) = &m.concurrency {
        (Shape::Levels(levels.get().0.iter().map(|&c| Level::Concurrency(c)).collect()), None)
    } else {
        (Shape::Levels(vec![Level::Concurrency(1)]), None)
    };
    // Stages set their own length; a duration beside them does not apply.
    let duration = match shape {
        Shape::Stages(_) => None,
        _ => m.duration.as_ref().map(|d| d.get().0),
    };
    LoadPlan {
        shape,
        sweep,
        arrival: m.arrival.as_ref().map(|a| *a.get()).unwrap_or_default(),
        duration,
        grace: m.grace.as_ref().map_or(DEFAULT_GRACE.min(timeout), |g| g.get().0),
        max_in_flight: m.max_in_flight.as_ref().map(|n| n.get().0),
        replay_speed: m.replay_speed.as_ref().map(|s| *s.get()),
        slo: m.slo.as_ref().map(|s| s.get().clone()).unwrap_or_default(),
        shard: None,
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod layer_tests {
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
