//! The benchmark binary's side of the regression gate: baseline flags,
//! fingerprint checks before any request is sent, the comparison and limits
//! after each benchmark × target, saving runs, and the outputs at the end
//! (Markdown, JUnit, `$GITHUB_STEP_SUMMARY`, NDJSON events, exit code).

use std::io::Write;
use std::path::Path;

use serde_json::json;

use super::Failure;
use super::args::{BenchArgs, MessageFormat};
use super::registry::BenchDef;
use crate::baseline::{self, Mode, SavedRun, Store};
use crate::config::file::Config;
use crate::exit_code;
use crate::gate::{self, Fingerprint, Limit, Outcome, Run, SourcedLimit};
use crate::record::RequestRecord;
use crate::report::ci::{events, junit, markdown};
use crate::report::terminal::change;
use crate::results::{self, RunSummary};
use crate::stats::compare::Settings;

/// Where a limit came from, as reported.
const FROM_ATTRIBUTE: &str = "#[llm_bench]";

/// The gate for one invocation of a benchmark binary.
pub(crate) struct Gate {
    store: Store,
    mode: Mode,
    discard: bool,
    load: Option<String>,
    force: bool,
    settings: Settings,
    fail_on_regression: bool,
    json: bool,
    to_stderr: bool,
    markdown: bool,
    junit: Option<std::path::PathBuf>,
    outcome_log: Option<std::path::PathBuf>,
    outcomes: Vec<Outcome>,
}

impl Gate {
    /// The gate the flags ask for.
    pub(crate) fn new(args: &BenchArgs) -> Result<Gate, Failure> {
        let mode = match (&args.save_baseline, &args.baseline, &args.baseline_lenient) {
            (Some(n), _, _) => Mode::Save(n.clone()),
            (_, Some(n), _) => Mode::Strict(n.clone()),
            (_, _, Some(n)) => Mode::Lenient(n.clone()),
            _ => Mode::Previous,
        };
        if let Mode::Save(n) | Mode::Strict(n) | Mode::Lenient(n) = &mode {
            baseline::check_name(n, matches!(mode, Mode::Save(_))).map_err(Failure::Usage)?;
        }
        if let Some(n) = &args.load_baseline {
            baseline::check_name(n, false).map_err(Failure::Usage)?;
        }
        let defaults = Settings::default();
        let settings = Settings {
            nresamples: args.nresamples.map_or(defaults.nresamples, |n| n as usize),
            confidence_level: args.confidence_level.unwrap_or(defaults.confidence_level),
            significance_level: args.significance_level.unwrap_or(defaults.significance_level),
            noise_threshold: args.noise_threshold.unwrap_or(defaults.noise_threshold),
            ..defaults
        };
        Ok(Gate {
            store: Store::new(results::default_root(), args.baseline_dir.clone()),
            mode,
            discard: args.discard_baseline,
            load: args.load_baseline.clone(),
            force: args.force_compare,
            settings,
            fail_on_regression: args.fail_on_regression,
            json: args.message_format == MessageFormat::Json,
            to_stderr: args.human_to_stderr(),
            markdown: args.markdown(),
            junit: args.junit.clone(),
            outcome_log: args.outcome_log.clone(),
            outcomes: Vec::new(),
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

    /// Prints people's output: stdout, or stderr when stdout is reserved.
    pub(crate) fn human(&self, text: &str) {
        if self.to_stderr {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
    }

    /// Every limit for `def`: flags, `[defaults]`, `[benches.NAME]`, the
    /// attribute. A malformed one in config or attribute is a usage error.
    pub(crate) fn limits(args: &BenchArgs, config: &Config, def: &BenchDef) -> Result<Vec<SourcedLimit>, Failure> {
        let mut out =
            SourcedLimit::from_flags_and_config(&args.limits, Some(config), def.name).map_err(Failure::Usage)?;
        for text in def.limits {
            let limit = Limit::parse(text).map_err(|e| {
                Failure::Usage(format!("#[llm_bench] limits of {} ({}:{}): {e}", def.name, def.file, def.line))
            })?;
            out.push(SourcedLimit { limit, source: FROM_ATTRIBUTE.into() });
        }
        Ok(out)
    }

    /// Before any request: a strict baseline must exist and be comparable;
    /// a run to load must exist. `planned` is each job's summary before
    /// measuring (everything the fingerprint needs).
    pub(crate) fn preflight(&self, planned: &[RunSummary]) -> Result<(), Failure> {
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
            match self.store.load(bench, target, name).map_err(Failure::Error)? {
                None => problems.push(format!(
                    "baseline {name:?} not found for {bench} · {target} (looked in {}); save one with --save-baseline={name}",
                    self.store.dir(bench, target, name).display()
                )),
                Some(base) if !self.force && self.load.is_none() => {
                    let diffs = Fingerprint::of(p).differences(&Fingerprint::of(&base.summary));
                    if !diffs.is_empty() {
                        problems.push(refusal(bench, target, name, &diffs));
                    }
                }
                Some(_) => {}
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(Failure::Usage(problems.join("\n"))) }
    }

    /// After a benchmark × target ran (or was loaded): compare, check the
    /// limits, print, emit events, save. `record_dir` is where the run was
    /// written, if it was.
    pub(crate) fn judge(
        &mut self,
        summary: &RunSummary,
        records: &[RequestRecord],
        limits: &[SourcedLimit],
    ) -> Result<(), Failure> {
        let (bench, target) = (summary.bench.id.clone(), summary.target.name.clone());
        let name = self.mode.compare_with().to_owned();
        let saved = self.store.load(&bench, &target, &name).map_err(Failure::Error)?;
        let current_name = self.load.clone().unwrap_or_else(|| results::NEW_DIR.to_owned());
        let mut no_comparison = None;
        let base: Option<SavedRun> = match saved {
            None => {
                no_comparison = Some(match &self.mode {
                    Mode::Previous => "no previous run".to_owned(),
                    _ => format!("no baseline {name:?} yet"),
                });
                None
            }
            Some(base) => {
                let diffs = Fingerprint::of(summary).differences(&Fingerprint::of(&base.summary));
                if diffs.is_empty() || self.force {
                    Some(base)
                } else if matches!(self.mode, Mode::Strict(_) | Mode::Lenient(_)) {
                    return Err(Failure::Usage(refusal(&bench, &target, &name, &diffs)));
                } else {
                    let list: Vec<String> = diffs.iter().map(ToString::to_string).collect();
                    no_comparison = Some(format!("{name:?} is not comparable ({})", list.join("; ")));
                    None
                }
            }
        };
        let current = Run { summary, records };
        let comparison = base.as_ref().map(|b| {
            let diffs = Fingerprint::of(summary).differences(&Fingerprint::of(&b.summary));
            gate::compare_runs(
                (&name, Run { summary: &b.summary, records: &b.records }),
                (&current_name, current.clone()),
                &self.settings,
                diffs,
            )
        });
        let base_run = base.as_ref().map(|b| Run { summary: &b.summary, records: &b.records });
        let limit_outcomes = gate::check_limits(limits, &current, base_run.as_ref(), &self.settings);
        let outcome = Outcome {
            version: gate::COMPARISON_VERSION,
            bench: bench.clone(),
            target: target.clone(),
            summary: summary.clone(),
            comparison,
            no_comparison,
            limits: limit_outcomes,
        };

        // Save before reporting, so a failed write is not hidden by a verdict.
        let mut written = None;
        if self.load.is_none() && !self.discard {
            let dir = self.store.save(results::NEW_DIR, summary, records).map_err(write_error)?;
            written = Some(dir);
            if let Mode::Save(n) = &self.mode {
                self.store.save(n, summary, records).map_err(write_error)?;
            }
        }
        if !self.discard && self.load.as_deref().is_none_or(|l| l == results::NEW_DIR) {
            // The verdict on new/, beside it, for the report (or nothing, so
            // an older verdict is not shown against this run).
            let to_json =
                |v: serde_json::Value| serde_json::to_vec_pretty(&v).map_err(|e| Failure::Error(e.to_string()));
            let comparison = outcome.comparison.as_ref().map(|c| to_json(json!(c))).transpose()?;
            let limits = (!outcome.limits.is_empty())
                .then(|| to_json(json!({ "started_at": summary.started_at, "limits": outcome.limits })))
                .transpose()?;
            for (file, content) in [(baseline::COMPARISON_FILE, comparison), (baseline::LIMITS_FILE, limits)] {
                self.store.save_change(&bench, &target, file, content.as_deref()).map_err(write_error)?;
            }
        }

        let text = change::render(&outcome);
        if !text.is_empty() {
            self.human(text.trim_end());
        }
        events::emit(
            self.json,
            "result",
            json!({ "bench": bench, "target": target, "path": written.as_ref().map(|d| d.display().to_string()), "summary": summary }),
        );
        if let Some(c) = &outcome.comparison {
            events::emit(self.json, "comparison", json!({ "bench": bench, "target": target, "comparison": c }));
        }
        if !outcome.limits.is_empty() {
            events::emit(self.json, "limits", json!({ "bench": bench, "target": target, "limits": outcome.limits }));
        }
        if let Some(log) = &self.outcome_log {
            append_json_line(log, &outcome)
                .map_err(|e| Failure::Error(format!("cannot append to {}: {e}", log.display())))?;
        }
        self.outcomes.push(outcome);
        Ok(())
    }

    /// The outputs at the end, and the exit code (`code` so far: an
    /// interrupted run's error wins over a regression).
    pub(crate) fn finish(&self, code: i32) -> Result<i32, Failure> {
        let regressions: usize = self.outcomes.iter().map(|o| o.regressions().len()).sum();
        let failed: usize = self.outcomes.iter().map(|o| o.failed_limits().count()).sum();
        // Under `cargo llmbench` (an outcome log), it renders the combined outputs.
        if self.outcome_log.is_none() {
            write_outputs(&self.outcomes, self.markdown, self.junit.as_deref()).map_err(Failure::Error)?;
        }
        let mut code = code;
        if code == exit_code::OK && (failed > 0 || (self.fail_on_regression && regressions > 0)) {
            code = exit_code::REGRESSION;
        }
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

/// Markdown on stdout (`--format md`), JUnit, and the GitHub step summary.
pub(crate) fn write_outputs(outcomes: &[Outcome], md: bool, junit_path: Option<&Path>) -> Result<(), String> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let text = markdown::render(outcomes);
    if md {
        print!("{text}");
        let _ = std::io::stdout().flush();
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

fn refusal(bench: &str, target: &str, name: &str, diffs: &[gate::FingerprintDifference]) -> String {
    let list: Vec<String> = diffs.iter().map(|d| format!("  - {d}")).collect();
    format!(
        "refusing to compare {bench} · {target} with baseline {name:?}: the runs are not comparable\n{}\n(save a new baseline, or pass --force-compare to compare anyway)",
        list.join("\n")
    )
}

fn write_error(e: std::io::Error) -> Failure {
    Failure::Error(format!("cannot write results: {e}"))
}

fn append_json_line(path: &Path, value: &impl serde::Serialize) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(value)?;
    line.push(b'\n');
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    // One write per line, so lines of concurrent writers do not interleave.
    f.write_all(&line)
}
