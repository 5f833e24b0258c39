//! The load generator's self-check: did the *client* keep up? A level is
//! marked invalid, with the reason, when
//!
//! - open loop: the achieved dispatch rate fell more than 5 % below the
//!   offered rate (both over the measured requests: `(n − 1)` over the span
//!   of their scheduled instants, and over the span of the instants their
//!   tasks actually began);
//! - the schedule lag p99 exceeded 10 ms, that is more than 1 % of the
//!   measured requests (and at least two) began over 10 ms late — open
//!   loop: how late request tasks began after their deadline; closed loop:
//!   `queue` (`sent − scheduled`, the time from a free slot to the request
//!   leaving);
//! - the client's threads were busy ≥ 90 % of the cores they may use
//!   (Linux; an in-process simulator's thread is not counted).
//!
//! An invalid level's latencies include the client's own delays, so they
//! are not the server's; sweeps leave such levels out of the knee and SLO
//! analysis. The same module applies a duration-bounded level's window to
//! throughput (see [`apply_window`]).

use serde::{Deserialize, Serialize};

use super::summary::Distribution;
use super::{LatencySummary, LevelSummary};
use crate::load::cpu::CpuUse;
use crate::record::{ErrorClass, Phase, RequestRecord};

/// Achieved below offered by more than this share: invalid.
pub(crate) const MAX_RATE_SHORTFALL: f64 = 0.05;
/// Schedule lag p99 above this: invalid.
pub(crate) const MAX_LAG_P99_MS: f64 = 10.0;
/// Client busy at or above this share of its cores: invalid.
pub(crate) const MAX_CPU_BUSY: f64 = 0.9;

/// How a level's load was generated and whether the generator kept up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadCheck {
    /// `closed` or `open`.
    pub mode: String,
    /// Open loop: the arrival process (`constant`, `poisson`, `gamma:0.5`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival: Option<String>,
    /// Open loop: requests/s the schedule offered over the measured requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered_rate: Option<f64>,
    /// Open loop: requests/s the generator actually started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achieved_rate: Option<f64>,
    /// Schedule lag, ms (see the module docs), over measured requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_lag: Option<LatencySummary>,
    /// The 99th percentile of the schedule lag by nearest rank, ms — given
    /// even for small samples, since it is a bound check, not a statistic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_lag_p99_ms: Option<f64>,
    /// Open loop: the `max_in_flight` cap, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<u32>,
    /// Duration-bounded: the load window and the grace, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<f64>,
    /// Duration-bounded: the grace period after the window, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_s: Option<f64>,
    /// Requests cut at the end of a duration-bounded level.
    #[serde(default)]
    pub cut_at_end: u64,
    /// The client's CPU use (Linux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuUse>,
    /// The generator kept up: the latencies are the server's.
    pub valid: bool,
    /// Why not, for people.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invalid_reasons: Vec<String>,
}

/// What the runner knows of a level beyond its records.
#[derive(Default)]
pub(crate) struct LevelLoad {
    pub(crate) open: bool,
    pub(crate) arrival: Option<String>,
    pub(crate) max_in_flight: Option<u32>,
    pub(crate) duration_s: Option<f64>,
    pub(crate) grace_s: Option<f64>,
    pub(crate) cpu: Option<CpuUse>,
}

/// The self-check of one level from its records (open loop: each carries
/// its `dispatch_lag_us`).
pub(crate) fn check(records: &[RequestRecord], load: &LevelLoad) -> LoadCheck {
    let mut tally = LoadTally::new(load.open);
    records.iter().for_each(|r| tally.add(r));
    tally.finish(load)
}

/// What the self-check needs, gathered request by request.
#[derive(Debug, Clone)]
pub(crate) struct LoadTally {
    open: bool,
    lags: Distribution,
    late: u64,
    /// First and last scheduled instant, µs.
    scheduled: Option<(u64, u64)>,
    /// First and last instant a task began, µs.
    started: Option<(f64, f64)>,
    cut_at_end: u64,
}

impl LoadTally {
    pub(crate) fn new(open: bool) -> LoadTally {
        LoadTally { open, lags: Distribution::default(), late: 0, scheduled: None, started: None, cut_at_end: 0 }
    }

    /// Counts one finished request (measured ones only).
    pub(crate) fn add(&mut self, r: &RequestRecord) {
        if r.phase != Phase::Measured {
            return;
        }
        let lag = if self.open { r.dispatch_lag_us.unwrap_or(0) as f64 / 1e3 } else { r.queue_ms };
        self.lags.add(lag);
        self.late += u64::from(lag > MAX_LAG_P99_MS);
        let (s, b) = (r.start_us, r.start_us as f64 + lag * 1e3);
        self.scheduled = Some(self.scheduled.map_or((s, s), |(lo, hi)| (lo.min(s), hi.max(s))));
        self.started = Some(self.started.map_or((b, b), |(lo, hi)| (lo.min(b), hi.max(b))));
        self.cut_at_end += u64::from(r.error.as_ref().is_some_and(|e| e.class == ErrorClass::CutAtEnd));
    }

    /// The self-check of the level.
    pub(crate) fn finish(&self, load: &LevelLoad) -> LoadCheck {
        let measured = self.lags.count();
        // The 99th percentile by the histogram's rank, at its lower bound.
        let lag_p99 = self.lags.quantile_low(0.99);
        let (mut offered, mut achieved) = (None, None);
        if load.open && measured >= 2 {
            let n = (measured - 1) as f64;
            if let Some((first, last)) = self.scheduled.filter(|(lo, hi)| hi > lo) {
                offered = Some(n / ((last - first) as f64 / 1e6));
            }
            if let Some((first, last)) = self.started.filter(|(lo, hi)| hi > lo) {
                achieved = Some(n / ((last - first) / 1e6));
            }
        }
        let mut reasons = Vec::new();
        if let (Some(o), Some(a)) = (offered, achieved)
            && a < o * (1.0 - MAX_RATE_SHORTFALL)
        {
            reasons.push(format!(
                "the client started {a:.1} req/s of the {o:.1} req/s offered ({:.1}% short; limit {:.0}%)",
                (1.0 - a / o) * 100.0,
                MAX_RATE_SHORTFALL * 100.0
            ));
        }
        // p99 over the bound, judged by count so that one stall in a small
        // sample (where the p99 is the maximum) is not enough.
        if let Some(p99) = lag_p99
            && p99 > MAX_LAG_P99_MS
            && self.late >= 2
            && self.late as f64 > 0.01 * measured as f64
        {
            reasons.push(format!(
                "schedule lag p99 {p99:.1} ms > {MAX_LAG_P99_MS} ms: the client fell behind its schedule"
            ));
        }
        if let Some(cpu) = &load.cpu
            && cpu.busy >= MAX_CPU_BUSY
        {
            reasons.push(format!(
                "the client was CPU-bound ({:.0}% of its {} core(s) busy; limit {:.0}%)",
                cpu.busy * 100.0,
                cpu.cores,
                MAX_CPU_BUSY * 100.0
            ));
        }
        LoadCheck {
            mode: if load.open { "open" } else { "closed" }.into(),
            arrival: load.arrival.clone(),
            offered_rate: offered,
            achieved_rate: achieved,
            schedule_lag: self.lags.summary(),
            schedule_lag_p99_ms: lag_p99,
            max_in_flight: load.max_in_flight,
            duration_s: load.duration_s,
            grace_s: load.grace_s,
            cut_at_end: self.cut_at_end,
            cpu: load.cpu,
            valid: reasons.is_empty(),
            invalid_reasons: reasons,
        }
    }
}

/// A duration-bounded level's throughput counts only what completed inside
/// its load window (first measured `scheduled` to the window's end): the
/// requests that finish during the grace period, with a shrinking batch,
/// keep their latencies in every summary but do not stretch the window and
/// dilute (or flatter) req/s and tokens/s. `window_end_us` counts from the
/// level's start, like `start_us`.
pub(crate) fn apply_window(level: &mut LevelSummary, records: &[RequestRecord], window_end_us: u64) {
    let mut tally = WindowTally::new(window_end_us);
    records.iter().for_each(|r| tally.add(r));
    tally.apply(level);
}

/// What [`apply_window`] needs, gathered request by request.
#[derive(Debug, Clone)]
pub(crate) struct WindowTally {
    end_us: u64,
    start_us: Option<u64>,
    ok_inside: u64,
    tokens_inside: u64,
}

impl WindowTally {
    pub(crate) fn new(end_us: u64) -> WindowTally {
        WindowTally { end_us, start_us: None, ok_inside: 0, tokens_inside: 0 }
    }

    pub(crate) fn add(&mut self, r: &RequestRecord) {
        if r.phase != Phase::Measured {
            return;
        }
        self.start_us = Some(self.start_us.map_or(r.start_us, |s| s.min(r.start_us)));
        if r.is_ok() && r.end_us() <= self.end_us {
            self.ok_inside += 1;
            self.tokens_inside += r.output_tokens;
        }
    }

    /// Sets the level's window and throughput to the load window's.
    pub(crate) fn apply(&self, level: &mut LevelSummary) {
        let Some(start) = self.start_us else { return };
        let window_s = self.end_us.saturating_sub(start) as f64 / 1e6;
        if window_s <= 0.0 {
            return;
        }
        level.window_s = window_s;
        level.req_per_s = self.ok_inside as f64 / window_s;
        level.output_tok_per_s = self.tokens_inside as f64 / window_s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ErrorClass, RequestError};
    use crate::stats::goodput::tests::rec;

    fn open_records(n: u64, gap_us: u64) -> Vec<RequestRecord> {
        (0..n)
            .map(|i| {
                let mut r = rec(10.0, 50.0, 5, None);
                r.index = i;
                r.start_us = i * gap_us;
                r
            })
            .collect()
    }

    fn open_load() -> LevelLoad {
        LevelLoad { open: true, arrival: Some("constant".into()), ..LevelLoad::default() }
    }

    /// The self-check of `records`, each dispatched `lags[index]` µs late.
    fn check_lagged(records: &[RequestRecord], lags: &[u64], load: &LevelLoad) -> LoadCheck {
        let lagged: Vec<RequestRecord> = records
            .iter()
            .map(|r| RequestRecord { dispatch_lag_us: lags.get(r.index as usize).copied(), ..r.clone() })
            .collect();
        check(&lagged, load)
    }

    #[test]
    fn a_generator_that_keeps_up_is_valid() {
        let records = open_records(101, 10_000);
        let lags = vec![200; 101];
        let c = check_lagged(&records, &lags, &open_load());
        assert!(c.valid, "{:?}", c.invalid_reasons);
        assert!((c.offered_rate.unwrap() - 100.0).abs() < 1e-9);
        assert!((c.achieved_rate.unwrap() - 100.0).abs() < 1e-9);
        assert_eq!(c.schedule_lag_p99_ms, Some(0.2));
    }

    #[test]
    fn a_generator_that_falls_behind_says_why() {
        let records = open_records(101, 10_000);
        // Each request 1 ms later than the one before: 100 ms behind at the end.
        let lags: Vec<u64> = (0..101).map(|i| i * 1000).collect();
        let cpu = CpuUse { busy: 0.97, runnable_wait: 0.0, cores: 1 };
        let c = check_lagged(&records, &lags, &LevelLoad { cpu: Some(cpu), ..open_load() });
        assert!(!c.valid);
        assert_eq!(c.invalid_reasons.len(), 3, "{:?}", c.invalid_reasons);
        assert!(c.invalid_reasons[0].contains("req/s of the 100.0 req/s offered"), "{:?}", c.invalid_reasons);
        assert!(c.invalid_reasons[1].contains("schedule lag p99"));
        assert!(c.invalid_reasons[2].contains("CPU-bound"));
    }

    #[test]
    fn one_stall_in_a_small_sample_is_not_a_lagging_generator() {
        let records = open_records(50, 20_000);
        let mut lags = vec![100; 50];
        lags[7] = 30_000;
        let c = check_lagged(&records, &lags, &open_load());
        assert_eq!(c.schedule_lag_p99_ms, Some(30.0));
        assert!(c.valid, "{:?}", c.invalid_reasons);
        lags[9] = 25_000;
        assert!(!check_lagged(&records, &lags, &open_load()).valid, "two stalls in 50 are 4 %");
    }

    #[test]
    fn the_window_bounds_throughput_and_cuts_are_counted() {
        let mut records = open_records(10, 100_000); // starts 0..0.9 s, each 50 ms
        records[9].e2e_ms = 400.0; // ends at 1.3 s, in the grace period
        records[8].error = Some(RequestError::new(ErrorClass::CutAtEnd, crate::load::CUT_AT_END));
        let mut level = crate::stats::summarize_level(0, &records);
        apply_window(&mut level, &records, 1_000_000);
        assert_eq!(level.window_s, 1.0);
        assert_eq!(level.req_per_s, 8.0, "the cut one failed; the late one ended after the window");
        assert_eq!(level.ttft.as_ref().unwrap().count, 9, "the late one keeps its latency");
        let c = check(&records, &open_load());
        assert_eq!(c.cut_at_end, 1);
    }
}
