//! `cargo llmbench history`: the trend of each benchmark × target in the
//! run history — a row per run × level (when, which commit, the headline
//! figures; the baseline marked), then per level a sparkline of the
//! figures that matter most, first run to last.

use std::fmt::Write;

use crate::report::pareto::usd;
use crate::results::history::Series;
use crate::stats::LevelSummary;

/// The block for one series.
pub(crate) fn render(series: &Series) -> String {
    let mut out = format!(
        "{} · {} — {} run{}, {}\n",
        series.bench,
        series.target,
        series.entries.len(),
        if series.entries.len() == 1 { "" } else { "s" },
        series.path.display()
    );
    let level_width = series
        .entries
        .iter()
        .flat_map(|e| e.summary.levels.iter().map(|l| l.label().chars().count()))
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        out,
        " {:>3} {:<16} {:<8} {:<12} {:>level_width$} │ {:>8} {:>8} │ {:>8} {:>8} │ {:>8} {:>8} │ {:>9} │ {:>5} │ {:>10}",
        "#",
        "started (UTC)",
        "commit",
        "branch",
        "load",
        "TTFT p50",
        "p99",
        "TPOT p50",
        "p99",
        "E2E p50",
        "p99",
        "out tok/s",
        "err%",
        "$/ok req"
    );
    rows(&mut out, series, level_width);
    sparklines(&mut out, series, level_width);
    crate::term::safe(&out).into_owned()
}

/// A row per run × level, the baseline marked.
fn rows(out: &mut String, series: &Series, level_width: usize) {
    let baseline = series.baseline();
    for (i, e) in series.entries.iter().enumerate() {
        let (commit, branch) = match &e.git {
            Some(g) => (format!("{}{}", g.short(), if g.dirty { "+" } else { "" }), g.branch.clone()),
            None => ("—".into(), "—".into()),
        };
        let started = e.summary.started_at.replace('T', " ");
        let started = started.get(..16).unwrap_or(&started);
        for level in &e.summary.levels {
            let cell = |key: &str| level.metric_value(key).map(|v| format!("{v:.1}")).unwrap_or_else(|| "—".into());
            let _ = writeln!(
                out,
                " {:>3} {:<16} {:<8} {:<12} {:>level_width$} │ {:>8} {:>8} │ {:>8} {:>8} │ {:>8} {:>8} │ {:>9.1} │ {:>5.1} │ {:>10}{}",
                i + 1,
                started,
                commit,
                clip(&branch, 12),
                level.label(),
                cell("ttft.p50"),
                cell("ttft.p99"),
                cell("tpot.p50"),
                cell("tpot.p99"),
                cell("e2e.p50"),
                cell("e2e.p99"),
                level.output_tok_per_s,
                level.error_rate * 100.0,
                level.metric_value("cost_per_ok_request").map(usd).unwrap_or_else(|| "—".into()),
                if baseline == Some(i) { "  ◆ baseline" } else { "" },
            );
        }
    }
}

/// Per level, a sparkline of TTFT p50, E2E p50 and throughput across the runs.
fn sparklines(out: &mut String, series: &Series, level_width: usize) {
    let mut labels: Vec<String> = Vec::new();
    for e in &series.entries {
        for l in &e.summary.levels {
            if !labels.contains(&l.label()) {
                labels.push(l.label());
            }
        }
    }
    for label in labels {
        let level = |i: usize| series.entries[i].summary.levels.iter().find(|l| l.label() == label);
        let values = |f: &dyn Fn(&LevelSummary) -> Option<f64>| -> Vec<Option<f64>> {
            (0..series.entries.len()).map(|i| level(i).and_then(f)).collect()
        };
        for (name, unit, vals) in [
            ("TTFT p50", " ms", values(&|l| l.metric_value("ttft.p50"))),
            ("E2E p50", " ms", values(&|l| l.metric_value("e2e.p50"))),
            ("out tok/s", "", values(&|l| Some(l.output_tok_per_s))),
        ] {
            if let Some(line) = trend_line(&vals) {
                let _ = writeln!(out, "  {label:>level_width$} {name:<9} {line}{unit}");
            }
        }
    }
}

fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(width - 1).collect();
        s.push('…');
        s
    }
}

/// `▁▂▅█ 41.5 → 42.0 (+1.2%)`: a sparkline over the runs (a gap where a
/// run lacks the figure), then first and last value and the change.
pub(crate) fn trend_line(values: &[Option<f64>]) -> Option<String> {
    let present: Vec<f64> = values.iter().flatten().copied().collect();
    let (first, last) = (*present.first()?, *present.last()?);
    let (lo, hi) = present.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let spark: String = values
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(_) if hi - lo <= f64::EPSILON * hi.abs().max(1.0) => BARS[3],
            Some(v) => BARS[(((v - lo) / (hi - lo)) * 7.0).round() as usize],
        })
        .collect();
    let change = if first != 0.0 { format!(" ({:+.1}%)", (last / first - 1.0) * 100.0) } else { String::new() };
    Some(format!("{spark} {first:.1} → {last:.1}{change}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trend_line_scales_its_bars_and_keeps_gaps() {
        assert_eq!(trend_line(&[Some(10.0), None, Some(20.0), Some(15.0)]).unwrap(), "▁ █▅ 10.0 → 15.0 (+50.0%)");
        assert_eq!(trend_line(&[Some(5.0), Some(5.0)]).unwrap(), "▄▄ 5.0 → 5.0 (+0.0%)");
        assert!(trend_line(&[None, None]).is_none());
    }
}
