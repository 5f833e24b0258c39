//! Scales (value → pixel), "nice" tick values, and the units axes are
//! labelled in.

/// What a value measures; decides tick labels and the axis title's unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Milliseconds; shown in seconds when the axis reaches 10 s.
    Ms,
    /// Seconds since the start of a run.
    Seconds,
    /// Output tokens per second.
    TokPerS,
    /// A share in `0..=1`, shown as a percentage.
    Share,
    /// US dollars per 1,000 ok requests (a cost per request is too small a
    /// number for tick labels).
    UsdPer1k,
    /// A plain count (a conversation's turn number).
    Count,
}

impl Unit {
    /// Whether an axis spanning up to `max` shows this unit in a larger one
    /// (ms as s), and the divisor to use.
    fn display(self, max: f64) -> (f64, &'static str) {
        match self {
            Unit::Ms if max >= 10_000.0 => (1000.0, "s"),
            Unit::Ms => (1.0, "ms"),
            Unit::Seconds => (1.0, "s"),
            Unit::TokPerS => (1.0, "tok/s"),
            Unit::Share => (0.01, "%"),
            Unit::UsdPer1k => (1.0, "$ per 1k ok requests"),
            Unit::Count => (1.0, ""),
        }
    }
}

/// Linear or base-10 logarithmic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Linear,
    Log,
}

/// Maps the domain `[d0, d1]` onto the pixel range `[r0, r1]`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scale {
    pub(crate) kind: Kind,
    pub(crate) d0: f64,
    pub(crate) d1: f64,
    pub(crate) r0: f64,
    pub(crate) r1: f64,
    pub(crate) unit: Unit,
}

impl Scale {
    /// A linear scale over `[lo, hi]` widened to nice tick boundaries.
    pub(crate) fn linear(lo: f64, hi: f64, r0: f64, r1: f64, unit: Unit) -> Scale {
        let (lo, hi) = if hi > lo { (lo, hi) } else { (lo, lo + 1.0) };
        let step = nice_step(hi - lo, 5);
        let d0 = (lo / step).floor() * step;
        let d1 = (hi / step).ceil() * step;
        Scale { kind: Kind::Linear, d0, d1, r0, r1, unit }
    }

    /// A linear scale over exactly `[lo, hi]` (no widening).
    pub(crate) fn linear_exact(lo: f64, hi: f64, r0: f64, r1: f64, unit: Unit) -> Scale {
        let hi = if hi > lo { hi } else { lo + 1.0 };
        Scale { kind: Kind::Linear, d0: lo, d1: hi, r0, r1, unit }
    }

    /// A log scale over exactly `[lo, hi]` (both > 0).
    pub(crate) fn log_exact(lo: f64, hi: f64, r0: f64, r1: f64, unit: Unit) -> Scale {
        let lo = lo.max(1e-3);
        Scale { kind: Kind::Log, d0: lo, d1: hi.max(lo * 1.5), r0, r1, unit }
    }

    /// The pixel position of `v`, clamped to the range.
    pub(crate) fn map(&self, v: f64) -> f64 {
        let t = match self.kind {
            Kind::Linear => (v - self.d0) / (self.d1 - self.d0),
            Kind::Log => (v.max(self.d0).log10() - self.d0.log10()) / (self.d1.log10() - self.d0.log10()),
        };
        self.r0 + t.clamp(0.0, 1.0) * (self.r1 - self.r0)
    }

    /// Tick values inside the domain.
    pub(crate) fn ticks(&self) -> Vec<f64> {
        match self.kind {
            Kind::Linear => {
                let step = nice_step(self.d1 - self.d0, 5);
                let first = (self.d0 / step).ceil() as i64;
                let last = (self.d1 / step + 1e-9).floor() as i64;
                (first..=last).map(|i| i as f64 * step).collect()
            }
            Kind::Log => {
                let decades = (self.d1 / self.d0).log10();
                let mults: &[f64] = if decades < 1.2 {
                    &[1.0, 1.5, 2.0, 3.0, 5.0, 7.0]
                } else if decades <= 2.5 {
                    &[1.0, 2.0, 5.0]
                } else {
                    &[1.0]
                };
                let mut out = Vec::new();
                let mut p = 10f64.powf(self.d0.log10().floor());
                while p <= self.d1 * 1.0001 {
                    for m in mults {
                        let v = p * m;
                        if v >= self.d0 * 0.9999 && v <= self.d1 * 1.0001 {
                            out.push(v);
                        }
                    }
                    p *= 10.0;
                }
                out
            }
        }
    }

    /// The label of tick `v`.
    pub(crate) fn tick_label(&self, v: f64) -> String {
        let (div, _) = self.unit.display(self.d1);
        let x = v / div;
        let ax = x.abs();
        if ax == 0.0 {
            "0".into()
        } else if ax >= 10_000.0 {
            format!("{:.0}k", x / 1000.0)
        } else if ax >= 1.0 && (x - x.round()).abs() < 1e-9 {
            format!("{x:.0}")
        } else if ax >= 1.0 {
            format!("{x:.1}")
        } else {
            let s = format!("{x:.3}");
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        }
    }

    /// The unit suffix for an axis title (`ms`, `s`, `%`), or empty.
    pub(crate) fn unit_label(&self) -> &'static str {
        self.unit.display(self.d1).1
    }

    /// `title (unit)`, or the title alone when the unit is a plain count.
    pub(crate) fn title(&self, title: &str) -> String {
        match self.unit_label() {
            "" => title.to_owned(),
            u => format!("{title} ({u})"),
        }
    }
}

/// A step of 1, 2 or 5 × 10ⁿ giving about `target` intervals over `span`.
pub(crate) fn nice_step(span: f64, target: usize) -> f64 {
    if !(span.is_finite() && span > 0.0) {
        return 1.0;
    }
    let raw = span / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 2.5 {
        2.5
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// Formats a value in `unit` for captions: `123 ms`, `1.25 s`, `45.2 tok/s`.
pub(crate) fn format_value(v: f64, unit: Unit) -> String {
    match unit {
        Unit::Ms => crate::units::format_ms(v),
        Unit::Seconds => format!("{v:.1} s"),
        Unit::TokPerS => format!("{v:.1} tok/s"),
        Unit::Share => format!("{:.1}%", v * 100.0),
        Unit::UsdPer1k => format!("${v:.3} per 1k"),
        Unit::Count => format!("{v:.0}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(100.0, 5), 20.0);
        assert_eq!(nice_step(1.0, 5), 0.2);
        assert_eq!(nice_step(730.0, 5), 200.0);
        assert_eq!(nice_step(0.0, 5), 1.0);
    }

    #[test]
    fn linear_scale_widens_to_ticks_and_maps() {
        let s = Scale::linear(0.0, 93.0, 0.0, 100.0, Unit::Ms);
        assert_eq!((s.d0, s.d1), (0.0, 100.0));
        assert_eq!(s.ticks(), vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(s.map(50.0), 50.0);
        assert_eq!(s.map(500.0), 100.0, "clamped");
        assert_eq!(s.title("TTFT"), "TTFT (ms)");
    }

    #[test]
    fn milliseconds_switch_to_seconds_on_long_axes() {
        let s = Scale::linear(0.0, 30_000.0, 0.0, 100.0, Unit::Ms);
        assert_eq!(s.unit_label(), "s");
        assert_eq!(s.tick_label(5000.0), "5");
        assert_eq!(s.tick_label(2500.0), "2.5");
    }

    #[test]
    fn log_scale_ticks() {
        let exact = Scale::log_exact(35.0, 1800.0, 0.0, 1.0, Unit::Ms);
        assert_eq!(exact.ticks(), vec![50.0, 100.0, 200.0, 500.0, 1000.0]);
        assert!((exact.map(35.0) - 0.0).abs() < 1e-9 && (exact.map(1800.0) - 1.0).abs() < 1e-9);
        let wide = Scale::log_exact(2.0, 30_000.0, 0.0, 1.0, Unit::Ms);
        assert_eq!(wide.ticks(), vec![10.0, 100.0, 1000.0, 10_000.0]);
        assert_eq!(wide.tick_label(10_000.0), "10", "seconds on a 30 s axis");
    }
}
