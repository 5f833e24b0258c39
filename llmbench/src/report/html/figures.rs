//! The charts of a benchmark's page: model data turned into the `chart`
//! module's inputs, as template figures with a caption that says how to
//! read each one.

use minijinja::{Value, context};

use super::chart::{self, CdfSeries, Curve, CurvePoint, DumbbellRow, DumbbellValue, HistPanel, TimelinePanel, Unit};
use super::model::requests::{self, LevelSamples, Point, RunRequests};
use super::model::{BenchGroup, Run, level_label, summary_level_label};
use crate::stats::LevelSummary;

/// Timeline points drawn per target before thinning.
const TIMELINE_CAP: usize = 1_500;

/// A run with whatever per-request data could be read for it.
pub(crate) struct RunData<'a> {
    pub(crate) run: &'a Run,
    pub(crate) color: usize,
    pub(crate) requests: Option<&'a RunRequests>,
    pub(crate) baseline: Option<&'a RunRequests>,
}

/// Every chart of a page, as template values (`title`, `svg`, `caption`).
pub(crate) fn charts(bench: &BenchGroup, data: &[RunData<'_>]) -> Value {
    let multi_target = data.len() > 1;
    context! {
        side_by_side => multi_target.then(|| side_by_side(data)),
        distributions => [("ttft", "TTFT"), ("tpot", "TPOT"), ("e2e", "E2E")]
            .iter()
            .filter_map(|(key, name)| distribution(data, key, name))
            .collect::<Vec<_>>(),
        cdfs => cdfs(data),
        itl => distribution(data, "itl", "ITL"),
        timelines => timelines(bench, data),
        curves => curves(data),
        turns => turns(data),
        cost_latency => super::cost_latency::section(&bench.id, data),
    }
}

fn figure(title: String, svg: String, caption: &str) -> Value {
    context! { title => title, svg => Value::from_safe_string(svg), caption => caption }
}

fn samples<'a>(level: &'a LevelSamples, key: &str) -> &'a [f64] {
    match key {
        "ttft" => &level.ttft,
        "tpot" => &level.tpot,
        "e2e" => &level.e2e,
        _ => &level.itl,
    }
}

/// Each (run, level) with its per-request samples, in page order.
fn levels<'a>(
    data: &'a [RunData<'a>],
) -> impl Iterator<Item = (&'a RunData<'a>, usize, &'a LevelSummary, &'a LevelSamples)> {
    data.iter().flat_map(|d| {
        d.run.summary.levels.iter().enumerate().filter_map(move |(i, summary)| {
            let samples = d.requests?.levels.get(i)?;
            Some((d, i, summary, samples))
        })
    })
}

fn panel_label(d: &RunData<'_>, i: usize) -> String {
    format!("{} · {}", d.run.summary.target.name, level_label(d.run, i))
}

fn distribution(data: &[RunData<'_>], key: &str, name: &str) -> Option<Value> {
    let panels: Vec<HistPanel<'_>> = levels(data)
        .map(|(d, i, summary, s)| {
            let m = summary.metric(key);
            HistPanel {
                label: panel_label(d, i),
                series: d.color,
                values: samples(s, key),
                marks: ["p50", "p90", "p99"].into_iter().map(|p| (p, m.and_then(|m| m.get(p)))).collect(),
            }
        })
        .filter(|p| !p.values.is_empty())
        .collect();
    if panels.is_empty() {
        return None;
    }
    let (x_title, y_title, caption) = match key {
        "itl" => (
            "gap between content chunks",
            "share of gaps (%)",
            "Every gap between successive content chunks of the measured successful requests, pooled. A second hump far right of the first is the server pausing a stream (batching, preemption) — it shows in ITL p99 before it shows in TPOT.",
        ),
        "tpot" => (
            "time per output token",
            "share of requests (%)",
            "One value per successful measured request. A narrow peak means steady decoding; a long right tail means some streams were slowed by their neighbours.",
        ),
        "e2e" => (
            "end-to-end latency",
            "share of requests (%)",
            "One value per successful measured request, from when it was due to the last byte. Width comes from TTFT and from output length; compare with the token counts below.",
        ),
        _ => (
            "time to first token",
            "share of requests (%)",
            "One value per successful measured request, from when it was due (so client-side queueing counts). Dashed lines mark p50, p90 and p99; the axis ends near the largest p99 and each panel says how many values lie beyond.",
        ),
    };
    let label = format!("{name} distribution per target and level");
    let svg = chart::histogram(&label, x_title, y_title, Unit::Ms, &panels);
    Some(figure(format!("{name} distribution"), svg, caption))
}

fn cdfs(data: &[RunData<'_>]) -> Vec<Value> {
    // One chart per metric and level, every target (and its baseline) on it.
    // Levels are matched across targets (and baselines) by their label: `c=8`, `rate 20/s`.
    let mut labels: Vec<String> = Vec::new();
    for d in data {
        for i in 0..d.run.summary.levels.len() {
            let label = level_label(d.run, i);
            if !labels.contains(&label) {
                labels.push(label);
            }
        }
    }
    let mut out = Vec::new();
    for (key, name) in [("ttft", "TTFT"), ("tpot", "TPOT"), ("e2e", "E2E")] {
        for level_name in &labels {
            let mut series = Vec::new();
            for d in data {
                let Some(i) = (0..d.run.summary.levels.len()).find(|&i| level_label(d.run, i) == *level_name) else {
                    continue;
                };
                if let Some(s) = d.requests.and_then(|r| r.levels.get(i)) {
                    series.push(CdfSeries {
                        label: d.run.summary.target.name.clone(),
                        series: d.color,
                        dashed: false,
                        sorted: samples(s, key),
                    });
                }
                if let (Some(b), Some(base)) = (d.baseline, d.run.baseline.as_ref())
                    && let Some(j) = base.summary.levels.iter().position(|l| summary_level_label(l) == *level_name)
                    && let Some(s) = b.levels.get(j)
                {
                    series.push(CdfSeries {
                        label: format!("{} (baseline {})", d.run.summary.target.name, base.name),
                        series: d.color,
                        dashed: true,
                        sorted: samples(s, key),
                    });
                }
            }
            if series.iter().all(|s| s.sorted.is_empty()) {
                continue;
            }
            let title = format!("{name} CDF at {level_name}");
            let svg = chart::cdf(&title, &format!("{name} latency"), Unit::Ms, &series, chart::HALF_WIDTH);
            out.push(figure(title, svg, ""));
        }
    }
    out
}

fn timelines(bench: &BenchGroup, data: &[RunData<'_>]) -> Vec<Value> {
    let mut out = Vec::new();
    for (key, name) in [("e2e", "E2E"), ("ttft", "TTFT")] {
        let latency = |p: &Point| if key == "e2e" { Some(p.e2e_ms) } else { p.ttft_ms };
        let panels: Vec<TimelinePanel> = data
            .iter()
            .filter_map(|d| {
                let reqs = d.requests?;
                let (points, note) = requests::downsample(&reqs.points, latency, TIMELINE_CAP);
                let single = d.run.summary.levels.len() == 1;
                let refs = match d.run.summary.levels.first().and_then(|l| l.metric(key)) {
                    Some(m) if single => {
                        [("p50", m.p50), ("p99", m.p99)].into_iter().filter_map(|(n, v)| Some((n, v?))).collect()
                    }
                    _ => Vec::new(),
                };
                Some(TimelinePanel {
                    label: d.run.summary.target.name.clone(),
                    series: d.color,
                    points: points
                        .iter()
                        .filter_map(|p| Some(chart::TimelinePoint { t_s: p.t_s, ms: latency(p)?, kind: p.kind }))
                        .collect(),
                    level_starts: reqs.level_starts.iter().map(|&(t, i)| (t, level_label(d.run, i))).collect(),
                    note,
                    refs,
                })
            })
            .collect();
        if panels.iter().all(|p| p.points.is_empty()) {
            continue;
        }
        let title = format!("{name} of every request over time");
        let svg = chart::timeline(&format!("{title}: {}", bench.id), &format!("{name} latency"), &panels);
        out.push(figure(
            title,
            svg,
            if key == "e2e" {
                "Each mark is one request, placed at the time it was due. Levels run one after another (thin vertical lines). Look for a slow start (cold start, warm-up), steps or bursts of errors (throttling), and a slope (drift). Failed requests are placed at the time they failed."
            } else {
                "The same requests by TTFT: queueing and cold starts show here first. Requests that failed before any content have no TTFT and are not drawn."
            },
        ));
    }
    out
}

fn curves(data: &[RunData<'_>]) -> Vec<Value> {
    let runs: Vec<&RunData<'_>> = data.iter().filter(|d| d.run.summary.levels.len() > 1).collect();
    if runs.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (key, name) in [("ttft", "TTFT"), ("e2e", "E2E")] {
        let mut lines = Vec::new();
        for d in &runs {
            let target = &d.run.summary.target.name;
            for (stat, dashed) in [("p50", false), ("p99", true)] {
                // (level index, point): levels without the figure are left out.
                let (levels, points): (Vec<usize>, Vec<CurvePoint>) = d
                    .run
                    .summary
                    .levels
                    .iter()
                    .enumerate()
                    .filter_map(|(i, l)| {
                        let y = l.metric(key)?.get(stat)?;
                        let label = if dashed { String::new() } else { level_label(d.run, i) };
                        Some((i, CurvePoint { x: l.output_tok_per_s, y, label }))
                    })
                    .unzip();
                if points.is_empty() {
                    continue;
                }
                let knee = knee_level(d.run).filter(|_| !dashed).and_then(|k| levels.iter().position(|&i| i == k));
                lines.push(Curve { label: format!("{target} {name} {stat}"), series: d.color, dashed, points, knee });
            }
        }
        if lines.is_empty() {
            continue;
        }
        let title = format!("Throughput against {name}");
        let svg = chart::curves(
            &title,
            "output throughput",
            Unit::TokPerS,
            &format!("{name} latency"),
            Unit::Ms,
            &lines,
            chart::HALF_WIDTH,
        );
        out.push(figure(title, svg, ""));
    }
    out
}

/// Conversations: TTFT by turn number, one line per target × level with
/// sessions (p50, or the mean where a turn has too few samples; p90
/// dashed), each point labelled with the mean prompt the turn carried.
fn turns(data: &[RunData<'_>]) -> Vec<Value> {
    let mut lines = Vec::new();
    for d in data {
        let target = &d.run.summary.target.name;
        for (i, level) in d.run.summary.levels.iter().enumerate() {
            let Some(sessions) = &level.sessions else { continue };
            for (stat, dashed) in [("p50", false), ("p90", true)] {
                let points: Vec<CurvePoint> = sessions
                    .per_turn
                    .iter()
                    .filter_map(|t| {
                        let ttft = t.figures.ttft.as_ref()?;
                        let y = if dashed { ttft.p90? } else { ttft.p50.unwrap_or(ttft.mean) };
                        let label = match (dashed, t.prompt_tokens) {
                            (false, Some(p)) => format!("{p:.0} tok"),
                            _ => String::new(),
                        };
                        Some(CurvePoint { x: f64::from(t.turn + 1), y, label })
                    })
                    .collect();
                if points.len() < 2 {
                    continue;
                }
                let label = format!("{target} · {} TTFT {stat}", level_label(d.run, i));
                lines.push(Curve { label, series: d.color, dashed, points, knee: None });
            }
        }
    }
    if lines.is_empty() {
        return Vec::new();
    }
    let title = "TTFT by turn".to_owned();
    let svg = chart::curves(&title, "turn", Unit::Count, "TTFT", Unit::Ms, &lines, chart::HALF_WIDTH);
    vec![figure(title, svg, "")]
}

/// The level (index) the run's own sweep analysis (`stats::knee`, the
/// knee the terminal prints) puts the knee at: the last load before latency
/// or errors jumped. None when the run found none: the page draws no other.
fn knee_level(run: &Run) -> Option<usize> {
    let knee = run.summary.sweep.as_ref()?.knee.as_ref()?;
    run.summary.levels.iter().position(|l| crate::stats::knee::load_of(l) == knee.previous)
}

fn side_by_side(data: &[RunData<'_>]) -> Value {
    let rows: Vec<DumbbellRow> = [("ttft", "TTFT"), ("tpot", "TPOT"), ("itl", "ITL"), ("e2e", "E2E")]
        .iter()
        .map(|(key, name)| DumbbellRow {
            metric: (*name).to_owned(),
            unit: Unit::Ms,
            values: data
                .iter()
                .flat_map(|d| {
                    d.run.summary.levels.iter().enumerate().map(move |(i, l)| {
                        let m = l.metric(key);
                        DumbbellValue {
                            series: d.color,
                            label: panel_label(d, i),
                            p50: m.and_then(|m| m.p50),
                            p99: m.and_then(|m| m.p99),
                        }
                    })
                })
                .collect(),
        })
        .collect();
    let svg = chart::dumbbell("Targets side by side: p50 and p99 per metric", &rows);
    figure(
        String::new(),
        svg,
        "Filled dot: p50; hollow dot: p99; the bar between them is the spread a user feels. Each metric has its own axis from zero; rows within a metric share it.",
    )
}
