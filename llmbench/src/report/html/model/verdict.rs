//! The regression gate's verdict on a run, as `cargo llmbench` leaves it
//! beside the run in `<bench>/<target>/change/` (docs/gate.md):
//! `comparison.json`, a [`Comparison`], and `limits.json`, the judged run's
//! `started_at` with its [`LimitOutcome`]s. Both are read with the gate's
//! own types and kept only when they judged the run shown (same
//! `started_at`), so a verdict on an earlier run is never shown against a
//! later one.

use std::path::Path;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::baseline::{COMPARISON_FILE, LIMITS_FILE};
use crate::gate::{Comparison, LimitOutcome, LimitStatus, MetricChange};

/// `limits.json` as the bench binary writes it (`bench/gate.rs`).
#[derive(Deserialize)]
struct LimitsFile {
    started_at: String,
    limits: Vec<LimitOutcome>,
}

/// What the gate said about one run.
#[derive(Debug, Clone, Default)]
pub(crate) struct Verdict {
    /// The comparison with a baseline, if the gate made one.
    pub(crate) comparison: Option<Comparison>,
    /// Every limit checked on every level.
    pub(crate) limits: Vec<LimitOutcome>,
}

impl Verdict {
    /// Reads the verdict in `change_dir` on the run that started at
    /// `started_at`; empty when there is none (or it judged another run, or
    /// a file cannot be read: the report shows the run without it).
    pub(crate) fn read(change_dir: &Path, started_at: &str) -> Verdict {
        let limits = read_json::<LimitsFile>(&change_dir.join(LIMITS_FILE))
            .filter(|f| f.started_at == started_at)
            .map(|f| f.limits)
            .unwrap_or_default();
        let comparison =
            read_json::<Comparison>(&change_dir.join(COMPARISON_FILE)).filter(|c| c.current.started_at == started_at);
        Verdict { comparison, limits }
    }

    /// The name of the baseline the gate compared with.
    pub(crate) fn baseline(&self) -> Option<&str> {
        self.comparison.as_ref().map(|c| c.baseline.name.as_str())
    }

    /// The limits that failed.
    pub(crate) fn failed_limits(&self) -> impl Iterator<Item = &LimitOutcome> {
        self.limits.iter().filter(|l| l.status == LimitStatus::Failed)
    }

    /// The compared metrics that have a change figure, with their level's
    /// label (`c=8`, `20/s`).
    pub(crate) fn changes(&self) -> impl Iterator<Item = (&str, &MetricChange)> {
        self.comparison.iter().flat_map(Comparison::changes).filter(|(_, m)| m.change.change.is_some())
    }
}

fn read_json<T: DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
}
