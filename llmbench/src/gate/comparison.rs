//! The comparison of a run with its baseline, and the gate's outcome for one
//! benchmark × target: the data model every output renders (terminal,
//! Markdown, JUnit, NDJSON events, HTML). Serializable and versioned
//! ([`COMPARISON_VERSION`]).

use serde::{Deserialize, Serialize};

use super::fingerprint::FingerprintDifference;
use super::limits::{LimitOutcome, LimitStatus};
use super::metric::{self, DEFAULT_SET, MetricId};
use crate::cost::Price;
use crate::record::RequestRecord;
pub use crate::results::RunRef;
use crate::results::RunSummary;
use crate::stats::LevelSummary;
use crate::stats::compare::{self, ChangeKind, Direction, Statistics};

/// Version of the [`Comparison`] and [`Outcome`] JSON. Adding an optional
/// field keeps it; changing or removing one bumps it.
pub const COMPARISON_VERSION: u32 = 1;

/// One metric of one level, compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricChange {
    /// `ttft.p50`, `output_tok_per_s`, `error_rate`.
    pub metric: String,
    /// `ms`, `/s`, `%` (a fraction shown as a percentage) or empty.
    pub unit: String,
    /// Which way is better.
    pub direction: Direction,
    /// Values, change, interval, p-value and verdict.
    #[serde(flatten)]
    pub change: compare::Change,
}

/// One level (a row of `summary.json`'s `levels`), compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelComparison {
    /// The level's load: `c=8`, `20/s`, `s2 5→50/s`.
    pub level: String,
    /// Requests in flight (0 for an open loop).
    pub concurrency: u32,
    /// The compared metrics, in the order of the default set.
    pub metrics: Vec<MetricChange>,
}

/// A run compared with its baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// [`COMPARISON_VERSION`].
    pub version: u32,
    /// The benchmark id.
    pub bench: String,
    /// The target name.
    pub target: String,
    /// The run compared against.
    pub baseline: RunRef,
    /// The run being judged.
    pub current: RunRef,
    /// The analysis settings used.
    pub settings: Statistics,
    /// Fingerprint differences that `--force-compare` overrode (empty
    /// normally: differing runs are otherwise refused).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forced_differences: Vec<FingerprintDifference>,
    /// Levels present in both runs.
    pub levels: Vec<LevelComparison>,
}

impl Comparison {
    /// Every compared metric with its level's label.
    pub fn changes(&self) -> impl Iterator<Item = (&str, &MetricChange)> {
        self.levels.iter().flat_map(|l| l.metrics.iter().map(move |m| (l.level.as_str(), m)))
    }

    /// The metrics that regressed, with their level's label.
    pub fn regressions(&self) -> impl Iterator<Item = (&str, &MetricChange)> {
        self.changes().filter(|(_, m)| m.change.kind == ChangeKind::Regressed)
    }
}

/// A run and its request records.
#[derive(Debug, Clone)]
pub struct Run<'a> {
    /// `summary.json`.
    pub summary: &'a RunSummary,
    /// `requests.jsonl`.
    pub records: &'a [RequestRecord],
}

impl Run<'_> {
    /// The level with the load `label` (`c=8`, `20/s`, `s2 5→50/s`, unique
    /// within a run), and its measured records.
    fn level(&self, label: &str) -> Option<(&LevelSummary, Vec<&RequestRecord>)> {
        let row = self.summary.levels.iter().position(|l| l.label() == label)?;
        Some((&self.summary.levels[row], metric::level_records(self.records, row)))
    }
}

/// Compares `current` with `baseline`, level by level (levels are matched
/// by their load; a level missing on one side — an automatic sweep that
/// stopped earlier — is left out).
pub fn compare_runs(
    baseline: (&str, Run<'_>),
    current: (&str, Run<'_>),
    settings: &Statistics,
    forced_differences: Vec<FingerprintDifference>,
) -> Comparison {
    let (base_name, base) = baseline;
    let (cur_name, cur) = current;
    let mut levels = Vec::new();
    for (row, level) in cur.summary.levels.iter().enumerate() {
        let label = level.label();
        let Some((base_level, base_records)) = base.level(&label) else { continue };
        let cur_records = metric::level_records(cur.records, row);
        let prices = (base.summary.price.as_ref(), cur.summary.price.as_ref());
        let metrics = compare_level(DEFAULT_SET, (base_level, &base_records), (level, &cur_records), prices, settings);
        levels.push(LevelComparison { level: label, concurrency: level.concurrency, metrics });
    }
    Comparison {
        version: COMPARISON_VERSION,
        bench: cur.summary.bench.id.clone(),
        target: cur.summary.target.name.clone(),
        baseline: RunRef::new(base_name, base.summary),
        current: RunRef::new(cur_name, cur.summary),
        settings: *settings,
        forced_differences,
        levels,
    }
}

/// Compares the named metrics of one level, sharing resamples between the
/// statistics of one metric (ttft.p50/p90/p99).
fn compare_level(
    names: &[&str],
    base: (&LevelSummary, &[&RequestRecord]),
    cur: (&LevelSummary, &[&RequestRecord]),
    prices: (Option<&Price>, Option<&Price>),
    settings: &Statistics,
) -> Vec<MetricChange> {
    let ids: Vec<MetricId> = names.iter().filter_map(|n| MetricId::parse(n).ok()).collect();
    let mut out: Vec<Option<MetricChange>> = vec![None; ids.len()];
    for (i, m) in ids.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        let group: Vec<usize> = (i..ids.len()).filter(|&j| ids[j].key == m.key).collect();
        let stats: Vec<_> = group.iter().map(|&j| ids[j].statistic()).collect();
        if m.is_optional() && m.value(base.0).is_err() && m.value(cur.0).is_err() {
            continue;
        }
        let (bs, cs) = (m.sample(base.0, base.1, prices.0), m.sample(cur.0, cur.1, prices.1));
        let fewest = metric::value_count(&bs).min(metric::value_count(&cs));
        let changes = compare::compare_many(&bs, &cs, &stats, m.direction, m.scale, settings);
        for (&j, mut change) in group.iter().zip(changes) {
            let id = &ids[j];
            if fewest < id.min_values() && change.note.is_none() {
                // As in the summaries: p99 of fewer than 100 values is not reported.
                change = compare::Change {
                    baseline: None,
                    current: None,
                    change: None,
                    ci: None,
                    p_value: None,
                    kind: ChangeKind::NoChange,
                    note: Some(format!("{id} needs at least {} values, have {fewest}", id.min_values())),
                    ..change
                };
            }
            out[j] = Some(MetricChange {
                metric: id.to_string(),
                unit: id.unit.as_str().to_owned(),
                direction: id.direction,
                change,
            });
        }
    }
    out.into_iter().flatten().collect()
}

pub use crate::settings::SourcedLimit;

/// Checks every limit on every level of `current`; relative limits against
/// `baseline` when there is one.
pub fn check_limits(
    limits: &[SourcedLimit],
    current: &Run<'_>,
    baseline: Option<&Run<'_>>,
    settings: &Statistics,
) -> Vec<LimitOutcome> {
    let mut out = Vec::new();
    for (row, level) in current.summary.levels.iter().enumerate() {
        let cur_records = metric::level_records(current.records, row);
        let base = baseline.and_then(|b| b.level(&level.label()));
        for sl in limits {
            let m = sl.limit.metric_id();
            let cur_sample = if sl.limit.is_relative() {
                m.sample(level, &cur_records, current.summary.price.as_ref())
            } else {
                compare::Sample::Values(vec![])
            };
            // The baseline's value is shown for every limit; its sample is
            // needed only by relative ones.
            let base_sample = base.as_ref().map(|(l, r)| {
                (
                    *l,
                    if sl.limit.is_relative() {
                        m.sample(l, r, baseline.and_then(|b| b.summary.price.as_ref()))
                    } else {
                        compare::Sample::Values(vec![])
                    },
                )
            });
            out.push(sl.limit.evaluate(
                &sl.source,
                (level, &cur_sample),
                base_sample.as_ref().map(|(l, s)| (*l, s)),
                settings,
            ));
        }
    }
    out
}

/// The gate's verdict on one benchmark × target: what `--format md`,
/// `--junit`, the NDJSON `outcome` event and the exit code are made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// [`COMPARISON_VERSION`].
    pub version: u32,
    /// The benchmark id.
    pub bench: String,
    /// The target name.
    pub target: String,
    /// The run's summary.
    pub summary: RunSummary,
    /// The comparison, when there was a baseline.
    pub comparison: Option<Comparison>,
    /// Why there is no comparison (no baseline yet, lenient skip).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_comparison: Option<String>,
    /// Every limit on every level.
    pub limits: Vec<LimitOutcome>,
}

impl Outcome {
    /// Limits that failed.
    pub fn failed_limits(&self) -> impl Iterator<Item = &LimitOutcome> {
        self.limits.iter().filter(|l| l.status == LimitStatus::Failed)
    }

    /// Metrics that regressed, with their level.
    pub fn regressions(&self) -> Vec<(&str, &MetricChange)> {
        self.comparison.iter().flat_map(Comparison::regressions).collect()
    }
}
