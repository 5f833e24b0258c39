//! Distributions as histograms: one panel per series, stacked on one
//! shared x axis (and one shared y scale), with p50/p90/p99 marked.

use super::axis::{LEFT, RIGHT, WIDTH, text_width, x_axis};
use super::scale::{Kind, Scale, Unit, format_value};
use super::series_class;
use super::svg::{Anchor, PathData, Svg};

/// One panel: a series' samples and the percentiles to mark.
pub(crate) struct HistPanel<'a> {
    /// Caption, e.g. `sim · c=8`.
    pub(crate) label: String,
    /// Colour index.
    pub(crate) series: usize,
    /// The samples.
    pub(crate) values: &'a [f64],
    /// Percentiles to mark, by name (`p50`…), as reported in the summary
    /// (`None` when the sample is too small for that percentile).
    pub(crate) marks: Vec<(&'static str, Option<f64>)>,
}

const BINS: usize = 48;
const PANEL_H: f64 = 54.0;
const HEADER_H: f64 = 19.0;
const GAP: f64 = 10.0;

/// Draws `panels` on a shared x axis titled `x_title` in `unit`. The axis
/// ends near the largest p99 so the body of the distribution stays
/// readable; each panel says how many samples lie beyond it.
pub(crate) fn histogram(label: &str, x_title: &str, y_title: &str, unit: Unit, panels: &[HistPanel<'_>]) -> String {
    let panels: Vec<&HistPanel<'_>> = panels.iter().filter(|p| !p.values.is_empty()).collect();
    let height = 8.0 + panels.len() as f64 * (HEADER_H + PANEL_H + GAP) + 40.0;
    let mut svg = Svg::new(WIDTH, height, label);
    if panels.is_empty() {
        return svg.finish();
    }
    // One pass per panel: pooled ITL runs to millions of values.
    let extents: Vec<(f64, f64)> = panels.iter().map(|p| min_max(p.values)).collect();
    let (x, log) = x_scale(&panels, &extents, unit);
    let shares: Vec<(Vec<f64>, usize)> = panels.iter().map(|p| bin_shares(p.values, &x)).collect();
    let ymax = shares.iter().flat_map(|(s, _)| s.iter().copied()).fold(0.0, f64::max).max(1e-9);
    let step = super::scale::nice_step(ymax, 4);
    let ymax_nice = (ymax / step).ceil() * step;

    let plots_bottom = 8.0 + panels.len() as f64 * (HEADER_H + PANEL_H + GAP) - GAP;
    let x_title = if log { format!("{x_title}, log scale") } else { x_title.to_owned() };
    x_axis(&mut svg, &x, 8.0 + HEADER_H, plots_bottom, Some(&x_title));
    svg.text_vertical(16.0, (8.0 + plots_bottom) / 2.0, "axis-title", y_title);
    let mut y0 = 8.0;
    for ((panel, (bins, beyond)), extent) in panels.iter().zip(&shares).zip(&extents) {
        let drawn = Drawn { x: &x, ymax: ymax_nice, unit };
        y0 = draw_panel(&mut svg, panel, (bins, *beyond, extent.1), &drawn, y0) + GAP;
    }
    svg.finish()
}

/// The shared x axis: from the smallest value to the largest p99 (or the
/// max, for small samples) plus a margin; log when the series are an
/// order of magnitude apart, so the fast ones do not collapse into a
/// single bar at the left. Also says whether it is log.
fn x_scale(panels: &[&HistPanel<'_>], extents: &[(f64, f64)], unit: Unit) -> (Scale, bool) {
    let min = extents.iter().map(|e| e.0).fold(f64::INFINITY, f64::min);
    let max = extents.iter().map(|e| e.1).fold(f64::NEG_INFINITY, f64::max);
    let top = panels
        .iter()
        .zip(extents)
        .map(|(p, e)| p.marks.iter().find(|(n, _)| *n == "p99").and_then(|(_, v)| *v).unwrap_or(e.1))
        .fold(0.0, f64::max);
    let hi = (top * 1.08).min(max * 1.03).max(min + f64::EPSILON);
    let log = min > 0.0 && hi / min > 12.0;
    let x = if log {
        Scale::log_exact(min * 0.92, hi, LEFT, WIDTH - RIGHT, unit)
    } else {
        let lo = if min > 0.5 * hi { (min - (hi - min) * 0.15).max(0.0) } else { 0.0 };
        Scale::linear(lo, hi, LEFT, WIDTH - RIGHT, unit)
    };
    (x, log)
}

/// The left edge of bin `i`: bins are equally spaced in the axis' own
/// terms (value or log value).
fn edge(x: &Scale, i: usize) -> f64 {
    match x.kind {
        Kind::Log => x.d0 * (x.d1 / x.d0).powf(i as f64 / BINS as f64),
        Kind::Linear => x.d0 + (x.d1 - x.d0) * i as f64 / BINS as f64,
    }
}

/// Each bin's share of `values`, and how many lie beyond the axis.
fn bin_shares(values: &[f64], x: &Scale) -> (Vec<f64>, usize) {
    let edges: Vec<f64> = (0..=BINS).map(|i| edge(x, i)).collect();
    let (log_d0, per_log2) = (x.d0.log2(), BINS as f64 / (x.d1 / x.d0).log2());
    let bin_of = |v: f64| -> usize {
        let t = match x.kind {
            // Pooled ITL bins millions of values: a cheap log2 guess, then
            // corrected against the exact edges below.
            Kind::Log => (fast_log2(v.max(x.d0)) - log_d0) * per_log2,
            Kind::Linear => (v - x.d0) / (x.d1 - x.d0) * BINS as f64,
        };
        let mut b = (t.max(0.0) as usize).min(BINS - 1);
        while b > 0 && v < edges[b] {
            b -= 1;
        }
        while b + 1 < BINS && v >= edges[b + 1] {
            b += 1;
        }
        b
    };
    let mut bins = vec![0u64; BINS];
    let mut beyond = 0usize;
    for &v in values {
        if v > x.d1 {
            beyond += 1;
        } else {
            bins[bin_of(v)] += 1;
        }
    }
    let n = values.len() as f64;
    (bins.into_iter().map(|c| c as f64 / n).collect(), beyond)
}

/// What every panel shares: the x axis, the top of the y axis, the unit.
struct Drawn<'a> {
    x: &'a Scale,
    ymax: f64,
    unit: Unit,
}

/// Draws one panel from `y0` down: its caption, bars (shares, count
/// beyond the axis, the panel's max) and percentile marks. Returns the
/// panel's bottom.
fn draw_panel(svg: &mut Svg, panel: &HistPanel<'_>, bins: (&[f64], usize, f64), d: &Drawn<'_>, y0: f64) -> f64 {
    let (shares, beyond, max) = bins;
    let (x, unit) = (d.x, d.unit);
    let plot_top = y0 + HEADER_H;
    let plot_bottom = plot_top + PANEL_H;
    let mut caption = format!("{} — n={}", panel.label, panel.values.len());
    for (name, v) in &panel.marks {
        match v {
            Some(v) => caption.push_str(&format!(" · {name} {}", format_value(*v, unit))),
            None => caption.push_str(&format!(" · {name} n/a")),
        }
    }
    svg.text(LEFT, y0 + 13.0, Anchor::Start, "panel-title", &caption);
    if beyond > 0 {
        let note = format!("+{beyond} beyond (max {})", format_value(max, unit));
        svg.text(WIDTH - RIGHT, y0 + 13.0, Anchor::End, "note", &note);
    }
    // Frame: baseline and the y reference at the top.
    let y = Scale::linear_exact(0.0, d.ymax, plot_bottom, plot_top, Unit::Share);
    let mut grid = PathData::new();
    grid.move_to(LEFT, plot_top).h_to(WIDTH - RIGHT);
    svg.path(&grid, "grid");
    svg.text(LEFT - 6.0, plot_top + 4.0, Anchor::End, "tick", &y.tick_label(d.ymax));
    svg.text(LEFT - 6.0, plot_bottom + 4.0, Anchor::End, "tick", "0");
    let mut bars = PathData::new();
    for (i, &share) in shares.iter().enumerate() {
        if share <= 0.0 {
            continue;
        }
        let bx = x.map(edge(x, i));
        let bw = (x.map(edge(x, i + 1)) - bx - 0.6).max(0.6);
        bars.move_to(bx, plot_bottom).v_to(y.map(share)).h_to(bx + bw).v_to(plot_bottom).close();
    }
    svg.open_group(&series_class(panel.series), None);
    svg.path(&bars, "bar");
    svg.close_group();
    svg.line(LEFT, plot_bottom, WIDTH - RIGHT, plot_bottom, "axis");
    // Percentile marks, labels bumped down a row when they would collide.
    let mut last_label_x = f64::NEG_INFINITY;
    let mut row = 0.0;
    for (name, v) in &panel.marks {
        let Some(v) = v else { continue };
        if *v > x.d1 {
            continue;
        }
        let px = x.map(*v);
        svg.line(px, plot_top, px, plot_bottom, "mark");
        row = if px - last_label_x < text_width(name) + 6.0 { row + 1.0 } else { 0.0 };
        svg.text(px + 3.0, plot_top + 11.0 + row * 11.0, Anchor::Start, "mark-label", name);
        last_label_x = px;
    }
    plot_bottom
}

/// log₂ within about 0.01: the exponent, plus a quadratic fit of the
/// mantissa's logarithm. Only ever a first guess (see `bin_of`).
fn fast_log2(v: f64) -> f64 {
    let bits = v.to_bits();
    let exponent = ((bits >> 52) & 0x7ff) as f64 - 1023.0;
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000) - 1.0;
    exponent + m * (1.3465 - 0.3465 * m)
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn fast_log2_is_close() {
        for v in [0.001, 0.37, 1.0, 1.5, 3.9, 100.0, 12_345.6] {
            assert!((super::fast_log2(v) - f64::log2(v)).abs() < 0.01, "{v}");
        }
    }
}
