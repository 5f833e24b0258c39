//! The Markdown summary (`--format md`, and `$GITHUB_STEP_SUMMARY`): one
//! table per benchmark × target with current, baseline, change and verdict,
//! then the failed limits. Readable as a PR comment. Every user string
//! (benchmark ids, target names, limits, messages) is escaped.

use std::fmt::Write;

use crate::gate::metric::{DEFAULT_SET, MetricId};
use crate::gate::{LimitStatus, Outcome, format_change};
use crate::stats::ChangeKind;

/// The whole summary of a run of several benchmarks.
pub(crate) fn render(outcomes: &[Outcome]) -> String {
    let regressions: usize = outcomes.iter().map(|o| o.regressions().len()).sum();
    let failed: usize = outcomes.iter().map(|o| o.failed_limits().count()).sum();
    let mut out = String::from("## llmbench\n\n");
    let status = if regressions + failed == 0 { "✅" } else { "❌" };
    let _ = writeln!(
        out,
        "{status} {} benchmark run(s): {regressions} regressed metric(s), {failed} failed limit(s).\n",
        outcomes.len()
    );
    for o in outcomes {
        out.push_str(&one(o));
    }
    out.push_str(
        "<sub>change = current / baseline − 1 with its bootstrap confidence interval (rates: percentage points); \
         a verdict needs p < significance and the whole interval beyond the noise threshold.</sub>\n",
    );
    out
}

fn one(o: &Outcome) -> String {
    let mut out = format!("### {} · {}\n\n", escape(&o.bench), escape(&o.target));
    match &o.comparison {
        Some(c) => {
            let _ = writeln!(out, "Baseline: `{}` ({}).\n", escape(&c.baseline.name), escape(&c.baseline.started_at));
            if !c.forced_differences.is_empty() {
                let diffs: Vec<String> = c.forced_differences.iter().map(|d| escape(&d.to_string())).collect();
                let _ = writeln!(
                    out,
                    "⚠️ Compared with `--force-compare` although the runs differ: {}.\n",
                    diffs.join("; ")
                );
            }
            out.push_str(
                "| level | metric | baseline | current | change | verdict |\n| ---: | --- | ---: | ---: | --- | --- |\n",
            );
            for (level, m) in c.changes() {
                if m.change.baseline.is_none() && m.change.current.is_none() {
                    continue;
                }
                let unit = crate::report::terminal::change::unit_of(m);
                let value = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), |v| unit.format(v));
                let change = match (m.change.change, m.change.ci) {
                    (Some(ch), Some([lo, hi])) => format!(
                        "{} [{}, {}]",
                        format_change(ch, m.change.scale),
                        format_change(lo, m.change.scale),
                        format_change(hi, m.change.scale)
                    ),
                    (Some(ch), None) => format_change(ch, m.change.scale),
                    _ => "—".to_owned(),
                };
                let note = m.change.note.as_deref().map(|n| format!(" ({})", escape(n))).unwrap_or_default();
                let _ = writeln!(
                    out,
                    "| {level} | {} | {} | {} | {change} | {}{note} |",
                    m.metric,
                    value(m.change.baseline),
                    value(m.change.current),
                    badge(m.change.kind)
                );
            }
        }
        None => {
            let why = o.no_comparison.as_deref().unwrap_or("no baseline");
            let _ = writeln!(out, "Not compared: {}.\n", escape(why));
            out.push_str(
                "| level | metric | baseline | current | change | verdict |\n| ---: | --- | ---: | ---: | --- | --- |\n",
            );
            for level in &o.summary.levels {
                for name in DEFAULT_SET {
                    let Ok(id) = MetricId::parse(name) else { continue };
                    if let Ok(v) = id.value(level) {
                        let _ = writeln!(out, "| {} | {name} | — | {} | — | — |", level.label(), id.unit.format(v));
                    }
                }
            }
        }
    }
    let failed: Vec<_> = o.failed_limits().collect();
    if !failed.is_empty() {
        out.push_str("\n**Failed limits**\n\n");
        for l in failed {
            let _ = writeln!(out, "- ❌ {}: {} <sub>({})</sub>", l.level, escape(&l.message), escape(&l.source));
        }
    }
    let passed = o.limits.iter().filter(|l| l.status == LimitStatus::Passed).count();
    let skipped = o.limits.iter().filter(|l| l.status == LimitStatus::Skipped).count();
    if passed + skipped > 0 {
        let _ = writeln!(out, "\n{passed} limit check(s) passed, {skipped} skipped (no baseline).");
    }
    out.push('\n');
    out
}

fn badge(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Regressed => "🔴 **regressed**",
        ChangeKind::Improved => "🟢 improved",
        ChangeKind::WithinNoise => "⚪ within noise",
        ChangeKind::NoChange => "no change",
    }
}

/// Escapes Markdown and HTML in a table cell or list item.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape("a|b<script>_x_"), "a\\|b&lt;script&gt;\\_x\\_");
        assert_eq!(escape("ttft.p90<=500ms"), "ttft.p90&lt;=500ms");
    }
}
