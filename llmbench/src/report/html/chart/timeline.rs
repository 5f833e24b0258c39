//! Every request on a time line: when it was scheduled (x) against its
//! latency (y). Warm-up, the cold start and each error class are drawn
//! apart, so warm-up effects, throttling bursts and drift stand out.

use super::axis::{LEFT, LegendItem, RIGHT, Swatch, WIDTH, legend, legend_height, text_width, x_axis, y_axis};
use super::scale::{Kind, Scale, Unit, format_value};
use super::svg::{Anchor, PathData, Svg};
use super::{Marker, error_marker, series_class};
use crate::record::ErrorClass;

/// What a point is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PointKind {
    /// A measured request that succeeded.
    Measured,
    /// A warm-up request (not in the statistics).
    Warmup,
    /// The first request of the run (not in the statistics).
    ColdStart,
    /// A failed request, by class index in [`ErrorClass::ALL`].
    Error(usize),
}

/// One request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimelinePoint {
    /// Scheduled time, seconds since the run began.
    pub(crate) t_s: f64,
    /// Latency, ms.
    pub(crate) ms: f64,
    /// What it is.
    pub(crate) kind: PointKind,
}

/// One target's requests.
pub(crate) struct TimelinePanel {
    /// Caption.
    pub(crate) label: String,
    /// Colour index.
    pub(crate) series: usize,
    /// The points to draw (already downsampled).
    pub(crate) points: Vec<TimelinePoint>,
    /// Where each concurrency level begins, seconds, with its label.
    pub(crate) level_starts: Vec<(f64, String)>,
    /// Said under the caption: how the points were sampled.
    pub(crate) note: String,
    /// Reference lines (name, ms), e.g. the measured p50 and p99.
    pub(crate) refs: Vec<(&'static str, f64)>,
}

const PANEL_H: f64 = 150.0;
const HEADER_H: f64 = 22.0;
const GAP: f64 = 44.0;

/// Draws one panel per target on shared axes.
pub(crate) fn timeline(label: &str, y_title: &str, panels: &[TimelinePanel]) -> String {
    let items = legend_items(panels);
    let plot_w = WIDTH - LEFT - RIGHT;
    let legend_h = legend_height(&items, plot_w);
    let first_top = 10.0 + legend_h + 6.0;
    let height = first_top + panels.len() as f64 * (HEADER_H + PANEL_H + GAP);
    let mut svg = Svg::new(WIDTH, height, label);
    let all = || panels.iter().flat_map(|p| p.points.iter());
    if all().next().is_none() {
        return svg.finish();
    }
    legend(&mut svg, &items, LEFT, 22.0, plot_w);
    let tmax = all().map(|p| p.t_s).fold(0.0, f64::max);
    let lo = all().map(|p| p.ms).filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
    let hi = all().map(|p| p.ms).fold(0.0, f64::max);
    let x = Scale::linear_exact(0.0, tmax.max(0.001) * 1.02, LEFT, WIDTH - RIGHT, Unit::Seconds);
    let mut top = first_top;
    for panel in panels {
        let plot_top = top + HEADER_H;
        let bottom = plot_top + PANEL_H;
        let y = if lo > 0.0 && hi / lo > 30.0 {
            Scale::log_exact(lo * 0.8, hi * 1.25, bottom, plot_top, Unit::Ms)
        } else {
            Scale::linear(0.0, hi * 1.05, bottom, plot_top, Unit::Ms)
        };
        svg.text(LEFT, top + 12.0, Anchor::Start, "panel-title", &panel.label);
        svg.text(WIDTH - RIGHT, top + 12.0, Anchor::End, "note", &panel.note);
        let scale_name = if y.kind == Kind::Log { format!("{y_title}, log scale") } else { y_title.to_owned() };
        x_axis(&mut svg, &x, plot_top, bottom, Some("time since the run began"));
        y_axis(&mut svg, &y, LEFT, WIDTH - RIGHT, Some(&scale_name));
        marks(&mut svg, panel, &x, &y, (plot_top, bottom));
        points(&mut svg, panel, &x, &y);
        top = bottom + GAP;
    }
    svg.finish()
}

/// The legend: each target, then the kinds of point the panels hold.
fn legend_items(panels: &[TimelinePanel]) -> Vec<LegendItem> {
    let present = |k: &dyn Fn(PointKind) -> bool| panels.iter().any(|p| p.points.iter().any(|q| k(q.kind)));
    let mut items = vec![];
    for (i, p) in panels.iter().enumerate() {
        if panels.len() > 1 || i == 0 {
            items.push(LegendItem { swatch: Swatch::Block(p.series), label: format!("{} (measured)", p.label) });
        }
    }
    if present(&|k| k == PointKind::Warmup) {
        items.push(LegendItem { swatch: Swatch::Marker("warm", Marker::Ring), label: "warm-up".into() });
    }
    if present(&|k| k == PointKind::ColdStart) {
        items.push(LegendItem { swatch: Swatch::Marker("cold", Marker::Diamond), label: "cold start".into() });
    }
    for (ci, class) in ErrorClass::ALL.iter().enumerate() {
        if present(&|k| k == PointKind::Error(ci)) {
            items
                .push(LegendItem { swatch: Swatch::Marker("err", error_marker(ci)), label: format!("error: {class}") });
        }
    }
    items
}

/// A panel's level starts (labels bumped down a row when they would
/// collide) and reference lines, between `top` and `bottom`.
fn marks(svg: &mut Svg, panel: &TimelinePanel, x: &Scale, y: &Scale, (top, bottom): (f64, f64)) {
    let (mut last_x, mut row) = (f64::NEG_INFINITY, 0.0);
    for (t, name) in &panel.level_starts {
        let px = x.map(*t);
        svg.line(px, top, px, bottom, "level");
        row = if px - last_x < text_width(name) + 6.0 { row + 1.0 } else { 0.0 };
        svg.text(px + 3.0, top + 10.0 + row * 11.0, Anchor::Start, "mark-label", name);
        last_x = px;
    }
    for (name, v) in &panel.refs {
        let py = y.map(*v);
        svg.line(LEFT, py, WIDTH - RIGHT, py, "ref");
        let text = format!("{name} {}", format_value(*v, Unit::Ms));
        svg.text(WIDTH - RIGHT - 2.0, py - 3.0, Anchor::End, "mark-label", &text);
    }
}

/// A panel's requests: measured dots in the target's colour, warm-up,
/// cold start and errors as markers of their own.
fn points(svg: &mut Svg, panel: &TimelinePanel, x: &Scale, y: &Scale) {
    let mut dots = PathData::new();
    let mut warm = PathData::new();
    let mut cold = PathData::new();
    let mut errs: Vec<PathData> = ErrorClass::ALL.iter().map(|_| PathData::new()).collect();
    for p in &panel.points {
        let (px, py) = (x.map(p.t_s), y.map(p.ms));
        match p.kind {
            PointKind::Measured => {
                dots.dot(px, py);
            }
            PointKind::Warmup => Marker::Ring.draw(&mut warm, px, py),
            PointKind::ColdStart => Marker::Diamond.draw(&mut cold, px, py),
            PointKind::Error(ci) => {
                let n = errs.len();
                error_marker(ci).draw(&mut errs[ci % n], px, py)
            }
        }
    }
    svg.open_group(&series_class(panel.series), None);
    svg.path(&dots, "dots");
    svg.close_group();
    svg.path(&warm, "warm");
    for d in &errs {
        svg.path(d, "err");
    }
    svg.path(&cold, "cold");
}
