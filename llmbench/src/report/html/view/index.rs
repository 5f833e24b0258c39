//! The index: every benchmark × target × level in one table, failed
//! limits first, and the targets.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{
    Badge, Columns, LimitView, TargetView, badge_class, bench_href, cost_per_ok, dash, goodput, limit_view, money, ms,
    pct, severity, signed_pct, target_colors, target_view,
};
use crate::gate::MetricChange;
use crate::report::html::model::{BenchGroup, Report, Run, level_label};
use crate::stats::{ChangeKind, LevelSummary};

/// One benchmark × target × level row of the index.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct IndexRow {
    pub(crate) bench: String,
    pub(crate) slug: String,
    pub(crate) href: String,
    pub(crate) first_of_bench: bool,
    pub(crate) target: String,
    pub(crate) color: usize,
    pub(crate) level: String,
    pub(crate) ok: u64,
    pub(crate) failed: u64,
    pub(crate) ttft_p50: String,
    pub(crate) ttft_p99: String,
    pub(crate) tpot_p50: String,
    pub(crate) e2e_p99: String,
    pub(crate) tok_s: String,
    pub(crate) error_rate: String,
    pub(crate) errors_bad: bool,
    pub(crate) goodput: String,
    pub(crate) cost: String,
    pub(crate) change: Option<Badge>,
    pub(crate) limits_failed: usize,
    pub(crate) partial: bool,
}

/// The index page.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct IndexView {
    pub(crate) generated_at: String,
    pub(crate) versions: String,
    pub(crate) started: String,
    pub(crate) run_count: usize,
    pub(crate) bench_count: usize,
    pub(crate) targets: Vec<TargetView>,
    pub(crate) columns: Columns,
    pub(crate) rows: Vec<IndexRow>,
    pub(crate) failed_limits: Vec<LimitView>,
    pub(crate) skipped: Vec<String>,
}

/// Builds the index.
pub(crate) fn index(report: &Report, generated_at: &str) -> IndexView {
    let colors = target_colors(report);
    let runs = || report.benches.iter().flat_map(|b| b.runs.iter());
    let columns = Columns::of(runs());
    let mut versions: Vec<String> =
        runs().map(|r| format!("{} {}", r.summary.tool.name, r.summary.tool.version)).collect();
    versions.sort();
    versions.dedup();
    let mut starts: Vec<&str> = runs().map(|r| r.summary.started_at.as_str()).collect();
    starts.sort_unstable();
    let started = match (starts.first(), starts.last()) {
        (Some(a), Some(b)) if a == b => (*a).to_owned(),
        (Some(a), Some(b)) => format!("{a} to {b}"),
        _ => "—".into(),
    };
    let mut targets: Vec<TargetView> = runs().map(|r| target_view(r, &colors)).collect();
    targets.sort();
    targets.dedup();

    let mut failed_limits = Vec::new();
    let mut groups: Vec<(usize, Vec<IndexRow>)> = Vec::new();
    for bench in &report.benches {
        let href = bench_href(bench);
        let mut rows = Vec::new();
        let mut failed_here = 0;
        for run in &bench.runs {
            let failed: Vec<_> = run.verdict.failed_limits().collect();
            failed_here += failed.len();
            for l in &failed {
                failed_limits.push(limit_view(bench, href.clone(), run, l));
            }
            for (i, level) in run.summary.levels.iter().enumerate() {
                rows.push(index_row(bench, &href, run, i, level, &colors, failed.len()));
            }
            if run.summary.levels.is_empty() {
                // A run interrupted before any level completed still gets a row.
                let mut row = index_row(bench, &href, run, 0, &empty_level(), &colors, failed.len());
                row.level = "—".into();
                rows.push(row);
            }
        }
        if let Some(first) = rows.first_mut() {
            first.first_of_bench = true;
        }
        groups.push((failed_here, rows));
    }
    // Benchmarks with failed limits first, then by id (already sorted).
    groups.sort_by_key(|(failed, _)| std::cmp::Reverse(*failed));
    IndexView {
        generated_at: generated_at.to_owned(),
        versions: versions.join(", "),
        started,
        run_count: runs().count(),
        bench_count: report.benches.len(),
        targets,
        columns,
        rows: groups.into_iter().flat_map(|(_, rows)| rows).collect(),
        failed_limits,
        skipped: report.skipped.clone(),
    }
}

fn empty_level() -> LevelSummary {
    crate::stats::summarize_level(0, &[])
}

fn index_row(
    bench: &BenchGroup,
    href: &str,
    run: &Run,
    i: usize,
    level: &LevelSummary,
    colors: &BTreeMap<String, usize>,
    limits_failed: usize,
) -> IndexRow {
    IndexRow {
        bench: bench.id.clone(),
        slug: bench.slug.clone(),
        href: href.to_owned(),
        first_of_bench: false,
        target: run.summary.target.name.clone(),
        color: colors.get(&run.summary.target.name).copied().unwrap_or(0),
        level: level_label(run, i),
        ok: level.requests.ok,
        failed: level.requests.failed,
        ttft_p50: ms(level.ttft.as_ref(), "p50"),
        ttft_p99: ms(level.ttft.as_ref(), "p99"),
        tpot_p50: ms(level.tpot.as_ref(), "p50"),
        e2e_p99: ms(level.e2e.as_ref(), "p99"),
        tok_s: format!("{:.1}", level.output_tok_per_s),
        error_rate: pct(level.error_rate),
        errors_bad: level.requests.failed > 0,
        goodput: goodput(level),
        cost: cost_per_ok(level).map(money).unwrap_or_else(dash),
        change: change_badge(&run.verdict.changes().collect::<Vec<_>>()),
        limits_failed,
        partial: run.summary.partial,
    }
}

/// The worst verdict among a run's changes (level, metric), as one badge.
fn change_badge(changes: &[(&str, &MetricChange)]) -> Option<Badge> {
    let worst = changes.iter().map(|(_, m)| m).min_by_key(|m| severity(m.change.kind))?;
    let kind = worst.change.kind;
    let n = changes.iter().filter(|(_, m)| m.change.kind == kind).count();
    let mut text = kind.label().to_owned();
    if matches!(kind, ChangeKind::Regressed | ChangeKind::Improved) {
        text = format!("{text}: {}", worst.metric);
        if let Some(c) = worst.change.change {
            text.push_str(&format!(" {}", signed_pct(c)));
        }
        if n > 1 {
            text.push_str(&format!(" (+{} more)", n - 1));
        }
    }
    let title = changes
        .iter()
        .map(|(_, m)| {
            format!("{} {}: {}", m.metric, m.change.change.map(signed_pct).unwrap_or_default(), m.change.kind.label())
        })
        .collect::<Vec<_>>()
        .join("; ");
    Some(Badge { text, class: badge_class(kind), title })
}
