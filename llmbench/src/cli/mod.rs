//! `cargo llmbench`: the command line, and its subcommands. Without one it
//! finds the workspace's benchmark targets that use llmbench
//! (cargo_metadata), builds them, runs each binary and renders what they
//! report (`benches`); `compare` judges saved runs; `sim` serves the
//! simulator.

pub(crate) mod bench;
mod benches;
mod build;
mod compare;
mod history;
mod merge;
mod sim;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::exit_code;
use crate::settings::SettingsLayer;

#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo")]
enum CargoCli {
    /// Find, build and run llmbench benchmarks.
    Llmbench(LlmbenchArgs),
}

/// `cargo llmbench [OPTIONS] [FILTER] [-- BENCH_ARGS…]`.
#[derive(Debug, Args)]
#[command(
    version,
    args_conflicts_with_subcommands = true,
    about = "Find, build and run the llmbench benchmarks of this workspace",
    after_help = "Exit codes: 0 ok, 1 error, 2 usage or config error, 3 regression or failed limit, 4 no benchmark matched, 129/130/143 stopped by SIGHUP/SIGINT/SIGTERM (partial results written).\nResults: target/llmbench/<bench>/<target>/new/{summary.json,requests.jsonl}."
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

/// `cargo llmbench <COMMAND>`; without one, it runs benchmarks (a first
/// argument that is none of these is the FILTER).
#[derive(Debug, Subcommand)]
enum LlmbenchCommand {
    /// Serve the simulator (every protocol) until Ctrl-C, for other tools and your own apps.
    Sim(sim::SimArgs),
    /// Compare two saved runs or baselines without sending requests:
    /// `cargo llmbench compare main new` judges each benchmark × target's
    /// `new/` against baseline `main`. BASELINE and CURRENT are names
    /// (`new`, or a saved baseline) or paths to run directories.
    Compare(Box<compare::CompareArgs>),
    /// Print the trend of each benchmark × target in the run history
    /// (`--history DIR` of earlier runs), sending nothing.
    History(history::HistoryArgs),
    /// Merge the runs of a benchmark's shards (`--shard`) into one run:
    /// `cargo llmbench merge shard-1/ shard-2/ … --into merged/`. Each DIR
    /// is a shard's run directory, or a directory searched for them.
    Merge(merge::MergeArgs),
}

/// Runs `cargo llmbench` with the process arguments; returns the exit code.
pub(crate) fn main() -> i32 {
    let mut argv: Vec<String> = std::env::args().collect();
    // Cargo runs `cargo-llmbench llmbench …`; accept a direct call too.
    if argv.get(1).map(String::as_str) != Some("llmbench") {
        argv.insert(1, "llmbench".into());
    }
    let CargoCli::Llmbench(args) = match CargoCli::try_parse_from(argv) {
        Ok(cli) => cli,
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
    match run(&args) {
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

fn run(args: &LlmbenchArgs) -> anyhow::Result<i32> {
    match &args.command {
        Some(LlmbenchCommand::Sim(sim)) => sim::run(sim),
        Some(LlmbenchCommand::Compare(compare)) => compare::run(compare),
        Some(LlmbenchCommand::History(history)) => history::run(history),
        Some(LlmbenchCommand::Merge(merge)) => merge::run(merge),
        None => benches::run(args),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<LlmbenchArgs, clap::Error> {
        let argv = ["cargo", "llmbench"].iter().chain(args).copied();
        CargoCli::try_parse_from(argv).map(|CargoCli::Llmbench(a)| a)
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
