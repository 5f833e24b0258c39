//! Closed loop: N requests in flight, a new one as soon as one completes.
//! N is fixed, or follows a concurrency profile (stages, spike). A request's
//! `scheduled` instant is when its slot freed (or opened), stamped by the
//! dispatcher before the request task is spawned, so any lag in starting it
//! shows in `queue`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use super::stages::Profile;
use super::window::Window;
use super::{Cancel, LevelOutcome, Observer, RequestOptions, cpu, measure};
use crate::provider::{GenRequest, Provider};
use crate::record::{Phase, RequestRecord};

/// How often a changing concurrency target is re-read.
const PROFILE_TICK: Duration = Duration::from_millis(10);

/// How many in flight.
#[derive(Debug, Clone)]
pub(crate) enum Concurrency {
    /// Always N.
    Fixed(u32),
    /// Following a profile over the level's time (rounded to the nearest
    /// integer, at least 1 while the profile lasts).
    Profile(Profile),
}

impl Concurrency {
    pub(crate) fn at(&self, t: Duration) -> u32 {
        match self {
            Concurrency::Fixed(n) => (*n).max(1),
            Concurrency::Profile(p) => (p.at(t.as_secs_f64()).round() as u32).max(1),
        }
    }
}

/// One closed-loop level.
#[derive(Debug, Clone)]
pub(crate) struct ClosedPlan {
    /// The first `warmup` requests are warm-up.
    pub(crate) warmup: u64,
    /// How many in flight.
    pub(crate) concurrency: Concurrency,
    /// Stop after this many requests (warm-up included); `None` with `end`.
    pub(crate) total: Option<u64>,
    /// Stop starting requests this long after the level starts.
    pub(crate) end: Option<Duration>,
    /// After `end`, how long requests in flight may still finish.
    pub(crate) grace: Duration,
    /// Cores the client may use, for the CPU self-check.
    pub(crate) client_cores: usize,
}

/// One count-bounded level at fixed `concurrency`: `warmup` discarded
/// requests then the rest measured. Request `i` of the level is
/// `requests[i]`; warm-up requests come first.
pub(crate) async fn closed_loop(
    provider: Arc<Provider>,
    requests: Arc<Vec<GenRequest>>,
    warmup: u64,
    concurrency: u32,
    opts: RequestOptions,
    observer: Arc<dyn Observer + '_>,
    cancel: &Cancel,
) -> LevelOutcome {
    let plan = ClosedPlan {
        warmup,
        concurrency: Concurrency::Fixed(concurrency),
        total: Some(requests.len() as u64),
        end: None,
        grace: Duration::ZERO,
        client_cores: cpu::client_cores(0),
    };
    closed_loop_plan(provider, requests, &plan, opts, observer, cancel).await
}

/// One closed-loop level as `plan` says. Request `i` sends
/// `requests[i % len]`.
pub(crate) async fn closed_loop_plan(
    provider: Arc<Provider>,
    requests: Arc<Vec<GenRequest>>,
    plan: &ClosedPlan,
    opts: RequestOptions,
    observer: Arc<dyn Observer + '_>,
    cancel: &Cancel,
) -> LevelOutcome {
    let expected = plan.total.unwrap_or(1024) as usize;
    let mut window = Window::open(Instant::now(), plan.end, plan.grace, plan.client_cores, observer, expected);
    let level_start = window.start;
    let mut tasks: JoinSet<RequestRecord> = JoinSet::new();
    let mut next: u64 = 0;
    let varying = matches!(plan.concurrency, Concurrency::Profile(_));
    let (end_at, cut_at) = (window.end_at(), window.cut_at());
    let pool = requests.len().max(1) as u64;
    loop {
        let now = Instant::now();
        let dispatching = plan.total.is_none_or(|t| next < t) && end_at.is_none_or(|e| now < e) && !requests.is_empty();
        if dispatching {
            let target = plan.concurrency.at(now.duration_since(level_start));
            while (tasks.len() as u32) < target && plan.total.is_none_or(|t| next < t) {
                let i = next;
                next += 1;
                let phase = if i < plan.warmup { Phase::Warmup } else { Phase::Measured };
                let (provider, requests, cut) = (provider.clone(), requests.clone(), window.cut.clone());
                let scheduled = Instant::now();
                tasks.spawn(async move {
                    let request = &requests[(i % pool) as usize];
                    let mut r = measure(&provider, request, i, phase, opts, scheduled, level_start, Some(&cut)).await;
                    r.concurrency = target;
                    r
                });
            }
        } else if tasks.is_empty() {
            break;
        }
        // What to wait for besides a completion: the next change of target,
        // the end of dispatching, or the cut.
        let wake = if dispatching {
            match (varying, end_at) {
                (true, Some(e)) => Some((now + PROFILE_TICK).min(e)),
                (true, None) => Some(now + PROFILE_TICK),
                (false, e) => e,
            }
        } else {
            cut_at.filter(|_| !window.cut.is_cancelled())
        };
        let sleep = async {
            match wake {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            () = cancel.cancelled() => {
                window.interrupt(cancel);
                while let Some(done) = tasks.join_next().await {
                    if let Ok(record) = done {
                        window.accept(record);
                    }
                }
                break;
            }
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if let Ok(record) = done {
                    window.accept(record);
                }
            }
            () = sleep => {
                if !dispatching && cut_at.is_some_and(|c| Instant::now() >= c) {
                    window.cut.cancel();
                }
            }
        }
    }
    window.close(Vec::new())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::load::Quiet;
    use crate::load::stages::StagesPlan;
    use crate::provider::openai::{OpenAiProvider, OpenAiSettings};
    use crate::record::{Deadlines, ErrorClass};
    use crate::sim::{Delay, SimConfig, SimServer};
    use std::sync::Mutex;

    #[derive(Default)]
    struct Count(Mutex<Vec<Phase>>);

    impl Observer for Count {
        fn request_done(&self, record: &RequestRecord) {
            self.0.lock().unwrap().push(record.phase);
        }
    }

    pub(crate) fn provider(base_url: String) -> Provider {
        Provider::OpenAi(OpenAiProvider::new(OpenAiSettings::chat(base_url, "m")).unwrap())
    }

    /// A simulator answering `tokens` tokens, the first after `ttft_ms`,
    /// then one every `itl_ms`; and `n` synthetic requests.
    async fn sim_and_requests(ttft_ms: u64, itl_ms: u64, tokens: u32, n: u64) -> (SimServer, Vec<GenRequest>) {
        let config = SimConfig {
            ttft: Delay::ms(ttft_ms),
            itl: Delay::ms(itl_ms),
            output_tokens: Some(tokens),
            ..SimConfig::default()
        };
        let sim = SimServer::start(config).await.unwrap();
        (sim, (0..n).map(|i| crate::Workload::synthetic().request(i)).collect())
    }

    /// Runs `plan` against `sim`, seeing nothing and never cancelled.
    async fn run_plan(sim: &SimServer, requests: Vec<GenRequest>, plan: &ClosedPlan) -> LevelOutcome {
        let provider = Arc::new(provider(sim.base_url()));
        closed_loop_plan(provider, Arc::new(requests), plan, opts(), Arc::new(Quiet), &Cancel::default()).await
    }

    pub(crate) fn opts() -> RequestOptions {
        RequestOptions {
            deadlines: Deadlines {
                first_content: Duration::from_secs(5),
                total: Duration::from_secs(10),
                idle: Duration::from_secs(10),
            },
            expected_chunks: 8,
            capture_text: false,
        }
    }

    #[tokio::test]
    async fn failed_connections_are_classified_records_not_crashes() {
        // Nothing listens on this port: every request fails fast.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let provider = provider(format!("http://127.0.0.1:{port}/v1"));
        let requests: Vec<GenRequest> = (0..6).map(|i| crate::Workload::synthetic().request(i)).collect();
        let observer = Arc::new(Count::default());
        let out =
            closed_loop(Arc::new(provider), Arc::new(requests), 2, 3, opts(), observer.clone(), &Cancel::default())
                .await;
        assert!(!out.interrupted);
        assert_eq!(out.records.len(), 6);
        assert_eq!(out.records.iter().filter(|r| r.phase == Phase::Warmup).count(), 2);
        assert!(out.records.iter().all(|r| r.error.is_some()));
        assert_eq!(observer.0.lock().unwrap().len(), 6);
        assert!(out.records.windows(2).all(|w| w[0].index < w[1].index));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_duration_run_cuts_what_is_still_in_flight_after_the_grace() {
        // 10 ms TTFT, 60 ms gaps, 8 tokens: each request takes ~430 ms.
        let (sim, requests) = sim_and_requests(10, 60, 8, 4).await;
        let plan = ClosedPlan {
            warmup: 0,
            concurrency: Concurrency::Fixed(3),
            total: None,
            end: Some(Duration::from_millis(600)),
            grace: Duration::from_millis(100),
            client_cores: 1,
        };
        let started = Instant::now();
        let out = run_plan(&sim, requests, &plan).await;
        // First wave ends at ~430 ms, the second starts then and is cut at 700 ms.
        assert!(started.elapsed() < Duration::from_millis(1500));
        assert_eq!(out.records.len(), 6, "{:?}", out.records.iter().map(|r| &r.error).collect::<Vec<_>>());
        let cut: Vec<_> =
            out.records.iter().filter(|r| r.error.as_ref().is_some_and(|e| e.class == ErrorClass::CutAtEnd)).collect();
        assert_eq!(cut.len(), 3);
        assert!(out.records.iter().take(3).all(|r| r.is_ok()));
        for r in cut {
            assert!(r.end_us() >= 690_000 && r.end_us() < 900_000, "cut at {} µs", r.end_us());
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_interruption_keeps_completed_requests_and_records_those_in_flight() {
        // ~5 ms per request at concurrency 1, then ~300 ms ones: the cancel
        // lands while the slow ones are in flight.
        let (sim, requests) = sim_and_requests(5, 100, 4, 40).await;
        let cancel = Cancel::default();
        let stopper = {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(700)).await;
                cancel.cancel_because("in flight when llmbench was interrupted (SIGTERM): cut");
            })
        };
        let started = Instant::now();
        let out =
            closed_loop(Arc::new(provider(sim.base_url())), Arc::new(requests), 0, 3, opts(), Arc::new(Quiet), &cancel)
                .await;
        stopper.await.unwrap();
        assert!(out.interrupted);
        assert!(started.elapsed() < Duration::from_millis(1500), "the cancel ends the level at once");
        let ok = out.records.iter().filter(|r| r.is_ok()).count();
        let cut: Vec<_> = out.records.iter().filter_map(|r| r.error.as_ref()).collect();
        assert!(ok >= 3, "the first wave completed: {ok}");
        assert_eq!(cut.len(), 3, "each of the 3 in flight has a record: {cut:?}");
        for e in cut {
            assert_eq!(e.class, ErrorClass::Interrupted);
            assert_eq!(e.message, "in flight when llmbench was interrupted (SIGTERM): cut");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrency_follows_stages() {
        let (sim, requests) = sim_and_requests(5, 5, 4, 16).await;
        let stages = StagesPlan::parse("300ms@2, 0s@6, 300ms@6").unwrap();
        let plan = ClosedPlan {
            warmup: 0,
            concurrency: Concurrency::Profile(stages.profile()),
            total: None,
            end: Some(stages.total()),
            grace: Duration::from_secs(2),
            client_cores: 1,
        };
        let out = run_plan(&sim, requests, &plan).await;
        assert!(out.records.iter().all(|r| r.is_ok()));
        let early = out.records.iter().filter(|r| r.start_us < 300_000).map(|r| r.concurrency).max();
        let late = out.records.iter().filter(|r| r.start_us >= 320_000).map(|r| r.concurrency).min();
        assert_eq!((early, late), (Some(2), Some(6)));
        // Twice-ish the requests per unit time once the target triples
        // (each takes ~25 ms; generous bounds for a loaded machine).
        let n_early = out.records.iter().filter(|r| r.start_us < 300_000).count();
        let n_late = out.records.iter().filter(|r| r.start_us >= 300_000).count();
        assert!(n_late as f64 > 1.8 * n_early as f64, "{n_early} then {n_late}");
    }
}
