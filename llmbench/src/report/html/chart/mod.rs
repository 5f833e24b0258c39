//! Charts as inline SVG, written by hand.
//!
//! Why not a plotting crate: plotters (the usual choice) brings in a dozen
//! crates, writes every dot as its own element with inline styles, and
//! fixes colours at render time, so a page cannot switch to dark mode.
//! Five chart kinds cover what the report shows; here they share one frame
//! and axis module, one palette expressed as CSS classes (`c0`…`c6`, styled
//! by the page, Okabe–Ito colours, lighter in dark mode) and one SVG writer
//! that escapes every label. Scatter dots are zero-length round-capped path
//! segments, so 1,500 points cost about 15 kB.
//!
//! This module knows nothing of benchmarks or results files: it draws
//! numbers it is given.

mod axis;

/// Width of a chart drawn half-page wide (two to a row).
pub(crate) const HALF_WIDTH: f64 = 560.0;
mod cdf;
mod curves;
mod dumbbell;
mod histogram;
mod scale;
mod scatter;
mod svg;
mod timeline;
mod trend;

pub(crate) use cdf::{CdfSeries, cdf};
pub(crate) use curves::{Curve, CurvePoint, curves};
pub(crate) use dumbbell::{DumbbellRow, DumbbellValue, dumbbell};
pub(crate) use histogram::{HistPanel, histogram};
pub(crate) use scale::Unit;
pub(crate) use scatter::{ScatterPoint, scatter};
pub(crate) use timeline::{PointKind, TimelinePanel, TimelinePoint, timeline};
pub(crate) use trend::{TrendSeries, trend};

use svg::PathData;

/// Number of series colours before they repeat (Okabe–Ito without the
/// vermillion, which marks errors).
pub(crate) const SERIES: usize = 7;

/// A marker shape, drawn as a stroked path centred on a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    Cross,
    Plus,
    TriangleUp,
    TriangleDown,
    Square,
    Diamond,
    Bar,
    Star,
    Ring,
}

impl Marker {
    /// Appends the marker centred on (`x`, `y`) to `d`.
    pub(crate) fn draw(self, d: &mut PathData, x: f64, y: f64) {
        match self {
            Marker::Cross => {
                d.move_to(x - 3.5, y - 3.5).rel(7.0, 7.0).move_to(x - 3.5, y + 3.5).rel(7.0, -7.0);
            }
            Marker::Plus => {
                d.move_to(x - 4.5, y).rel(9.0, 0.0).move_to(x, y - 4.5).rel(0.0, 9.0);
            }
            Marker::TriangleUp => {
                d.move_to(x, y - 4.5).rel(4.5, 8.0).rel(-9.0, 0.0).close();
            }
            Marker::TriangleDown => {
                d.move_to(x, y + 4.5).rel(4.5, -8.0).rel(-9.0, 0.0).close();
            }
            Marker::Square => {
                d.move_to(x - 3.5, y - 3.5).rel(7.0, 0.0).rel(0.0, 7.0).rel(-7.0, 0.0).close();
            }
            Marker::Diamond => {
                d.move_to(x, y - 5.0).rel(5.0, 5.0).rel(-5.0, 5.0).rel(-5.0, -5.0).close();
            }
            Marker::Bar => {
                d.move_to(x, y - 5.0).rel(0.0, 10.0).move_to(x - 3.0, y - 5.0).rel(6.0, 0.0);
            }
            Marker::Star => {
                d.move_to(x - 4.0, y)
                    .rel(8.0, 0.0)
                    .move_to(x - 2.0, y - 3.5)
                    .rel(4.0, 7.0)
                    .move_to(x - 2.0, y + 3.5)
                    .rel(4.0, -7.0);
            }
            Marker::Ring => {
                d.move_to(x - 1.5, y - 3.5)
                    .rel(3.0, 0.0)
                    .rel(2.0, 2.0)
                    .rel(0.0, 3.0)
                    .rel(-2.0, 2.0)
                    .rel(-3.0, 0.0)
                    .rel(-2.0, -2.0)
                    .rel(0.0, -3.0)
                    .close();
            }
        }
    }
}

/// The marker of an error class (by [`crate::record::ErrorClass::ALL`]
/// order), so each class keeps its shape on every chart.
pub(crate) fn error_marker(class_index: usize) -> Marker {
    const SHAPES: [Marker; 9] = [
        Marker::TriangleUp,   // throttled
        Marker::TriangleDown, // not_ready
        Marker::Square,       // client
        Marker::Cross,        // server
        Marker::Plus,         // model_stream
        Marker::Diamond,      // timeout
        Marker::Bar,          // cut
        Marker::Star,         // protocol
        Marker::Ring,         // check
    ];
    SHAPES[class_index % SHAPES.len()]
}

/// The CSS class of series `i`.
pub(crate) fn series_class(i: usize) -> String {
    format!("c{}", i % SERIES)
}

#[cfg(test)]
mod tests;
