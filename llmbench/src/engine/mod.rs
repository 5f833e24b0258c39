//! The engine: from benchmarks and an invocation to results on disk and
//! verdicts. It plans one job per benchmark × target × grid combination
//! (`plan`), starts simulators and clients (`connect`, `sim_host`), runs
//! the cold start and every load level through `load` and analyses them
//! (`levels`), then judges, saves and reports each run (`verdict`).
//!
//! It sits above every measuring layer (settings, workload, config,
//! provider, load, stats, results, gate, report) and below the entry points
//! (`cli`: `cargo llmbench`, a benchmark binary), which parse flags into an
//! [`Invocation`] and hand it the benchmarks to run.

/// A test benchmark named `$name` sending `$workload`, declared where the
/// macro is used (as `#[llm_bench]` would declare it).
#[cfg(test)]
macro_rules! test_bench {
    ($name:literal, $workload:expr) => {
        crate::engine::registry::BenchDef {
            name: $name,
            module_path: module_path!(),
            file: file!(),
            line: line!(),
            workload: $workload,
            ignore: None,
            check: None,
            settings: &[],
        }
    };
}

mod collect;
mod connect;
mod conversation;
pub(crate) mod declared;
#[cfg(test)]
mod failing_tests;
#[cfg(test)]
mod fault_matrix_tests;
mod levels;
mod plan;
pub(crate) mod registry;
mod replay;
mod run;
mod shard;
pub(crate) mod sim_host;
#[cfg(all(test, feature = "bedrock", feature = "sagemaker"))]
mod sim_protocol_tests;
#[cfg(test)]
mod traffic_tests;
mod verdict;

use regex::Regex;

pub(crate) use run::run;
pub(crate) use shard::check as check_shard;
pub(crate) use verdict::{append_outcomes, statistics, write_outputs};

use crate::exit_code;
use crate::settings::{GateArgs, RunArgs, SettingsLayer, ShardArgs, Source};
use crate::workload::{CheckFn, Workload};

/// What one invocation asks: which benchmarks, the flags' settings layer,
/// what to do with results, and how to speak.
#[derive(Debug, Clone, Default)]
pub(crate) struct Invocation {
    /// Which benchmarks, and how output looks.
    pub(crate) run: RunArgs,
    /// The settings the command line sets (the highest layer).
    pub(crate) flags: SettingsLayer,
    /// Baselines, statistics and the gate.
    pub(crate) gate: GateArgs,
    /// Which shard of a run this is, and when its load starts.
    pub(crate) shard: ShardArgs,
    /// One request per benchmark, no measuring.
    pub(crate) test_mode: bool,
    /// Run by `cargo llmbench`, which renders tables, verdicts and reports
    /// from this process's NDJSON events.
    pub(crate) under_parent: bool,
    /// Where results go, when the entry point decided (`llmbench run`);
    /// otherwise [`results::default_root`](crate::results::default_root).
    pub(crate) results_root: Option<std::path::PathBuf>,
}

impl Invocation {
    /// The root of results, baselines and the report.
    pub(crate) fn results_root(&self) -> std::path::PathBuf {
        self.results_root.clone().unwrap_or_else(crate::results::default_root)
    }
}

/// Why a run stopped before its end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RunError {
    /// Bad input: a flag, the config, a setting, a dataset, a refused
    /// comparison (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Anything else: a results file that cannot be written, a runtime that
    /// does not start (exit 1).
    #[error("{0}")]
    Failed(String),
}

impl RunError {
    /// The exit code it calls for.
    pub(crate) fn exit_code(&self) -> i32 {
        match self {
            RunError::Usage(_) => exit_code::USAGE,
            RunError::Failed(_) => exit_code::ERROR,
        }
    }
}

impl From<crate::settings::SettingsError> for RunError {
    fn from(e: crate::settings::SettingsError) -> RunError {
        RunError::Usage(e.to_string())
    }
}

impl From<crate::config::file::ConfigError> for RunError {
    fn from(e: crate::config::file::ConfigError) -> RunError {
        RunError::Usage(e.to_string())
    }
}

impl From<crate::gate::Refusal> for RunError {
    fn from(e: crate::gate::Refusal) -> RunError {
        RunError::Usage(e.to_string())
    }
}

/// One benchmark, from whatever declared it: `#[llm_bench]` (see
/// [`registry`]), or a later entry point (a table of llmbench.toml, a
/// command line).
#[derive(Clone)]
pub(crate) struct BenchSpec {
    /// The benchmark id.
    pub(crate) name: String,
    /// The Rust module of its declaration (empty for other sources).
    pub(crate) module_path: String,
    /// Where it was declared: a source file or the config file.
    pub(crate) file: String,
    /// The line of the declaration.
    pub(crate) line: u32,
    /// What it sends.
    pub(crate) workload: Workload,
    /// A check of every response.
    pub(crate) check: Option<CheckFn>,
    /// The settings its declaration sets, and where.
    pub(crate) layer: SettingsLayer,
    /// Where those settings were written.
    pub(crate) source: Source,
}

/// Which benchmark ids a run selects: a regular expression or an exact
/// name (`--exact`); either may name a grid combination (`name/key=value`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Filter {
    text: Option<String>,
    exact: bool,
    regex: Option<Regex>,
}

impl Filter {
    /// The filter of `run`; a regular expression that does not parse is
    /// a usage error.
    pub(crate) fn new(run: &RunArgs) -> Result<Filter, RunError> {
        let regex = match (&run.filter, run.exact) {
            (Some(f), false) => {
                Some(Regex::new(f).map_err(|e| RunError::Usage(format!("invalid FILTER regex {f:?}: {e}")))?)
            }
            _ => None,
        };
        Ok(Filter { text: run.filter.clone(), exact: run.exact, regex })
    }

    /// Whether a benchmark named `name` may have selected jobs.
    pub(crate) fn selects_bench(&self, name: &str) -> bool {
        let Some(text) = &self.text else { return true };
        let prefix = text.split('/').next() == Some(name);
        match &self.regex {
            _ if self.exact => text == name || prefix,
            Some(re) => re.is_match(name) || text.contains('/'),
            None => true,
        }
    }

    /// Whether the job `id` of benchmark `name` is selected: every grid
    /// combination of a selected benchmark, or those the filter names.
    pub(crate) fn selects_job(&self, name: &str, id: &str) -> bool {
        let Some(text) = &self.text else { return true };
        match &self.regex {
            _ if self.exact => text == name || text == id,
            Some(re) => re.is_match(name) || re.is_match(id),
            None => true,
        }
    }

    /// The filter as written, if any.
    pub(crate) fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }
}
