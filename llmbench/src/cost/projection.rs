//! Cost at a stated volume (`--project 1000/h`): per hour, per month, and
//! for per-instance-hour billing the instances that volume needs.

use super::{LevelCost, Price, Projection};
use crate::stats::LevelSummary;

pub use crate::settings::{HOURS_PER_MONTH, Volume};

pub(super) fn project(price: &Price, level: &LevelSummary, cost: &LevelCost, volume: Volume) -> Projection {
    let per_hour = volume.requests_per_hour();
    match price {
        Price::PerToken { .. } => {
            let cost_per_hour = cost.cost_per_ok_request.map(|c| c * per_hour);
            Projection {
                requests_per_hour: per_hour,
                cost_per_hour,
                cost_per_month: cost_per_hour.map(|c| c * HOURS_PER_MONTH),
                instances_needed: None,
                basis: match cost.cost_per_ok_request {
                    Some(_) => format!("cost_per_ok_request × {volume}"),
                    None => "no cost per ok request at this level: nothing to project from".into(),
                },
            }
        }
        Price::PerInstanceHour { instances, price_per_hour, .. } => {
            let per_instance = level.req_per_s / f64::from(*instances);
            let needed_rps = per_hour / 3600.0;
            if !per_instance.is_finite() || per_instance <= 0.0 {
                return Projection {
                    requests_per_hour: per_hour,
                    cost_per_hour: None,
                    cost_per_month: None,
                    instances_needed: None,
                    basis: "no ok request at this level: its throughput cannot size a fleet".into(),
                };
            }
            // A hair under an integer ratio must not round up to one more instance.
            let needed = ((needed_rps / per_instance) - 1e-9).ceil().max(1.0) as u64;
            let cost_per_hour = needed as f64 * price_per_hour;
            Projection {
                requests_per_hour: per_hour,
                cost_per_hour: Some(cost_per_hour),
                cost_per_month: Some(cost_per_hour * HOURS_PER_MONTH),
                instances_needed: Some(needed),
                basis: format!(
                    "{needed} instance(s) = ceil({needed_rps:.3} req/s ÷ {per_instance:.3} ok req/s per instance measured at concurrency {}); this level's throughput, not a sweep's max load under SLO",
                    level.concurrency
                ),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes() {
        assert_eq!("1000/h".parse::<Volume>().unwrap().requests_per_hour(), 1000.0);
        assert_eq!("2/s".parse::<Volume>().unwrap().requests_per_hour(), 7200.0);
        assert_eq!("10/min".parse::<Volume>().unwrap().requests_per_hour(), 600.0);
        assert_eq!("2400/day".parse::<Volume>().unwrap().requests_per_hour(), 100.0);
        assert_eq!("73_000/month".parse::<Volume>().unwrap().requests_per_hour(), 100.0);
        assert_eq!(" 1.5 / h ".parse::<Volume>().unwrap().requests_per_hour(), 1.5);
        for bad in ["1000", "1000/week", "-5/h", "0/h", "lots/h", "inf/h", ""] {
            let err = bad.parse::<Volume>().unwrap_err();
            assert!(err.contains("1000/h"), "{bad}: {err}");
        }
        assert_eq!(Volume::per_hour(1000.0).to_string(), "1000/h");
        assert_eq!(Volume::per_hour(1.25).to_string(), "1.25/h");
    }
}
