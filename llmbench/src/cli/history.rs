//! `cargo llmbench history [FILTER] [--history DIR]`: prints the trend of
//! every benchmark × target in the run history (`--history` of a run, see
//! docs/exports.md), sending nothing.

use std::path::PathBuf;

use clap::Args;
use regex::Regex;

use super::build::UsageError;
use crate::exit_code;
use crate::report::terminal;
use crate::results::history;

/// Where the history is when no flag or variable names it: this
/// repository's convention, relative to the current directory.
const DEFAULT_DIR: &str = "reports/history";

/// `cargo llmbench history`.
#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    /// Only benchmarks (or targets) whose id matches this regular expression.
    #[arg(value_name = "FILTER")]
    filter: Option<String>,
    /// The history directory (default: reports/history when it exists).
    #[arg(long, value_name = "DIR", env = "LLMBENCH_HISTORY")]
    history: Option<PathBuf>,
}

/// Runs the subcommand; returns the exit code.
pub(crate) fn run(args: &HistoryArgs) -> anyhow::Result<i32> {
    let dir = match &args.history {
        Some(dir) => dir.clone(),
        None if PathBuf::from(DEFAULT_DIR).is_dir() => PathBuf::from(DEFAULT_DIR),
        None => {
            return Err(UsageError(format!(
                "no history here: pass --history DIR (where `cargo llmbench --history DIR` appended runs), or run from a directory with {DEFAULT_DIR}/"
            ))
            .into());
        }
    };
    let filter = match &args.filter {
        Some(f) => Some(Regex::new(f).map_err(|e| UsageError(format!("invalid FILTER regex {f:?}: {e}")))?),
        None => None,
    };
    let keep = |bench: &str, target: &str| filter.as_ref().is_none_or(|re| re.is_match(bench) || re.is_match(target));
    let series = history::read(&dir, keep).map_err(|e| UsageError(e.to_string()))?;
    if series.is_empty() {
        eprintln!("no runs in {} match", dir.display());
        return Ok(exit_code::NO_BENCHMARKS);
    }
    let blocks: Vec<String> = series.iter().map(terminal::history::render).collect();
    crate::term::println(blocks.join("\n").trim_end());
    Ok(exit_code::OK)
}
