//! The terminal view of a gate [`Outcome`]: what changed against the
//! baseline (every metric that is not "no change"), then failed limits.

use std::fmt::Write;

use crate::gate::{Comparison, LimitStatus, MetricChange, Outcome, format_change};
use crate::stats::ChangeKind;

/// Renders the change block printed under a run's table; empty when there
/// is nothing to say.
pub(crate) fn render(outcome: &Outcome) -> String {
    let mut out = String::new();
    match &outcome.comparison {
        Some(c) => out.push_str(&comparison(c)),
        None => {
            if let Some(why) = &outcome.no_comparison {
                let _ = writeln!(out, "  not compared: {why}");
            }
        }
    }
    for l in &outcome.limits {
        match l.status {
            LimitStatus::Failed => {
                let _ = writeln!(out, "  LIMIT FAILED at {}: {}", l.level, l.message);
            }
            LimitStatus::Skipped => {
                let _ = writeln!(out, "  limit skipped at {}: {}", l.level, l.message);
            }
            LimitStatus::Passed => {}
        }
    }
    let passed = outcome.limits.iter().filter(|l| l.status == LimitStatus::Passed).count();
    if passed > 0 {
        let _ = writeln!(out, "  {passed} limit check(s) passed");
    }
    out
}

fn comparison(c: &Comparison) -> String {
    let mut out = format!("  change vs {} ({}):\n", c.baseline.name, c.baseline.started_at);
    if !c.forced_differences.is_empty() {
        let diffs: Vec<String> = c.forced_differences.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "    (--force-compare: the runs differ in {})", diffs.join("; "));
    }
    let mut counts = [0usize; 4];
    for (level, m) in c.changes() {
        counts[m.change.kind as usize] += 1;
        if m.change.kind != ChangeKind::NoChange {
            let _ = writeln!(out, "    {level:<6} {}", line(m));
        }
    }
    let _ = writeln!(
        out,
        "    {} metric(s): {} no change, {} within noise, {} improved, {} regressed",
        counts.iter().sum::<usize>(),
        counts[ChangeKind::NoChange as usize],
        counts[ChangeKind::WithinNoise as usize],
        counts[ChangeKind::Improved as usize],
        counts[ChangeKind::Regressed as usize],
    );
    out
}

/// `ttft.p50   41.5 ms → 43.0 ms  +3.6% [+2.1%, +5.0%] p=0.001  within noise`.
pub(crate) fn line(m: &MetricChange) -> String {
    let unit = unit_of(m);
    let value = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |v| unit.format(v));
    let change = m.change.change.map_or_else(|| "—".to_owned(), |c| format_change(c, m.change.scale));
    let ci = m.change.ci.map_or_else(String::new, |[lo, hi]| {
        format!(" [{}, {}]", format_change(lo, m.change.scale), format_change(hi, m.change.scale))
    });
    let p = m.change.p_value.map_or_else(String::new, |p| format!(" p={p:.3}"));
    format!(
        "{:<17} {:>9} → {:<9} {change}{ci}{p}  {}",
        m.metric,
        value(m.change.baseline),
        value(m.change.current),
        verdict(m.change.kind)
    )
}

/// A verdict, upper-cased when it matters.
pub(crate) fn verdict(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Regressed => "REGRESSED",
        ChangeKind::Improved => "improved",
        other => other.label(),
    }
}

pub(crate) fn unit_of(m: &MetricChange) -> crate::gate::metric::Unit {
    crate::gate::metric::MetricId::parse(&m.metric).map_or(crate::gate::metric::Unit::Count, |id| id.unit)
}
