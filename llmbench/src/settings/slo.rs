//! SLO lists: what a good request is, per level bounds, and the goodput a
//! level needs (how goodput is computed from them is `stats::goodput`).
//!
//! An SLO list has three kinds of items (comma-separated in the attribute,
//! the config and `--slo`):
//!
//! ```text
//! ttft <= 500ms        per request: a request is *good* when it succeeded and meets every one
//! p99 e2e <= 2s        per level: a percentile of the level's ok requests
//! goodput >= 99%       the share of good requests a level needs to meet its SLOs
//! ```
//!
//! Per-request metrics: `ttft`, `ttfo`, `tpot`, `ntpot`, `e2e`, `queue`
//! and `itl` (the request's largest gap). A metric a request does not have
//! (TPOT of a one-token answer) does not count against it. The default is
//! `ttft <= 500ms, tpot <= 100ms, goodput >= 99%`; a list that names any
//! per-request metric replaces the default ones.
//!
//! `goodput` = good requests / attempted requests: a failure is never good,
//! so a server that sheds load cannot look faster.

use crate::units::parse_duration;

/// The per-request metrics an SLO can bound.
pub const REQUEST_METRICS: [&str; 7] = ["ttft", "ttfo", "tpot", "ntpot", "e2e", "queue", "itl"];
/// The level statistics a percentile SLO can bound.
pub const LEVEL_STATS: [&str; 8] = ["p50", "p90", "p95", "p99", "p999", "mean", "min", "max"];

/// A parsed SLO list.
#[derive(Debug, Clone, PartialEq)]
pub struct Slo {
    /// `(metric, limit ms)`, each request must meet all.
    pub per_request: Vec<(String, f64)>,
    /// `(stat, metric, limit ms)` over the level.
    pub per_level: Vec<(String, String, f64)>,
    /// Share of good requests needed, 0..=1.
    pub goodput: f64,
}

impl Default for Slo {
    fn default() -> Slo {
        Slo { per_request: vec![("ttft".into(), 500.0), ("tpot".into(), 100.0)], per_level: Vec::new(), goodput: 0.99 }
    }
}

impl Slo {
    /// Parses an SLO list (see the module docs).
    pub fn parse(text: &str) -> Result<Slo, String> {
        let mut slo = Slo { per_request: Vec::new(), ..Slo::default() };
        let mut named_request = false;
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let usage = "expected e.g. \"ttft <= 500ms\", \"p99 e2e <= 2s\" or \"goodput >= 99%\"";
            if let Some((lhs, rhs)) = item.split_once(">=") {
                if lhs.trim() != "goodput" {
                    return Err(format!("invalid SLO {item:?}: only goodput takes >= ({usage})"));
                }
                let v = rhs.trim();
                let share = match v.strip_suffix('%') {
                    Some(p) => p.trim().parse::<f64>().map(|p| p / 100.0),
                    None => v.parse::<f64>(),
                }
                .map_err(|_| format!("invalid goodput target {v:?} (e.g. \"99%\" or \"0.99\")"))?;
                if !(0.0..=1.0).contains(&share) {
                    return Err(format!("goodput target {v:?} must be between 0% and 100%"));
                }
                slo.goodput = share;
                continue;
            }
            let (lhs, rhs) = item.split_once("<=").ok_or_else(|| format!("invalid SLO {item:?}: {usage}"))?;
            let limit =
                parse_duration(rhs.trim()).map_err(|e| format!("invalid SLO {item:?}: {e}"))?.as_secs_f64() * 1e3;
            let words: Vec<&str> = lhs.split_whitespace().collect();
            match words.as_slice() {
                [metric] => {
                    check_metric(metric, item)?;
                    named_request = true;
                    slo.per_request.push(((*metric).to_owned(), limit));
                }
                [a, b] => {
                    let (stat, metric) = if LEVEL_STATS.contains(a) { (a, b) } else { (b, a) };
                    if !LEVEL_STATS.contains(stat) {
                        return Err(format!(
                            "invalid SLO {item:?}: unknown statistic (use one of {})",
                            LEVEL_STATS.join(", ")
                        ));
                    }
                    check_metric(metric, item)?;
                    slo.per_level.push(((*stat).to_owned(), (*metric).to_owned(), limit));
                }
                _ => return Err(format!("invalid SLO {item:?}: {usage}")),
            }
        }
        if !named_request {
            slo.per_request = Slo::default().per_request;
        }
        Ok(slo)
    }

    /// The SLOs as text, for results files and tables.
    pub fn describe(&self) -> Vec<String> {
        let mut out: Vec<String> = self.per_request.iter().map(|(m, l)| format!("{m} <= {}", ms(*l))).collect();
        out.extend(self.per_level.iter().map(|(s, m, l)| format!("{s} {m} <= {}", ms(*l))));
        out.push(format!("goodput >= {}%", self.goodput * 100.0));
        out
    }
}

/// A bound in ms as the SLO list writes it (`500ms`, `2s`).
pub fn ms(v: f64) -> String {
    if v >= 1000.0 && v % 1000.0 == 0.0 { format!("{}s", v / 1000.0) } else { format!("{v}ms") }
}

fn check_metric(metric: &str, item: &str) -> Result<(), String> {
    if REQUEST_METRICS.contains(&metric) {
        Ok(())
    } else {
        Err(format!("invalid SLO {item:?}: unknown metric {metric:?} (use one of {})", REQUEST_METRICS.join(", ")))
    }
}
