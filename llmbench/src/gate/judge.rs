//! The gate's one decision: a run, its baseline (if any) and the limits in,
//! an [`Outcome`] out — and the exit code of a list of outcomes. Pure:
//! loading runs, saving them and printing verdicts belong to the callers
//! (the benchmark binary, `cargo llmbench compare`).

use super::comparison::{COMPARISON_VERSION, Outcome, Run, check_limits, compare_runs};
use super::fingerprint::{Fingerprint, FingerprintDifference};
use crate::exit_code;
use crate::settings::SourcedLimit;
use crate::stats::compare::Statistics;

/// What a run is judged against.
#[derive(Debug, Clone)]
pub enum Baseline<'a> {
    /// Nothing to compare with, and why (`no previous run`, `no baseline "main" yet`).
    Missing(String),
    /// A saved run, under its name (`new`, `main`, a path).
    Saved(&'a str, Run<'a>),
}

/// How differing fingerprints are handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Differences {
    /// Compare anyway (`--force-compare`), listing them in the comparison.
    Force,
    /// Refuse: the runs are not comparable (a baseline asked for by name).
    Refuse,
    /// Skip the comparison, saying why (the previous run, by default).
    Skip,
}

/// Two runs that cannot be compared, and why.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error(
    "refusing to compare {bench} · {target} with baseline {baseline:?}: the runs are not comparable\n{}\n(save a new baseline, or pass --force-compare to compare anyway)",
    .differences.iter().map(|d| format!("  - {d}")).collect::<Vec<_>>().join("\n")
)]
pub struct Refusal {
    /// The benchmark id.
    pub bench: String,
    /// The target name.
    pub target: String,
    /// The baseline's name.
    pub baseline: String,
    /// What differs.
    pub differences: Vec<FingerprintDifference>,
}

/// Judges `current` (saved as `current.0`) against `baseline`: the
/// comparison, when the runs are comparable, and every limit.
pub fn judge(
    baseline: Baseline<'_>,
    current: (&str, Run<'_>),
    limits: &[SourcedLimit],
    statistics: &Statistics,
    differences: Differences,
) -> Result<Outcome, Refusal> {
    let (current_name, run) = current;
    let (bench, target) = (run.summary.bench.id.clone(), run.summary.target.name.clone());
    let (base, no_comparison) = match baseline {
        Baseline::Missing(why) => (None, Some(why)),
        Baseline::Saved(name, base) => {
            let diffs = Fingerprint::of(run.summary).differences(&Fingerprint::of(base.summary));
            match differences {
                _ if diffs.is_empty() => (Some((name, base, diffs)), None),
                Differences::Force => (Some((name, base, diffs)), None),
                Differences::Refuse => {
                    return Err(Refusal { bench, target, baseline: name.to_owned(), differences: diffs });
                }
                Differences::Skip => {
                    let list: Vec<String> = diffs.iter().map(ToString::to_string).collect();
                    (None, Some(format!("{name:?} is not comparable ({})", list.join("; "))))
                }
            }
        }
    };
    let comparison = base.as_ref().map(|(name, base, diffs)| {
        compare_runs((name, base.clone()), (current_name, run.clone()), statistics, diffs.clone())
    });
    let limits = check_limits(limits, &run, base.as_ref().map(|(_, b, _)| b), statistics);
    Ok(Outcome {
        version: COMPARISON_VERSION,
        bench,
        target,
        summary: run.summary.clone(),
        comparison,
        no_comparison,
        limits,
    })
}

/// The exit code the outcomes call for: 3 when a limit failed, or a metric
/// regressed and `fail_on_regression` is set; 0 otherwise.
pub fn exit_code(outcomes: &[Outcome], fail_on_regression: bool) -> i32 {
    let failed = outcomes.iter().any(|o| o.failed_limits().next().is_some());
    let regressed = outcomes.iter().any(|o| !o.regressions().is_empty());
    if failed || (fail_on_regression && regressed) { exit_code::REGRESSION } else { exit_code::OK }
}
