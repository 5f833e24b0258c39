//! What people see in a terminal: the summary table of a run (one row per
//! level, with TTFT, TPOT, ITL and E2E at p50/p90/p99, output tokens/s,
//! ok/failed counts, goodput and cost), the combined table `cargo llmbench`
//! prints at the end, the progress bar, and the change block of the gate.

pub(crate) mod change;
pub(crate) mod cost;
pub(crate) mod history;
pub(crate) mod pareto;
pub(crate) mod progress;

use std::fmt::Write;

use crate::results::RunSummary;
use crate::stats::{LatencySummary, LevelSummary};

/// The metrics shown, with their column titles.
const COLUMNS: [(&str, &str); 4] = [("ttft", "TTFT"), ("tpot", "TPOT"), ("itl", "ITL"), ("e2e", "E2E")];

/// Renders the table for one benchmark × target run.
pub(crate) fn table(run: &RunSummary) -> String {
    let mut out = String::new();
    let _ = write!(out, "{} · {}", run.bench.id, run.target.name);
    if run.target.model != run.target.name && run.target.model != "sim" {
        let _ = write!(out, " ({})", run.target.model);
    }
    match run.levels.first().and_then(|l| l.load.as_ref()).and_then(|c| c.duration_s.map(|d| (d, c.grace_s))) {
        Some((_, grace)) if run.levels.iter().any(|l| l.stage.is_some()) => {
            let total: f64 = run.levels.iter().filter_map(|l| l.stage.as_ref()).map(|s| s.duration_s).sum();
            let _ = write!(
                out,
                "  — stages over {total:.0} s ({:.0} s grace), {} warm-up",
                grace.unwrap_or(0.0),
                run.settings.warmup
            );
        }
        Some((d, grace)) => {
            let _ = write!(
                out,
                "  — {d:.0} s per level ({:.0} s grace), {} warm-up",
                grace.unwrap_or(0.0),
                run.settings.warmup
            );
        }
        None => {
            let _ = write!(out, "  — {} samples, {} warm-up", run.settings.samples, run.settings.warmup);
        }
    }
    if let Some(cold) = &run.cold_start {
        match (&cold.error, cold.ttft_ms) {
            (Some(class), _) => {
                let _ = write!(out, ", cold start failed ({class})");
            }
            (None, Some(ttft)) => {
                let _ = write!(out, ", cold start TTFT {ttft:.1} ms");
            }
            _ => {}
        }
    }
    if run.partial {
        out.push_str("  [PARTIAL: interrupted]");
    }
    out.push('\n');
    let priced = run.price.is_some();
    let open = run.levels.iter().any(|l| l.rate.is_some() || l.stage.is_some());
    out.push_str(&header(open, priced));
    for level in &run.levels {
        out.push_str(&row(level, open, priced));
    }
    out.push_str(&notes(run));
    out.push_str(&cost::lines(run));
    // Names, models and warnings may quote what a server or a results file
    // said: nothing in them may drive the terminal.
    crate::term::safe(&out).into_owned()
}

fn header(open: bool, priced: bool) -> String {
    let mut h = if open { format!("{:>14}", "load") } else { format!("{:>5}", "conc") };
    let _ = write!(h, " {:>6} {:>5}", "ok", "fail");
    for (_, title) in COLUMNS {
        let _ = write!(h, " │ {:^21}", format!("{title} ms p50/p90/p99"));
    }
    let _ = write!(h, " │ {:>9} │ {:>6}", "out tok/s", "good%");
    if priced {
        let _ = write!(h, " │ {:>10}", cost::COLUMN);
    }
    h.push('\n');
    h
}

/// The load of a level as a short label: `c=8`, `20/s`, `s2 5→50/s`.
pub(crate) fn load_label(level: &LevelSummary) -> String {
    level.label()
}

fn row(level: &LevelSummary, open: bool, priced: bool) -> String {
    let mut r = if open { format!("{:>14}", load_label(level)) } else { format!("{:>5}", level.concurrency) };
    let invalid = level.load.as_ref().is_some_and(|c| !c.valid);
    let _ = write!(r, " {:>6} {:>5}", level.requests.ok, level.requests.failed);
    for (key, _) in COLUMNS {
        let _ = write!(r, " │ {}", triple(level.metric(key)));
    }
    let good = match &level.goodput {
        Some(g) => format!("{:.1}", g.ratio * 100.0),
        None => "—".into(),
    };
    let _ = write!(r, " │ {:>9.1} │ {:>6}", level.output_tok_per_s, good);
    if priced {
        let _ = write!(r, " │ {:>10}", cost::ok_request_cell(level));
    }
    if invalid {
        r.push_str("  INVALID");
    }
    r.push('\n');
    r
}

/// What the table cannot show: invalid levels and why, correctness,
/// warnings, the SLOs, and a sweep's knee.
fn notes(run: &RunSummary) -> String {
    let mut out = String::new();
    for level in &run.levels {
        let label = load_label(level);
        if let Some(c) = level.load.as_ref().filter(|c| !c.valid) {
            for reason in &c.invalid_reasons {
                let _ = writeln!(out, "  ! {label}: INVALID, the client could not keep up: {reason}");
            }
        }
        if let Some(c) = &level.correctness {
            let _ = writeln!(
                out,
                "  {label}: correct {:.1}% ({} of {} responses passed their checks)",
                c.rate * 100.0,
                c.passed,
                c.checked
            );
        }
        if let Some(g) = level.goodput.as_ref().filter(|g| !g.failed.is_empty() && g.attempted > 0) {
            let _ = writeln!(out, "  {label}: SLOs not met: {}", g.failed.join("; "));
        }
        for line in traffic_lines(level) {
            let _ = writeln!(out, "  {label}: {line}");
        }
        for w in &level.warnings {
            let _ = writeln!(out, "  ! {label}: {w}");
        }
    }
    if let Some(g) = run.levels.iter().find_map(|l| l.goodput.as_ref()) {
        let _ = writeln!(out, "  good% = requests meeting {} (failures count as not good)", g.slo.join(", "));
    }
    if let Some(sweep) = &run.sweep {
        let round = crate::stats::short_number;
        let fmt = |v: f64| if sweep.unit == "rate" { format!("{}/s", round(v)) } else { format!("c={}", round(v)) };
        match &sweep.knee {
            Some(k) => {
                let _ = writeln!(out, "  knee: between {} and {}: {}", fmt(k.previous), fmt(k.level), k.reason);
            }
            None => {
                let _ = writeln!(out, "  knee: none found in the levels run");
            }
        }
        match sweep.max_load_meeting_slo {
            Some(v) => {
                let _ = writeln!(out, "  max load meeting the SLOs: {}", fmt(v));
            }
            None => {
                let _ = writeln!(out, "  max load meeting the SLOs: none of the levels run");
            }
        }
        if !sweep.invalid_levels.is_empty() {
            let levels: Vec<String> = sweep.invalid_levels.iter().map(|&v| fmt(v)).collect();
            let _ = writeln!(out, "  left out of the sweep analysis (client could not keep up): {}", levels.join(", "));
        }
        if let Some(search) = &sweep.search {
            let _ = writeln!(out, "  {}", capacity_line(search, &fmt));
        }
    }
    out
}

/// A capacity search's answer, with how sure it is.
fn capacity_line(s: &crate::stats::Search, fmt: &dyn Fn(f64) -> String) -> String {
    let how = match s.bracket {
        Some([pass, fail]) => format!(
            "between {} and {}, {} levels tried, tolerance {:.0}%",
            fmt(pass),
            fmt(fail),
            s.levels_tried,
            s.tolerance * 100.0
        ),
        None => format!("{} levels tried, none failed", s.levels_tried),
    };
    match (s.answer, &s.refused) {
        (_, Some(why)) => format!("capacity: no answer: {why}"),
        (None, None) => format!("capacity: no level met the SLOs ({} levels tried)", s.levels_tried),
        (Some(a), None) => {
            let cost = s.cost_per_ok_request.map(|c| format!(", {} per ok request", crate::units::format_usd(c)));
            format!("capacity: {} meets the SLOs ({how}){}", fmt(a), cost.unwrap_or_default())
        }
    }
}

/// The request-level splits of a level, when it has them: reasoning
/// (TTFT against TTFO, thinking time, reasoning against answer tokens),
/// tool calls, prompt caching, and input lengths asked, sent and counted.
pub(crate) fn traffic_lines(level: &LevelSummary) -> Vec<String> {
    let p50 = |key: &str| level.metric(key).and_then(|s| s.p50);
    let ms = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |v| format!("{v:.1} ms"));
    let n = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |v| format!("{v:.0}"));
    let mut out = Vec::new();
    if level.thinking.is_some() {
        out.push(format!(
            "reasoning p50: TTFT {} → TTFO {} (thinking {}), {} reasoning + {} answer tokens",
            ms(p50("ttft")),
            ms(p50("ttfo")),
            ms(p50("thinking")),
            n(p50("reasoning_tokens")),
            n(p50("answer_tokens")),
        ));
    }
    if let Some(t) = &level.ttftc {
        out.push(format!(
            "tool calls: {} of {} responses, p50 first delta {} and complete {}",
            t.count,
            level.requests.ok,
            ms(t.p50),
            ms(p50("tool_call"))
        ));
    }
    if let Some(c) = &level.cache {
        out.push(format!(
            "prompt cache: hit ratio {:.1}% ({} of {} requests hit; {} tokens read, {} written), TTFT p50 hit {} / miss {}",
            c.cache_hit_ratio * 100.0,
            c.hits,
            c.reported,
            c.read_tokens,
            c.write_tokens,
            ms(c.ttft_hit.as_ref().and_then(|s| s.p50)),
            ms(c.ttft_miss.as_ref().and_then(|s| s.p50)),
        ));
    }
    if let Some(c) = level.connections.as_ref().filter(|c| c.new > 0) {
        out.push(format!(
            "connections: {} of {} measured requests opened one, connect p50 {} / max {}",
            c.new,
            c.reported,
            ms(c.connect.as_ref().and_then(|s| s.p50)),
            ms(c.connect.as_ref().map(|s| s.max)),
        ));
    }
    if let Some(s) = &level.sessions {
        out.extend(session_lines(s, &ms));
    }
    if level.input_tokens_requested.is_some() || level.input_tokens_generated.is_some() {
        out.push(format!(
            "input tokens mean: requested {} / generated {} / server {}",
            n(level.input_tokens_requested.as_ref().map(|s| s.mean)),
            n(level.input_tokens_generated.as_ref().map(|s| s.mean)),
            n(level.input_tokens.as_ref().map(|s| s.mean)),
        ));
    }
    out
}

/// Conversations: how the sessions went, then TTFT and prompt length by
/// turn (the history each turn carries, and what it does to TTFT).
fn session_lines(s: &crate::stats::SessionsSummary, ms: &dyn Fn(Option<f64>) -> String) -> Vec<String> {
    let duration = s.session_duration.as_ref().and_then(|d| d.p50).map(|v| v / 1e3);
    let turns = s.turns_completed.as_ref().map(|t| t.mean);
    let mut out = vec![format!(
        "sessions: {} started, {} completed, {} failed, {} unfinished; session p50 {}, {} turns completed on average",
        s.started,
        s.completed,
        s.failed,
        s.unfinished,
        duration.map_or_else(|| "—".to_owned(), |d| format!("{d:.2} s")),
        turns.map_or_else(|| "—".to_owned(), |t| format!("{t:.1}")),
    )];
    let per_turn: Vec<String> = s
        .per_turn
        .iter()
        .map(|t| {
            let prompt = t.prompt_tokens.map_or_else(String::new, |p| format!(" ({p:.0} tok)"));
            format!("{} {}{prompt}", t.turn + 1, ms(t.figures.ttft.as_ref().and_then(|x| x.p50.or(Some(x.mean)))))
        })
        .collect();
    if !per_turn.is_empty() {
        out.push(format!("TTFT p50 by turn: {}", per_turn.join(" · ")));
    }
    if let Some(steps) = &s.tool_steps {
        out.push(format!(
            "agent steps: {} sent tool results back ({} ok); TTFT after a tool result p50 {}",
            steps.requests,
            steps.ok,
            ms(steps.ttft.as_ref().and_then(|x| x.p50.or(Some(x.mean)))),
        ));
    }
    out
}

/// `p50 / p90 / p99`, with `—` where a percentile is missing.
fn triple(summary: Option<&LatencySummary>) -> String {
    let cell = |v: Option<f64>| match v {
        Some(v) if v >= 1000.0 => format!("{v:>7.0}"),
        Some(v) => format!("{v:>7.1}"),
        None => format!("{:>7}", "—"),
    };
    match summary {
        Some(s) => format!("{}{}{}", cell(s.p50), cell(s.p90), cell(s.p99)),
        None => format!("{:>21}", "—"),
    }
}

/// Renders many runs as one table, a row per benchmark × target × level:
/// the combined summary `cargo llmbench` prints at the end.
pub(crate) fn combined(runs: &[RunSummary]) -> String {
    let priced = runs.iter().any(|r| r.price.is_some());
    let width =
        runs.iter().map(|r| r.bench.id.chars().count() + r.target.name.chars().count() + 3).max().unwrap_or(10).max(10);
    let load_width = runs
        .iter()
        .flat_map(|r| r.levels.iter())
        .map(|l| if l.rate.is_some() || l.stage.is_some() { load_label(l).chars().count() } else { 5 })
        .max()
        .unwrap_or(5)
        .max(5);
    let mut out = format!(
        "{:<width$} {:>load_width$} {:>6} {:>5} │ {:>9} {:>9} │ {:>9} │ {:>9} │ {:>9} │ {:>6}",
        "benchmark · target", "conc", "ok", "fail", "TTFT p50", "TTFT p99", "TPOT p50", "E2E p99", "out tok/s", "good%"
    );
    if priced {
        let _ = write!(out, " │ {:>10}", cost::COLUMN);
    }
    out.push('\n');
    for run in runs {
        for level in &run.levels {
            let get = |key: &str, stat: &str| level.metric(key).and_then(|s| s.get(stat));
            let cell = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into());
            let _ = write!(
                out,
                "{:<width$} {:>load_width$} {:>6} {:>5} │ {:>9} {:>9} │ {:>9} │ {:>9} │ {:>9.1} │ {:>6}{}",
                format!("{} · {}", run.bench.id, run.target.name),
                if level.rate.is_some() || level.stage.is_some() {
                    load_label(level)
                } else {
                    level.concurrency.to_string()
                },
                level.requests.ok,
                level.requests.failed,
                cell(get("ttft", "p50")),
                cell(get("ttft", "p99")),
                cell(get("tpot", "p50")),
                cell(get("e2e", "p99")),
                level.output_tok_per_s,
                level.goodput.as_ref().map(|g| format!("{:.1}", g.ratio * 100.0)).unwrap_or_else(|| "—".into()),
                if level.load.as_ref().is_some_and(|c| !c.valid) { "  INVALID" } else { "" },
            );
            if priced {
                let cell = if run.price.is_some() { cost::ok_request_cell(level) } else { "no price".into() };
                let _ = write!(out, " │ {cell:>10}");
            }
            out.push('\n');
        }
    }
    out.push_str("(latencies in ms; — = not enough samples for that percentile)\n");
    // Read back from results files, which anyone may have edited.
    crate::term::safe(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{StageInfo, knee};

    fn level(concurrency: u32, ttft: f64) -> LevelSummary {
        let mut records: Vec<_> =
            (0..30).map(|_| crate::stats::goodput::tests::rec(ttft, ttft + 40.0, 10, None)).collect();
        records[0].error = Some(crate::record::RequestError::new(crate::record::ErrorClass::Throttled, "x"));
        let mut l = crate::stats::summarize_level(concurrency, &records);
        let slo = crate::stats::goodput::Slo::parse("goodput >= 90%").unwrap();
        l.goodput = Some(crate::stats::goodput::goodput(&slo, &l, &records));
        l
    }

    #[test]
    fn labels_for_each_kind_of_level() {
        let mut l = level(8, 40.0);
        assert_eq!(load_label(&l), "c=8");
        l.rate = Some(12.5);
        assert_eq!(load_label(&l), "12.5/s");
        l.stage = Some(StageInfo { index: 2, start_s: 1.0, duration_s: 1.0, from: 5.0, to: 50.0 });
        assert_eq!(load_label(&l), "s2 5→50/s");
        l.rate = None;
        l.stage = Some(StageInfo { index: 1, start_s: 0.0, duration_s: 1.0, from: 4.0, to: 4.0 });
        assert_eq!(load_label(&l), "s1 c=4");
    }

    #[test]
    fn the_table_shows_goodput_invalid_levels_and_the_knee() {
        let mut run = RunSummary::example();
        run.levels = vec![level(1, 40.0), level(2, 41.0), level(4, 120.0)];
        run.levels[2].load = Some(crate::stats::selfcheck::check(
            &[],
            &crate::stats::selfcheck::LevelLoad {
                cpu: Some(crate::stats::CpuUse { busy: 0.95, runnable_wait: 0.0, cores: 1 }),
                ..Default::default()
            },
        ));
        run.sweep = Some(knee::analyse(&run.levels[..2]));
        let t = table(&run);
        assert!(t.contains("good%"), "{t}");
        assert!(t.contains("96.7"), "29 of 30 good: {t}");
        assert!(t.contains("INVALID") && t.contains("CPU-bound"), "{t}");
        assert!(t.contains("knee: none found") && t.contains("max load meeting the SLOs: c=2"), "{t}");
        let mut sweep = knee::analyse(&run.levels[..2]);
        sweep.search = Some(crate::stats::Search {
            answer: Some(6.0),
            bracket: Some([6.0, 7.0]),
            tolerance: 0.05,
            levels_tried: 6,
            refused: None,
            cost_per_ok_request: Some(0.0004),
        });
        run.sweep = Some(sweep);
        let t = table(&run);
        assert!(t.contains("capacity: c=6 meets the SLOs (between c=6 and c=7, 6 levels tried, tolerance 5%), $0.000400 per ok request"), "{t}");
    }

    #[test]
    fn escape_sequences_from_results_never_reach_the_terminal() {
        let mut run = RunSummary::example();
        run.target.model = "m\x1b]0;owned\x07\x1b[2J".into();
        run.levels = vec![level(1, 40.0)];
        run.levels[0].warnings.push("server said \x1b[31mred\x1b[0m\rover".into());
        for text in [table(&run), combined(std::slice::from_ref(&run))] {
            assert!(!text.contains('\x1b') && !text.contains('\x07') && !text.contains('\r'), "{text:?}");
        }
        assert!(table(&run).contains("server said [31mred[0mover"));
    }
}
