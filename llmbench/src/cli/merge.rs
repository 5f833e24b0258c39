//! `cargo llmbench merge DIR…`: the runs a benchmark's shards wrote
//! (`--shard`, docs/distributed.md) made into one normal run, which the
//! gate, `compare`, the report and baselines read like any other.
//!
//! Each DIR is a shard's run directory (it holds `shard.json`) or a
//! directory searched for them (downloaded CI artifacts, a shared volume).
//! Shards are grouped by benchmark × target; everything is checked before
//! anything is written, and any refusal exits 2 saying which shard and why.

use std::path::{Path, PathBuf};

use clap::Args;

use super::build::UsageError;
use crate::baseline::{self, Store};
use crate::exit_code;
use crate::report::terminal;
use crate::results::histograms::{HISTOGRAMS_FILE, RunHistograms};
use crate::results::merge::{self, Merged, ShardRun};
use crate::results::{self, shard};

/// How deep a directory is searched for shard runs
/// (`<root>/<bench>/<target>/new` is three below a results root).
const SEARCH_DEPTH: usize = 8;

/// `cargo llmbench merge`.
#[derive(Debug, Args)]
pub(crate) struct MergeArgs {
    /// Shard run directories (each holding shard.json), or directories to search for them.
    #[arg(value_name = "DIR", required = true)]
    dirs: Vec<PathBuf>,
    /// Write the merged run into this directory (a new one, or a run
    /// directory to replace); only for the shards of one benchmark × target.
    #[arg(long, value_name = "DIR", conflicts_with = "name")]
    into: Option<PathBuf>,
    /// Save the merged run in the results store as NAME: `new` (the
    /// default, in the results root) or a baseline name (in --baseline-dir).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Results root (default: $LLMBENCH_HOME, else <cargo target dir>/llmbench).
    #[arg(long, value_name = "DIR")]
    results_dir: Option<PathBuf>,
    /// Where named baselines live (default: the results root).
    #[arg(long, value_name = "PATH")]
    baseline_dir: Option<PathBuf>,
    /// Merge the shards that are there when some are missing, and mark the
    /// run partial (each level says which shard is missing).
    #[arg(long)]
    allow_missing: bool,
    /// Print only the result tables.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Path to Cargo.toml: whose target directory holds the results.
    #[arg(long, value_name = "PATH", help_heading = "Cargo options")]
    manifest_path: Option<PathBuf>,
}

/// Runs the subcommand; returns the exit code.
pub(crate) fn run(args: &MergeArgs) -> anyhow::Result<i32> {
    let runs = read_shards(&args.dirs).map_err(|problems| UsageError(problems.join("\n")))?;
    let groups = merge::group(runs);
    if args.into.is_some() && groups.len() > 1 {
        let names: Vec<String> = groups.keys().map(|(b, t)| format!("{b} · {t}")).collect();
        return Err(UsageError(format!(
            "--into takes the shards of one benchmark × target, and these are of {}: \
             pass one's directories, or drop --into to save each in the results store",
            names.join(", ")
        ))
        .into());
    }
    let mut merged = Vec::new();
    let mut refused = Vec::new();
    for ((bench, target), shards) in groups {
        match merge::merge(shards, args.allow_missing) {
            Ok(m) => merged.push(m),
            Err(problems) => refused.push(format!("cannot merge {bench} · {target}:\n{}", problems.join("\n"))),
        }
    }
    if !refused.is_empty() {
        return Err(UsageError(refused.join("\n")).into());
    }
    for m in &merged {
        let dir = write(args, m)?;
        show(args, m, &dir);
    }
    Ok(exit_code::OK)
}

/// Every shard run in `dirs`, or every reason one cannot be read.
fn read_shards(dirs: &[PathBuf]) -> Result<Vec<ShardRun>, Vec<String>> {
    let (mut runs, mut problems) = (Vec::new(), Vec::new());
    let mut seen = std::collections::BTreeSet::new();
    for dir in dirs {
        let found = find(dir);
        if found.is_empty() {
            problems.push(if dir.join(results::SUMMARY_FILE).is_file() {
                format!(
                    "{} is a run but not a shard's (no {}): was it run with --shard?",
                    dir.display(),
                    shard::SHARD_FILE
                )
            } else {
                format!("{} holds no shard run (no {} in it or below it)", dir.display(), shard::SHARD_FILE)
            });
        }
        for d in found.into_iter().filter(|d| seen.insert(d.canonicalize().unwrap_or_else(|_| d.clone()))) {
            match ShardRun::read(&d) {
                Ok(Some(run)) => runs.push(run),
                Ok(None) => {}
                Err(e) => problems.push(e),
            }
        }
    }
    if problems.is_empty() { Ok(runs) } else { Err(problems) }
}

/// `dir` if it is a shard run, else the shard runs below it.
fn find(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_owned(), 0)];
    while let Some((d, depth)) = stack.pop() {
        if d.join(shard::SHARD_FILE).is_file() {
            out.push(d);
            continue;
        }
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.filter_map(Result::ok) {
            let hidden = e.file_name().to_string_lossy().starts_with('.');
            if depth < SEARCH_DEPTH && !hidden && e.path().is_dir() {
                stack.push((e.path(), depth + 1));
            }
        }
    }
    out.sort();
    out
}

/// Writes a merged run (and its `shards.json`); returns where.
fn write(args: &MergeArgs, m: &Merged) -> anyhow::Result<PathBuf> {
    let failed =
        |dir: &Path, e: std::io::Error| anyhow::anyhow!("cannot write the merged run to {}: {e}", dir.display());
    let dir = match &args.into {
        Some(dir) => {
            // write_run replaces the directory whole: never one that is not a run.
            let occupied = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_some());
            if occupied && !dir.join(results::SUMMARY_FILE).is_file() {
                return Err(UsageError(format!(
                    "--into {} is a directory that holds something other than a run: give a new directory",
                    dir.display()
                ))
                .into());
            }
            results::write_run(dir, &m.summary, &m.records).map_err(|e| failed(dir, e))?;
            dir.clone()
        }
        None => {
            let name = args.name.as_deref().unwrap_or(results::NEW_DIR);
            if name != results::NEW_DIR {
                baseline::check_name(name, true).map_err(UsageError)?;
            }
            let root =
                super::compare::results_root_at(args.results_dir.as_deref(), args.manifest_path.as_deref(), None)?;
            let store = Store::new(root.clone(), args.baseline_dir.clone());
            store.save(name, &m.summary, &m.records).map_err(|e| failed(&root, e))?
        }
    };
    let encoded = RunHistograms::encode(&m.histograms).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    shard::write_json(&dir, HISTOGRAMS_FILE, &encoded).map_err(|e| failed(&dir, e))?;
    shard::write_json(&dir, shard::MERGED_FILE, &m.manifest).map_err(|e| failed(&dir, e))?;
    Ok(dir)
}

/// The merged run's table, where it went, and what is missing.
fn show(args: &MergeArgs, m: &Merged, dir: &Path) {
    println!("{}", terminal::table(&m.summary).trim_end());
    if !m.manifest.missing.is_empty() {
        eprintln!(
            "warning: shard {} missing: the merged run is partial (merged with --allow-missing)",
            m.manifest.missing.join(", ")
        );
    }
    if !args.quiet {
        let shards: Vec<&str> = m.manifest.shards.iter().map(|s| s.shard.as_str()).collect();
        println!("merged shards {} of {}\nresults: {}", shards.join(", "), m.manifest.count, dir.display());
    }
}
