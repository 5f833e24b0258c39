//! The terminal summary table: one row per concurrency level, with TTFT,
//! TPOT, ITL and E2E at p50/p90/p99, output tokens/s and ok/failed counts.

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
    let _ = write!(out, "  — {} samples, {} warm-up", run.settings.samples, run.settings.warmup);
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
    let open = run.levels.iter().any(|l| l.rate.is_some() || l.stage.is_some());
    out.push_str(&header(open));
    for level in &run.levels {
        out.push_str(&row(level, open));
    }
    out.push_str(&notes(run));
    out
}

fn header(open: bool) -> String {
    let mut h = if open { format!("{:>14}", "load") } else { format!("{:>5}", "conc") };
    let _ = write!(h, " {:>6} {:>5}", "ok", "fail");
    for (_, title) in COLUMNS {
        let _ = write!(h, " │ {:^21}", format!("{title} ms p50/p90/p99"));
    }
    let _ = writeln!(h, " │ {:>9} │ {:>6}", "out tok/s", "good%");
    h
}

/// The load of a level as a short label: `c=8`, `20/s`, `s2 5→50/s`.
pub(crate) fn load_label(level: &LevelSummary) -> String {
    match (&level.stage, level.rate) {
        (Some(st), Some(_)) => format!("s{} {}→{}/s", st.index, round(st.from), round(st.to)),
        (Some(st), None) => format!("s{} c {}→{}", st.index, round(st.from), round(st.to)),
        (None, Some(rate)) => format!("{}/s", round(rate)),
        (None, None) => format!("c={}", level.concurrency),
    }
}

fn round(v: f64) -> String {
    if v.fract() == 0.0 || v >= 100.0 { format!("{v:.0}") } else { format!("{v:.1}") }
}

fn row(level: &LevelSummary, open: bool) -> String {
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
    let _ = writeln!(r, " │ {:>9.1} │ {:>6}{}", level.output_tok_per_s, good, if invalid { "  INVALID" } else { "" });
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
        for w in &level.warnings {
            let _ = writeln!(out, "  ! {label}: {w}");
        }
    }
    if let Some(g) = run.levels.iter().find_map(|l| l.goodput.as_ref()) {
        let _ = writeln!(out, "  good% = requests meeting {} (failures count as not good)", g.slo.join(", "));
    }
    if let Some(sweep) = &run.sweep {
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
        None => format!("{:>21}  ", "—"),
    }
}

/// Renders many runs as one table, a row per benchmark × target × level:
/// the combined summary `cargo llmbench` prints at the end.
pub(crate) fn combined(runs: &[RunSummary]) -> String {
    let width = runs.iter().map(|r| r.bench.id.len() + r.target.name.len() + 3).max().unwrap_or(10).max(10);
    let mut out = format!(
        "{:<width$} {:>5} {:>6} {:>5} │ {:>9} {:>9} │ {:>9} │ {:>9} │ {:>9} │ {:>6}\n",
        "benchmark · target", "conc", "ok", "fail", "TTFT p50", "TTFT p99", "TPOT p50", "E2E p99", "out tok/s", "good%"
    );
    for run in runs {
        for level in &run.levels {
            let get = |key: &str, stat: &str| level.metric(key).and_then(|s| s.get(stat));
            let cell = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into());
            let _ = writeln!(
                out,
                "{:<width$} {:>5} {:>6} {:>5} │ {:>9} {:>9} │ {:>9} │ {:>9} │ {:>9.1} │ {:>6}{}",
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
        }
    }
    out.push_str("(latencies in ms; — = not enough samples for that percentile)\n");
    out
}
