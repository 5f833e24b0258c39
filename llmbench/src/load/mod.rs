//! When to send requests: the cold-start request, warm-up, and closed-loop
//! concurrency (N in flight, a new request as soon as one completes).
//!
//! This module owns the clock: it stamps each request's `scheduled` time and
//! hands the provider a fresh [`Timeline`]. It knows nothing of protocols or
//! statistics; finished records go to an [`Observer`] and back to the caller.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc};

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
}

/// An observer that ignores everything.
pub(crate) struct Quiet;

impl Observer for Quiet {
    fn request_done(&self, _: &RequestRecord) {}
}

/// Stops a run early (Ctrl-C): requests in flight are abandoned, completed
/// ones are kept.
#[derive(Debug, Default, Clone)]
pub(crate) struct Cancel {
    inner: Arc<(AtomicBool, Notify)>,
}

impl Cancel {
    pub(crate) fn cancel(&self) {
        self.inner.0.store(true, Ordering::SeqCst);
        self.inner.1.notify_waiters();
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.inner.0.load(Ordering::SeqCst)
    }

    async fn cancelled(&self) {
        let notified = self.inner.1.notified();
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
    measure(provider, request, index, phase, opts, scheduled, level_start).await
}

async fn measure(
    provider: &Provider,
    request: &GenRequest,
    index: u64,
    phase: Phase,
    opts: RequestOptions,
    scheduled: Instant,
    level_start: Instant,
) -> RequestRecord {
    let mut timeline = Timeline::new(scheduled, opts.deadlines, opts.expected_chunks, opts.capture_text);
    // Providers enforce deadlines on every read; this outer bound only
    // guards against one that blocks somewhere else.
    let hard_deadline = scheduled + opts.deadlines.total + Duration::from_secs(1);
    let outcome = tokio::time::timeout_at(hard_deadline.into(), provider.send(request, &mut timeline)).await;
    let ended = Instant::now();
    let error = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e),
        Err(_) => Some(RequestError::new(ErrorClass::Timeout, "request exceeded its total deadline")),
    };
    let start_us = scheduled.saturating_duration_since(level_start).as_micros() as u64;
    timeline.into_record(index, phase, error, ended, start_us)
}

/// What a closed-loop level produced.
pub(crate) struct LevelOutcome {
    /// Every finished request, warm-up included, in index order.
    pub(crate) records: Vec<RequestRecord>,
    /// The level was cancelled before all requests finished.
    pub(crate) interrupted: bool,
}

/// One closed-loop level: `concurrency` workers send `warmup` discarded
/// requests then `samples` measured ones, each starting a new request as
/// soon as its previous one finished. Request `i` of the level is
/// `requests[i]`; warm-up requests come first.
pub(crate) async fn closed_loop(
    provider: Arc<Provider>,
    requests: Arc<Vec<GenRequest>>,
    warmup: u64,
    concurrency: u32,
    opts: RequestOptions,
    observer: Arc<dyn Observer>,
    cancel: &Cancel,
) -> LevelOutcome {
    let total = requests.len() as u64;
    let next = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = mpsc::unbounded_channel::<RequestRecord>();
    let level_start = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (provider, requests, next, tx) = (provider.clone(), requests.clone(), next.clone(), tx.clone());
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let phase = if i < warmup { Phase::Warmup } else { Phase::Measured };
                let mut record = run_one(&provider, &requests[i as usize], i, phase, opts, level_start).await;
                record.concurrency = concurrency;
                if tx.send(record).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);

    let mut records = Vec::with_capacity(total as usize);
    let mut interrupted = false;
    loop {
        tokio::select! {
            biased;
            maybe = rx.recv() => match maybe {
                Some(record) => {
                    observer.request_done(&record);
                    records.push(record);
                }
                None => break,
            },
            () = cancel.cancelled() => {
                interrupted = true;
                workers.abort_all();
                // Keep whatever completed before the abort took effect.
                while let Ok(record) = rx.try_recv() {
                    records.push(record);
                }
                break;
            }
        }
    }
    while workers.join_next().await.is_some() {}
    records.sort_by_key(|r| r.index);
    LevelOutcome { records, interrupted }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Count(Mutex<Vec<Phase>>);

    impl Observer for Count {
        fn request_done(&self, record: &RequestRecord) {
            self.0.lock().unwrap().push(record.phase);
        }
    }

    #[tokio::test]
    async fn cancel_before_start_returns_immediately() {
        let c = Cancel::default();
        c.cancel();
        tokio::time::timeout(Duration::from_secs(1), c.cancelled()).await.unwrap();
        assert!(c.is_cancelled());
    }

    #[tokio::test]
    async fn failed_connections_are_classified_records_not_crashes() {
        // Nothing listens on this port: every request fails fast.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let provider = Provider::OpenAi(
            crate::provider::openai::OpenAiProvider::new(crate::provider::openai::OpenAiSettings {
                base_url: format!("http://127.0.0.1:{port}/v1"),
                model: "m".into(),
                api_key: None,
                endpoint: crate::provider::openai::Endpoint::Chat,
                connect_timeout: Duration::from_secs(2),
                include_usage: true,
                send_min_tokens: false,
                extra_body: None,
            })
            .unwrap(),
        );
        let requests: Vec<GenRequest> = (0..6).map(|i| crate::Workload::synthetic().request(i)).collect();
        let opts = RequestOptions {
            deadlines: Deadlines { first_content: Duration::from_secs(2), total: Duration::from_secs(3) },
            expected_chunks: 8,
            capture_text: false,
        };
        let observer = Arc::new(Count::default());
        let out = closed_loop(Arc::new(provider), Arc::new(requests), 2, 3, opts, observer.clone(), &Cancel::default()).await;
        assert!(!out.interrupted);
        assert_eq!(out.records.len(), 6);
        assert_eq!(out.records.iter().filter(|r| r.phase == Phase::Warmup).count(), 2);
        assert!(out.records.iter().all(|r| r.error.is_some()));
        assert_eq!(observer.0.lock().unwrap().len(), 6);
        assert!(out.records.windows(2).all(|w| w[0].index < w[1].index));
    }
}

#[cfg(test)]
mod timing_tests;
