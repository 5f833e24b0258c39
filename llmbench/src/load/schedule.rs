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

use std::fmt;
use std::time::Duration;

use serde::Serialize;

use super::stages::Profile;
use crate::rng::Rng;

/// Requests per second.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
pub(crate) struct Rate(pub(crate) f64);

impl Rate {
    /// Parses `20/s`, `1200/m`, `0.5/s`, `72000/h`; a bare number is per second.
    pub(crate) fn parse(text: &str) -> Result<Rate, String> {
        let t = text.trim();
        let (num, per) = match t.split_once('/') {
            Some((n, unit)) => {
                let per = match unit.trim() {
                    "s" | "sec" => 1.0,
                    "m" | "min" => 60.0,
                    "h" => 3600.0,
                    other => return Err(format!("invalid rate unit {other:?} in {text:?} (use /s, /m or /h)")),
                };
                (n.trim(), per)
            }
            None => (t, 1.0),
        };
        let value: f64 =
            num.parse().map_err(|_| format!("invalid rate {text:?} (expected e.g. \"20/s\" or \"1200/m\")"))?;
        let rate = value / per;
        if !rate.is_finite() || rate <= 0.0 {
            return Err(format!("rate {text:?} must be greater than zero"));
        }
        // Gaps between requests must stay representable durations.
        if rate * crate::units::MAX_DURATION.as_secs_f64() < 1.0 {
            return Err(format!("rate {text:?} is too low (at least one request a year)"));
        }
        Ok(Rate(rate))
    }

    /// Requests per second.
    pub(crate) fn per_s(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        if r >= 100.0 || r.fract() == 0.0 {
            write!(f, "{r:.0}/s")
        } else {
            write!(f, "{}/s", (r * 100.0).round() / 100.0)
        }
    }
}

/// How open-loop arrivals are spread in time.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub(crate) enum Arrival {
    /// Exactly every 1 / rate.
    Constant,
    /// Exponential gaps (memoryless): what independent users produce.
    #[default]
    Poisson,
    /// Gamma gaps with shape `burstiness` (vLLM `--burstiness`): 1 is
    /// Poisson, below 1 burstier, above 1 smoother.
    Gamma {
        /// The gamma shape parameter, > 0.
        burstiness: f64,
    },
}

impl Arrival {
    /// Parses `constant`, `poisson` or `gamma:<burstiness>`.
    pub(crate) fn parse(text: &str) -> Result<Arrival, String> {
        let t = text.trim();
        match t {
            "constant" | "uniform" => Ok(Arrival::Constant),
            "poisson" => Ok(Arrival::Poisson),
            _ => match t.strip_prefix("gamma:").or_else(|| t.strip_prefix("gamma=")) {
                Some(b) => match b.trim().parse::<f64>() {
                    Ok(b) if b.is_finite() && b > 0.0 => Ok(Arrival::Gamma { burstiness: b }),
                    _ => Err(format!("invalid gamma burstiness {b:?} in {text:?} (a number > 0, e.g. \"gamma:0.5\")")),
                },
                None => Err(format!("unknown arrival {text:?} (use constant, poisson or gamma:<burstiness>)")),
            },
        }
    }

    /// One gap of the unit-rate process (mean 1).
    fn unit_gap(self, rng: &mut Rng) -> f64 {
        match self {
            Arrival::Constant => 1.0,
            Arrival::Poisson => rng.exponential(),
            Arrival::Gamma { burstiness } => gamma(rng, burstiness) / burstiness,
        }
    }
}

impl fmt::Display for Arrival {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arrival::Constant => f.write_str("constant"),
            Arrival::Poisson => f.write_str("poisson"),
            Arrival::Gamma { burstiness } => write!(f, "gamma:{burstiness}"),
        }
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
            u += arrival.unit_gap(&mut rng);
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
        u += arrival.unit_gap(&mut rng);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::stages::{Stage, StageValue};

    #[test]
    fn rates_parse_and_print() {
        assert_eq!(Rate::parse("20/s"), Ok(Rate(20.0)));
        assert_eq!(Rate::parse("1200/m"), Ok(Rate(20.0)));
        assert_eq!(Rate::parse(" 7 "), Ok(Rate(7.0)));
        assert_eq!(Rate::parse("7200/h"), Ok(Rate(2.0)));
        assert!(Rate::parse("0/s").unwrap_err().contains("greater than zero"));
        // A gap of 1e300 s would panic in Duration::from_secs_f64.
        assert!(Rate::parse("1e-300/s").unwrap_err().contains("too low"));
        assert!(Rate::parse("fast").unwrap_err().contains("expected e.g."));
        assert!(Rate::parse("3/d").unwrap_err().contains("unit"));
        assert_eq!(Rate(20.0).to_string(), "20/s");
        assert_eq!(Rate(0.5).to_string(), "0.5/s");
    }

    #[test]
    fn arrivals_parse() {
        assert_eq!(Arrival::parse("poisson"), Ok(Arrival::Poisson));
        assert_eq!(Arrival::parse("constant"), Ok(Arrival::Constant));
        assert_eq!(Arrival::parse("gamma:0.5"), Ok(Arrival::Gamma { burstiness: 0.5 }));
        assert!(Arrival::parse("gamma:0").is_err());
        assert!(Arrival::parse("bursty").unwrap_err().contains("constant, poisson or gamma"));
        assert_eq!(Arrival::Gamma { burstiness: 2.0 }.to_string(), "gamma:2");
    }

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
