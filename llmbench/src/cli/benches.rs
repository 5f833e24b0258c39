//! `cargo llmbench [FILTER]`: builds the workspace's benchmark binaries,
//! runs each with this invocation's flags and settings (handed over as one
//! JSON value, [`FromParent`]), and renders what they report on their
//! stdout as NDJSON events: a table and verdict per benchmark × target,
//! a combined summary, Markdown, JUnit, the HTML report.
//!
//! It knows nothing of providers or statistics: the binaries measure and
//! judge; this orchestrates and presents.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;
use serde_json::Value;

use super::LlmbenchArgs;
use super::bench::{FromParent, PARENT_ENV};
use super::build::{self, Executable};
use crate::config::file::CONFIG_FILE;
use crate::exit_code;
use crate::gate::Outcome;
use crate::report::ci::{events, export};
use crate::report::terminal::{self, change};
use crate::results::history;

/// What the binaries reported, gathered for the outputs at the end.
#[derive(Default)]
struct Gathered {
    outcomes: Vec<Outcome>,
    /// Where each outcome's run was saved (None: not saved), for exports.
    dirs: Vec<Option<PathBuf>>,
    codes: Vec<i32>,
}

/// Runs the benchmarks; returns the exit code.
pub(crate) fn run(args: &LlmbenchArgs) -> anyhow::Result<i32> {
    // A shard that cannot resolve, or a --start-at already past, fails
    // now rather than after minutes of building.
    if !args.test && !args.run.list {
        crate::engine::check_shard(&args.shard).map_err(build::UsageError)?;
    }
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let workspace = build::discover(args)?;
    if workspace.benches.is_empty() {
        eprintln!("no benchmark targets that depend on llmbench were found in {}", workspace.root.display());
        return Ok(exit_code::NO_BENCHMARKS);
    }
    // Before the build and the run: a typo in a path costs no benchmark time.
    export::probe(&args.gate.export).map_err(build::UsageError)?;
    if let Some(dir) = &args.run.history {
        history::probe(dir).map_err(|e| build::UsageError(e.to_string()))?;
    }
    let executables = build::build(args, &workspace)?;
    let handoff = handoff(args, &cwd, &workspace.root);
    let results_root = std::env::var_os("LLMBENCH_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.target_dir.join("llmbench"));
    let mut gathered = Gathered::default();
    // SIGINT, SIGTERM, SIGHUP go to the running benchmark binary, which
    // stops and writes what it measured; then no other binary starts, and
    // the summary and report below are still written.
    let forwarding = crate::process::Forwarding::install();
    for exe in &executables {
        if let Some(code) = forwarding.received() {
            gathered.codes.push(code);
            break;
        }
        let code = run_binary(args, exe, &handoff, &results_root, &mut gathered)?;
        gathered.codes.push(code);
        if exit_code::is_interruption(code) {
            break;
        }
    }
    let code = finish(args, &handoff, &results_root, gathered);
    drop(forwarding);
    code
}

/// The flags for the binaries: this invocation's, with paths made absolute
/// (binaries run in their package's directory) and the workspace's
/// llmbench.toml when none is named. JUnit is left out: this process
/// writes one report for all binaries.
fn handoff(args: &LlmbenchArgs, cwd: &Path, workspace_root: &Path) -> FromParent {
    let mut run = args.run.clone();
    run.config = match &run.config {
        Some(path) => Some(cwd.join(path)),
        None => Some(workspace_root.join(CONFIG_FILE)).filter(|p| p.is_file()),
    };
    let mut gate = args.gate.absolute(cwd);
    // This process writes the JUnit report, the exports and the history for all binaries.
    gate.junit = None;
    gate.export.clear();
    run.history = None;
    FromParent { run, settings: args.settings.clone(), gate, shard: args.shard.clone() }
}

/// Runs one binary: in bench mode its stdout carries events, which are
/// rendered as they come; in test and list mode its output is the user's.
fn run_binary(
    args: &LlmbenchArgs,
    exe: &Executable,
    handoff: &FromParent,
    results_root: &Path,
    gathered: &mut Gathered,
) -> anyhow::Result<i32> {
    let measuring = !args.test && !args.run.list;
    let mut cmd = Command::new(&exe.path);
    if measuring {
        cmd.arg("--bench");
    }
    cmd.args(&args.bench_args).current_dir(&exe.package_dir);
    cmd.env(PARENT_ENV, serde_json::to_string(handoff).context("writing the flags for the benchmark binaries")?);
    cmd.env("LLMBENCH_HOME", results_root);
    if !args.run.quiet && !args.run.list {
        eprintln!("     Running {} ({})", exe.name, exe.path.display());
    }
    let running = || format!("running {}", exe.path.display());
    if !measuring {
        return crate::process::run_child(&mut cmd).with_context(running);
    }
    cmd.stdout(Stdio::piped());
    let mut child = crate::process::spawn_child(&mut cmd).with_context(running)?;
    let stdout = child.stdout.take().context("reading the benchmark binary's output")?;
    for line in BufReader::new(stdout).lines() {
        // A read error ends the events, not the run: the child's exit code says how it went.
        let Ok(line) = line else { break };
        on_line(args, &line, gathered);
    }
    crate::process::wait_child(child).with_context(running)
}

/// One line of a binary's stdout: an event, or the user's own output.
fn on_line(args: &LlmbenchArgs, line: &str, gathered: &mut Gathered) {
    let event: Option<Value> = serde_json::from_str(line).ok().filter(|v: &Value| v["schema"] == "llmbench-event");
    let Some(event) = event else {
        crate::term::println(line);
        return;
    };
    let reason = event["reason"].as_str().unwrap_or_default();
    // The binaries' `finished` events are summed into this process's own.
    if args.run.json() && reason != "finished" {
        println!("{line}");
        let _ = std::io::stdout().flush();
    }
    if reason != "outcome" {
        return;
    }
    let Ok(outcome) = serde_json::from_value::<Outcome>(event["outcome"].clone()) else {
        eprintln!("warning: a benchmark binary reported an outcome this version cannot read");
        return;
    };
    let mut text = terminal::table(&outcome.summary);
    text.push_str(&change::render(&outcome));
    if let Some(path) = event["path"].as_str().filter(|_| !args.run.quiet) {
        text.push_str(&format!("results: {path}\n"));
    }
    human(args, text.trim_end());
    gathered.dirs.push(event["path"].as_str().map(PathBuf::from));
    gathered.outcomes.push(outcome);
}

/// People's output: stdout, or stderr when stdout carries JSON or Markdown.
fn human(args: &LlmbenchArgs, text: &str) {
    if args.run.human_to_stderr() {
        eprintln!("{text}");
    } else {
        println!("{text}");
    }
}

/// The outputs for all binaries, and the exit code.
fn finish(args: &LlmbenchArgs, handoff: &FromParent, results_root: &Path, gathered: Gathered) -> anyhow::Result<i32> {
    let outcomes = &gathered.outcomes;
    if outcomes.len() > 1 {
        let summaries: Vec<_> = outcomes.iter().map(|o| o.summary.clone()).collect();
        human(args, &format!("Summary of {} benchmark runs\n{}", summaries.len(), terminal::combined(&summaries)));
    }
    let pareto = terminal::pareto::render(outcomes.iter().map(|o| &o.summary));
    if !pareto.is_empty() {
        human(args, pareto.trim_end());
    }
    let cwd = std::env::current_dir().unwrap_or_default();
    let junit = args.gate.junit.as_ref().map(|p| cwd.join(p));
    crate::engine::write_outputs(outcomes, args.run.markdown(), junit.as_deref()).map_err(anyhow::Error::msg)?;
    let mut code = exit_code::combine(&gathered.codes);
    if let Err(message) = after_run(args, outcomes, &gathered.dirs) {
        eprintln!("error: {}", crate::term::safe(&message));
        code = exit_code::combine(&[code, exit_code::ERROR]);
    }
    let regressions: usize = outcomes.iter().map(|o| o.regressions().len()).sum();
    let failed: usize = outcomes.iter().map(|o| o.failed_limits().count()).sum();
    if regressions > 0 && !args.gate.fail_on_regression && failed == 0 {
        human(args, &format!("{regressions} metric(s) regressed (exit code 0: add --fail-on-regression to fail)"));
    }
    if code == exit_code::OK {
        code = crate::gate::exit_code(outcomes, args.gate.fail_on_regression);
    }
    let json = serde_json::json!({ "exit_code": code, "regressions": regressions, "failed_limits": failed });
    events::emit(args.run.json(), "finished", json);
    if !args.run.noplot && !args.run.list && !args.test {
        crate::report::write_and_announce(
            results_root,
            handoff.gate.baseline_dir.as_deref(),
            args.run.history.as_deref(),
        );
    }
    Ok(code)
}

/// `--history` and `--export`, for every binary's runs: their paths were
/// checked before the build, so a failure now (a full disk, a collector
/// that does not answer 2xx) is an error (exit 1) naming the path.
fn after_run(args: &LlmbenchArgs, outcomes: &[Outcome], dirs: &[Option<PathBuf>]) -> Result<(), String> {
    if let Some(dir) = args.run.history.as_ref().filter(|_| !outcomes.is_empty()) {
        history::append_outcomes(dir, outcomes, args.gate.save_baseline.as_deref()).map_err(|e| e.to_string())?;
    }
    for note in export::write_outcomes(&args.gate.export, outcomes, dirs)? {
        human(args, &note);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{CargoCli, LlmbenchArgs};
    use clap::Parser;

    fn parse(args: &[&str]) -> LlmbenchArgs {
        let argv = ["cargo", "llmbench"].iter().chain(args).copied();
        let CargoCli::Llmbench(a) = CargoCli::try_parse_from(argv).unwrap();
        a
    }

    #[test]
    fn the_handoff_carries_every_flag_with_absolute_paths() {
        let a = parse(&[
            "short",
            "--baseline",
            "main",
            "--baseline-dir",
            "reports/baselines",
            "--fail-on-regression",
            "--limit",
            "error_rate<=1%",
            "--junit",
            "j.xml",
            "--rate",
            "5/s",
            "--config",
            "cfg.toml",
        ]);
        let h = handoff(&a, Path::new("/repo"), Path::new("/ws"));
        assert_eq!(h.run.filter.as_deref(), Some("short"));
        assert_eq!(h.run.config.as_deref(), Some(Path::new("/repo/cfg.toml")));
        assert_eq!(h.gate.baseline.as_deref(), Some("main"));
        assert_eq!(h.gate.baseline_dir.as_deref(), Some(Path::new("/repo/reports/baselines")));
        assert!(h.gate.fail_on_regression);
        assert_eq!(h.gate.junit, None, "cargo llmbench writes the JUnit report itself");
        assert_eq!(h.settings.limits.len(), 1);
        assert_eq!(h.settings.rate.as_ref().map(|r| r.text()), Some("5/s"));
        // What the binary reads back is what was sent.
        let back: FromParent = serde_json::from_str(&serde_json::to_string(&h).unwrap()).unwrap();
        assert_eq!(back.settings, h.settings);
        assert_eq!(back.gate, h.gate);
        assert_eq!(back.run, h.run);
    }
}
