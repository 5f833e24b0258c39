//! llmbench's own client against a server in another process, with what
//! the client cost: what `examples/how_true.rs` holds against a minimal
//! reference client and the server's flush log.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::client;
use crate::load::schedule::{Arrival, Rate, stationary};
use crate::load::{self, Cancel, ClosedPlan, Drive, OpenPlan, Quiet, RequestOptions};
use crate::record::{Deadlines, Phase, RequestRecord};
use crate::workload::Workload;

/// What one client run measured, and what it cost this process.
#[derive(Debug, Clone)]
pub struct ClientRun {
    /// The measured requests (warm-up left out).
    pub records: Vec<RequestRecord>,
    /// Per dispatched request, how late its task began (open loop), µs.
    pub dispatch_lag_us: Vec<u64>,
    /// Wall time of the run, seconds.
    pub wall_s: f64,
    /// CPU this process used over the run (user + system), seconds.
    pub cpu_s: f64,
    /// Resident memory when the run started, KiB.
    pub rss_start_kib: u64,
    /// The most resident memory seen during the run, KiB.
    pub rss_peak_kib: u64,
}

/// How a run drives load.
#[derive(Debug, Clone, Copy)]
pub enum Load {
    /// `streams` in flight; the first `warmup` requests discarded.
    Closed {
        /// Requests in flight.
        streams: u32,
        /// Warm-up requests (before the measured ones).
        warmup: u32,
    },
    /// Constant arrivals at `rate` per second.
    Open {
        /// Requests per second.
        rate: f64,
    },
}

/// Runs `requests` measured requests of `output_tokens` tokens against the
/// OpenAI-compatible server at `base_url` (`http://127.0.0.1:PORT/v1`), with
/// every core for the client (the server is another process).
pub fn llmbench_run(base_url: &str, load: Load, requests: u32, output_tokens: u32) -> std::io::Result<ClientRun> {
    let provider = Arc::new(client(base_url.to_owned())?);
    let workload = Workload::synthetic().input_tokens(32).output_tokens(output_tokens);
    let deadline = Duration::from_secs(600);
    let opts = RequestOptions {
        deadlines: Deadlines { first_content: deadline, total: deadline, idle: deadline },
        expected_chunks: output_tokens as usize,
        capture_text: false,
    };
    let cores = load::cpu::client_cores(0);
    let (drive, warmup) = match load {
        Load::Closed { streams, warmup } => {
            let total = Some(u64::from(warmup) + u64::from(requests));
            let concurrency = load::closed::Concurrency::Fixed(streams);
            let plan = ClosedPlan {
                warmup: warmup.into(),
                concurrency,
                total,
                end: None,
                grace: Duration::ZERO,
                client_cores: cores,
            };
            (Drive::Closed(plan), warmup)
        }
        Load::Open { rate } => {
            let offsets = stationary(Rate(rate), Arrival::Constant, u64::from(requests), 0);
            let plan = OpenPlan {
                offsets: offsets.into(),
                warmup: 0,
                max_in_flight: None,
                end: None,
                grace: Duration::ZERO,
                client_cores: cores,
            };
            (Drive::Open(plan), 0)
        }
    };
    let all: Vec<_> = (0..u64::from(warmup) + u64::from(requests)).map(|i| workload.request(i)).collect();
    let runtime = load::client_runtime(0)?;
    let meter = Meter::start();
    let started = Instant::now();
    let outcome =
        runtime.block_on(load::run_level(provider, Arc::new(all), &drive, opts, Arc::new(Quiet), &Cancel::default()));
    let wall_s = started.elapsed().as_secs_f64();
    let (cpu_s, rss_start_kib, rss_peak_kib) = meter.stop();
    let records = outcome.records.into_iter().filter(|r| r.phase == Phase::Measured).collect();
    Ok(ClientRun { records, dispatch_lag_us: outcome.dispatch_lag_us, wall_s, cpu_s, rss_start_kib, rss_peak_kib })
}

/// This process's CPU time and resident memory over a stretch of work
/// (Linux; zeros elsewhere): memory is sampled every 20 ms by a thread.
pub struct Meter {
    cpu_start: f64,
    rss_start: u64,
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    sampler: Option<std::thread::JoinHandle<()>>,
}

impl Meter {
    /// Starts measuring.
    pub fn start() -> Meter {
        let rss_start = rss_kib();
        let (peak, stop) = (Arc::new(AtomicU64::new(rss_start)), Arc::new(AtomicBool::new(false)));
        let sampler = {
            let (peak, stop) = (peak.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(rss_kib(), Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        Meter { cpu_start: cpu_seconds(), rss_start, peak, stop, sampler: Some(sampler) }
    }

    /// Stops: CPU seconds used, resident memory at the start and at its peak (KiB).
    pub fn stop(mut self) -> (f64, u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(s) = self.sampler.take() {
            let _ = s.join();
        }
        let peak = self.peak.load(Ordering::Relaxed).max(rss_kib());
        (cpu_seconds() - self.cpu_start, self.rss_start, peak)
    }
}

/// User + system CPU of this process so far, seconds (from `/proc/self/stat`).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return 0.0 };
    // Fields after the command name (which may hold spaces) start after ')'.
    let fields: Vec<&str> = stat.rsplit_once(')').map_or("", |(_, rest)| rest).split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 (1-based), so 11 and 12 here,
    // in clock ticks of USER_HZ, which is 100 on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

/// Resident memory of this process, KiB (from `/proc/self/status`).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:").map(|v| v.trim().trim_end_matches(" kB").trim().parse().ok()))
        })
        .flatten()
        .unwrap_or(0)
}
