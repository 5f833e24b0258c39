//! A run against its baseline: each headline figure now and then, the
//! relative change, and the gate's verdict on it when there is one.

use serde::Serialize;

use super::{Badge, badge_class, dash, pct, signed_pct};
use crate::report::html::model::Verdict;
use crate::stats::LevelSummary;
use crate::units::format_ms;

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

/// Current value, baseline value, whether lower is better, formatter.
type Figure = (Option<f64>, Option<f64>, bool, fn(f64) -> String);

/// The headline figures against the baseline's; lower is better except
/// for throughput. A plain relative change — whether it is real is the
/// comparison's call, shown as its verdict when the results carry one.
pub(super) fn baseline_row(
    target: &str,
    color: usize,
    level: &str,
    baseline: &str,
    cur: &LevelSummary,
    base: &LevelSummary,
    verdict: &Verdict,
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
fn verdict_for(verdict: &Verdict, level: &str, key: &str, stat: &str) -> Option<Badge> {
    let name = if stat.is_empty() { key.to_owned() } else { format!("{key}.{stat}") };
    verdict.changes().find(|(l, m)| m.metric == name && *l == level).map(|(_, m)| Badge {
        text: m.change.kind.label().into(),
        class: badge_class(m.change.kind),
        title: name,
    })
}
