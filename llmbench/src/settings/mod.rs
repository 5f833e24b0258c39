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

mod layer;
mod limit;
mod rate;
mod slo;
mod stages;
mod sweep;
pub mod value;
mod volume;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

pub(crate) use layer::SHAPE_KEYS;
pub use layer::SettingsLayer;
pub use limit::{Check, Limit, LimitError, Op};
pub use rate::{Arrival, Rate};
pub use slo::{REQUEST_METRICS, Slo, ms as slo_ms};
pub use stages::{Stage, StageValue, StagesPlan};
pub use sweep::{AUTO_MAX_CONCURRENCY, AUTO_MAX_LEVELS, AUTO_MAX_RATE, Level, SweepSpec};
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
/// Connect timeout when no layer says.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The grace after a duration-bounded level (aiperf's too), at most the
/// request timeout.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(30);

/// Where a layer of settings came from: what an error or a limit names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Flags of the command line (or their `LLMBENCH_*` variables).
    Flags,
    /// A table of a config file: `[benches.NAME]`, `[targets.NAME]`, `[defaults]`.
    Config {
        /// The file.
        path: PathBuf,
        /// The table's dotted name (`benches.summarise`).
        table: String,
        /// The table header's 1-based line.
        line: usize,
    },
    /// `#[llm_bench(...)]` on a function.
    Attribute {
        /// `file!()` of the benchmark.
        file: &'static str,
        /// The line of the function.
        line: u32,
    },
}

impl Source {
    /// Where a limit came from, as results and reports show it.
    pub fn limit_label(&self) -> String {
        match self {
            Source::Flags => "--limit".into(),
            Source::Config { path, .. } => {
                path.file_name().map_or_else(|| "llmbench.toml".into(), |n| n.to_string_lossy().into_owned())
            }
            Source::Attribute { .. } => "#[llm_bench]".into(),
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flags => f.write_str("the command line"),
            Source::Config { path, table, line } => write!(f, "{}:{line}: [{table}]", path.display()),
            Source::Attribute { file, line } => write!(f, "{file}:{line}: #[llm_bench(...)]"),
        }
    }
}

/// A setting that cannot be used: which one, where it was written, why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {key}: {message}")]
pub struct SettingsError {
    /// Where the setting was written.
    pub origin: Source,
    /// The key (`rate`, `params`).
    pub key: String,
    /// What is wrong and what to do.
    pub message: String,
}

/// One layer and where it came from, highest precedence first in a list.
#[derive(Debug, Clone, Copy)]
pub struct Layer<'a> {
    /// Where it came from.
    pub source: &'a Source,
    /// What it sets.
    pub settings: &'a SettingsLayer,
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
    /// The SLOs of goodput.
    pub slo: Slo,
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
    /// The load shape and its keys.
    pub load: LoadPlan,
    /// Every limit, with where it was declared.
    pub limits: Vec<SourcedLimit>,
    /// The parameter grid: key and values, in key order.
    pub params: Vec<(String, Vec<String>)>,
    /// The volume to project cost to.
    pub project: Option<Volume>,
}

/// The layers merged into one, and which layer set each key.
struct Merged {
    layer: SettingsLayer,
    from: BTreeMap<String, Source>,
    limits: Vec<SourcedLimit>,
}

/// Merges `layers` (highest precedence first) by the rules of the module docs.
fn merge(layers: &[Layer<'_>]) -> Merged {
    let mut map = serde_json::Map::new();
    let mut from = BTreeMap::new();
    let mut limits = Vec::new();
    let mut shape_from: Option<usize> = None;
    for (i, layer) in layers.iter().enumerate() {
        for spec in &layer.settings.limits {
            limits.push(SourcedLimit { limit: spec.get().clone(), source: layer.source.limit_label() });
        }
        for (key, value) in layer.settings.to_map() {
            if key == "limits" || map.contains_key(&key) {
                continue;
            }
            if SHAPE_KEYS.contains(&key.as_str()) {
                if shape_from.is_some_and(|s| s != i) {
                    continue;
                }
                shape_from = Some(i);
            }
            from.insert(key.clone(), layer.source.clone());
            map.insert(key, value);
        }
    }
    // Each value was parsed when its layer was read; this cannot fail.
    let layer = SettingsLayer::from_map(map).expect("merged settings re-read");
    Merged { layer, from, limits }
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
        for (key, values) in m.params.iter().flatten() {
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
        slo: m.slo.as_ref().map(|s| s.get().clone()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests;
