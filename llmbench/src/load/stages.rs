//! A stages plan (`crate::settings::StagesPlan`) as a load value over time:
//! the piecewise-linear [`Profile`] the open loop's schedule and the closed
//! loop's concurrency follow.

pub(crate) use crate::settings::{Stage, StageValue, StagesPlan};

impl StagesPlan {
    /// The profile over time.
    pub(crate) fn profile(&self) -> Profile {
        Profile::new(self.start, &self.stages)
    }
}

/// A piecewise-linear load value over time, in seconds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Profile {
    /// Segments `(t0, t1, v0, v1)`; zero-length segments are jumps.
    segments: Vec<(f64, f64, f64, f64)>,
}

impl Profile {
    /// The profile of `stages` starting from `start`.
    pub(crate) fn new(start: StageValue, stages: &[Stage]) -> Profile {
        let (mut t, mut v) = (0.0, start.value());
        let mut segments = Vec::with_capacity(stages.len());
        for s in stages {
            let t1 = t + s.duration.as_secs_f64();
            let v1 = s.target.value();
            segments.push((t, t1, v, v1));
            (t, v) = (t1, v1);
        }
        Profile { segments }
    }

    /// When the profile ends, seconds.
    pub(crate) fn total_s(&self) -> f64 {
        self.segments.last().map_or(0.0, |s| s.1)
    }

    /// The value at `t` seconds (after a jump, the new value).
    pub(crate) fn at(&self, t: f64) -> f64 {
        let mut last = 0.0;
        for &(t0, t1, v0, v1) in &self.segments {
            if t1 > t0 && t < t1 && t >= t0 {
                return v0 + (v1 - v0) * (t - t0) / (t1 - t0);
            }
            last = v1;
        }
        last
    }

    /// ∫₀ᵗ value.
    pub(crate) fn integral(&self, t: f64) -> f64 {
        let mut sum = 0.0;
        for &(t0, t1, v0, v1) in &self.segments {
            if t <= t0 {
                break;
            }
            let end = t.min(t1);
            let tau = end - t0;
            if tau > 0.0 {
                let slope = if t1 > t0 { (v1 - v0) / (t1 - t0) } else { 0.0 };
                sum += v0 * tau + slope * tau * tau / 2.0;
            }
        }
        sum
    }

    /// The earliest `t` with ∫₀ᵗ value = `y`, if the profile gets there.
    pub(crate) fn inverse_integral(&self, y: f64) -> Option<f64> {
        let mut acc = 0.0;
        for &(t0, t1, v0, v1) in &self.segments {
            let len = t1 - t0;
            if len <= 0.0 {
                continue;
            }
            let slope = (v1 - v0) / len;
            let area = v0 * len + slope * len * len / 2.0;
            if acc + area >= y && area > 0.0 {
                let need = y - acc;
                // v0·τ + slope·τ²/2 = need
                let tau = if slope.abs() < 1e-12 {
                    need / v0
                } else {
                    let disc = (v0 * v0 + 2.0 * slope * need).max(0.0);
                    (-v0 + disc.sqrt()) / slope
                };
                return Some(t0 + tau.clamp(0.0, len));
            }
            acc += area;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn ramps_are_linear_and_jumps_instant() {
        let p = StagesPlan::parse("10s@10/s, 10s@30/s").unwrap().profile();
        assert_eq!(p.at(5.0), 10.0);
        assert_eq!(p.at(15.0), 20.0);
        assert_eq!(p.integral(10.0), 100.0);
        assert_eq!(p.integral(20.0), 300.0);
        assert!((p.inverse_integral(100.0).unwrap() - 10.0).abs() < 1e-9);
        // 100 + 10τ + τ² = 175 → τ = 5
        assert!((p.inverse_integral(175.0).unwrap() - 15.0).abs() < 1e-9);
        assert_eq!(p.inverse_integral(301.0), None);
        let s = StagesPlan::parse("spike:10/s*5:10s").unwrap();
        let p = s.profile();
        assert_eq!((p.at(3.9), p.at(4.0), p.at(5.9), p.at(6.0)), (10.0, 50.0, 50.0, 10.0));
        assert_eq!(s.total(), Duration::from_secs(10));
        let c = StagesPlan::parse("spike:8*4").unwrap();
        assert_eq!(c.stages[2].target, StageValue::Concurrency(32));
        assert!(StagesPlan::parse("spike:10/s").unwrap_err().contains("spike:<base>*<factor>"));
    }
}
