//! Open loop: requests start on a precomputed schedule whatever the server
//! does, as independent users would. Each request is due at an absolute
//! instant (level start + its offset), so lateness never accumulates into
//! drift, and its latency counts from that instant: a client or server
//! that falls behind shows the delay instead of hiding it (coordinated
//! omission).
//!
//! A dedicated pacer thread sleeps until shortly before each deadline and
//! spins the rest, then spawns the request onto the client runtime.
//! tokio's timer wheel has 1 ms granularity and would quantize (and, at
//! hundreds of requests per second, under-deliver) the schedule; a thread
//! sleep is precise to ~60 µs on Linux, and the short spin takes the rest.
//! Each task notes how late it began (`dispatch_lag_us`, the generator's
//! own lag); with `max_in_flight` it may then wait for a slot, which shows
//! in `queue` (`sent − scheduled`) but is the cap's doing, not lag.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc};

use super::window::Window;
use super::{Cancel, LevelOutcome, Observer, RequestOptions, measure};
use crate::provider::{GenRequest, Provider};
use crate::record::{Phase, RequestRecord, Timeline};

/// The pacer sleeps until this long before a deadline, then spins.
const SPIN: Duration = Duration::from_micros(150);
/// The pacer's longest sleep, so it notices a cancel promptly.
const MAX_SLEEP: Duration = Duration::from_millis(50);
/// The first deadline is this far after the call, so the pacer thread is
/// running before it.
const LEAD: Duration = Duration::from_millis(5);

/// One open-loop level.
#[derive(Debug, Clone)]
pub(crate) struct OpenPlan {
    /// When each request is due, from the level's start; sorted.
    pub(crate) offsets: Arc<[Duration]>,
    /// The first `warmup` requests are warm-up.
    pub(crate) warmup: u64,
    /// At most this many in flight; later ones wait (and their wait shows in
    /// `queue` and in latency, which still counts from the schedule).
    pub(crate) max_in_flight: Option<u32>,
    /// The load window of a duration-bounded level (no offset is past it).
    pub(crate) end: Option<Duration>,
    /// After `end`, how long requests in flight may still finish.
    pub(crate) grace: Duration,
    /// Cores the client may use, for the CPU self-check.
    pub(crate) client_cores: usize,
}

/// Runs `plan`; request `i` sends `requests[i % len]`.
pub(crate) async fn open_loop(
    provider: Arc<Provider>,
    requests: Arc<Vec<GenRequest>>,
    plan: &OpenPlan,
    opts: RequestOptions,
    observer: Arc<dyn Observer + '_>,
    cancel: &Cancel,
) -> LevelOutcome {
    let n = plan.offsets.len();
    let start = Instant::now() + LEAD;
    // Kept for the outcome only when the records are (they carry theirs).
    let keep_lags = !observer.keeps_records();
    let mut window = Window::open(start, plan.end, plan.grace, plan.client_cores, observer, n);
    let (tx, mut rx) = mpsc::unbounded_channel::<(u64, u64, Option<RequestRecord>)>();
    let pacer = if requests.is_empty() {
        drop(tx);
        None
    } else {
        let ctx = Dispatch {
            handle: tokio::runtime::Handle::current(),
            provider,
            requests,
            offsets: plan.offsets.clone(),
            warmup: plan.warmup,
            slots: plan.max_in_flight.map(|m| Arc::new(Semaphore::new(m.max(1) as usize))),
            opts,
            level_start: start,
            cut: window.cut.clone(),
            cancel: cancel.clone(),
            tx,
        };
        std::thread::Builder::new().name("llmbench-pacer".into()).spawn(move || ctx.run()).ok()
    };
    let mut lags = vec![0u64; if keep_lags { n } else { 0 }];
    let cut_at = window.cut_at();
    loop {
        let cut = window.cut.clone();
        let cut_sleep = async {
            match cut_at {
                Some(at) if !cut.is_cancelled() => tokio::time::sleep_until(at.into()).await,
                _ => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            // The pacer stops dispatching; the requests in flight (or
            // waiting for a slot) end now as records saying why.
            () = cancel.cancelled(), if !window.interrupted() => window.interrupt(cancel),
            msg = rx.recv() => match msg {
                Some((i, lag, record)) => {
                    if let Some(slot) = lags.get_mut(i as usize) {
                        *slot = lag;
                    }
                    if let Some(mut record) = record {
                        record.dispatch_lag_us = Some(lag);
                        window.accept(record);
                    }
                }
                None => break,
            },
            () = cut_sleep => window.cut.cancel(),
        }
    }
    if let Some(pacer) = pacer {
        let _ = pacer.join();
    }
    lags.truncate(window.indices());
    window.close(lags)
}

/// What the pacer thread needs.
struct Dispatch {
    handle: tokio::runtime::Handle,
    provider: Arc<Provider>,
    requests: Arc<Vec<GenRequest>>,
    offsets: Arc<[Duration]>,
    warmup: u64,
    slots: Option<Arc<Semaphore>>,
    opts: RequestOptions,
    level_start: Instant,
    cut: Cancel,
    cancel: Cancel,
    tx: mpsc::UnboundedSender<(u64, u64, Option<RequestRecord>)>,
}

impl Dispatch {
    fn run(self) {
        let pool = self.requests.len() as u64;
        for (i, offset) in self.offsets.iter().enumerate() {
            let scheduled = self.level_start + *offset;
            if !wait_until(scheduled, &self.cancel) {
                break;
            }
            let i = i as u64;
            let phase = if i < self.warmup { Phase::Warmup } else { Phase::Measured };
            let (provider, requests, tx) = (self.provider.clone(), self.requests.clone(), self.tx.clone());
            let (cut, slots, opts, level_start) = (self.cut.clone(), self.slots.clone(), self.opts, self.level_start);
            self.handle.spawn(async move {
                let lag = Instant::now().saturating_duration_since(scheduled).as_micros() as u64;
                // An interruption reaches the task through `cut` (open_loop
                // passes it on), so the request still leaves a record.
                let record = async {
                    let _slot = match &slots {
                        Some(s) => tokio::select! {
                            biased;
                            () = cut.cancelled() => return cut_record(i, phase, opts, scheduled, level_start, &cut),
                            slot = s.clone().acquire_owned() => slot.ok(),
                        },
                        None => None,
                    };
                    let request = &requests[(i % pool) as usize];
                    let mut r = measure(&provider, request, i, phase, opts, scheduled, level_start, Some(&cut)).await;
                    r.concurrency = 0;
                    r
                }
                .await;
                let _ = tx.send((i, lag, Some(record)));
            });
        }
    }
}

/// A request cut at the end of the run (or by an interruption) before it
/// could be sent (it was waiting for a `max_in_flight` slot).
fn cut_record(
    index: u64,
    phase: Phase,
    opts: RequestOptions,
    scheduled: Instant,
    level_start: Instant,
    cut: &Cancel,
) -> RequestRecord {
    let timeline = Timeline::new(scheduled, opts.deadlines, 0, false);
    let start_us = scheduled.saturating_duration_since(level_start).as_micros() as u64;
    let error = super::cut_error(cut.reason());
    let mut r = timeline.into_record(index, phase, Some(error), Instant::now(), start_us);
    r.concurrency = 0;
    r
}

/// Sleeps until `due` (sleeping most of the way, spinning the last
/// [`SPIN`]); false if cancelled first.
fn wait_until(due: Instant, cancel: &Cancel) -> bool {
    loop {
        if cancel.is_cancelled() {
            return false;
        }
        let now = Instant::now();
        if now >= due {
            return true;
        }
        let left = due - now;
        if left > SPIN {
            std::thread::sleep((left - SPIN).min(MAX_SLEEP));
        } else {
            while Instant::now() < due {
                std::hint::spin_loop();
            }
            return true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Quiet;
    use crate::load::closed::tests::{opts, provider};
    use crate::load::schedule::{Arrival, Rate, profiled, stationary};
    use crate::load::stages::StagesPlan;
    use crate::record::ErrorClass;
    use crate::sim::{Delay, SimConfig, SimServer};

    fn plan(offsets: Vec<Duration>) -> OpenPlan {
        OpenPlan {
            offsets: offsets.into(),
            warmup: 0,
            max_in_flight: None,
            end: None,
            grace: Duration::ZERO,
            client_cores: 1,
        }
    }

    async fn sim(ttft_ms: u64, capacity: Option<u32>) -> SimServer {
        let config = SimConfig {
            ttft: Delay::ms(ttft_ms),
            itl: Delay::ms(1),
            output_tokens: Some(4),
            capacity,
            ..SimConfig::default()
        };
        SimServer::start(config).await.unwrap()
    }

    fn requests(n: u64) -> Arc<Vec<GenRequest>> {
        Arc::new((0..n).map(|i| crate::Workload::synthetic().input_tokens(16).request(i)).collect())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_start_on_schedule_and_latency_counts_from_it() {
        let sim = sim(5, None).await;
        let offsets = stationary(Rate(100.0), Arrival::Constant, 60, 0);
        let p = plan(offsets.clone());
        let out =
            open_loop(Arc::new(provider(sim.base_url())), requests(8), &p, opts(), Arc::new(Quiet), &Cancel::default())
                .await;
        assert_eq!(out.records.len(), 60);
        for (r, off) in out.records.iter().zip(&offsets) {
            assert!(r.is_ok(), "{:?}", r.error);
            assert_eq!(r.start_us, off.as_micros() as u64, "scheduled is the deadline, not when it ran");
            assert!(r.queue_ms >= 0.0 && r.e2e_ms > 5.0);
            assert_eq!(r.concurrency, 0);
        }
        let mut lags = out.dispatch_lag_us.clone();
        lags.sort_unstable();
        // Generous: a loaded 2-core machine. examples/open_loop.rs measures.
        assert!(lags[lags.len() / 2] < 25_000, "median dispatch lag {} µs", lags[lags.len() / 2]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_spike_produces_its_rate_profile() {
        let sim = sim(1, None).await;
        let stages = StagesPlan::parse("spike:50/s*4:1s").unwrap();
        let offsets = profiled(&stages.profile(), Arrival::Constant, 0);
        let p = plan(offsets);
        let out =
            open_loop(Arc::new(provider(sim.base_url())), requests(8), &p, opts(), Arc::new(Quiet), &Cancel::default())
                .await;
        let count = |from: u64, to: u64| out.records.iter().filter(|r| (from..to).contains(&r.start_us)).count();
        // 0.4 s at 50/s, 0.2 s at 200/s, 0.4 s at 50/s, from the recorded scheduled times.
        let (base, peak, after) = (count(0, 400_000), count(400_000, 600_000), count(600_000, 1_000_000));
        assert!((19..=21).contains(&base), "{base}");
        assert!((39..=41).contains(&peak), "{peak}");
        assert!((19..=21).contains(&after), "{after}");
        assert!(out.records.iter().all(|r| r.is_ok()));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_interruption_records_the_requests_in_flight_and_waiting() {
        // Capacity 1, 200 ms per request, 50/s capped at 2 in flight: at the
        // cancel some are in flight and some wait for a slot.
        let sim = sim(200, Some(1)).await;
        let offsets = stationary(Rate(50.0), Arrival::Constant, 50, 0);
        let p = OpenPlan { max_in_flight: Some(2), ..plan(offsets) };
        let cancel = Cancel::default();
        let stopper = {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(500)).await;
                cancel.cancel();
            })
        };
        let out =
            open_loop(Arc::new(provider(sim.base_url())), requests(8), &p, opts(), Arc::new(Quiet), &cancel).await;
        stopper.await.unwrap();
        assert!(out.interrupted);
        let ok = out.records.iter().filter(|r| r.is_ok()).count();
        let interrupted = out
            .records
            .iter()
            .filter(|r| {
                r.error
                    .as_ref()
                    .is_some_and(|e| e.class == ErrorClass::Interrupted && e.message == crate::load::INTERRUPTED)
            })
            .count();
        assert!(ok >= 1, "completed requests are kept");
        // Every request dispatched before the cancel (~25) has a record.
        assert!(interrupted >= 10, "{interrupted} interrupted of {}", out.records.len());
        assert_eq!(ok + interrupted, out.records.len());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_capped_overloaded_run_is_cut_at_the_end_not_dropped() {
        // Capacity 1 and 40 ms per request cannot serve 100/s: a queue builds.
        let sim = sim(40, Some(1)).await;
        let end = Duration::from_millis(300);
        let offsets: Vec<Duration> =
            stationary(Rate(100.0), Arrival::Constant, 30, 0).into_iter().filter(|o| *o < end).collect();
        let n = offsets.len();
        let p = OpenPlan { max_in_flight: Some(2), end: Some(end), grace: Duration::from_millis(100), ..plan(offsets) };
        let out =
            open_loop(Arc::new(provider(sim.base_url())), requests(8), &p, opts(), Arc::new(Quiet), &Cancel::default())
                .await;
        assert_eq!(out.records.len(), n, "every scheduled request has a record");
        let cut =
            out.records.iter().filter(|r| r.error.as_ref().is_some_and(|e| e.class == ErrorClass::CutAtEnd)).count();
        let ok = out.records.iter().filter(|r| r.is_ok()).count();
        assert!((4..=12).contains(&ok), "{ok} ok");
        assert_eq!(ok + cut, n);
        // Latency of the served ones counts from the schedule: queueing shows.
        let worst = out.records.iter().filter(|r| r.is_ok()).map(|r| r.e2e_ms).fold(0.0, f64::max);
        assert!(worst > 150.0, "worst e2e {worst} ms");
    }
}
