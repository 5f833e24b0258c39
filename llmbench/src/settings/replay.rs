//! How fast a trace is replayed (`replay_speed`): a factor of its own
//! clock (`"2x"` plays it twice as fast, `"0.5x"` at half speed) or the
//! mean rate to scale it to (`"20/s"`). The trace's shape — its bursts and
//! lulls — is kept either way; only its clock is scaled.

use std::fmt;

use serde::Serialize;

use super::Rate;

/// A trace's replay speed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplaySpeed {
    /// The trace's clock times this factor (`2x`).
    Factor(f64),
    /// Scaled so the mean arrival rate is this many requests per second.
    Rate(f64),
}

impl Default for ReplaySpeed {
    fn default() -> Self {
        ReplaySpeed::Factor(1.0)
    }
}

impl ReplaySpeed {
    /// Parses `2x`, `0.5x` or a rate (`20/s`, `1200/m`).
    pub fn parse(text: &str) -> Result<ReplaySpeed, String> {
        let t = text.trim();
        if let Some(factor) = t.strip_suffix(['x', 'X']) {
            return match factor.trim().parse::<f64>() {
                Ok(f) if f.is_finite() && f > 0.0 && f <= 1e6 => Ok(ReplaySpeed::Factor(f)),
                _ => Err(format!(
                    "invalid replay speed {text:?} (a factor above 0 like \"2x\", or a mean rate like \"20/s\")"
                )),
            };
        }
        Rate::parse(t).map(|r| ReplaySpeed::Rate(r.per_s())).map_err(|_| {
            format!("invalid replay speed {text:?} (a factor like \"2x\" or \"0.5x\", or a mean rate like \"20/s\")")
        })
    }

    /// The factor to divide the trace's offsets by, for a trace whose mean
    /// rate is `trace_rate` requests per second.
    pub fn factor(self, trace_rate: f64) -> f64 {
        match self {
            ReplaySpeed::Factor(f) => f,
            ReplaySpeed::Rate(r) if trace_rate > 0.0 => r / trace_rate,
            ReplaySpeed::Rate(_) => 1.0,
        }
    }
}

impl fmt::Display for ReplaySpeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplaySpeed::Factor(x) => write!(f, "{x}x"),
            ReplaySpeed::Rate(r) => write!(f, "{}", Rate(*r)),
        }
    }
}

impl super::value::Grammar for ReplaySpeed {
    fn parse(text: &str) -> Result<Self, String> {
        ReplaySpeed::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_parse_and_scale() {
        assert_eq!(ReplaySpeed::parse("2x"), Ok(ReplaySpeed::Factor(2.0)));
        assert_eq!(ReplaySpeed::parse(" 0.5x "), Ok(ReplaySpeed::Factor(0.5)));
        assert_eq!(ReplaySpeed::parse("20/s"), Ok(ReplaySpeed::Rate(20.0)));
        assert_eq!(ReplaySpeed::parse("600/m"), Ok(ReplaySpeed::Rate(10.0)));
        for bad in ["0x", "-1x", "fast", "x", "0/s"] {
            assert!(ReplaySpeed::parse(bad).unwrap_err().contains("replay speed"), "{bad}");
        }
        assert_eq!(ReplaySpeed::Factor(3.0).factor(7.0), 3.0);
        assert_eq!(ReplaySpeed::Rate(20.0).factor(5.0), 4.0);
        assert_eq!(ReplaySpeed::Rate(20.0).to_string(), "20/s");
        assert_eq!(ReplaySpeed::Factor(2.0).to_string(), "2x");
    }
}
