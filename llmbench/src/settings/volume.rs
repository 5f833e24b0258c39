//! Request volumes (`--project 1000/h`): successful requests per unit of
//! time, for cost projections (`cost::projection`).

use std::fmt;
use std::str::FromStr;

/// Hours in a month, as AWS prices months (365 × 24 / 12).
pub const HOURS_PER_MONTH: f64 = 730.0;

/// A request volume: successful requests per unit of time (`1000/h`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Volume {
    per_hour: f64,
}

impl Volume {
    /// A volume of `per_hour` successful requests per hour.
    pub fn per_hour(per_hour: f64) -> Volume {
        Volume { per_hour }
    }

    /// Successful requests per hour.
    pub fn requests_per_hour(self) -> f64 {
        self.per_hour
    }
}

impl FromStr for Volume {
    type Err = String;

    /// Parses `N/s`, `N/min`, `N/h`, `N/day` or `N/month` (also `sec`,
    /// `m`, `hour`, `d`, `mo`).
    fn from_str(text: &str) -> Result<Volume, String> {
        let bad = || {
            format!("invalid volume {text:?} (expected requests per unit, e.g. \"1000/h\", \"20/s\", \"50000/day\")")
        };
        let (n, unit) = text.trim().split_once('/').ok_or_else(bad)?;
        let n: f64 = n.trim().replace('_', "").parse().map_err(|_| bad())?;
        let hours = match unit.trim() {
            "s" | "sec" => 1.0 / 3600.0,
            "m" | "min" => 1.0 / 60.0,
            "h" | "hour" => 1.0,
            "d" | "day" => 24.0,
            "mo" | "month" => HOURS_PER_MONTH,
            _ => return Err(bad()),
        };
        if !(n.is_finite() && n > 0.0) {
            return Err(bad());
        }
        Ok(Volume { per_hour: n / hours })
    }
}

impl fmt::Display for Volume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/h", round_sig(self.per_hour))
    }
}

/// A number with at most 4 significant digits, without trailing zeros.
fn round_sig(v: f64) -> String {
    if v >= 1000.0 {
        return format!("{v:.0}");
    }
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}
