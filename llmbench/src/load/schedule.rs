//! Open-loop arrival schedules: rates (`"20/s"`), arrival processes
//! (constant, Poisson, gamma with a burstiness factor) and their
//! precomputation from a seed into absolute send offsets.
//!
//! The semantics follow vLLM's `--request-rate`/`--burstiness` (and
//! aiperf's `--arrival-pattern`), so a user can reproduce their numbers:
//! inter-arrival gaps are Gamma(shape = b, scale = 1 / (rate · b)); b = 1 is
//! Poisson, larger b is smoother, smaller b burstier; constant sends exactly
//! every 1 / rate. A count-bounded stationary schedule is normalized so its
//! last arrival falls exactly where a constant one would (vLLM does the
//! same), so the offered rate is the rate asked for, not a random draw.
//!
//! A time-varying rate (stages, ramps, spikes) is handled by time warping:
//! arrivals of the unit-rate process are mapped through the inverse of the
//! cumulative rate Λ(t) = ∫ rate. Constant stays evenly spaced in Λ, and
//! Poisson becomes the non-homogeneous Poisson process of that rate.

use std::time::Duration;

use super::stages::Profile;
use crate::rng::Rng;

pub(crate) use crate::settings::{Arrival, Rate};

/// One gap of the unit-rate process (mean 1).
fn unit_gap(arrival: Arrival, rng: &mut Rng) -> f64 {
    match arrival {
        Arrival::Constant => 1.0,
        Arrival::Poisson => rng.exponential(),
        Arrival::Gamma { burstiness } => gamma(rng, burstiness) / burstiness,
    }
}

/// A Gamma(shape, 1) deviate: Marsaglia and Tsang's method, with the usual
/// boost `Gamma(a) = Gamma(a + 1) · U^(1/a)` for shapes below 1.
fn gamma(rng: &mut Rng, shape: f64) -> f64 {
    if shape < 1.0 {
        let u = rng.next_f64().max(f64::MIN_POSITIVE);
        return gamma(rng, shape + 1.0) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = rng.normal();
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u = rng.next_f64().max(f64::MIN_POSITIVE);
        if u.ln() < 0.5 * x * x + d - d * v + d * v.ln() {
            return d * v;
        }
    }
}

/// `n` arrivals at a steady `rate`, the first at 0, normalized so the last
/// falls at `(n − 1) / rate` exactly.
pub(crate) fn stationary(rate: Rate, arrival: Arrival, n: u64, seed: u64) -> Vec<Duration> {
    let mut rng = Rng::new(seed);
    let mut units = Vec::with_capacity(n as usize);
    let mut u = 0.0;
    for k in 0..n {
        if k > 0 {
            u += unit_gap(arrival, &mut rng);
        }
        units.push(u);
    }
    let scale = if n > 1 && u > 0.0 { (n - 1) as f64 / u } else { 1.0 };
    units.into_iter().map(|u| Duration::from_secs_f64(u * scale / rate.per_s())).collect()
}

/// Every arrival of a rate `profile` (requests/s over time) until it ends,
/// the first at 0 (or when the rate first becomes positive).
pub(crate) fn profiled(profile: &Profile, arrival: Arrival, seed: u64) -> Vec<Duration> {
    let mut rng = Rng::new(seed);
    let total = profile.integral(profile.total_s());
    let mut out = Vec::new();
    let mut u = 0.0;
    while u <= total {
        if let Some(t) = profile.inverse_integral(u) {
            if t >= profile.total_s() {
                break;
            }
            out.push(Duration::from_secs_f64(t));
        }
        u += unit_gap(arrival, &mut rng);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::stages::{Stage, StageValue};

    fn gaps(offsets: &[Duration]) -> Vec<f64> {
        offsets.windows(2).map(|w| (w[1] - w[0]).as_secs_f64()).collect()
    }

    fn cv(values: &[f64]) -> f64 {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt() / mean
    }

    #[test]
    fn stationary_schedules_hit_the_rate_exactly() {
        let c = stationary(Rate(50.0), Arrival::Constant, 101, 1);
        assert_eq!(c[0], Duration::ZERO);
        assert!((c[100].as_secs_f64() - 2.0).abs() < 1e-9);
        assert!(gaps(&c).iter().all(|g| (g - 0.02).abs() < 1e-9));
        for arrival in [Arrival::Poisson, Arrival::Gamma { burstiness: 0.25 }, Arrival::Gamma { burstiness: 4.0 }] {
            let s = stationary(Rate(50.0), arrival, 2001, 7);
            assert!((s[2000].as_secs_f64() - 40.0).abs() < 1e-6, "{arrival}: normalized to the nominal span");
            assert!(s.windows(2).all(|w| w[0] <= w[1]));
        }
        // Gamma(b) gaps have a coefficient of variation of 1/sqrt(b).
        for (arrival, expected) in [
            (Arrival::Poisson, 1.0),
            (Arrival::Gamma { burstiness: 0.25 }, 2.0),
            (Arrival::Gamma { burstiness: 4.0 }, 0.5),
        ] {
            let got = cv(&gaps(&stationary(Rate(10.0), arrival, 20_000, 3)));
            assert!((got - expected).abs() < 0.08 * expected, "{arrival}: cv {got}, expected {expected}");
        }
        assert_eq!(stationary(Rate(5.0), Arrival::Poisson, 50, 9), stationary(Rate(5.0), Arrival::Poisson, 50, 9));
        assert_ne!(stationary(Rate(5.0), Arrival::Poisson, 50, 9), stationary(Rate(5.0), Arrival::Poisson, 50, 10));
    }

    #[test]
    fn profiled_schedules_follow_the_profile() {
        // 10 s at 20/s, then a linear ramp to 100/s over 10 s: 200 + 600 arrivals.
        let profile = Profile::new(
            StageValue::Rate(20.0),
            &[
                Stage { duration: Duration::from_secs(10), target: StageValue::Rate(20.0) },
                Stage { duration: Duration::from_secs(10), target: StageValue::Rate(100.0) },
            ],
        );
        let s = profiled(&profile, Arrival::Constant, 0);
        let first = s.iter().filter(|t| t.as_secs_f64() < 10.0).count();
        assert_eq!(first, 200);
        assert!((s.len() as i64 - 800).abs() <= 1, "{}", s.len());
        // In the last second of the ramp the rate is about 96/s.
        let last = s.iter().filter(|t| t.as_secs_f64() >= 19.0).count();
        assert!((94..=98).contains(&last), "{last}");
        let p = profiled(&profile, Arrival::Poisson, 4);
        assert!((p.len() as f64 - 800.0).abs() < 4.0 * 800f64.sqrt(), "{}", p.len());
    }
}
