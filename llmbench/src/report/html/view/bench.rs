//! A benchmark's page: its summary table per target × level, errors,
//! token counts, examples and run details (the charts are `figures`).

use std::collections::BTreeMap;

use serde::Serialize;

use super::baseline::{BASELINE_FIGURES, BaselineRow, baseline_row};
use super::{Columns, LimitView, TargetView, cost_per_ok, dash, goodput, limit_view, money, ms, pct, target_view};
use crate::report::html::model::requests::RunRequests;
use crate::report::html::model::{self, BenchGroup, Run, level_label};
use crate::stats::{LatencySummary, LevelSummary};
use crate::units::format_ms;

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
    /// Reasoning, tool-call, cache and input-length splits, one line each.
    pub(crate) traffic: Vec<String>,
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
        add_run(&mut view, bench, run, reqs, colors);
    }
    view
}

/// Adds one target's run to its benchmark's page.
fn add_run(
    view: &mut BenchView,
    bench: &BenchGroup,
    run: &Run,
    reqs: &Result<RunRequests, String>,
    colors: &BTreeMap<String, usize>,
) {
    let name = run.summary.target.name.clone();
    let color = colors.get(&name).copied().unwrap_or(0);
    view.runs.push(run_meta(run, colors));
    view.limits.extend(run.verdict.failed_limits().map(|l| limit_view(bench, String::new(), run, l)));
    for (i, level) in run.summary.levels.iter().enumerate() {
        let label = level_label(run, i);
        view.rows.push(level_row(&name, color, &label, level));
        view.errors.extend(error_rows(&name, &label, level));
        view.tokens.push(token_row(&name, &label, level));
        if let Some(base) = &run.baseline
            && let Some(b) =
                base.summary.levels.iter().find(|b| model::summary_level_label(b) == model::summary_level_label(level))
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
        Err(e) => view.notes.push(format!("{name}: per-request data unavailable ({e}); charts show summaries only")),
    }
}

/// A level's row of the summary table.
fn level_row(target: &str, color: usize, label: &str, level: &LevelSummary) -> LevelRow {
    let triple = |m: Option<&LatencySummary>| [ms(m, "p50"), ms(m, "p90"), ms(m, "p99")];
    LevelRow {
        target: target.to_owned(),
        color,
        level: label.to_owned(),
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
    }
}

/// A level's failures, one row per error class.
fn error_rows<'a>(target: &'a str, label: &'a str, level: &'a LevelSummary) -> impl Iterator<Item = ErrorRow> + 'a {
    let attempted = level.requests.attempted;
    level.requests.by_class.iter().map(move |(class, &count)| {
        let share = if attempted > 0 { count as f64 / attempted as f64 } else { 0.0 };
        ErrorRow {
            target: target.to_owned(),
            level: label.to_owned(),
            class: class.clone(),
            count,
            share: pct(share),
            bar: (share * 100.0).clamp(0.5, 100.0),
        }
    })
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
        traffic: crate::report::terminal::traffic_lines(level),
    }
}
