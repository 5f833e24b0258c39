//! The benchmark binary's side of the regression gate: baseline flags,
//! fingerprint checks before any request is sent, the comparison and limits
//! after each benchmark × target, saving runs, and the outputs at the end
//! (Markdown, JUnit, `$GITHUB_STEP_SUMMARY`, NDJSON events, exit code).

use std::io::Write;
use std::path::Path;

use serde_json::json;

use super::{Invocation, RunError};
use crate::baseline::{self, Mode, Store};
use crate::exit_code;
use crate::gate::{self, Baseline, Differences, Fingerprint, Outcome, Run, SourcedLimit};
use crate::record::RequestRecord;
use crate::report::ci::export::{self, ExportSpec};
use crate::report::ci::{events, junit, markdown};
use crate::report::terminal::change;
use crate::results::history;
use crate::results::{self, RunSummary};
use crate::settings::GateArgs;
use crate::stats::compare::Statistics;

/// The gate for one invocation of a benchmark binary.
pub(crate) struct Gate {
    store: Store,
    mode: Mode,
    discard: bool,
    load: Option<String>,
    force: bool,
    settings: Statistics,
    fail_on_regression: bool,
    json: bool,
    to_stderr: bool,
    markdown: bool,
    junit: Option<std::path::PathBuf>,
    /// Run by `cargo llmbench`, which renders tables, verdicts and the
    /// combined outputs from this binary's events.
    under_parent: bool,
    outcomes: Vec<Outcome>,
    /// `--export` and `--history` when run alone (under `cargo llmbench`,
    /// it writes them), and where each outcome's run was saved.
    exports: Vec<ExportSpec>,
    history: Option<std::path::PathBuf>,
    saved_as: Option<String>,
    dirs: Vec<Option<std::path::PathBuf>>,
}

impl Gate {
    /// The gate the flags ask for.
    pub(crate) fn new(args: &Invocation) -> Result<Gate, RunError> {
        let g = &args.gate;
        let mode = match (&g.save_baseline, &g.baseline, &g.baseline_lenient) {
            (Some(n), _, _) => Mode::Save(n.clone()),
            (_, Some(n), _) => Mode::Strict(n.clone()),
            (_, _, Some(n)) => Mode::Lenient(n.clone()),
            _ => Mode::Previous,
        };
        if let Mode::Save(n) | Mode::Strict(n) | Mode::Lenient(n) = &mode {
            baseline::check_name(n, matches!(mode, Mode::Save(_))).map_err(RunError::Usage)?;
        }
        if let Some(n) = &g.load_baseline {
            baseline::check_name(n, false).map_err(RunError::Usage)?;
        }
        // Run alone, the binary writes the exports and the history; under
        // `cargo llmbench` the parent does, so an LLMBENCH_EXPORT or
        // LLMBENCH_HISTORY this process inherits is not its to act on.
        let alone = !args.under_parent;
        let exports = if alone { g.export.clone() } else { Vec::new() };
        let history_dir = args.run.history.clone().filter(|_| alone);
        export::probe(&exports).map_err(RunError::Usage)?;
        if let Some(dir) = &history_dir {
            history::probe(dir).map_err(|e| RunError::Usage(e.to_string()))?;
        }
        Ok(Gate {
            store: Store::new(args.results_root(), g.baseline_dir.clone()),
            mode,
            discard: g.discard_baseline,
            load: g.load_baseline.clone(),
            force: g.force_compare,
            settings: statistics(g),
            fail_on_regression: g.fail_on_regression,
            json: args.run.json() || args.under_parent,
            to_stderr: args.run.human_to_stderr() || args.under_parent,
            markdown: args.run.markdown(),
            junit: g.junit.clone(),
            under_parent: args.under_parent,
            outcomes: Vec::new(),
            exports,
            history: history_dir,
            saved_as: g.save_baseline.clone(),
            dirs: Vec::new(),
        })
    }

    /// `--load-baseline NAME`: judge saved runs instead of sending requests.
    pub(crate) fn loading(&self) -> Option<&str> {
        self.load.as_deref()
    }

    /// Whether NDJSON events go to stdout.
    pub(crate) fn json(&self) -> bool {
        self.json
    }

    /// Prints people's output: stdout, or stderr when stdout is reserved;
    /// nothing under `cargo llmbench`, which prints it from the events.
    pub(crate) fn human(&self, text: &str) {
        if self.under_parent {
            return;
        }
        if self.to_stderr {
            eprintln!("{text}");
        } else {
            // A closed stdout stops the run quietly instead of panicking.
            crate::term::println(text);
        }
    }

    /// Before any request: a strict baseline must exist and be comparable;
    /// a run to load must exist. `planned` is each job's summary before
    /// measuring (everything the fingerprint needs).
    pub(crate) fn preflight(&self, planned: &[RunSummary]) -> Result<(), RunError> {
        let mut problems = Vec::new();
        for p in planned {
            let (bench, target) = (&p.bench.id, &p.target.name);
            if let Some(name) = &self.load
                && !self.store.exists(bench, target, name)
            {
                problems.push(format!(
                    "no saved run {name:?} for {bench} · {target} to load (looked in {})",
                    self.store.dir(bench, target, name).display()
                ));
            }
            let Mode::Strict(name) = &self.mode else { continue };
            match self.store.load(bench, target, name).map_err(RunError::Failed)? {
                None => problems.push(format!(
                    "baseline {name:?} not found for {bench} · {target} (looked in {}); save one with --save-baseline={name}",
                    self.store.dir(bench, target, name).display()
                )),
                Some(base) if !self.force && self.load.is_none() => {
                    let diffs = Fingerprint::of(p).differences(&Fingerprint::of(&base.summary));
                    if !diffs.is_empty() {
                        let refusal = gate::Refusal {
                            bench: bench.clone(),
                            target: target.clone(),
                            baseline: name.clone(),
                            differences: diffs,
                        };
                        problems.push(refusal.to_string());
                    }
                }
                Some(_) => {}
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(RunError::Usage(problems.join("\n"))) }
    }

    /// After a benchmark × target ran (or was loaded): judge it against its
    /// baseline, save it, then report the outcome (saving first, so a failed
    /// write is not hidden by a verdict).
    /// `records` are the run's records in memory (a long run's sample);
    /// `requests` where the saved run's come from.
    pub(crate) fn judge(
        &mut self,
        summary: &RunSummary,
        records: &[RequestRecord],
        requests: results::Requests<'_>,
        limits: &[SourcedLimit],
    ) -> Result<(), RunError> {
        let outcome = self.outcome(summary, records, limits)?;
        let written = self.save(summary, requests, &outcome)?;
        let text = change::render(&outcome);
        if !text.is_empty() {
            self.human(text.trim_end());
        }
        self.emit_outcome(&outcome, written.as_deref());
        // Appended as each run ends, so the report written before `finish` shows it.
        if let Some(dir) = &self.history {
            append_outcomes(dir, std::slice::from_ref(&outcome), self.saved_as.as_deref())
                .map_err(|e| RunError::Failed(e.to_string()))?;
        }
        self.dirs.push(written);
        self.outcomes.push(outcome);
        Ok(())
    }

    /// The gate's verdict on `summary` against the baseline this mode names.
    fn outcome(
        &self,
        summary: &RunSummary,
        records: &[RequestRecord],
        limits: &[SourcedLimit],
    ) -> Result<Outcome, RunError> {
        let (bench, target) = (&summary.bench.id, &summary.target.name);
        let name = self.mode.compare_with().to_owned();
        let saved = self.store.load(bench, target, &name).map_err(RunError::Failed)?;
        let baseline = match &saved {
            Some(base) => Baseline::Saved(&name, Run { summary: &base.summary, records: &base.records }),
            None if matches!(self.mode, Mode::Previous) => Baseline::Missing("no previous run".into()),
            None => Baseline::Missing(format!("no baseline {name:?} yet")),
        };
        let differences = match &self.mode {
            _ if self.force => Differences::Force,
            Mode::Strict(_) | Mode::Lenient(_) => Differences::Refuse,
            _ => Differences::Skip,
        };
        let current_name = self.load.clone().unwrap_or_else(|| results::NEW_DIR.to_owned());
        let current = (current_name.as_str(), Run { summary, records });
        gate::judge(baseline, current, limits, &self.settings, differences).map_err(|r| RunError::Usage(r.to_string()))
    }

    /// Saves the run as `new/` (and as the baseline `--save-baseline` names)
    /// with the verdict beside it for the report; returns where it went.
    fn save(
        &self,
        summary: &RunSummary,
        requests: results::Requests<'_>,
        outcome: &Outcome,
    ) -> Result<Option<std::path::PathBuf>, RunError> {
        let mut written = None;
        if self.load.is_none() && !self.discard {
            written = Some(self.store.save_from(results::NEW_DIR, summary, requests).map_err(write_error)?);
            if let Mode::Save(n) = &self.mode {
                self.store.save_from(n, summary, requests).map_err(write_error)?;
            }
        }
        if !self.discard && self.load.as_deref().is_none_or(|l| l == results::NEW_DIR) {
            // The verdict on new/, beside it, for the report (or nothing, so
            // an older verdict is not shown against this run).
            let to_json =
                |v: serde_json::Value| serde_json::to_vec_pretty(&v).map_err(|e| RunError::Failed(e.to_string()));
            let comparison = outcome.comparison.as_ref().map(|c| to_json(json!(c))).transpose()?;
            let limits = (!outcome.limits.is_empty())
                .then(|| to_json(json!({ "started_at": summary.started_at, "limits": outcome.limits })))
                .transpose()?;
            let (bench, target) = (&outcome.bench, &outcome.target);
            for (file, content) in [(baseline::COMPARISON_FILE, comparison), (baseline::LIMITS_FILE, limits)] {
                self.store.save_change(bench, target, file, content.as_deref()).map_err(write_error)?;
            }
        }
        Ok(written)
    }

    /// The events of one outcome (`--message-format json`, and always under
    /// `cargo llmbench`, which renders them).
    fn emit_outcome(&self, outcome: &Outcome, written: Option<&std::path::Path>) {
        let (bench, target) = (&outcome.bench, &outcome.target);
        let path = written.map(|d| d.display().to_string());
        events::emit(
            self.json,
            "result",
            json!({ "bench": bench, "target": target, "path": path, "summary": outcome.summary }),
        );
        if let Some(c) = &outcome.comparison {
            events::emit(self.json, "comparison", json!({ "bench": bench, "target": target, "comparison": c }));
        }
        if !outcome.limits.is_empty() {
            events::emit(self.json, "limits", json!({ "bench": bench, "target": target, "limits": outcome.limits }));
        }
        events::emit(self.json, "outcome", json!({ "path": path, "outcome": outcome }));
    }

    /// The outputs at the end, and the exit code (`code` so far: an
    /// interrupted run's error wins over a regression).
    pub(crate) fn finish(&self, code: i32) -> Result<i32, RunError> {
        let regressions: usize = self.outcomes.iter().map(|o| o.regressions().len()).sum();
        let failed: usize = self.outcomes.iter().map(|o| o.failed_limits().count()).sum();
        let verdict = gate::exit_code(&self.outcomes, self.fail_on_regression);
        // Under `cargo llmbench`, it renders the combined outputs.
        if !self.under_parent {
            write_outputs(&self.outcomes, self.markdown, self.junit.as_deref()).map_err(RunError::Failed)?;
            for note in export::write_outcomes(&self.exports, &self.outcomes, &self.dirs).map_err(RunError::Failed)? {
                self.human(&note);
            }
        }
        let code = if code == exit_code::OK { verdict } else { code };
        if regressions > 0 && !self.fail_on_regression && failed == 0 {
            self.human(&format!("{regressions} metric(s) regressed (exit code 0: add --fail-on-regression to fail)"));
        }
        events::emit(
            self.json,
            "finished",
            json!({ "exit_code": code, "regressions": regressions, "failed_limits": failed }),
        );
        Ok(code)
    }
}

/// The statistics of the comparison the gate flags ask for.
pub(crate) fn statistics(g: &GateArgs) -> Statistics {
    let d = Statistics::default();
    Statistics {
        nresamples: g.nresamples.map_or(d.nresamples, |n| n as usize),
        confidence_level: g.confidence_level.unwrap_or(d.confidence_level),
        significance_level: g.significance_level.unwrap_or(d.significance_level),
        noise_threshold: g.noise_threshold.unwrap_or(d.noise_threshold),
        ..d
    }
}

/// Markdown on stdout (`--format md`), JUnit, and the GitHub step summary.
pub(crate) fn write_outputs(outcomes: &[Outcome], md: bool, junit_path: Option<&Path>) -> Result<(), String> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let text = markdown::render(outcomes);
    if md {
        crate::term::print(&text);
    }
    if let Some(path) = junit_path {
        junit::write(outcomes, path)?;
    }
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let path = std::path::PathBuf::from(path);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("cannot open $GITHUB_STEP_SUMMARY {}: {e}", path.display()))?;
        f.write_all(text.as_bytes()).map_err(|e| format!("cannot append to {}: {e}", path.display()))?;
    }
    Ok(())
}

fn write_error(e: std::io::Error) -> RunError {
    RunError::Failed(format!("cannot write results: {e}"))
}

/// Appends the gathered outcomes of a run: each with the baseline it was
/// saved as and the run it was compared with, the commit checked out in
/// the current directory and this host.
pub(crate) fn append_outcomes(
    dir: &Path,
    outcomes: &[Outcome],
    saved_as: Option<&str>,
) -> Result<Vec<std::path::PathBuf>, history::HistoryError> {
    let context = history::Context::current(&std::env::current_dir().unwrap_or_default());
    let runs: Vec<_> = outcomes
        .iter()
        .map(|o| (&o.summary, saved_as.map(str::to_owned), o.comparison.as_ref().map(|c| c.baseline.clone())))
        .collect();
    history::append(dir, &runs, &context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ci::export::ExportSpec;

    fn invocation(dir: &Path) -> Invocation {
        let mut args = Invocation::default();
        args.gate.export = vec![ExportSpec::parse(&format!("bmf={}", dir.join("out/b.json").display())).unwrap()];
        args.run.history = Some(dir.join("history"));
        args
    }

    /// Run alone, a binary probes and later writes its exports and history;
    /// under `cargo llmbench` (which writes them for all binaries) one it
    /// inherits through LLMBENCH_EXPORT or LLMBENCH_HISTORY is ignored.
    #[test]
    fn exports_and_history_are_the_binarys_only_when_it_runs_alone() {
        let alone_dir = tempfile::tempdir().unwrap();
        let alone = Gate::new(&invocation(alone_dir.path())).unwrap();
        assert_eq!((alone.exports.len(), alone.history.is_some()), (1, true));
        assert!(alone_dir.path().join("history").is_dir() && alone_dir.path().join("out").is_dir(), "probed");

        let nested_dir = tempfile::tempdir().unwrap();
        let mut nested = invocation(nested_dir.path());
        nested.under_parent = true;
        let gate = Gate::new(&nested).unwrap();
        assert!(gate.exports.is_empty() && gate.history.is_none());
        assert_eq!(std::fs::read_dir(nested_dir.path()).unwrap().count(), 0, "nothing probed");
    }

    /// An export path that cannot be written stops the binary before it
    /// sends anything, as a usage error naming the flag.
    #[test]
    fn an_unwritable_export_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("out"), "a file").unwrap();
        let Err(e) = Gate::new(&invocation(dir.path())) else { panic!("accepted an export under a file") };
        assert_eq!(e.exit_code(), exit_code::USAGE);
        assert!(e.to_string().starts_with("cannot write --export bmf="), "{e}");
    }
}
