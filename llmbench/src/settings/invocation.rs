//! The flags of an invocation that are not benchmark settings: which
//! benchmarks, what to print, and what to do with the results (baselines,
//! statistics, the gate). One definition, flattened into `cargo llmbench`,
//! `cargo llmbench compare` and every benchmark binary, so they check
//! flags alike; `cargo llmbench` hands its values to the binaries as JSON.
//! Every flag also reads an `LLMBENCH_*` environment variable.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};

use super::value::Spec;
use super::{ShardSpec, StartAt};

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Color {
    /// Colour when the output is a terminal.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// `--message-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum MessageFormat {
    /// Tables and progress for people.
    #[default]
    Human,
    /// NDJSON events on stdout (docs/gate.md), people's output on stderr.
    Json,
}

/// Which benchmarks, and how output looks.
#[derive(Debug, Clone, Default, PartialEq, Args, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct RunArgs {
    /// Run only benchmarks whose id matches this regular expression.
    #[arg(value_name = "FILTER", env = "LLMBENCH_FILTER")]
    pub(crate) filter: Option<String>,
    /// Match FILTER exactly instead of as a regular expression.
    #[arg(long, env = "LLMBENCH_EXACT")]
    pub(crate) exact: bool,
    /// List the benchmarks instead of running them.
    #[arg(long, env = "LLMBENCH_LIST")]
    pub(crate) list: bool,
    /// `md`: a Markdown summary on stdout (tables go to stderr); `terse`
    /// (with --list): one `name: benchmark` line each. Other values
    /// (libtest's `json`, …) are accepted and read as the default.
    #[arg(long, value_name = "FORMAT", env = "LLMBENCH_FORMAT")]
    pub(crate) format: Option<String>,
    /// `human` (default) or `json`: NDJSON events on stdout (bench-started,
    /// progress, result, comparison, limits, finished), people's output on stderr.
    #[arg(long, value_enum, default_value_t, env = "LLMBENCH_MESSAGE_FORMAT")]
    pub(crate) message_format: MessageFormat,
    /// The configuration file (default: llmbench.toml found upward).
    #[arg(long, value_name = "PATH", env = "LLMBENCH_CONFIG")]
    pub(crate) config: Option<PathBuf>,
    /// Print only the result tables.
    #[arg(long, short = 'q', env = "LLMBENCH_QUIET")]
    pub(crate) quiet: bool,
    /// Colour: auto, always or never.
    #[arg(long, value_enum, default_value_t, env = "LLMBENCH_COLOR")]
    pub(crate) color: Color,
    /// Do not write the HTML report at the end (criterion's flag name).
    #[arg(long, visible_alias = "no-report", env = "LLMBENCH_NOPLOT")]
    pub(crate) noplot: bool,
    /// Append each benchmark × target's summary, with the git commit,
    /// branch, time and host, to the run history in DIR (one JSON line per
    /// run, docs/exports.md); the report then draws trends.
    #[arg(long, value_name = "DIR", env = "LLMBENCH_HISTORY")]
    pub(crate) history: Option<PathBuf>,
}

impl RunArgs {
    /// `--format terse`.
    pub(crate) fn terse(&self) -> bool {
        self.format.as_deref() == Some("terse")
    }

    /// `--format md`: a Markdown summary on stdout at the end.
    pub(crate) fn markdown(&self) -> bool {
        matches!(self.format.as_deref(), Some("md" | "markdown"))
    }

    /// `--message-format json`.
    pub(crate) fn json(&self) -> bool {
        self.message_format == MessageFormat::Json
    }

    /// Whether stdout is reserved for machine output (JSON events,
    /// Markdown), so people's output goes to stderr.
    pub(crate) fn human_to_stderr(&self) -> bool {
        self.markdown() || self.json()
    }
}

/// Baselines, statistics and the regression gate (docs/gate.md).
#[derive(Debug, Clone, Default, PartialEq, Args, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct GateArgs {
    /// Compare with baseline NAME where it exists, then save this run as
    /// NAME (default `base`; write `--save-baseline=NAME`).
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "base", env = "LLMBENCH_SAVE_BASELINE",
          conflicts_with_all = ["baseline", "baseline_lenient", "discard_baseline", "load_baseline"], help_heading = "Baselines")]
    pub(crate) save_baseline: Option<String>,
    /// Compare with baseline NAME; a missing baseline is an error (exit 2).
    #[arg(long, value_name = "NAME", env = "LLMBENCH_BASELINE", group = "compare_with", help_heading = "Baselines")]
    pub(crate) baseline: Option<String>,
    /// Compare with baseline NAME where it exists; skip where it does not.
    #[arg(
        long,
        value_name = "NAME",
        env = "LLMBENCH_BASELINE_LENIENT",
        group = "compare_with",
        help_heading = "Baselines"
    )]
    pub(crate) baseline_lenient: Option<String>,
    /// Judge the saved run NAME (e.g. `new`) instead of sending requests;
    /// needs --baseline or --baseline-lenient.
    #[arg(
        long,
        value_name = "NAME",
        env = "LLMBENCH_LOAD_BASELINE",
        requires = "compare_with",
        help_heading = "Baselines"
    )]
    pub(crate) load_baseline: Option<String>,
    /// Save nothing: neither new/ nor a baseline.
    #[arg(long, env = "LLMBENCH_DISCARD_BASELINE", help_heading = "Baselines")]
    pub(crate) discard_baseline: bool,
    /// Where named baselines live (e.g. a committed reports/baselines);
    /// default: beside new/ in target/llmbench.
    #[arg(long, value_name = "PATH", env = "LLMBENCH_BASELINE_DIR", help_heading = "Baselines")]
    pub(crate) baseline_dir: Option<PathBuf>,
    /// Compare runs whose fingerprints (workload, target, load settings,
    /// llmbench version) differ, instead of refusing.
    #[arg(long, env = "LLMBENCH_FORCE_COMPARE", help_heading = "Baselines")]
    pub(crate) force_compare: bool,
    /// Bootstrap resamples per confidence interval and per test (at least 100).
    #[arg(long, value_name = "N", env = "LLMBENCH_NRESAMPLES", value_parser = clap::value_parser!(u32).range(100..), help_heading = "Statistics")]
    pub(crate) nresamples: Option<u32>,
    /// Confidence level of the change's interval (0.95).
    #[arg(long, value_name = "X", env = "LLMBENCH_CONFIDENCE_LEVEL", value_parser = open_unit, help_heading = "Statistics")]
    pub(crate) confidence_level: Option<f64>,
    /// Significance level of the test (0.05).
    #[arg(long, value_name = "X", env = "LLMBENCH_SIGNIFICANCE_LEVEL", value_parser = open_unit, help_heading = "Statistics")]
    pub(crate) significance_level: Option<f64>,
    /// Relative changes inside ±X are noise, never a regression (0.05 = ±5%).
    #[arg(long, value_name = "X", env = "LLMBENCH_NOISE_THRESHOLD", value_parser = fraction, help_heading = "Statistics")]
    pub(crate) noise_threshold: Option<f64>,
    /// Exit 3 when any metric regressed.
    #[arg(long, env = "LLMBENCH_FAIL_ON_REGRESSION", help_heading = "Gate")]
    pub(crate) fail_on_regression: bool,
    /// Write a JUnit XML report: a test case per benchmark × target ×
    /// metric verdict and limit.
    #[arg(long, value_name = "PATH", env = "LLMBENCH_JUNIT", help_heading = "Gate")]
    pub(crate) junit: Option<PathBuf>,
    /// Write the results for other tools (repeatable): bmf, gab-smaller,
    /// gab-bigger, openmetrics, emf, otlp-json (=PATH) and, with the `otlp`
    /// feature, otlp=URL (docs/exports.md).
    #[arg(long = "export", value_name = "FORMAT=PATH", env = "LLMBENCH_EXPORT",
          value_parser = super::ExportSpec::parse, help_heading = "Exports")]
    pub(crate) export: Vec<super::ExportSpec>,
}

/// Which part of a run this process is, and when its load starts
/// (docs/distributed.md).
///
/// These are flags of an invocation, not settings of a benchmark: a
/// benchmark's settings are the same on every shard (they make the
/// fingerprint the merge checks), while the shard number differs from one
/// process to the next and `--start-at` is an instant of one launch.
/// Written in `#[llm_bench]` or `llmbench.toml` they would be wrong for
/// every process but one.
#[derive(Debug, Clone, Default, PartialEq, Args, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ShardArgs {
    /// Run shard INDEX of COUNT (`2/4`, from 1) of every selected
    /// benchmark: its part of the concurrency, rate, samples and dataset;
    /// or `auto` (from JOB_COMPLETION_INDEX, AWS_BATCH_JOB_NODE_INDEX or
    /// AWS_BATCH_JOB_ARRAY_INDEX). Merge with `cargo llmbench merge`.
    #[arg(long, value_name = "INDEX/COUNT|auto", env = "LLMBENCH_SHARD", help_heading = "Shards")]
    pub(crate) shard: Option<Spec<ShardSpec>>,
    /// How many shards `--shard auto` has, where the engine does not say.
    #[arg(long, value_name = "N", env = super::SHARD_COUNT_ENV, value_parser = clap::value_parser!(u32).range(1..=i64::from(super::MAX_SHARDS)), help_heading = "Shards")]
    pub(crate) shard_count: Option<u32>,
    /// Start the load at this wall-clock instant (RFC 3339, or unix
    /// seconds), the same on every shard: wait until then, after the cold
    /// start. A time in the past is refused.
    #[arg(long, value_name = "TIME", env = "LLMBENCH_START_AT", help_heading = "Shards")]
    pub(crate) start_at: Option<Spec<StartAt>>,
}

impl GateArgs {
    /// Paths made absolute against `cwd` (benchmark binaries run in their
    /// package's directory).
    pub(crate) fn absolute(&self, cwd: &std::path::Path) -> GateArgs {
        let abs = |p: &Option<PathBuf>| p.as_ref().map(|p| cwd.join(p));
        GateArgs {
            baseline_dir: abs(&self.baseline_dir),
            junit: abs(&self.junit),
            export: self.export.iter().map(|e| e.absolute(cwd)).collect(),
            ..self.clone()
        }
    }
}

fn open_unit(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        _ => Err(format!("{s:?} must be a number strictly between 0 and 1 (e.g. 0.95)")),
    }
}

fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} must be a fraction in [0, 1) (e.g. 0.05 for ±5%)")),
    }
}

/// `upper` over `lower`: every field `upper` sets (not null, false or
/// empty) replaces `lower`'s. How a binary lays the flags it was given
/// over the ones `cargo llmbench` handed it.
pub(crate) fn overlay<T>(lower: &T, upper: &T) -> T
where
    T: Serialize + serde::de::DeserializeOwned + Clone,
{
    let (Ok(serde_json::Value::Object(mut base)), Ok(serde_json::Value::Object(top))) =
        (serde_json::to_value(lower), serde_json::to_value(upper))
    else {
        return upper.clone();
    };
    let defaults = serde_json::to_value(T::deserialize(serde_json::json!({})).ok()).unwrap_or_default();
    for (key, value) in top {
        let unset = value.is_null()
            || value == serde_json::Value::Bool(false)
            || value.as_array().is_some_and(Vec::is_empty)
            || defaults.get(&key) == Some(&value);
        if !unset {
            base.insert(key, value);
        }
    }
    serde_json::from_value(serde_json::Value::Object(base)).unwrap_or_else(|_| upper.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_keeps_what_the_upper_layer_leaves_unset() {
        let parent = GateArgs { baseline: Some("main".into()), fail_on_regression: true, ..GateArgs::default() };
        let child = GateArgs { noise_threshold: Some(0.1), ..GateArgs::default() };
        let got = overlay(&parent, &child);
        assert_eq!(got.baseline.as_deref(), Some("main"));
        assert!(got.fail_on_regression);
        assert_eq!(got.noise_threshold, Some(0.1));
        let run = overlay(
            &RunArgs { message_format: MessageFormat::Json, ..RunArgs::default() },
            &RunArgs { quiet: true, ..RunArgs::default() },
        );
        assert!(run.quiet && run.json(), "a default value in the upper layer does not reset the lower one");
    }
}
