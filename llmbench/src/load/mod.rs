//! When to send requests: the cold-start request, warm-up, closed-loop
//! concurrency (`closed`: N in flight, fixed or following stages), open-loop
//! arrivals on precomputed deadlines (`open`, `schedule`), stages and
//! spikes (`stages`), sweeps and their knee (`sweep`), conversations
//! (`sessions`: sessions of turns with think times between them), and the
//! generator's own CPU use (`cpu`).
//!
//! This module owns the clock: it stamps each request's `scheduled` time and
//! hands the provider a fresh [`Timeline`]. It knows nothing of protocols or
//! statistics; finished records go to an [`Observer`] and back to the caller.
//!
//! Run ends: a count-bounded level ends when its last request finishes. A
//! duration-bounded level stops starting requests at its duration, gives
//! those in flight a grace period, then cuts the rest: each becomes a record
//! of class `cut` ("in flight at the end of the run"), never a silently
//! dropped one.

pub(crate) mod closed;
pub(crate) mod cpu;
pub(crate) mod open;
pub(crate) mod schedule;
pub(crate) mod sessions;
pub(crate) mod stages;
pub(crate) mod sweep;
mod window;

pub(crate) use closed::{ClosedPlan, closed_loop, closed_loop_plan};
pub(crate) use open::{OpenPlan, open_loop};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::provider::{GenRequest, Provider};
use crate::record::{Deadlines, ErrorClass, Phase, RequestError, RequestRecord, Timeline};

/// The client's runtime. `reserved` cores are left to an in-process
/// simulator: on a 2-core machine, two client workers plus a simulator
/// thread oversubscribe the cores, and preemption then shows up as
/// multi-millisecond ITL errors (measured with `examples/overhead.rs`:
/// |error| p99 4.1 ms with two client workers, 0.68 ms with one).
pub(crate) fn client_runtime(reserved: usize) -> std::io::Result<tokio::runtime::Runtime> {
    let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
    let workers = cores.saturating_sub(reserved).max(1);
    tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build()
}

/// Sees every finished request, as it finishes (progress bars, live output).
pub(crate) trait Observer: Send + Sync {
    /// A request finished (ok or not).
    fn request_done(&self, record: &RequestRecord);

    /// Whether the observer keeps the records itself, so the level need
    /// not (its outcome's `records` are then empty): what keeps a long
    /// run's memory flat.
    fn keeps_records(&self) -> bool {
        false
    }
}

/// An observer that ignores everything.
pub(crate) struct Quiet;

impl Observer for Quiet {
    fn request_done(&self, _: &RequestRecord) {}
}

/// Stops a run early (a signal, the end of a duration-bounded level):
/// requests in flight are abandoned and recorded as `cut` with the cancel's
/// reason, completed ones are kept.
#[derive(Debug, Default, Clone)]
pub(crate) struct Cancel {
    inner: Arc<CancelState>,
}

#[derive(Debug, Default)]
struct CancelState {
    cancelled: AtomicBool,
    notify: Notify,
    /// Why, for the records of the requests it cuts (the first reason wins).
    reason: OnceLock<String>,
}

impl Cancel {
    pub(crate) fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Cancels, saying why: the message of every request it cuts.
    pub(crate) fn cancel_because(&self, reason: impl Into<String>) {
        let _ = self.inner.reason.set(reason.into());
        self.cancel();
    }

    /// Why it was cancelled, when a reason was given.
    pub(crate) fn reason(&self) -> Option<&str> {
        self.inner.reason.get().map(String::as_str)
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    pub(crate) async fn cancelled(&self) {
        let notified = self.inner.notify.notified();
        if self.is_cancelled() {
            return;
        }
        notified.await;
    }
}

/// How each request is made.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestOptions {
    pub(crate) deadlines: Deadlines,
    pub(crate) expected_chunks: usize,
    pub(crate) capture_text: bool,
}

/// Sends one request due now and records it.
pub(crate) async fn run_one(
    provider: &Provider,
    request: &GenRequest,
    index: u64,
    phase: Phase,
    opts: RequestOptions,
    level_start: Instant,
) -> RequestRecord {
    let scheduled = Instant::now();
    measure(provider, request, index, phase, opts, scheduled, level_start, None).await
}

/// The message of a request cut at the end of a duration-bounded run.
pub(crate) const CUT_AT_END: &str = "still in flight at the end of the run (duration + grace): cut";
/// The message of a request in flight when the run was stopped, when the
/// stop gave no reason of its own.
pub(crate) const INTERRUPTED: &str = "in flight when llmbench was interrupted: cut";

/// The message of a request in flight when a capacity search stopped a level
/// that could no longer meet its SLOs.
pub(crate) const STOPPED_EARLY: &str = "in flight when the level stopped early (it could no longer meet its SLOs): cut";

/// The message of a request in flight when a level was stopped because its
/// endpoint looked dead (connections failing one after another).
pub(crate) const DEAD_ENDPOINT: &str =
    "in flight when the level stopped early (the endpoint's connections kept failing): cut";

/// What stops the requests in flight when `cancel` stops a level: `cut`,
/// told the reason (the stop's, or [`INTERRUPTED`]), so each becomes a
/// record saying why instead of being dropped.
pub(crate) fn interrupt_in_flight(cancel: &Cancel, cut: &Cancel) {
    cut.cancel_because(cancel.reason().unwrap_or(INTERRUPTED));
}

/// The error of a request llmbench cut: at the end of a duration-bounded
/// level, or by an interruption (whose reason the cut carries).
pub(crate) fn cut_error(reason: Option<&str>) -> RequestError {
    match reason {
        None | Some(CUT_AT_END) => RequestError::new(ErrorClass::CutAtEnd, CUT_AT_END),
        Some(why @ (STOPPED_EARLY | DEAD_ENDPOINT)) => RequestError::new(ErrorClass::CutAtEnd, why),
        Some(why) => RequestError::new(ErrorClass::Interrupted, why),
    }
}

/// Sends one request that was due at `scheduled` (latency counts from
/// there, so a late start shows instead of hiding) and records it. When
/// `cut` fires first, the request is abandoned and recorded as class `cut`
/// with the cut's reason ([`CUT_AT_END`] when it gave none).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn measure(
    provider: &Provider,
    request: &GenRequest,
    index: u64,
    phase: Phase,
    opts: RequestOptions,
    scheduled: Instant,
    level_start: Instant,
    cut: Option<&Cancel>,
) -> RequestRecord {
    let mut timeline = Timeline::new(scheduled, opts.deadlines, opts.expected_chunks, opts.capture_text);
    // Providers enforce deadlines on every read; this outer bound only
    // guards against one that blocks somewhere else.
    let hard_deadline = scheduled + opts.deadlines.total + Duration::from_secs(1);
    let outcome = {
        let send = tokio::time::timeout_at(hard_deadline.into(), provider.send(request, &mut timeline));
        match cut {
            Some(cut) => tokio::select! {
                biased;
                outcome = send => Some(outcome),
                () = cut.cancelled() => None,
            },
            None => Some(send.await),
        }
    };
    let ended = Instant::now();
    let error = match outcome {
        Some(Ok(Ok(()))) => None,
        Some(Ok(Err(e))) => Some(e),
        Some(Err(_)) => Some(RequestError::new(ErrorClass::Timeout, "request exceeded its total deadline")),
        None => Some(cut_error(cut.and_then(Cancel::reason))),
    };
    let start_us = scheduled.saturating_duration_since(level_start).as_micros() as u64;
    timeline.into_record(index, phase, error, ended, start_us)
}

/// How a level's load is driven.
#[derive(Debug, Clone)]
pub(crate) enum Drive {
    /// N in flight (fixed, or following a profile).
    Closed(ClosedPlan),
    /// Arrivals on a schedule.
    Open(OpenPlan),
    /// Conversations: sessions of turns, closed or open loop.
    Sessions(sessions::SessionPlan),
}

/// Runs one level as `drive` says; request `i` sends `requests[i % len]`.
pub(crate) async fn run_level(
    provider: Arc<Provider>,
    requests: Arc<Vec<GenRequest>>,
    drive: &Drive,
    opts: RequestOptions,
    observer: Arc<dyn Observer + '_>,
    cancel: &Cancel,
) -> LevelOutcome {
    match drive {
        Drive::Closed(plan) => closed_loop_plan(provider, requests, plan, opts, observer, cancel).await,
        Drive::Open(plan) => open_loop(provider, requests, plan, opts, observer, cancel).await,
        Drive::Sessions(plan) => sessions::session_loop(provider, plan, opts, observer, cancel).await,
    }
}

/// What a level produced.
pub(crate) struct LevelOutcome {
    /// Every finished request, warm-up included, in index order; none when
    /// the observer keeps them ([`Observer::keeps_records`]).
    pub(crate) records: Vec<RequestRecord>,
    /// The level was cancelled before all requests finished.
    pub(crate) interrupted: bool,
    /// Per dispatched request, in index order: how late its task started
    /// running after its scheduled instant, µs (the generator's own lag,
    /// before any `max_in_flight` wait). Empty for closed loops, and when
    /// the observer keeps the records (each carries its own).
    pub(crate) dispatch_lag_us: Vec<u64>,
    /// The client's CPU use over the level.
    pub(crate) cpu: Option<cpu::CpuUse>,
    /// When the level began: the instant its records' `start_us` count from.
    pub(crate) start: Instant,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cancel_before_start_returns_immediately() {
        let c = Cancel::default();
        c.cancel();
        tokio::time::timeout(Duration::from_secs(1), c.cancelled()).await.unwrap();
        assert!(c.is_cancelled());
    }
}

#[cfg(test)]
mod timing_tests;
