//! The plot frame: axes with ticks, grid lines and titles, and legends.

use super::scale::Scale;
use super::svg::{Anchor, PathData, Svg};

/// Width of a chart in user units; pages scale it to their column.
pub(crate) const WIDTH: f64 = 720.0;
/// Room left of the plot for y tick labels and the y title.
pub(crate) const LEFT: f64 = 64.0;
/// Room right of the plot.
pub(crate) const RIGHT: f64 = 18.0;

/// Rough width of `text` at the chart font size (12 units), for layout.
pub(crate) fn text_width(text: &str) -> f64 {
    text.chars().count() as f64 * 6.6
}

/// Draws the x axis along the bottom of the plot `[top, bottom]`: ticks,
/// labels, vertical grid lines and the title.
pub(crate) fn x_axis(svg: &mut Svg, x: &Scale, top: f64, bottom: f64, title: Option<&str>) {
    let mut grid = PathData::new();
    let mut ticks = PathData::new();
    let labels: Vec<(f64, String)> = x.ticks().into_iter().map(|t| (x.map(t), x.tick_label(t))).collect();
    for (px, _) in &labels {
        grid.move_to(*px, top).v_to(bottom);
        ticks.move_to(*px, bottom).v_to(bottom + 4.0);
    }
    svg.path(&grid, "grid");
    svg.path(&ticks, "axis");
    svg.line(x.r0.min(x.r1), bottom, x.r0.max(x.r1), bottom, "axis");
    for (px, label) in labels {
        svg.text(px, bottom + 16.0, Anchor::Middle, "tick", &label);
    }
    if let Some(t) = title {
        svg.text((x.r0 + x.r1) / 2.0, bottom + 32.0, Anchor::Middle, "axis-title", &x.title(t));
    }
}

/// Draws the y axis at `left` over `y`'s range: ticks, labels, horizontal
/// grid lines to `right`, and the title.
pub(crate) fn y_axis(svg: &mut Svg, y: &Scale, left: f64, right: f64, title: Option<&str>) {
    let mut grid = PathData::new();
    let ticks = y.ticks();
    for &t in &ticks {
        let py = y.map(t);
        grid.move_to(left, py).h_to(right);
    }
    svg.path(&grid, "grid");
    svg.line(left, y.r0, left, y.r1, "axis");
    for &t in &ticks {
        svg.text(left - 6.0, y.map(t) + 4.0, Anchor::End, "tick", &y.tick_label(t));
    }
    if let Some(t) = title {
        svg.text_vertical(16.0, (y.r0 + y.r1) / 2.0, "axis-title", &y.title(t));
    }
}

/// How a legend entry is drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Swatch {
    /// A solid line in series colour `i`.
    Line(usize),
    /// A dashed line in series colour `i` (baselines, p99).
    Dashed(usize),
    /// A filled square in series colour `i`.
    Block(usize),
    /// A marker of the given CSS class (errors, warm-up, cold start).
    Marker(&'static str, super::Marker),
}

/// One legend entry.
pub(crate) struct LegendItem {
    pub(crate) swatch: Swatch,
    pub(crate) label: String,
}

impl LegendItem {
    /// A line in colour `series`, dashed or solid.
    pub(crate) fn line(series: usize, dashed: bool, label: &str) -> LegendItem {
        let swatch = if dashed { Swatch::Dashed(series) } else { Swatch::Line(series) };
        LegendItem { swatch, label: label.to_owned() }
    }
}

/// Lays the legend out in rows from (`x`, `y`) within `width`; returns the
/// height it took.
pub(crate) fn legend(svg: &mut Svg, items: &[LegendItem], x: f64, y: f64, width: f64) -> f64 {
    if items.is_empty() {
        return 0.0;
    }
    let (mut cx, mut cy) = (x, y);
    for item in items {
        let w = 26.0 + text_width(&item.label) + 14.0;
        if cx + w > x + width && cx > x {
            cx = x;
            cy += 18.0;
        }
        match item.swatch {
            Swatch::Line(i) => {
                svg.open_group(&format!("c{}", i % super::SERIES), None);
                svg.line(cx, cy - 4.0, cx + 20.0, cy - 4.0, "line");
                svg.close_group();
            }
            Swatch::Dashed(i) => {
                svg.open_group(&format!("c{}", i % super::SERIES), None);
                svg.line(cx, cy - 4.0, cx + 20.0, cy - 4.0, "line dashed");
                svg.close_group();
            }
            Swatch::Block(i) => {
                svg.open_group(&format!("c{}", i % super::SERIES), None);
                svg.rect(cx + 4.0, cy - 10.0, 12.0, 12.0, "bar");
                svg.close_group();
            }
            Swatch::Marker(class, marker) => {
                let mut d = PathData::new();
                marker.draw(&mut d, cx + 10.0, cy - 4.0);
                svg.path(&d, class);
            }
        }
        svg.text(cx + 26.0, cy, Anchor::Start, "legend", &item.label);
        cx += w;
    }
    cy - y + 18.0
}

/// The height a legend will take, for sizing the SVG before drawing it.
pub(crate) fn legend_height(items: &[LegendItem], width: f64) -> f64 {
    if items.is_empty() {
        return 0.0;
    }
    let (mut cx, mut rows) = (0.0, 1.0);
    for item in items {
        let w = 26.0 + text_width(&item.label) + 14.0;
        if cx + w > width && cx > 0.0 {
            cx = 0.0;
            rows += 1.0;
        }
        cx += w;
    }
    rows * 18.0
}
