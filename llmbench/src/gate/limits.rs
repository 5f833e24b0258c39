//! Limits: absolute thresholds (SLOs, k6-style) and budgets relative to the
//! baseline (iai-callgrind-style), checked on every level of every
//! benchmark × target. A failed limit makes the run exit 3.
//!
//! # Grammar
//!
//! ```text
//! limit     = metric op value                 spaces around op are allowed
//! metric    = key [ "." stat ]                ttft.p90, error_rate, output_tok_per_s
//! stat      = p50 | p90 | p95 | p99 | p999 | mean | min | max
//! op        = "<=" | "<" | ">=" | ">"         absolute: the measured value
//!           | "="                             relative: a budget against the baseline
//! absolute  = number [ unit ]                 ms (default for latencies), s, us;
//!                                             % or a fraction for rates; a bare
//!                                             number for tokens and tokens/s
//! relative  = [ "+" | "-" ] number "%"        how far the metric may move the bad way
//! ```
//!
//! Examples: `ttft.p90<=500ms`, `tpot.p50<100ms`, `error_rate<=1%`,
//! `output_tok_per_s>=100`, `ttft.p50=+5%` (p50 TTFT may grow by at most
//! 5%), `output_tok_per_s=-5%` (throughput may drop by at most 5%),
//! `error_rate=+1%` (at most one percentage point more errors).
//!
//! An absolute limit compares the value the run reports (the number in the
//! table), like a k6 threshold. A relative limit is statistical: it fails
//! when the change is significant and its whole confidence interval lies
//! beyond the budget — the regression rule with the budget as noise
//! threshold — so noise alone does not fail a build. A relative limit
//! without a baseline is skipped (and says so); an absolute limit on a
//! value the run could not measure (p99 of 60 requests) fails, with the
//! reason, rather than passing unchecked.

use serde::{Deserialize, Serialize};

use crate::metric::Scale;
use crate::stats::LevelSummary;
use crate::stats::compare::{self, ChangeKind, Sample, Statistics};

pub use crate::settings::{Check, Limit, LimitError};

impl Limit {
    /// Checks the limit on one level. `baseline` is the baseline's level
    /// and records, when there is a baseline with this level.
    pub(crate) fn evaluate(
        &self,
        source: &str,
        current: (&LevelSummary, &Sample),
        baseline: Option<(&LevelSummary, &Sample)>,
        settings: &Statistics,
    ) -> LimitOutcome {
        let unit = self.metric.unit;
        let mut out = LimitOutcome {
            limit: self.text.clone(),
            source: source.to_owned(),
            level: current.0.label(),
            status: LimitStatus::Passed,
            measured: self.metric.value(current.0).ok(),
            baseline: baseline.and_then(|b| self.metric.value(b.0).ok()),
            change: None,
            ci: None,
            message: String::new(),
        };
        let shown = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |v| unit.format(v));
        match self.check {
            Check::Absolute { op, value } => match self.metric.value(current.0) {
                Err(why) => {
                    out.status = LimitStatus::Failed;
                    out.message = format!("{self}: not measured: {why}");
                }
                Ok(measured) => {
                    if !op.holds(measured, value) {
                        out.status = LimitStatus::Failed;
                    }
                    out.message =
                        format!("{self}: measured {} (baseline {})", unit.format(measured), shown(out.baseline));
                }
            },
            Check::Relative { budget } => self.relative(budget, current.1, baseline.map(|b| b.1), settings, &mut out),
        }
        out
    }
}

impl Limit {
    /// A relative limit's verdict: a budget against the baseline, judged
    /// like a regression with the budget as noise threshold.
    fn relative(
        &self,
        budget: f64,
        current: &Sample,
        baseline: Option<&Sample>,
        settings: &Statistics,
        out: &mut LimitOutcome,
    ) {
        let unit = self.metric.unit;
        let shown = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |v| unit.format(v));
        let Some(base_sample) = baseline else {
            out.status = LimitStatus::Skipped;
            out.message = format!("{self}: no baseline to compare with");
            return;
        };
        let budgeted = match self.metric.scale {
            Scale::Relative => Statistics { noise_threshold: budget, ..*settings },
            Scale::Absolute => Statistics { rate_noise_threshold: budget, ..*settings },
        };
        let m = &self.metric;
        let c = compare::compare(base_sample, current, m.statistic(), m.direction, m.scale, &budgeted);
        out.change = c.change;
        out.ci = c.ci;
        let fewest = super::metric::value_count(base_sample).min(super::metric::value_count(current));
        let note = if fewest < m.min_values() {
            out.status = LimitStatus::Skipped;
            Some(format!("{m} needs at least {} values to compare, have {fewest}", m.min_values()))
        } else {
            if c.kind == ChangeKind::Regressed {
                out.status = LimitStatus::Failed;
            }
            c.note
        };
        let change = match (c.change, c.ci) {
            (Some(ch), Some([lo, hi])) => {
                format!("change {} [{}, {}]", signed(ch, m.scale), signed(lo, m.scale), signed(hi, m.scale))
            }
            (Some(ch), None) => format!("change {}", signed(ch, m.scale)),
            _ => "no change computed".to_owned(),
        };
        let note = note.map(|n| format!("; {n}")).unwrap_or_default();
        out.message =
            format!("{self}: measured {}, baseline {}, {change}{note}", shown(out.measured), shown(out.baseline));
    }
}

/// `+5%` / `-1.5%` for relative changes, `+0.80 pts` for rates.
pub(crate) fn signed(change: f64, scale: Scale) -> String {
    match scale {
        Scale::Relative => format!("{:+.1}%", change * 100.0),
        Scale::Absolute => format!("{:+.2} pts", change * 100.0),
    }
}

/// Whether a limit held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitStatus {
    /// It held.
    Passed,
    /// It did not (exit 3).
    Failed,
    /// It could not be checked: a relative limit without a baseline.
    Skipped,
}

/// The outcome of one limit on one level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LimitOutcome {
    /// The limit as written.
    pub limit: String,
    /// Where it came from: `--limit`, `llmbench.toml`, `#[llm_bench]`.
    pub source: String,
    /// The level it was checked on: `c=8`, `20/s`, `s2 5→50/s`.
    pub level: String,
    /// Passed, failed or skipped.
    pub status: LimitStatus,
    /// The current run's value.
    pub measured: Option<f64>,
    /// The baseline's value.
    pub baseline: Option<f64>,
    /// The change, for relative limits.
    pub change: Option<f64>,
    /// The change's confidence interval, for relative limits.
    pub ci: Option<[f64; 2]>,
    /// One line for people: which limit, measured value, baseline.
    pub message: String,
}
