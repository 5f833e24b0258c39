//! Cumulative distributions: every series on one pair of axes, baselines
//! dashed in their series' colour, with the p50/p90/p99 levels ruled.

use super::axis::{LEFT, LegendItem, RIGHT, legend, legend_height, x_axis, y_axis};
use super::scale::{Scale, Unit, format_value};
use super::series_class;
use super::svg::{Anchor, PathData, Svg};

/// One cumulative distribution.
pub(crate) struct CdfSeries<'a> {
    /// Legend label.
    pub(crate) label: String,
    /// Colour index.
    pub(crate) series: usize,
    /// Drawn dashed (a baseline).
    pub(crate) dashed: bool,
    /// The samples, sorted ascending.
    pub(crate) sorted: &'a [f64],
}

/// Points drawn per series: enough for a smooth curve, few enough to stay small.
const POINTS: usize = 300;
const PLOT_H: f64 = 230.0;

/// Draws the series; the x axis ends at the largest p99.9 so the body is
/// readable, and a note says so when values lie beyond it.
pub(crate) fn cdf(label: &str, x_title: &str, unit: Unit, series: &[CdfSeries<'_>], width: f64) -> String {
    let series: Vec<&CdfSeries<'_>> = series.iter().filter(|s| !s.sorted.is_empty()).collect();
    let items: Vec<LegendItem> = series.iter().map(|s| LegendItem::line(s.series, s.dashed, &s.label)).collect();
    let plot_w = width - LEFT - RIGHT;
    let legend_h = legend_height(&items, plot_w);
    let top = 10.0 + legend_h + 8.0;
    let bottom = top + PLOT_H;
    let mut svg = Svg::new(width, bottom + 44.0, label);
    if series.is_empty() {
        return svg.finish();
    }
    legend(&mut svg, &items, LEFT, 22.0, plot_w);

    let quantile = |s: &[f64], q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
    let min = series.iter().map(|s| s.sorted[0]).fold(f64::INFINITY, f64::min);
    let max = series.iter().map(|s| *s.sorted.last().unwrap_or(&0.0)).fold(0.0, f64::max);
    let hi = series.iter().map(|s| quantile(s.sorted, 0.999)).fold(0.0, f64::max).max(min + f64::EPSILON);
    // Series an order of magnitude apart share a log axis (as the histograms do).
    let log = min > 0.0 && hi / min > 12.0;
    let x = if log {
        Scale::log_exact(min * 0.92, hi, LEFT, width - RIGHT, unit)
    } else {
        let lo = if min > 0.5 * hi { (min - (hi - min) * 0.15).max(0.0) } else { 0.0 };
        Scale::linear(lo, hi, LEFT, width - RIGHT, unit)
    };
    let x_title = if log { format!("{x_title}, log scale") } else { x_title.to_owned() };
    let y = Scale::linear_exact(0.0, 1.0, bottom, top, Unit::Share);
    x_axis(&mut svg, &x, top, bottom, Some(&x_title));
    y_axis(&mut svg, &y, LEFT, width - RIGHT, Some("share of requests at or below"));
    for (q, name) in [(0.5, "p50"), (0.9, "p90"), (0.99, "p99")] {
        svg.line(LEFT, y.map(q), width - RIGHT, y.map(q), "ref");
        svg.text(width - RIGHT - 2.0, y.map(q) - 3.0, Anchor::End, "mark-label", name);
    }
    for s in &series {
        let n = s.sorted.len();
        let steps = n.min(POINTS);
        let mut d = PathData::new();
        d.move_to(x.map(s.sorted[0]), y.map(0.0));
        for k in 0..=steps {
            let i = (k * (n - 1)).checked_div(steps).unwrap_or(0);
            d.line_to(x.map(s.sorted[i]), y.map((i + 1) as f64 / n as f64));
        }
        svg.open_group(&series_class(s.series), Some(&s.label));
        svg.path(&d, if s.dashed { "line dashed" } else { "line" });
        svg.close_group();
    }
    if max > x.d1 {
        let note =
            format!("axis ends at {}; the slowest 0.1% run to {}", format_value(x.d1, unit), format_value(max, unit));
        svg.text(width - RIGHT, bottom + 32.0, Anchor::End, "note", &note);
    }
    svg.finish()
}
