//! SLOs, goodput and correctness.
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

use serde::{Deserialize, Serialize};

use super::LevelSummary;
use crate::record::{ErrorClass, RequestRecord};

pub(crate) use crate::settings::Slo;
use crate::settings::slo_ms as ms;

impl Slo {
    /// Whether one request is good.
    pub(crate) fn is_good(&self, r: &RequestRecord) -> bool {
        r.is_ok() && self.per_request.iter().all(|(metric, limit)| request_value(r, metric).is_none_or(|v| v <= *limit))
    }
}

/// A request's value of a per-request metric, ms.
fn request_value(r: &RequestRecord, metric: &str) -> Option<f64> {
    match metric {
        "ttft" => r.ttft_ms,
        "ttfo" => r.ttfo_ms,
        "tpot" => r.tpot_ms(),
        "ntpot" => r.ntpot_ms(),
        "e2e" => Some(r.e2e_ms),
        "queue" => Some(r.queue_ms),
        "itl" => r.gaps_us.iter().max().map(|&g| f64::from(g) / 1e3),
        _ => None,
    }
}

/// Goodput of one level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Goodput {
    /// The SLOs applied.
    pub slo: Vec<String>,
    /// Measured requests that succeeded and met every per-request SLO.
    pub good: u64,
    /// Measured requests attempted.
    pub attempted: u64,
    /// `good / attempted`.
    pub ratio: f64,
    /// Good requests per second of the measured window.
    pub good_per_s: f64,
    /// The share of good requests the level needs.
    pub target: f64,
    /// Goodput reached its target and every per-level SLO held.
    pub meets_slo: bool,
    /// What failed, for people: `goodput 93.1% < 99%`, `p99 ttft 812 ms > 800 ms`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
}

/// Response checks of one level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correctness {
    /// Responses checked (measured requests that completed).
    pub checked: u64,
    /// Responses that passed.
    pub passed: u64,
    /// `passed / checked`.
    pub rate: f64,
}

/// The goodput of `level` from its `records` (measured ones are used).
pub(crate) fn goodput(slo: &Slo, level: &LevelSummary, records: &[RequestRecord]) -> Goodput {
    let mut tally = GoodTally::default();
    records.iter().for_each(|r| tally.add(slo, r));
    tally.goodput(slo, level)
}

/// The correctness of a level whose responses were checked: completed
/// measured requests, and those of them that did not fail a check.
pub(crate) fn correctness(records: &[RequestRecord]) -> Correctness {
    let mut tally = GoodTally::default();
    records.iter().for_each(|r| tally.add(&Slo::default(), r));
    tally.correctness()
}

/// Goodput and correctness counted request by request.
#[derive(Debug, Clone, Default)]
pub(crate) struct GoodTally {
    attempted: u64,
    good: u64,
    checked: u64,
    passed: u64,
}

impl GoodTally {
    /// Counts one finished request (measured ones only).
    pub(crate) fn add(&mut self, slo: &Slo, r: &RequestRecord) {
        if r.phase != crate::record::Phase::Measured {
            return;
        }
        self.attempted += 1;
        self.good += u64::from(slo.is_good(r));
        match &r.error {
            None => (self.checked, self.passed) = (self.checked + 1, self.passed + 1),
            Some(e) if e.class == ErrorClass::Check => self.checked += 1,
            Some(_) => {}
        }
    }

    /// The goodput of `level` against `slo`.
    pub(crate) fn goodput(&self, slo: &Slo, level: &LevelSummary) -> Goodput {
        let (good, attempted) = (self.good, self.attempted);
        let ratio = if attempted > 0 { good as f64 / attempted as f64 } else { 0.0 };
        let mut failed = Vec::new();
        if ratio < slo.goodput {
            failed.push(format!("goodput {:.1}% < {}%", ratio * 100.0, slo.goodput * 100.0));
        }
        for (stat, metric, limit) in &slo.per_level {
            match level.metric(metric).and_then(|s| s.get(stat)) {
                Some(v) if v > *limit => failed.push(format!("{stat} {metric} {v:.1} ms > {}", ms(*limit))),
                Some(_) => {}
                None => failed.push(format!("{stat} {metric}: not measured (too few samples)")),
            }
        }
        Goodput {
            slo: slo.describe(),
            good,
            attempted,
            ratio,
            good_per_s: if level.window_s > 0.0 { good as f64 / level.window_s } else { 0.0 },
            target: slo.goodput,
            meets_slo: failed.is_empty() && attempted > 0,
            failed,
        }
    }

    /// The response checks' figures.
    pub(crate) fn correctness(&self) -> Correctness {
        let (checked, passed) = (self.checked, self.passed);
        Correctness { checked, passed, rate: if checked > 0 { passed as f64 / checked as f64 } else { 0.0 } }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::record::{RequestError, TokenSource};

    pub(crate) fn rec(ttft: f64, e2e: f64, tokens: u64, error: Option<ErrorClass>) -> RequestRecord {
        RequestRecord {
            concurrency: 1,
            ttft_ms: Some(ttft),
            ttfo_ms: Some(ttft),
            last_content_ms: Some(e2e),
            e2e_ms: e2e,
            chunks: tokens,
            output_tokens: tokens,
            output_source: TokenSource::Usage,
            error: error.map(|c| RequestError::new(c, "x")),
            ..RequestRecord::default()
        }
    }

    #[test]
    fn slo_lists_parse() {
        assert_eq!(Slo::parse("").unwrap(), Slo::default());
        let s = Slo::parse("e2e <= 2s, p99 ttft <= 800ms, goodput >= 95%").unwrap();
        assert_eq!(s.per_request, vec![("e2e".to_owned(), 2000.0)]);
        assert_eq!(s.per_level, vec![("p99".to_owned(), "ttft".to_owned(), 800.0)]);
        assert_eq!(s.goodput, 0.95);
        assert_eq!(s.describe(), ["e2e <= 2s", "p99 ttft <= 800ms", "goodput >= 95%"]);
        let s = Slo::parse("goodput >= 0.9").unwrap();
        assert_eq!(s.per_request, Slo::default().per_request, "defaults stay when no request metric is named");
        assert_eq!(Slo::parse("ttft p90 <= 1s").unwrap().per_level[0].0, "p90");
        assert!(Slo::parse("latency <= 1s").unwrap_err().contains("unknown metric"));
        assert!(Slo::parse("ttft < 1s").unwrap_err().contains("expected e.g."));
        assert!(Slo::parse("goodput >= 120%").unwrap_err().contains("between"));
        assert!(Slo::parse("p42 ttft <= 1s").unwrap_err().contains("unknown statistic"));
    }

    #[test]
    fn a_failure_is_never_good() {
        let slo = Slo::default();
        let records = vec![
            rec(100.0, 300.0, 11, None),                      // good: tpot 20 ms
            rec(600.0, 700.0, 11, None),                      // ttft too slow
            rec(100.0, 3100.0, 11, None),                     // tpot 300 ms
            rec(10.0, 20.0, 1, None),                         // no tpot: good
            rec(10.0, 20.0, 11, Some(ErrorClass::Throttled)), // fast failure: not good
            rec(10.0, 20.0, 11, Some(ErrorClass::Check)),     // wrong answer: not good
        ];
        let level = crate::stats::summarize_level(1, &records);
        let g = goodput(&slo, &level, &records);
        assert_eq!((g.good, g.attempted), (2, 6));
        assert!(!g.meets_slo);
        assert_eq!(g.failed, ["goodput 33.3% < 99%"]);
        let c = correctness(&records);
        assert_eq!((c.checked, c.passed), (5, 4));
        let lenient = Slo::parse("e2e <= 10s, p50 ttft <= 1ms, goodput >= 50%").unwrap();
        let g = goodput(&lenient, &level, &records);
        assert_eq!(g.good, 4);
        assert_eq!(g.failed.len(), 1);
        assert!(g.failed[0].starts_with("p50 ttft"), "{:?}", g.failed);
    }
}
