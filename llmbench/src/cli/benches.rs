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
use crate::config::file::{self, CONFIG_FILE, Config};
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
    // Outside any Cargo workspace (a team without Rust), llmbench.toml's
    // benchmarks are all there is.
    let workspace = match (&args.manifest_path, super::root::find_manifest(&cwd)) {
        (None, None) => None,
        _ => Some(build::discover(args)?),
    };
    let config_path = config_path(args, &cwd, workspace.as_ref().map(|w| w.root.as_path()))?;
    let config = match &config_path {
        Some(path) => Some(Config::load(path).map_err(|e| build::UsageError(e.to_string()))?),
        None => None,
    };
    let declares = config.as_ref().is_some_and(|c| c.declared_benches().next().is_some());
    let rust_benches = workspace.as_ref().is_some_and(|w| !w.benches.is_empty());
    if !rust_benches && !declares {
        let place = workspace.as_ref().map_or_else(|| cwd.display().to_string(), |w| w.root.display().to_string());
        eprintln!(
            "no benchmarks found in {place}: no bench target depends on llmbench and no [benches.NAME] table of llmbench.toml declares a workload (`{} init` sets both up)",
            super::program()
        );
        return Ok(exit_code::NO_BENCHMARKS);
    }
    // Before the build and the run: a typo in a path costs no benchmark time.
    export::probe(&args.gate.export).map_err(build::UsageError)?;
    if let Some(dir) = &args.run.history {
        history::probe(dir).map_err(|e| build::UsageError(e.to_string()))?;
    }
    let mut executables = match &workspace {
        Some(ws) if rust_benches => build::build(args, ws)?,
        _ => Vec::new(),
    };
    if let Some(path) = config_path.as_ref().filter(|_| declares) {
        executables.push(toml_runner(path)?);
    }
    let handoff = handoff(args, &cwd, config_path.as_deref());
    let results_root = match (std::env::var_os("LLMBENCH_HOME").filter(|v| !v.is_empty()), &workspace) {
        (Some(home), _) => cwd.join(home),
        (None, Some(ws)) => ws.target_dir.join("llmbench"),
        (None, None) => super::root::results_root(&cwd, config_path.as_deref()),
    };
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

/// The configuration: `--config` (it must exist), else llmbench.toml at the
/// workspace root, else (outside a workspace) the one found upward.
fn config_path(args: &LlmbenchArgs, cwd: &Path, workspace_root: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    let found = match (&args.run.config, workspace_root) {
        (Some(path), _) => file::find(Some(&cwd.join(path)), &[]),
        (None, Some(root)) => Ok(Some(root.join(CONFIG_FILE)).filter(|p| p.is_file())),
        (None, None) => file::find(None, &[cwd]),
    };
    found.map_err(|e| build::UsageError(e.to_string()).into())
}

/// This program, as the benchmark binary of llmbench.toml's benchmarks:
/// run like the others, in the file's directory, so they get the same
/// filter, listing, events and gate.
fn toml_runner(config: &Path) -> anyhow::Result<Executable> {
    let path = std::env::current_exe().context("finding this program to run llmbench.toml's benchmarks")?;
    Ok(Executable {
        name: CONFIG_FILE.to_owned(),
        path,
        package_dir: config.parent().map(Path::to_owned).unwrap_or_default(),
        leading_args: vec![super::bench::TOML_RUNNER.to_owned()],
        shown: config.to_owned(),
    })
}

/// The flags for the binaries: this invocation's, with paths made absolute
/// (binaries run in their package's directory) and the configuration found
/// here. JUnit is left out: this process writes one report for all binaries.
fn handoff(args: &LlmbenchArgs, cwd: &Path, config: Option<&Path>) -> FromParent {
    let mut run = args.run.clone();
    run.config = config.map(|p| cwd.join(p));
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
    cmd.args(&exe.leading_args);
    if measuring {
        cmd.arg("--bench");
    }
    cmd.args(&args.bench_args).current_dir(&exe.package_dir);
    cmd.env(PARENT_ENV, serde_json::to_string(handoff).context("writing the flags for the benchmark binaries")?);
    cmd.env("LLMBENCH_HOME", results_root);
    if !args.run.quiet && !args.run.list {
        eprintln!("     Running {} ({})", exe.name, exe.shown.display());
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
            args.run.human_to_stderr(),
        );
    }
    Ok(code)
}

/// `--history` and `--export`, for every binary's runs: their paths were
/// checked before the build, so a failure now (a full disk, a collector
/// that does not answer 2xx) is an error (exit 1) naming the path.
fn after_run(args: &LlmbenchArgs, outcomes: &[Outcome], dirs: &[Option<PathBuf>]) -> Result<(), String> {
    if let Some(dir) = args.run.history.as_ref().filter(|_| !outcomes.is_empty()) {
        crate::engine::append_outcomes(dir, outcomes, args.gate.save_baseline.as_deref()).map_err(|e| e.to_string())?;
    }
    for note in export::write_outcomes(&args.gate.export, outcomes, dirs)? {
        human(args, &note);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::LlmbenchArgs;

    fn parse(args: &[&str]) -> LlmbenchArgs {
        crate::cli::parse("cargo llmbench", args.iter().map(std::ffi::OsString::from)).unwrap()
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
        let h = handoff(&a, Path::new("/repo"), Some(Path::new("cfg.toml")));
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
