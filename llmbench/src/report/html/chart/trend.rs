//! A metric across the runs of the history: runs evenly spaced on x (their
//! order is what matters, not the calendar), one line per series (a level's
//! p50 solid, its p99 dashed), a gap where a run lacks the figure, and the
//! baseline run marked with a vertical rule.

use super::axis::{LEFT, LegendItem, RIGHT, legend, legend_height, y_axis};
use super::scale::{Scale, Unit};
use super::series_class;
use super::svg::{Anchor, PathData, Svg};

/// One line: a value per run (None: the run lacks it).
pub(crate) struct TrendSeries {
    pub(crate) label: String,
    pub(crate) series: usize,
    pub(crate) dashed: bool,
    pub(crate) values: Vec<Option<f64>>,
}

const PLOT_H: f64 = 200.0;

/// Draws `series` over runs labelled `runs` (e.g. short commits), the run
/// at index `baseline` marked.
pub(crate) fn trend(
    label: &str,
    y_title: &str,
    y_unit: Unit,
    runs: &[String],
    series: &[TrendSeries],
    baseline: Option<usize>,
    width: f64,
) -> String {
    let items: Vec<LegendItem> = series.iter().map(|s| LegendItem::line(s.series, s.dashed, &s.label)).collect();
    let plot_w = width - LEFT - RIGHT;
    let top = 10.0 + legend_height(&items, plot_w) + 16.0;
    let bottom = top + PLOT_H;
    let mut svg = Svg::new(width, bottom + 44.0, label);
    let values = || series.iter().flat_map(|s| s.values.iter().flatten());
    if runs.is_empty() || values().next().is_none() {
        return svg.finish();
    }
    legend(&mut svg, &items, LEFT, 22.0, plot_w);
    let ymax = values().copied().fold(0.0, f64::max);
    let y = Scale::linear(0.0, ymax * 1.1, bottom, top, y_unit);
    y_axis(&mut svg, &y, LEFT, width - RIGHT, Some(y_title));
    // Runs sit at the middle of equal slots, so one run is centred too.
    let slot = plot_w / runs.len() as f64;
    let px = |i: usize| LEFT + slot * (i as f64 + 0.5);
    svg.line(LEFT, bottom, width - RIGHT, bottom, "axis");
    // Label every k-th run so labels never overlap.
    let widest = runs.iter().map(|r| super::axis::text_width(r)).fold(0.0, f64::max) + 8.0;
    let every = (widest / slot).ceil().max(1.0) as usize;
    for (i, run) in runs.iter().enumerate() {
        if i % every == 0 || i + 1 == runs.len() {
            svg.text(px(i), bottom + 16.0, Anchor::Middle, "tick", run);
        }
    }
    svg.text((LEFT + width - RIGHT) / 2.0, bottom + 32.0, Anchor::Middle, "axis-title", "run (oldest → newest)");
    if let Some(b) = baseline.filter(|b| *b < runs.len()) {
        svg.line(px(b), top, px(b), bottom, "knee");
        svg.text(px(b) + 4.0, top + 10.0, Anchor::Start, "knee-label", "baseline");
    }
    for s in series {
        svg.open_group(&series_class(s.series), Some(&s.label));
        let mut d = PathData::new();
        let mut pen_down = false;
        for (i, v) in s.values.iter().enumerate() {
            match v {
                Some(v) if pen_down => {
                    d.line_to(px(i), y.map(*v));
                }
                Some(v) => {
                    d.move_to(px(i), y.map(*v));
                    pen_down = true;
                }
                None => pen_down = false,
            }
        }
        svg.path(&d, if s.dashed { "line dashed" } else { "line" });
        for (i, v) in s.values.iter().enumerate() {
            if let Some(v) = v {
                svg.circle(px(i), y.map(*v), 3.0, if s.dashed { "pt hollow" } else { "pt" });
            }
        }
        svg.close_group();
    }
    svg.finish()
}
