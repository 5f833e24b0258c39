//! `cargo llmbench` and `llmbench`: one program, two names (a cargo
//! subcommand and a plain command), and its subcommands. Without one it
//! finds the workspace's benchmark targets that use llmbench
//! (cargo_metadata), builds them, runs each binary, then llmbench.toml's
//! benchmarks, and renders what they report (`benches`); `run` benchmarks an
//! endpoint from flags alone (`run`); `init` scaffolds a project; `compare`
//! judges saved runs; `sim` serves the simulator; `completions` prints
//! shell completions.

pub(crate) mod bench;
mod benches;
mod build;
mod compare;
mod completions;
mod history;
mod init;
mod merge;
mod root;
mod run;
mod sim;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use clap::{Args, FromArgMatches, Subcommand};

use crate::exit_code;
use crate::settings::SettingsLayer;

/// `cargo llmbench [OPTIONS] [FILTER] [-- BENCH_ARGS…]`.
#[derive(Debug, Args)]
#[command(
    version = version(),
    args_conflicts_with_subcommands = true,
    about = "Find, build and run the llmbench benchmarks of this project: #[llm_bench] functions in benches/ and [benches.NAME] tables of llmbench.toml",
    after_help = "Examples:
  # Every benchmark (benches/ and llmbench.toml), against the built-in simulator:
  cargo llmbench
  # Those matching \"short\", against [targets.local] of llmbench.toml:
  cargo llmbench short --target local
  # List them; remember a run as \"main\"; gate on it:
  cargo llmbench --list
  cargo llmbench --save-baseline=main
  cargo llmbench --baseline main --fail-on-regression --limit 'ttft.p90<=500ms'
  # An endpoint from flags alone, no code (see `run --help`); set up a project:
  llmbench run --url http://127.0.0.1:8000/v1 --model M --concurrency 1,8 --requests 100
  cargo llmbench init

Exit codes: 0 ok, 1 error, 2 usage or config error, 3 regression or failed limit, 4 no benchmark matched, 5 the endpoint failed the run (every level >= 50% errors, or a dead endpoint), 129/130/143 stopped by SIGHUP/SIGINT/SIGTERM (partial results written).
Results: target/llmbench/<bench>/<target>/new/{summary.json,requests.jsonl}."
)]
pub(crate) struct LlmbenchArgs {
    #[command(subcommand)]
    command: Option<LlmbenchCommand>,
    #[command(flatten)]
    run: crate::settings::RunArgs,
    #[command(flatten)]
    settings: SettingsLayer,
    #[command(flatten)]
    gate: crate::settings::GateArgs,
    #[command(flatten)]
    shard: crate::settings::ShardArgs,
    /// Test mode: one request per benchmark, no measuring.
    #[arg(long)]
    test: bool,

    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH", help_heading = "Cargo options")]
    manifest_path: Option<PathBuf>,
    /// Package(s) whose benchmarks to run.
    #[arg(long, short = 'p', value_name = "SPEC", help_heading = "Cargo options")]
    package: Vec<String>,
    /// Benchmark target(s) to run (`[[bench]] name`).
    #[arg(long = "bench", value_name = "NAME", help_heading = "Cargo options")]
    benches: Vec<String>,
    /// Cargo's target directory.
    #[arg(long, value_name = "DIR", help_heading = "Cargo options")]
    target_dir: Option<PathBuf>,
    /// Features to activate.
    #[arg(long, short = 'F', value_name = "FEATURES", help_heading = "Cargo options")]
    features: Vec<String>,
    /// Activate all features.
    #[arg(long, help_heading = "Cargo options")]
    all_features: bool,
    /// Do not activate the default features.
    #[arg(long, help_heading = "Cargo options")]
    no_default_features: bool,

    /// Arguments passed to every benchmark binary.
    #[arg(last = true, value_name = "BENCH_ARGS")]
    bench_args: Vec<String>,
}

const SIM_EXAMPLES: &str = "Examples:
  # Serve on http://127.0.0.1:8000 (OpenAI clients: base_url = http://127.0.0.1:8000/v1):
  llmbench sim
  # A free port; the first line of output names the URL:
  llmbench sim --port 0
  # The simulator settings of [targets.sim-slow] of llmbench.toml:
  llmbench sim --target sim-slow";

const COMPARE_EXAMPLES: &str = "Examples:
  # The latest run of every benchmark against baseline \"main\":
  cargo llmbench compare main new
  cargo llmbench compare main new short --fail-on-regression
  cargo llmbench compare main new --limit 'ttft.p50=+5%' --format md
  # Two run directories:
  llmbench compare saved/run target/llmbench/run-1a2b3c4d/local/new";

/// `cargo llmbench <COMMAND>`; without one, it runs benchmarks (a first
/// argument that is none of these is the FILTER).
#[derive(Debug, Subcommand)]
enum LlmbenchCommand {
    /// Benchmark an endpoint from flags alone, no code: `run --url URL --model M`.
    Run(Box<run::RunCmd>),
    /// Set up benchmarks in this project: benches/llm.rs, Cargo.toml, llmbench.toml, a CI workflow.
    Init(init::InitArgs),
    /// Serve the simulator (every protocol) until Ctrl-C, for other tools and your own apps.
    #[command(
        after_help = SIM_EXAMPLES
    )]
    Sim(sim::SimArgs),
    /// Compare two saved runs or baselines without sending requests:
    /// `cargo llmbench compare main new` judges each benchmark × target's
    /// `new/` against baseline `main`. BASELINE and CURRENT are names
    /// (`new`, or a saved baseline) or paths to run directories.
    #[command(
        after_help = COMPARE_EXAMPLES
    )]
    Compare(Box<compare::CompareArgs>),
    /// Print the trend of each benchmark × target in the run history
    /// (`--history DIR` of earlier runs), sending nothing.
    History(history::HistoryArgs),
    /// Merge the runs of a benchmark's shards (`--shard`) into one run:
    /// `cargo llmbench merge shard-1/ shard-2/ … --into merged/`. Each DIR
    /// is a shard's run directory, or a directory searched for them.
    Merge(merge::MergeArgs),
    /// Print a shell completion script for `llmbench`: bash, zsh, fish, elvish or powershell.
    Completions(completions::CompletionsArgs),
}

/// The version, with the cargo features this build has (what it can talk to).
pub(crate) fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let features: Vec<&str> = [
            ("bedrock", cfg!(feature = "bedrock")),
            ("sagemaker", cfg!(feature = "sagemaker")),
            ("mock", cfg!(feature = "mock")),
        ]
        .into_iter()
        .filter_map(|(name, on)| on.then_some(name))
        .collect();
        let features = if features.is_empty() { "none".to_owned() } else { features.join(", ") };
        format!("{} (features: {features})", env!("CARGO_PKG_VERSION"))
    })
}

/// How this program was called: `llmbench` or `cargo llmbench`, for usage
/// lines and hints.
pub(crate) fn program() -> &'static str {
    static PROGRAM: OnceLock<&'static str> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let argv0 = std::env::args_os().next().unwrap_or_default();
        let cargo = std::env::args_os().nth(1).is_some_and(|a| a == "llmbench");
        program_of(Path::new(&argv0), cargo)
    })
}

/// `llmbench` when the executable is named so and cargo did not run it
/// (cargo runs `cargo-llmbench llmbench …`), else `cargo llmbench`.
fn program_of(argv0: &Path, run_by_cargo: bool) -> &'static str {
    let stem = argv0.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    if stem == "llmbench" && !run_by_cargo { "llmbench" } else { "cargo llmbench" }
}

/// The command line, for parsing, help and completions; `program` is
/// `llmbench` or `cargo llmbench`, as usage lines show it.
pub(crate) fn command(program: &'static str) -> clap::Command {
    LlmbenchArgs::augment_args(clap::Command::new("llmbench").bin_name(program))
}

/// Parses the arguments after the program name.
fn parse(program: &'static str, args: impl IntoIterator<Item = OsString>) -> Result<LlmbenchArgs, clap::Error> {
    let mut cmd = command(program);
    let matches = cmd.try_get_matches_from_mut(std::iter::once(OsString::from(program)).chain(args))?;
    LlmbenchArgs::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
}

/// Runs `cargo llmbench` (or `llmbench`) with the process arguments;
/// returns the exit code.
pub(crate) fn main() -> i32 {
    let mut argv: Vec<OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == bench::TOML_RUNNER) {
        return bench::toml_main(argv);
    }
    // Cargo runs `cargo-llmbench llmbench …`; accept a direct call too.
    if argv.get(1).is_some_and(|a| a == "llmbench") {
        argv.remove(1);
    }
    let args = match parse(program(), argv.into_iter().skip(1)) {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { exit_code::USAGE } else { exit_code::OK };
        }
    };
    // `cargo llmbench … | head -1` ends quietly, like any CLI. Not for the
    // simulator, which writes to sockets (a client that hangs up would kill it).
    if !matches!(args.command, Some(LlmbenchCommand::Sim(_))) {
        crate::process::default_sigpipe();
    }
    match dispatch(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", crate::term::safe(&format!("{e:#}")));
            match e.downcast_ref::<build::UsageError>() {
                Some(_) => exit_code::USAGE,
                None => exit_code::ERROR,
            }
        }
    }
}

fn dispatch(args: &LlmbenchArgs) -> anyhow::Result<i32> {
    match &args.command {
        Some(LlmbenchCommand::Run(cmd)) => run::run(cmd),
        Some(LlmbenchCommand::Init(init)) => init::run(init),
        Some(LlmbenchCommand::Sim(sim)) => sim::run(sim),
        Some(LlmbenchCommand::Compare(compare)) => compare::run(compare),
        Some(LlmbenchCommand::History(history)) => history::run(history),
        Some(LlmbenchCommand::Merge(merge)) => merge::run(merge),
        Some(LlmbenchCommand::Completions(c)) => completions::run(c),
        None => benches::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<LlmbenchArgs, clap::Error> {
        super::parse("cargo llmbench", args.iter().map(OsString::from))
    }

    #[test]
    fn compare_is_a_subcommand_and_anything_else_a_filter() {
        let a = parse(&["short", "--sample-size", "5"]).unwrap();
        assert_eq!(a.run.filter.as_deref(), Some("short"));
        assert!(a.command.is_none());
        let a = parse(&["compare", "main", "new", "short", "--fail-on-regression", "--limit", "ttft.p50=+5%"]).unwrap();
        let Some(LlmbenchCommand::Compare(c)) = a.command else { panic!("not compare") };
        assert_eq!((c.baseline.as_str(), c.current.as_str(), c.filter.as_deref()), ("main", "new", Some("short")));
        assert!(c.gate.fail_on_regression && c.limits.len() == 1);
        assert!(parse(&["compare", "main"]).is_err(), "compare needs two runs");
        assert!(parse(&["--limit", "nope"]).is_err());
    }

    #[test]
    fn both_command_lines_check_settings_alike() {
        for bad in [&["--rate", "fast"][..], &["--nresamples", "10"], &["--timeout", "0s"], &["--sample-size", "0"]] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse(&["--save-baseline"]).unwrap().gate.save_baseline.as_deref(), Some("base"));
    }
}
