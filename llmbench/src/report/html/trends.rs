//! Trend pages: one per benchmark × target of the run history
//! (`--history DIR`, `results::history`), at `trends/<slug>.html`. Each
//! draws TTFT, TPOT and E2E p50 and p99, output throughput, the error rate
//! and the cost per ok request across the runs, one line per level, the
//! baseline run marked, with the same chart code as the benchmark pages;
//! and lists the runs (when, which commit and branch, on which host).

use std::collections::BTreeMap;

use minijinja::{Value, context};
use serde::Serialize;

use super::chart::{self, TrendSeries, Unit};
use crate::report::pareto::usd;
use crate::results::history::{HistoryEntry, Series};
use crate::stats::LevelSummary;

/// A trend page, for links from the index and the benchmark pages.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TrendLink {
    pub(crate) bench: String,
    pub(crate) target: String,
    pub(crate) slug: String,
    pub(crate) runs: usize,
}

/// The page's table row for one run.
#[derive(Debug, Clone, Serialize)]
struct RunRow {
    n: usize,
    started_at: String,
    commit: String,
    branch: String,
    host: String,
    version: String,
    levels: String,
    baseline: bool,
    saved_as: Option<String>,
}

/// A file name for each series, unique and safe in a URL.
pub(crate) fn links(series: &[Series]) -> Vec<TrendLink> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    series
        .iter()
        .map(|s| {
            let base: String = format!("{}.{}", s.bench, s.target)
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' })
                .take(80)
                .collect();
            let n = seen.entry(base.clone()).or_default();
            *n += 1;
            let slug = if *n == 1 { base } else { format!("{base}-{n}") };
            TrendLink { bench: s.bench.clone(), target: s.target.clone(), slug, runs: s.entries.len() }
        })
        .collect()
}

/// The template context of one trend page.
pub(crate) fn page(series: &Series, link: &TrendLink) -> Value {
    let baseline = series.baseline();
    let runs: Vec<String> = series.entries.iter().enumerate().map(|(i, e)| run_label(i, e)).collect();
    let labels = level_labels(&series.entries);
    let value = |label: &str, f: &dyn Fn(&LevelSummary) -> Option<f64>| -> Vec<Option<f64>> {
        series
            .entries
            .iter()
            .map(|e| e.summary.levels.iter().find(|l| l.label() == label).and_then(f).filter(|v| v.is_finite()))
            .collect()
    };
    let mut figures = Vec::new();
    for (key, name) in [("ttft", "TTFT"), ("tpot", "TPOT"), ("e2e", "E2E")] {
        let mut lines = Vec::new();
        for (i, label) in labels.iter().enumerate() {
            for (stat, dashed) in [("p50", false), ("p99", true)] {
                let values = value(label, &|l| l.metric_value(&format!("{key}.{stat}")));
                lines.push(TrendSeries { label: format!("{label} {stat}"), series: i, dashed, values });
            }
        }
        figures.push(figure(&format!("{name} p50 and p99"), name, Unit::Ms, &runs, lines, baseline));
    }
    let per_level = |f: &dyn Fn(&LevelSummary) -> Option<f64>| -> Vec<TrendSeries> {
        labels
            .iter()
            .enumerate()
            .map(|(i, label)| TrendSeries { label: label.clone(), series: i, dashed: false, values: value(label, f) })
            .collect()
    };
    figures.push(figure(
        "Output throughput",
        "output",
        Unit::TokPerS,
        &runs,
        per_level(&|l| Some(l.output_tok_per_s)),
        baseline,
    ));
    figures.push(figure("Error rate", "errors", Unit::Share, &runs, per_level(&|l| Some(l.error_rate)), baseline));
    figures.push(figure(
        "Cost per ok request",
        "cost",
        Unit::UsdPer1k,
        &runs,
        per_level(&|l| l.metric_value("cost_per_ok_request").map(|c| c * 1000.0)),
        baseline,
    ));
    let rows: Vec<RunRow> =
        series.entries.iter().enumerate().map(|(i, e)| run_row(i, e, baseline == Some(i))).collect();
    context! {
        bench => link.bench.clone(),
        target => link.target.clone(),
        path => series.path.display().to_string(),
        runs => Value::from(minijinja::value::Serde(rows)),
        figures => figures,
        baseline => baseline.map(|b| b + 1),
    }
}

/// The row of the runs table for the `i`th run.
fn run_row(i: usize, e: &HistoryEntry, baseline: bool) -> RunRow {
    let levels: Vec<String> = e
        .summary
        .levels
        .iter()
        .map(|l| {
            let cost = l.metric_value("cost_per_ok_request").map(|c| format!(", {}", usd(c))).unwrap_or_default();
            format!("{}: {} ok{}", l.label(), l.requests.ok, cost)
        })
        .collect();
    RunRow {
        n: i + 1,
        started_at: e.summary.started_at.clone(),
        commit: e
            .git
            .as_ref()
            .map(|g| format!("{}{}", g.short(), if g.dirty { " (modified)" } else { "" }))
            .unwrap_or_default(),
        branch: e.git.as_ref().map(|g| g.branch.clone()).unwrap_or_default(),
        host: format!("{} ({} {}, {} cores)", e.host.name, e.host.os, e.host.arch, e.host.cpus),
        version: e.summary.tool.version.clone(),
        levels: levels.join(" · "),
        baseline,
        saved_as: e.saved_as.clone(),
    }
}

/// `#3 1a2b3c4`, or the date when the run was not in git.
fn run_label(i: usize, e: &HistoryEntry) -> String {
    match &e.git {
        Some(g) => format!("#{} {}", i + 1, g.short()),
        None => format!("#{} {}", i + 1, e.summary.started_at.get(5..10).unwrap_or("")),
    }
}

/// Every level label in the history, in order of first appearance.
fn level_labels(entries: &[HistoryEntry]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in entries {
        for l in &e.summary.levels {
            let label = l.label();
            if !out.contains(&label) {
                out.push(label);
            }
        }
    }
    out
}

fn figure(
    title: &str,
    y_title: &str,
    unit: Unit,
    runs: &[String],
    lines: Vec<TrendSeries>,
    baseline: Option<usize>,
) -> Value {
    let lines: Vec<TrendSeries> = lines.into_iter().filter(|l| l.values.iter().any(Option::is_some)).collect();
    if lines.is_empty() {
        return context! { title => title, svg => Value::from_safe_string(String::new()), caption => "No run has this figure." };
    }
    let svg = chart::trend(title, y_title, unit, runs, &lines, baseline, chart::HALF_WIDTH);
    context! {
        title => title,
        svg => Value::from_safe_string(svg),
        caption => "One point per run, oldest on the left; a line per load level (p99 dashed). The rule marks the baseline. A gap: that run lacks the figure (p99 needs 100 requests).",
    }
}

#[cfg(test)]
mod tests {
    use crate::report::html::fixture::{FixtureSpec, HOSTILE, write};
    use crate::report::{ReportOptions, write_report};
    use crate::results::history::{self, Context, GitInfo, HostInfo};
    use crate::results::read_summary;

    #[test]
    fn the_report_draws_a_trend_page_per_series_with_the_baseline_marked() {
        let root = tempfile::tempdir().unwrap();
        let hist = tempfile::tempdir().unwrap();
        let spec = FixtureSpec { benches: 1, targets: 2, requests: 80, hostile: true, ..FixtureSpec::default() };
        write(root.path(), &spec).unwrap();
        let ctx = Context {
            git: Some(GitInfo { commit: "abcdef0123".into(), branch: HOSTILE.into(), dirty: false }),
            host: Some(HostInfo { name: "h".into(), os: "linux".into(), arch: "x86_64".into(), cpus: 2 }),
        };
        let mut summaries = Vec::new();
        for bench in std::fs::read_dir(root.path()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()) {
            for target in std::fs::read_dir(&bench).unwrap().map(|e| e.unwrap().path()) {
                summaries.push(read_summary(&target.join("new")).unwrap());
            }
        }
        assert_eq!(summaries.len(), 2);
        for (i, day) in ["01", "02", "03"].iter().enumerate() {
            for s in &mut summaries {
                s.started_at = format!("2026-01-{day}T00:00:00Z");
            }
            let runs: Vec<_> = summaries.iter().map(|s| (s, (i == 1).then(|| "main".to_owned()), None)).collect();
            history::append(hist.path(), &runs, &ctx).unwrap();
        }
        let options = ReportOptions { history: Some(hist.path().to_owned()), ..ReportOptions::default() };
        let report = write_report(root.path(), &options).unwrap();
        let trends: Vec<_> = report.pages.iter().filter(|p| p.parent().unwrap().ends_with("trends")).collect();
        assert_eq!(trends.len(), 2, "{:?}", report.pages);
        let html = std::fs::read_to_string(trends[0]).unwrap();
        assert!(html.contains("3 runs from the history") && html.contains("run #2 is the baseline"), "{html}");
        assert!(html.contains(">baseline</text>"), "the chart marks the baseline");
        assert!(html.contains("TTFT p50 and p99") && html.contains("Cost per ok request"));
        assert!(!html.contains("<script>") && html.contains("&lt;script&gt;"), "branch names are escaped");
        let index = std::fs::read_to_string(&report.index).unwrap();
        assert!(index.contains("Trends across runs") && index.contains("trends/"));
        let bench_page =
            std::fs::read_to_string(report.pages.iter().find(|p| p.parent().unwrap().ends_with("bench")).unwrap())
                .unwrap();
        assert!(bench_page.contains("../trends/"), "the benchmark page links its trends");

        // A broken history costs the trend pages, not the report.
        std::fs::write(&history::read(hist.path(), |_, _| true).unwrap()[0].path, "{\"history_version\": 9}\n")
            .unwrap();
        let report = write_report(root.path(), &options).unwrap();
        assert!(report.skipped.iter().any(|s| s.contains("newer than this llmbench")), "{:?}", report.skipped);
        assert!(!report.pages.iter().any(|p| p.parent().unwrap().ends_with("trends")));
    }
}
