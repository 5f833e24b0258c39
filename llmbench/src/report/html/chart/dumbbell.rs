//! Targets side by side: one row per metric, each target's p50 (filled)
//! joined to its p99 (hollow) on the row's own axis from zero.

use super::axis::{LEFT, RIGHT, WIDTH};
use super::scale::{Scale, Unit, format_value};
use super::series_class;
use super::svg::{Anchor, PathData, Svg};

/// One target's figures on a row.
pub(crate) struct DumbbellValue {
    /// Colour index.
    pub(crate) series: usize,
    /// The target (and level) label.
    pub(crate) label: String,
    /// Median, if known.
    pub(crate) p50: Option<f64>,
    /// 99th percentile, if known.
    pub(crate) p99: Option<f64>,
}

/// One metric.
pub(crate) struct DumbbellRow {
    /// Metric name shown on the row.
    pub(crate) metric: String,
    /// Unit of the values.
    pub(crate) unit: Unit,
    /// One entry per target.
    pub(crate) values: Vec<DumbbellValue>,
}

const LABEL_W: f64 = 150.0;
const LINE_H: f64 = 18.0;

/// Draws the rows.
pub(crate) fn dumbbell(label: &str, rows: &[DumbbellRow]) -> String {
    let height: f64 = 12.0 + rows.iter().map(|r| 26.0 + r.values.len() as f64 * LINE_H).sum::<f64>() + 8.0;
    let mut svg = Svg::new(WIDTH, height, label);
    let (x0, x1) = (LEFT + LABEL_W, WIDTH - RIGHT - 16.0);
    let mut y0 = 12.0;
    for row in rows {
        let max = row.values.iter().flat_map(|v| [v.p50, v.p99]).flatten().fold(0.0, f64::max);
        let x = Scale::linear(0.0, max.max(f64::EPSILON), x0, x1, row.unit);
        svg.text(8.0, y0 + 12.0, Anchor::Start, "panel-title", &x.title(&row.metric));
        let mut grid = PathData::new();
        let rows_bottom = y0 + 18.0 + row.values.len() as f64 * LINE_H;
        for t in x.ticks() {
            grid.move_to(x.map(t), y0 + 18.0).v_to(rows_bottom);
            svg.text(x.map(t), y0 + 13.0, Anchor::Middle, "tick", &x.tick_label(t));
        }
        svg.path(&grid, "grid");
        for (i, v) in row.values.iter().enumerate() {
            let cy = y0 + 18.0 + (i as f64 + 0.5) * LINE_H;
            svg.text(x0 - 8.0, cy + 4.0, Anchor::End, "legend", &v.label);
            svg.open_group(&series_class(v.series), Some(&tooltip(v, row.unit)));
            if let (Some(a), Some(b)) = (v.p50, v.p99) {
                svg.line(x.map(a), cy, x.map(b), cy, "line");
            }
            // The ring first and the dot smaller, so equal p50 and p99 both show.
            if let Some(b) = v.p99 {
                svg.circle(x.map(b), cy, 5.0, "pt hollow");
            }
            if let Some(a) = v.p50 {
                svg.circle(x.map(a), cy, 3.2, "pt");
            }
            svg.close_group();
        }
        y0 = rows_bottom + 8.0;
    }
    svg.finish()
}

fn tooltip(v: &DumbbellValue, unit: Unit) -> String {
    let f = |x: Option<f64>| x.map(|x| format_value(x, unit)).unwrap_or_else(|| "n/a".into());
    format!("{}: p50 {} · p99 {}", v.label, f(v.p50), f(v.p99))
}
