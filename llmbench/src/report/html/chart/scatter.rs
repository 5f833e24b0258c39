//! Cost against latency: one dot per target × level, its area in
//! proportion to throughput, the Pareto front joined by a step line (the
//! best latency each budget buys), every dot labelled with its level.

use super::axis::{LEFT, LegendItem, RIGHT, Swatch, legend, legend_height, x_axis, y_axis};
use super::scale::{Scale, Unit};
use super::series_class;
use super::svg::{Anchor, PathData, Svg};

/// One dot.
pub(crate) struct ScatterPoint {
    pub(crate) x: f64,
    pub(crate) y: f64,
    /// Drawn as the dot's area.
    pub(crate) size: f64,
    pub(crate) series: usize,
    pub(crate) label: String,
    /// On the Pareto front: ringed and joined.
    pub(crate) front: bool,
}

const PLOT_H: f64 = 260.0;

/// Draws the points on linear axes from zero (each axis a title and a
/// unit); `series` names each colour in the legend.
pub(crate) fn scatter(
    label: &str,
    (x_title, x_unit): (&str, Unit),
    (y_title, y_unit): (&str, Unit),
    points: &[ScatterPoint],
    series: &[(usize, String)],
    width: f64,
) -> String {
    let mut items: Vec<LegendItem> =
        series.iter().map(|(i, name)| LegendItem { swatch: Swatch::Block(*i), label: name.clone() }).collect();
    items.push(LegendItem { swatch: Swatch::Dashed(6), label: "Pareto front".into() });
    let plot_w = width - LEFT - RIGHT;
    let top = 10.0 + legend_height(&items, plot_w) + 16.0;
    let bottom = top + PLOT_H;
    let mut svg = Svg::new(width, bottom + 44.0, label);
    if points.is_empty() {
        return svg.finish();
    }
    legend(&mut svg, &items, LEFT, 22.0, plot_w);
    let xmax = points.iter().map(|p| p.x).fold(0.0, f64::max);
    let ymax = points.iter().map(|p| p.y).fold(0.0, f64::max);
    let x = Scale::linear(0.0, xmax * 1.12, LEFT, width - RIGHT, x_unit);
    let y = Scale::linear(0.0, ymax * 1.15, bottom, top, y_unit);
    x_axis(&mut svg, &x, top, bottom, Some(x_title));
    y_axis(&mut svg, &y, LEFT, width - RIGHT, Some(y_title));
    let mut front: Vec<&ScatterPoint> = points.iter().filter(|p| p.front).collect();
    front.sort_by(|a, b| a.x.total_cmp(&b.x));
    if front.len() > 1 {
        // Cheapest first, latency falling: each step is what more money buys.
        let mut d = PathData::new();
        for (i, p) in front.iter().enumerate() {
            if i == 0 {
                d.move_to(x.map(p.x), y.map(p.y));
            } else {
                d.h_to(x.map(p.x)).v_to(y.map(p.y));
            }
        }
        svg.open_group(&series_class(6), Some("Pareto front"));
        svg.path(&d, "line dashed");
        svg.close_group();
    }
    let biggest = points.iter().map(|p| p.size).fold(0.0, f64::max);
    for p in points {
        let r = if biggest > 0.0 { 3.5 + 8.5 * (p.size / biggest).max(0.0).sqrt() } else { 5.0 };
        let (px, py) = (x.map(p.x), y.map(p.y));
        svg.open_group(&series_class(p.series), Some(&p.label));
        svg.circle(px, py, r, "pt");
        if p.front {
            svg.circle(px, py, r + 4.0, "knee");
        }
        svg.text(px + r + 3.0, py - r - 2.0, Anchor::Start, "pt-label", &p.label);
        svg.close_group();
    }
    svg.finish()
}
