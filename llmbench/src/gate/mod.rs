//! The regression gate: comparing a run with its baseline, fingerprints that
//! say whether two runs are comparable, and limits (absolute SLOs and
//! budgets relative to the baseline).
//!
//! The statistics live in [`crate::stats::compare`]; the on-disk store of
//! runs and baselines in `baseline`; rendering in `report`. This
//! module turns two runs into a [`Comparison`] and a list of
//! [`LimitOutcome`]s — the [`Outcome`] of one benchmark × target — and
//! knows nothing of files, flags or output formats.

mod comparison;
mod fingerprint;
mod judge;
mod limits;
pub(crate) mod metric;
#[cfg(test)]
mod tests;

pub use comparison::{
    COMPARISON_VERSION, Comparison, LevelComparison, MetricChange, Outcome, Run, RunRef, SourcedLimit, check_limits,
    compare_runs,
};
pub use fingerprint::{Fingerprint, FingerprintDifference};
pub use judge::{Baseline, Differences, Refusal, exit_code, judge};
pub(crate) use limits::signed as format_change;
pub use limits::{Limit, LimitError, LimitOutcome, LimitStatus};
