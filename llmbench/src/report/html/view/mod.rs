//! The report's tables as formatted cells, shared by the HTML pages and
//! the Markdown twin so both say the same thing in the same words.
//! Values are formatted here; templates only lay them out. `index` builds
//! the index, `bench` a benchmark's page, `baseline` its comparison with
//! the baseline; this module holds the cells they share.

mod baseline;
mod bench;
mod index;

use std::collections::BTreeMap;

use serde::Serialize;

pub(crate) use bench::{BenchView, bench};
pub(crate) use index::{IndexView, index};

use super::model::{BenchGroup, Report, Run, redact_endpoint};
use crate::gate::LimitOutcome;
use crate::stats::{ChangeKind, LatencySummary, LevelSummary};
use crate::units::format_ms;

/// Which optional columns any run has data for.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub(crate) struct Columns {
    pub(crate) goodput: bool,
    pub(crate) cost: bool,
    pub(crate) change: bool,
}

impl Columns {
    fn of<'a>(runs: impl Iterator<Item = &'a Run>) -> Columns {
        let mut c = Columns::default();
        for r in runs {
            c.goodput |= r.summary.levels.iter().any(|l| l.goodput.is_some());
            c.cost |= r.summary.levels.iter().any(|l| cost_per_ok(l).is_some());
            c.change |= r.verdict.changes().next().is_some();
        }
        c
    }
}

/// A verdict badge.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Badge {
    pub(crate) text: String,
    pub(crate) class: &'static str,
    pub(crate) title: String,
}

/// A limit that failed.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LimitView {
    pub(crate) bench: String,
    pub(crate) slug: String,
    pub(crate) href: String,
    pub(crate) target: String,
    pub(crate) limit: String,
    pub(crate) detail: String,
}

/// A target as the report names it (no secrets).
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TargetView {
    pub(crate) name: String,
    pub(crate) provider: String,
    pub(crate) model: String,
    pub(crate) endpoint: String,
    pub(crate) color: usize,
}

/// Colour index of every target name, stable across the report's pages.
pub(crate) fn target_colors(report: &Report) -> BTreeMap<String, usize> {
    let mut names: Vec<&str> =
        report.benches.iter().flat_map(|b| b.runs.iter().map(|r| r.summary.target.name.as_str())).collect();
    names.sort_unstable();
    names.dedup();
    names.into_iter().enumerate().map(|(i, n)| (n.to_owned(), i)).collect()
}

/// The page of a benchmark, relative to the index.
pub(crate) fn bench_href(bench: &BenchGroup) -> String {
    format!("bench/{}.html", bench.slug)
}

fn target_view(run: &Run, colors: &BTreeMap<String, usize>) -> TargetView {
    let t = &run.summary.target;
    TargetView {
        name: t.name.clone(),
        provider: t.provider.clone(),
        model: t.model.clone(),
        endpoint: redact_endpoint(&t.endpoint),
        color: colors.get(&t.name).copied().unwrap_or(0),
    }
}

/// A failed limit as the report lists it: the limit and its level, and
/// the gate's message without the limit it starts with.
fn limit_view(bench: &BenchGroup, href: String, run: &Run, l: &LimitOutcome) -> LimitView {
    LimitView {
        bench: bench.id.clone(),
        slug: bench.slug.clone(),
        href,
        target: run.summary.target.name.clone(),
        limit: format!("{} at {}", l.limit, l.level),
        detail: l.message.strip_prefix(&format!("{}: ", l.limit)).unwrap_or(&l.message).to_owned(),
    }
}

/// Worst first: what a run's badge shows.
fn severity(kind: ChangeKind) -> u8 {
    match kind {
        ChangeKind::Regressed => 0,
        ChangeKind::Improved => 1,
        ChangeKind::WithinNoise => 2,
        ChangeKind::NoChange => 3,
    }
}

/// The badge's CSS class.
fn badge_class(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Regressed => "bad",
        ChangeKind::Improved => "good",
        ChangeKind::WithinNoise | ChangeKind::NoChange => "neutral",
    }
}

/// A latency percentile cell: `123 ms`, or `—` when missing.
pub(crate) fn ms(s: Option<&LatencySummary>, stat: &str) -> String {
    s.and_then(|s| s.get(stat)).map(format_ms).unwrap_or_else(dash)
}

/// The level's goodput share, or `—` without SLOs.
fn goodput(level: &LevelSummary) -> String {
    level.goodput.as_ref().map(|g| g.ratio).map(pct).unwrap_or_else(dash)
}

/// Cost per successful request, from the level's cost figures.
fn cost_per_ok(level: &LevelSummary) -> Option<f64> {
    level.cost.as_ref().and_then(|c| c.cost_per_ok_request)
}

fn dash() -> String {
    "—".into()
}

fn pct(v: f64) -> String {
    if v > 0.0 && v < 0.001 { "<0.1%".into() } else { format!("{:.1}%", v * 100.0) }
}

fn signed_pct(v: f64) -> String {
    format!("{:+.1}%", v * 100.0)
}

fn money(v: f64) -> String {
    if v >= 0.01 { format!("${v:.4}") } else { format!("${v:.6}") }
}
