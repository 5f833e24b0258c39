//! `cargo llmbench compare BASELINE CURRENT [FILTER]`: judges saved runs
//! against saved runs, sending no request. Each side is a name (`new`, or a
//! baseline saved with `--save-baseline`) looked up for every benchmark ×
//! target, or a path to one run directory (holding `summary.json`).
//! Limits come from `--limit` and `llmbench.toml` (`[defaults]` and
//! `[benches.NAME]`); those of `#[llm_bench]` live in the benchmark binary
//! and apply when it runs (`--load-baseline`).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use regex::Regex;

use super::build::UsageError;
use crate::baseline::{self, SavedRun, Store};
use crate::config::file::{self, Config};
use crate::exit_code;
use crate::gate::{self, Baseline, Differences, Outcome, Run};
use crate::report::ci::{events, export};
use crate::report::terminal::{self, change};
use crate::results;
use crate::settings::value::Spec;
use crate::settings::{GateArgs, MessageFormat};
use crate::settings::{Layer, Limit, Settings, SettingsLayer, Source, SourcedLimit};

/// `cargo llmbench compare`.
#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// The run compared against: a baseline name (`main`), `new`, or a run directory.
    #[arg(id = "base_run", value_name = "BASELINE")]
    pub(super) baseline: String,
    /// The run judged: `new` (the latest run), a baseline name, or a run directory.
    #[arg(value_name = "CURRENT")]
    pub(super) current: String,
    /// Only benchmarks whose id matches this regular expression.
    #[arg(value_name = "FILTER")]
    pub(super) filter: Option<String>,
    /// Results root (default: $LLMBENCH_HOME, else <cargo target dir>/llmbench, else target/llmbench beside llmbench.toml or here).
    #[arg(long, value_name = "DIR")]
    results_dir: Option<PathBuf>,
    /// The configuration file whose limits apply (default: llmbench.toml found upward).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    #[command(flatten)]
    pub(super) gate: GateArgs,
    /// A limit (repeatable): `ttft.p90<=500ms`, `error_rate<=1%`, `ttft.p50=+5%`.
    #[arg(long = "limit", value_name = "LIMIT", help_heading = "Gate")]
    pub(super) limits: Vec<Spec<Limit>>,
    /// `md`: a Markdown summary on stdout (tables go to stderr).
    #[arg(long, value_name = "FORMAT")]
    format: Option<String>,
    /// `human` (default) or `json`: NDJSON events on stdout.
    #[arg(long, value_enum, default_value_t)]
    message_format: MessageFormat,
    /// Path to Cargo.toml: whose target directory and llmbench.toml to use.
    #[arg(long, value_name = "PATH", help_heading = "Cargo options")]
    manifest_path: Option<PathBuf>,
}

/// One side of the comparison.
enum Side {
    Name(String),
    Dir(PathBuf),
}

fn side(text: &str) -> anyhow::Result<Side> {
    let path = Path::new(text);
    if path.join(results::SUMMARY_FILE).is_file() {
        return Ok(Side::Dir(path.to_owned()));
    }
    if text.contains(['/', '\\']) {
        return Err(UsageError(format!("{text} is not a run directory (no {} in it)", results::SUMMARY_FILE)).into());
    }
    baseline::check_name(text, false).map_err(UsageError)?;
    Ok(Side::Name(text.to_owned()))
}

fn results_root(args: &CompareArgs) -> anyhow::Result<PathBuf> {
    results_root_at(args.results_dir.as_deref(), args.manifest_path.as_deref(), args.config.as_deref())
}

/// The results root: `dir` (`--results-dir`), else `$LLMBENCH_HOME`, else
/// `llmbench` in the cargo target directory of `manifest`, else where
/// `llmbench run` and llmbench.toml's benchmarks write from the current
/// directory (the workspace's target directory, or beside `config`).
pub(super) fn results_root_at(
    dir: Option<&Path>,
    manifest: Option<&Path>,
    config: Option<&Path>,
) -> anyhow::Result<PathBuf> {
    if let Some(dir) = dir {
        return Ok(dir.to_owned());
    }
    if let Some(home) = std::env::var_os("LLMBENCH_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    if let Some(path) = manifest {
        let metadata = cargo_metadata::MetadataCommand::new()
            .manifest_path(path)
            .no_deps()
            .exec()
            .context("running cargo metadata")?;
        return Ok(metadata.target_directory.as_std_path().join("llmbench"));
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    let config = file::find(config, &[&cwd]).ok().flatten();
    Ok(super::root::results_root(&cwd, config.as_deref()))
}

/// Runs the subcommand; returns the exit code.
pub(crate) fn run(args: &CompareArgs) -> anyhow::Result<i32> {
    let (base_side, cur_side) = (side(&args.baseline)?, side(&args.current)?);
    export::probe(&args.gate.export).map_err(UsageError)?;
    let store = Store::new(results_root(args)?, args.gate.baseline_dir.clone());
    let filter = match &args.filter {
        Some(f) => Some(Regex::new(f).map_err(|e| UsageError(format!("invalid FILTER regex {f:?}: {e}")))?),
        None => None,
    };
    let load = |s: &Side, bench: &str, target: &str| -> anyhow::Result<Option<SavedRun>> {
        match s {
            Side::Dir(d) => Ok(Some(baseline::load_dir(d).map_err(anyhow::Error::msg)?)),
            Side::Name(n) => store.load(bench, target, n).map_err(anyhow::Error::msg),
        }
    };
    // The pairs: from a directory's own bench and target, or every
    // benchmark × target that has the named run.
    let keys: Vec<(String, String)> = match (&cur_side, &base_side) {
        (Side::Dir(d), _) | (_, Side::Dir(d)) => {
            let s = results::read_summary(d).map_err(anyhow::Error::msg)?;
            vec![(s.bench.id, s.target.name)]
        }
        (Side::Name(n), _) => store.list(n),
    };
    let config = load_config(args)?;
    let settings = crate::engine::statistics(&args.gate);
    let json = args.message_format == MessageFormat::Json;
    let markdown = matches!(args.format.as_deref(), Some("md" | "markdown"));
    let mut outcomes = Vec::new();
    let mut dirs = Vec::new();
    let mut missing = Vec::new();
    for (bench_dir, target_dir) in keys {
        let Some(current) = load(&cur_side, &bench_dir, &target_dir)? else { continue };
        let (bench, target) = (current.summary.bench.id.clone(), current.summary.target.name.clone());
        if filter.as_ref().is_some_and(|re| !re.is_match(&bench)) {
            continue;
        }
        let Some(base) = load(&base_side, &bench, &target)? else {
            missing.push(format!("{bench} · {target}"));
            continue;
        };
        let limits = limits(args, config.as_ref(), &bench)?;
        let current_run = (args.current.as_str(), Run { summary: &current.summary, records: &current.records });
        let baseline = Baseline::Saved(&args.baseline, Run { summary: &base.summary, records: &base.records });
        let differences = if args.gate.force_compare { Differences::Force } else { Differences::Refuse };
        let outcome = gate::judge(baseline, current_run, &limits, &settings, differences)
            .map_err(|r| UsageError(r.to_string()))?;
        show(&outcome, json, markdown || json);
        dirs.push(Some(match &cur_side {
            Side::Dir(d) => d.clone(),
            Side::Name(n) => store.dir(&bench, &target, n),
        }));
        outcomes.push(outcome);
    }
    if !missing.is_empty() {
        eprintln!("no {:?} to compare with for: {}", args.baseline, missing.join(", "));
    }
    if outcomes.is_empty() {
        eprintln!("nothing to compare: no benchmark × target has both {:?} and {:?}", args.baseline, args.current);
        return Ok(exit_code::NO_BENCHMARKS);
    }
    finish(args, &outcomes, &dirs, markdown, json)
}

/// One outcome: its table and verdicts (on stderr when stdout carries
/// Markdown or events), and its events.
fn show(outcome: &Outcome, json: bool, to_stderr: bool) {
    let human = format!("{}{}", terminal::table(&outcome.summary), change::render(outcome));
    if to_stderr {
        eprintln!("{human}");
    } else {
        println!("{human}");
    }
    let (bench, target) = (&outcome.bench, &outcome.target);
    if let Some(c) = &outcome.comparison {
        events::emit(json, "comparison", serde_json::json!({ "bench": bench, "target": target, "comparison": c }));
    }
    if !outcome.limits.is_empty() {
        events::emit(json, "limits", serde_json::json!({ "bench": bench, "target": target, "limits": outcome.limits }));
    }
}

/// The outputs of every outcome (Markdown, JUnit, exports, the `finished`
/// event) and the exit code.
fn finish(
    args: &CompareArgs,
    outcomes: &[Outcome],
    dirs: &[Option<PathBuf>],
    markdown: bool,
    json: bool,
) -> anyhow::Result<i32> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let junit = args.gate.junit.as_ref().map(|p| cwd.join(p));
    crate::engine::write_outputs(outcomes, markdown, junit.as_deref()).map_err(anyhow::Error::msg)?;
    for note in export::write_outcomes(&args.gate.export, outcomes, dirs).map_err(anyhow::Error::msg)? {
        eprintln!("{note}");
    }
    let regressions: usize = outcomes.iter().map(|o| o.regressions().len()).sum();
    let failed: usize = outcomes.iter().map(|o| o.failed_limits().count()).sum();
    let code = gate::exit_code(outcomes, args.gate.fail_on_regression);
    events::emit(
        json,
        "finished",
        serde_json::json!({ "exit_code": code, "regressions": regressions, "failed_limits": failed }),
    );
    Ok(code)
}

/// The limits of `--limit` and of llmbench.toml (`[benches.NAME]`, then
/// `[defaults]`), merged as a run merges them.
fn limits(args: &CompareArgs, config: Option<&Config>, bench: &str) -> anyhow::Result<Vec<SourcedLimit>> {
    let flags = SettingsLayer { limits: args.limits.clone(), ..SettingsLayer::default() };
    let mut layers = vec![Layer { source: &Source::Flags, settings: &flags }];
    let from_config = config.map(|c| (c.bench_layer(bench), c.defaults_layer()));
    if let Some((bench_layer, defaults)) = &from_config {
        if let Some((source, settings)) = bench_layer {
            layers.push(Layer { source, settings });
        }
        layers.push(Layer { source: &defaults.0, settings: defaults.1 });
    }
    let settings = Settings::resolve(&layers, |_, _| Ok(())).map_err(|e| UsageError(e.to_string()))?;
    Ok(settings.limits)
}

fn load_config(args: &CompareArgs) -> anyhow::Result<Option<Config>> {
    let start = match args.manifest_path.as_deref().and_then(Path::parent) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => std::env::current_dir().unwrap_or_default(),
    };
    let found = file::find(args.config.as_deref(), &[&start]).map_err(|e| UsageError(e.to_string()))?;
    found.map(|p| Config::load(&p).map_err(|e| UsageError(e.to_string()).into())).transpose()
}
