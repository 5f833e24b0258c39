//! The report's tables as formatted cells, shared by the HTML pages and
//! the Markdown twin so both say the same thing in the same words.
//! Values are formatted here; templates only lay them out.

use std::collections::BTreeMap;

use serde::Serialize;

use super::model::requests::RunRequests;
use super::model::{self, BenchGroup, Report, Run, level_label, redact_endpoint};
use crate::gate::{LimitOutcome, MetricChange};
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

// ---------------------------------------------------------------- bench page

/// One target × level row of a benchmark's summary table.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LevelRow {
    pub(crate) target: String,
    pub(crate) color: usize,
    pub(crate) level: String,
    pub(crate) ok: u64,
    pub(crate) failed: u64,
    pub(crate) ttft: [String; 3],
    pub(crate) tpot: [String; 3],
    pub(crate) itl: [String; 3],
    pub(crate) e2e: [String; 3],
    pub(crate) req_s: String,
    pub(crate) tok_s: String,
    pub(crate) in_flight: String,
    pub(crate) in_flight_short: bool,
    pub(crate) queue_p99: String,
    pub(crate) error_rate: String,
    pub(crate) errors_bad: bool,
    pub(crate) goodput: String,
    pub(crate) cost: String,
}

/// Facts about one run.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RunMeta {
    pub(crate) target: TargetView,
    pub(crate) started_at: String,
    pub(crate) duration: String,
    pub(crate) samples: u32,
    pub(crate) warmup: u32,
    pub(crate) levels: String,
    pub(crate) timeout: String,
    pub(crate) partial: bool,
    pub(crate) cold_start: String,
    pub(crate) baseline: Option<String>,
    pub(crate) version: String,
}

/// One figure now and in the baseline.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BaselineCell {
    pub(crate) current: String,
    pub(crate) baseline: String,
    pub(crate) change: String,
    pub(crate) class: &'static str,
    pub(crate) verdict: Option<Badge>,
}

/// A target × level against its baseline, one cell per [`BASELINE_FIGURES`].
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BaselineRow {
    pub(crate) target: String,
    pub(crate) color: usize,
    pub(crate) level: String,
    pub(crate) baseline: String,
    pub(crate) cells: Vec<BaselineCell>,
}

/// The figures compared with the baseline: (metric key, stat, title).
pub(crate) const BASELINE_FIGURES: [(&str, &str, &str); 8] = [
    ("ttft", "p50", "TTFT p50"),
    ("ttft", "p99", "TTFT p99"),
    ("tpot", "p50", "TPOT p50"),
    ("itl", "p99", "ITL p99"),
    ("e2e", "p50", "E2E p50"),
    ("e2e", "p99", "E2E p99"),
    ("output_tok_per_s", "", "output tok/s"),
    ("error_rate", "", "errors"),
];

/// Failures of one class at one level.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ErrorRow {
    pub(crate) target: String,
    pub(crate) level: String,
    pub(crate) class: String,
    pub(crate) count: u64,
    pub(crate) share: String,
    pub(crate) bar: f64,
}

/// An example error message.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ErrorExampleView {
    pub(crate) target: String,
    pub(crate) class: String,
    pub(crate) status: String,
    pub(crate) count: u64,
    pub(crate) message: String,
}

/// Token counts of one level.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TokenRow {
    pub(crate) target: String,
    pub(crate) level: String,
    pub(crate) output: String,
    pub(crate) input: String,
    pub(crate) source: String,
    pub(crate) source_warning: bool,
}

/// A captured output.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TextView {
    pub(crate) target: String,
    pub(crate) text: String,
}

/// A benchmark's page, without its charts.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BenchView {
    pub(crate) id: String,
    pub(crate) slug: String,
    pub(crate) source: String,
    pub(crate) module: String,
    pub(crate) workload: String,
    pub(crate) runs: Vec<RunMeta>,
    pub(crate) columns: Columns,
    pub(crate) rows: Vec<LevelRow>,
    pub(crate) baseline_rows: Vec<BaselineRow>,
    pub(crate) baseline_columns: Vec<&'static str>,
    pub(crate) limits: Vec<LimitView>,
    pub(crate) errors: Vec<ErrorRow>,
    pub(crate) error_examples: Vec<ErrorExampleView>,
    pub(crate) tokens: Vec<TokenRow>,
    pub(crate) texts: Vec<TextView>,
    pub(crate) notes: Vec<String>,
    pub(crate) multi_target: bool,
    pub(crate) multi_level: bool,
}

/// Builds a benchmark's page from its runs and (where they could be read)
/// their requests.
pub(crate) fn bench(
    bench: &BenchGroup,
    requests: &[Result<RunRequests, String>],
    colors: &BTreeMap<String, usize>,
) -> BenchView {
    let first = &bench.runs[0].summary;
    let columns = Columns::of(bench.runs.iter());
    let mut view = BenchView {
        id: bench.id.clone(),
        slug: bench.slug.clone(),
        source: format!("{}:{}", first.bench.file, first.bench.line),
        module: first.bench.module_path.clone(),
        workload: serde_json::to_string_pretty(&first.workload).unwrap_or_default(),
        runs: Vec::new(),
        columns,
        rows: Vec::new(),
        baseline_rows: Vec::new(),
        baseline_columns: BASELINE_FIGURES.iter().map(|f| f.2).collect(),
        limits: Vec::new(),
        errors: Vec::new(),
        error_examples: Vec::new(),
        tokens: Vec::new(),
        texts: Vec::new(),
        notes: Vec::new(),
        multi_target: bench.runs.len() > 1,
        multi_level: bench.runs.iter().any(|r| r.summary.levels.len() > 1),
    };
    for (run, reqs) in bench.runs.iter().zip(requests) {
        let s = &run.summary;
        let name = s.target.name.clone();
        let color = colors.get(&name).copied().unwrap_or(0);
        view.runs.push(run_meta(run, colors));
        for l in run.verdict.failed_limits() {
            view.limits.push(limit_view(bench, String::new(), run, l));
        }
        for (i, level) in s.levels.iter().enumerate() {
            let label = level_label(run, i);
            let triple = |m: Option<&LatencySummary>| [ms(m, "p50"), ms(m, "p90"), ms(m, "p99")];
            view.rows.push(LevelRow {
                target: name.clone(),
                color,
                level: label.clone(),
                ok: level.requests.ok,
                failed: level.requests.failed,
                ttft: triple(level.ttft.as_ref()),
                tpot: triple(level.tpot.as_ref()),
                itl: triple(level.itl.as_ref()),
                e2e: triple(level.e2e.as_ref()),
                req_s: format!("{:.2}", level.req_per_s),
                tok_s: format!("{:.1}", level.output_tok_per_s),
                in_flight: format!("{:.1}/{}", level.in_flight.mean, level.in_flight.requested),
                in_flight_short: level.in_flight.requested > 0
                    && level.in_flight.mean < 0.8 * level.in_flight.requested as f64
                    && level.requests.attempted > level.in_flight.requested,
                queue_p99: ms(level.queue.as_ref(), "p99"),
                error_rate: pct(level.error_rate),
                errors_bad: level.requests.failed > 0,
                goodput: goodput(level),
                cost: cost_per_ok(level).map(money).unwrap_or_else(dash),
            });
            for (class, &count) in &level.requests.by_class {
                let share =
                    if level.requests.attempted > 0 { count as f64 / level.requests.attempted as f64 } else { 0.0 };
                view.errors.push(ErrorRow {
                    target: name.clone(),
                    level: label.clone(),
                    class: class.clone(),
                    count,
                    share: pct(share),
                    bar: (share * 100.0).clamp(0.5, 100.0),
                });
            }
            view.tokens.push(token_row(&name, &label, level));
            if let Some(base) = &run.baseline
                && let Some(b) = base
                    .summary
                    .levels
                    .iter()
                    .find(|b| model::summary_level_label(b) == model::summary_level_label(level))
            {
                view.baseline_rows.push(baseline_row(&name, color, &label, &base.name, level, b, &run.verdict));
            }
        }
        match reqs {
            Ok(reqs) => {
                for e in &reqs.errors {
                    view.error_examples.push(ErrorExampleView {
                        target: name.clone(),
                        class: e.class.as_str().to_owned(),
                        status: e.status.map(|s| s.to_string()).unwrap_or_else(dash),
                        count: e.count,
                        message: e.message.clone(),
                    });
                }
                view.texts.extend(reqs.texts.iter().map(|t| TextView { target: name.clone(), text: t.clone() }));
            }
            Err(e) => {
                view.notes.push(format!("{name}: per-request data unavailable ({e}); charts show summaries only"))
            }
        }
    }
    view
}

fn run_meta(run: &Run, colors: &BTreeMap<String, usize>) -> RunMeta {
    let s = &run.summary;
    let cold_start = match &s.cold_start {
        Some(c) => match (&c.error, c.ttft_ms) {
            (Some(class), _) => format!("failed ({class})"),
            (None, Some(t)) => format!("TTFT {}, E2E {}", format_ms(t), format_ms(c.e2e_ms)),
            (None, None) => format!("E2E {}", format_ms(c.e2e_ms)),
        },
        None => dash(),
    };
    RunMeta {
        target: target_view(run, colors),
        started_at: s.started_at.clone(),
        duration: format!("{:.1} s", s.duration_s),
        samples: s.settings.samples,
        warmup: s.settings.warmup,
        levels: (0..s.levels.len()).map(|i| level_label(run, i)).collect::<Vec<_>>().join(", "),
        timeout: format_ms(s.settings.timeout_ms as f64),
        partial: s.partial,
        cold_start,
        baseline: run.baseline.as_ref().map(|b| format!("{} (started {})", b.name, b.summary.started_at)),
        version: s.tool.version.clone(),
    }
}

fn token_row(target: &str, level_label: &str, level: &LevelSummary) -> TokenRow {
    let range = |s: Option<&LatencySummary>| match s {
        Some(s) => format!("{:.0} (min {:.0}, max {:.0})", s.p50.unwrap_or(s.mean), s.min, s.max),
        None => dash(),
    };
    let total: u64 = level.output_token_source.values().sum();
    let source = level
        .output_token_source
        .iter()
        .map(|(k, v)| if total > 0 { format!("{k} {:.0}%", *v as f64 * 100.0 / total as f64) } else { k.clone() })
        .collect::<Vec<_>>()
        .join(", ");
    TokenRow {
        target: target.to_owned(),
        level: level_label.to_owned(),
        output: range(level.output_tokens.as_ref()),
        input: range(level.input_tokens.as_ref()),
        source_warning: level.output_token_source.keys().any(|k| k != "usage"),
        source: if source.is_empty() { dash() } else { source },
    }
}

/// Current value, baseline value, whether lower is better, formatter.
type Figure = (Option<f64>, Option<f64>, bool, fn(f64) -> String);

/// The headline figures against the baseline's; lower is better except
/// for throughput. A plain relative change — whether it is real is the
/// comparison's call, shown as its verdict when the results carry one.
fn baseline_row(
    target: &str,
    color: usize,
    level: &str,
    baseline: &str,
    cur: &LevelSummary,
    base: &LevelSummary,
    verdict: &model::Verdict,
) -> BaselineRow {
    let cells = BASELINE_FIGURES
        .iter()
        .map(|&(key, stat, _)| {
            let (c, b, lower_is_better, fmt): Figure = match key {
                "output_tok_per_s" => {
                    (Some(cur.output_tok_per_s), Some(base.output_tok_per_s), false, |v| format!("{v:.1}"))
                }
                "error_rate" => (Some(cur.error_rate), Some(base.error_rate), true, pct),
                _ => (
                    cur.metric(key).and_then(|s| s.get(stat)),
                    base.metric(key).and_then(|s| s.get(stat)),
                    true,
                    format_ms,
                ),
            };
            cell(c, b, lower_is_better, fmt, verdict_for(verdict, &cur.label(), key, stat))
        })
        .collect();
    BaselineRow { target: target.to_owned(), color, level: level.to_owned(), baseline: baseline.to_owned(), cells }
}

fn cell(
    cur: Option<f64>,
    base: Option<f64>,
    lower_is_better: bool,
    fmt: fn(f64) -> String,
    verdict: Option<Badge>,
) -> BaselineCell {
    let (change, class) = match (cur, base) {
        (Some(c), Some(b)) if b > 0.0 => {
            let rel = c / b - 1.0;
            let worse = if lower_is_better { rel > 0.0 } else { rel < 0.0 };
            (
                signed_pct(rel),
                if rel.abs() < 0.005 {
                    ""
                } else if worse {
                    "worse"
                } else {
                    "better"
                },
            )
        }
        (Some(c), Some(b)) if c == b => ("±0".into(), ""),
        _ => (String::new(), ""),
    };
    BaselineCell {
        current: cur.map(fmt).unwrap_or_else(dash),
        baseline: base.map(fmt).unwrap_or_else(dash),
        change,
        class,
        verdict,
    }
}

/// The gate's verdict on metric `key.stat` at `level`, as a badge.
fn verdict_for(verdict: &model::Verdict, level: &str, key: &str, stat: &str) -> Option<Badge> {
    let name = if stat.is_empty() { key.to_owned() } else { format!("{key}.{stat}") };
    verdict.changes().find(|(l, m)| m.metric == name && *l == level).map(|(_, m)| Badge {
        text: m.change.kind.label().into(),
        class: badge_class(m.change.kind),
        title: name,
    })
}
