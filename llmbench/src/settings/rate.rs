//! Open-loop rates (`"20/s"`, `"1200/m"`) and arrival processes
//! (`constant`, `poisson`, `gamma:<burstiness>`); how a schedule is drawn
//! from them is `load::schedule`.

use std::fmt;

use serde::Serialize;

/// Requests per second.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
pub struct Rate(pub f64);

impl Rate {
    /// Parses `20/s`, `1200/m`, `0.5/s`, `72000/h`; a bare number is per second.
    pub fn parse(text: &str) -> Result<Rate, String> {
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
        // Gaps between requests must stay representable durations
        // (Duration::from_secs_f64 panics on a gap of 1e300 s).
        if rate * super::value::MAX_DURATION.as_secs_f64() < 1.0 {
            return Err(format!("rate {text:?} is too low (at least one request a year)"));
        }
        Ok(Rate(rate))
    }

    /// Requests per second.
    pub fn per_s(self) -> f64 {
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
pub enum Arrival {
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
    pub fn parse(text: &str) -> Result<Arrival, String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_print() {
        assert_eq!(Rate::parse("20/s"), Ok(Rate(20.0)));
        assert_eq!(Rate::parse("1200/m"), Ok(Rate(20.0)));
        assert_eq!(Rate::parse(" 7 "), Ok(Rate(7.0)));
        assert_eq!(Rate::parse("7200/h"), Ok(Rate(2.0)));
        assert!(Rate::parse("0/s").unwrap_err().contains("greater than zero"));
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
}
