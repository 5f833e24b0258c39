//! Lines through labelled points: throughput against latency across
//! concurrency levels, with the knee ringed.

use super::axis::{LEFT, LegendItem, RIGHT, legend, legend_height, x_axis, y_axis};
use super::scale::{Scale, Unit};
use super::series_class;
use super::svg::{Anchor, PathData, Svg};

/// One point, labelled (e.g. `c=8`).
pub(crate) struct CurvePoint {
    pub(crate) x: f64,
    pub(crate) y: f64,
    pub(crate) label: String,
}

/// One line.
pub(crate) struct Curve {
    /// Legend label.
    pub(crate) label: String,
    /// Colour index.
    pub(crate) series: usize,
    /// Drawn dashed (p99 beside a solid p50).
    pub(crate) dashed: bool,
    /// Points in drawing order.
    pub(crate) points: Vec<CurvePoint>,
    /// Index of the knee point, if one was found.
    pub(crate) knee: Option<usize>,
}

const PLOT_H: f64 = 240.0;

/// Draws `curves` on linear axes from zero.
pub(crate) fn curves(
    label: &str,
    x_title: &str,
    x_unit: Unit,
    y_title: &str,
    y_unit: Unit,
    curves: &[Curve],
    width: f64,
) -> String {
    let items: Vec<LegendItem> = curves.iter().map(|c| LegendItem::line(c.series, c.dashed, &c.label)).collect();
    let plot_w = width - LEFT - RIGHT;
    let top = 10.0 + legend_height(&items, plot_w) + 16.0;
    let bottom = top + PLOT_H;
    let mut svg = Svg::new(width, bottom + 44.0, label);
    let points = || curves.iter().flat_map(|c| c.points.iter());
    if points().next().is_none() {
        return svg.finish();
    }
    legend(&mut svg, &items, LEFT, 22.0, plot_w);
    let xmax = points().map(|p| p.x).fold(0.0, f64::max);
    let ymax = points().map(|p| p.y).fold(0.0, f64::max);
    let x = Scale::linear(0.0, xmax * 1.08, LEFT, width - RIGHT, x_unit);
    let y = Scale::linear(0.0, ymax * 1.1, bottom, top, y_unit);
    x_axis(&mut svg, &x, top, bottom, Some(x_title));
    y_axis(&mut svg, &y, LEFT, width - RIGHT, Some(y_title));
    for c in curves {
        svg.open_group(&series_class(c.series), Some(&c.label));
        let mut d = PathData::new();
        for (i, p) in c.points.iter().enumerate() {
            if i == 0 {
                d.move_to(x.map(p.x), y.map(p.y));
            } else {
                d.line_to(x.map(p.x), y.map(p.y));
            }
        }
        svg.path(&d, if c.dashed { "line dashed" } else { "line" });
        for (i, p) in c.points.iter().enumerate() {
            let (px, py) = (x.map(p.x), y.map(p.y));
            svg.circle(px, py, 3.5, if c.dashed { "pt hollow" } else { "pt" });
            svg.text(px + 5.0, py - 6.0, Anchor::Start, "pt-label", &p.label);
            if c.knee == Some(i) {
                svg.circle(px, py, 9.0, "knee");
                svg.text(px, py + 22.0, Anchor::Middle, "knee-label", "knee");
            }
        }
        svg.close_group();
    }
    svg.finish()
}
