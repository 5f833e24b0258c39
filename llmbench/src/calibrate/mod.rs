//! Self-measurement of the harness: how many chunks per second it can
//! ingest, and how closely its inter-token latencies match what the
//! simulator really sent. Run before trusting figures from a new machine;
//! `examples/overhead.rs` prints both.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::engine::sim_host::SimHost;
use crate::load::{self, Cancel, Quiet, RequestOptions};
use crate::provider::Provider;
use crate::provider::openai::{OpenAiProvider, OpenAiSettings};
use crate::record::{Deadlines, Phase};
use crate::sim::{Delay, SimConfig};
use crate::stats::LatencySummary;
use crate::workload::Workload;

mod model;
mod remote;
pub use model::model_run;
pub(crate) use model::run_summary;
pub use remote::{ClientRun, Load, Meter, llmbench_run};

/// Raises this process's open-file limit to the hard limit (many streams
/// need many descriptors); the limit it ends with, if known.
pub fn raise_fd_limit() -> Option<u64> {
    crate::process::raise_fd_limit()
}

/// The harness's ingest ceiling against a zero-delay simulator.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestFigures {
    /// Concurrent streams.
    pub streams: u32,
    /// Requests completed without error.
    pub ok: u64,
    /// Requests that failed (should be 0).
    pub failed: u64,
    /// Content chunks received.
    pub chunks: u64,
    /// Output tokens received (server usage).
    pub output_tokens: u64,
    /// Wall time of the measured requests, seconds.
    pub seconds: f64,
    /// `chunks / seconds`.
    pub chunks_per_s: f64,
    /// `output_tokens / seconds`.
    pub tokens_per_s: f64,
}

/// How closely the open-loop generator keeps its schedule.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenLoopFigures {
    /// The rate asked for, requests/s.
    pub offered_rate: f64,
    /// Requests/s the generator started (over the measured requests).
    pub achieved_rate: f64,
    /// `achieved / offered − 1`.
    pub rate_error: f64,
    /// How late request tasks began after their deadline, ms.
    pub schedule_lag: LatencySummary,
    /// `sent − scheduled` (lag plus the time to hand the request to the connection), ms.
    pub queue: LatencySummary,
    /// Requests that failed (should be 0).
    pub failed: u64,
    /// Requests measured.
    pub requests: u64,
    /// The client's CPU use over the level (Linux).
    pub cpu_busy: Option<f64>,
    /// Time the client's threads waited for a CPU, per second (Linux): a
    /// machine shared with other work.
    pub cpu_wait: Option<f64>,
    /// The self-check's verdict.
    pub valid: bool,
    /// Why not.
    pub invalid_reasons: Vec<String>,
}

/// Drives a fast simulator (1 ms TTFT, 4 one-token chunks 1 ms apart) at
/// `rate` requests/s with constant arrivals for `requests` measured
/// requests, and reports how well the open-loop generator kept its schedule.
pub fn open_loop_accuracy(rate: f64, requests: u32) -> std::io::Result<OpenLoopFigures> {
    use crate::load::schedule::{Arrival, Rate, stationary};
    use crate::load::{OpenPlan, cpu};
    let sim = SimHost::start(SimConfig {
        ttft: Delay::Fixed(Duration::from_millis(1)),
        itl: Delay::Fixed(Duration::from_millis(1)),
        output_tokens: Some(4),
        ..SimConfig::default()
    })?;
    let provider = Arc::new(client(sim.base_url())?);
    let workload = Workload::synthetic().input_tokens(32).output_tokens(4);
    let warmup = u64::from(requests / 10).max(10);
    let n = warmup + u64::from(requests);
    let all: Vec<_> = (0..n).map(|i| workload.request(i)).collect();
    let opts = RequestOptions {
        deadlines: Deadlines {
            first_content: Duration::from_secs(30),
            total: Duration::from_secs(60),
            idle: Duration::from_secs(60),
        },
        expected_chunks: 4,
        capture_text: false,
    };
    let plan = OpenPlan {
        offsets: stationary(Rate(rate), Arrival::Constant, n, 0).into(),
        warmup,
        max_in_flight: None,
        end: None,
        grace: Duration::ZERO,
        client_cores: cpu::client_cores(1),
    };
    let runtime = load::client_runtime(1)?;
    let outcome =
        runtime.block_on(load::open_loop(provider, Arc::new(all), &plan, opts, Arc::new(Quiet), &Cancel::default()));
    let measured: Vec<_> = outcome.records.iter().filter(|r| r.phase == Phase::Measured).cloned().collect();
    let check = crate::stats::selfcheck::check(
        &outcome.records,
        &crate::stats::selfcheck::LevelLoad {
            open: true,
            arrival: Some("constant".into()),
            cpu: outcome.cpu,
            ..Default::default()
        },
    );
    let empty = || LatencySummary::from_values(&[0.0]).expect("one value");
    let offered = check.offered_rate.unwrap_or(rate);
    let achieved = check.achieved_rate.unwrap_or(0.0);
    Ok(OpenLoopFigures {
        offered_rate: offered,
        achieved_rate: achieved,
        rate_error: achieved / offered - 1.0,
        schedule_lag: check.schedule_lag.clone().unwrap_or_else(empty),
        queue: LatencySummary::from_values(&measured.iter().map(|r| r.queue_ms).collect::<Vec<_>>())
            .unwrap_or_else(empty),
        failed: measured.iter().filter(|r| !r.is_ok()).count() as u64,
        requests: measured.len() as u64,
        cpu_busy: outcome.cpu.map(|c| c.busy),
        cpu_wait: outcome.cpu.map(|c| c.runnable_wait),
        valid: check.valid,
        invalid_reasons: check.invalid_reasons,
    })
}

/// How far the harness's measured gaps are from the simulator's flushes.
#[derive(Debug, Clone, PartialEq)]
pub struct ItlAccuracy {
    /// Concurrent streams.
    pub streams: u32,
    /// The simulator's configured gap.
    pub itl: Duration,
    /// Gaps compared.
    pub gaps: u64,
    /// Requests whose response could not be paired with a flush record.
    pub unpaired: u64,
    /// Distribution of |measured gap − flushed gap|, ms.
    pub abs_error: LatencySummary,
    /// Mean of (measured gap − flushed gap), ms: a bias, if any.
    pub mean_error_ms: f64,
    /// Distribution of the measured gaps themselves, ms.
    pub measured_itl: LatencySummary,
}

fn client(base_url: String) -> std::io::Result<Provider> {
    OpenAiProvider::new(OpenAiSettings::chat(base_url, "sim")).map(Provider::OpenAi).map_err(std::io::Error::other)
}

fn run_requests(
    sim: &SimHost,
    streams: u32,
    requests: u32,
    output_tokens: u32,
) -> std::io::Result<Vec<crate::record::RequestRecord>> {
    let provider = Arc::new(client(sim.base_url())?);
    let workload = Workload::synthetic().input_tokens(32).output_tokens(output_tokens);
    // Warm the connection pool with one request per stream, then measure.
    let warmup = u64::from(streams);
    let all: Vec<_> = (0..warmup + u64::from(requests)).map(|i| workload.request(i)).collect();
    let opts = RequestOptions {
        deadlines: Deadlines {
            first_content: Duration::from_secs(30),
            total: Duration::from_secs(120),
            idle: Duration::from_secs(120),
        },
        expected_chunks: output_tokens as usize,
        capture_text: false,
    };
    let runtime = load::client_runtime(1)?;
    let outcome = runtime.block_on(load::closed_loop(
        provider,
        Arc::new(all),
        warmup,
        streams,
        opts,
        Arc::new(Quiet),
        &Cancel::default(),
    ));
    Ok(outcome.records.into_iter().filter(|r| r.phase == Phase::Measured).collect())
}

/// One closed-loop level of `samples` measured requests (after one warm-up
/// request per stream) against a real simulator with `config`, over
/// loopback HTTP, as benchmark `bench` would run it: its summary and
/// records. Used to validate the regression gate on real runs
/// (`examples/stat_check.rs`).
pub fn sim_run(
    config: SimConfig,
    bench: &str,
    samples: u32,
    concurrency: u32,
    output_tokens: u32,
) -> std::io::Result<(crate::results::RunSummary, Vec<crate::record::RequestRecord>)> {
    let sim = SimHost::start(config)?;
    let mut records = run_requests(&sim, concurrency, samples, output_tokens)?;
    for r in &mut records {
        r.concurrency = concurrency;
    }
    let level = crate::stats::summarize_level(concurrency, &records);
    Ok((run_summary(bench, samples, &[concurrency], output_tokens, vec![level]), records))
}

/// Drives a zero-delay simulator with `streams` concurrent streams for
/// `requests` requests of `output_tokens` tokens, `chunk_tokens` per chunk,
/// and reports what the harness ingested per second.
pub fn ingest_ceiling(
    streams: u32,
    requests: u32,
    output_tokens: u32,
    chunk_tokens: u32,
) -> std::io::Result<IngestFigures> {
    let sim = SimHost::start(SimConfig {
        ttft: Delay::Fixed(Duration::ZERO),
        itl: Delay::Fixed(Duration::ZERO),
        chunk_tokens,
        output_tokens: Some(output_tokens),
        ..SimConfig::default()
    })?;
    let started = Instant::now();
    let records = run_requests(&sim, streams, requests, output_tokens)?;
    let _ = started;
    let start = records.iter().map(|r| r.start_us).min().unwrap_or(0);
    let end = records.iter().map(|r| r.end_us()).max().unwrap_or(start);
    let seconds = (end - start) as f64 / 1e6;
    let ok: Vec<_> = records.iter().filter(|r| r.is_ok()).collect();
    let chunks: u64 = ok.iter().map(|r| r.chunks).sum();
    let output_tokens: u64 = ok.iter().map(|r| r.output_tokens).sum();
    Ok(IngestFigures {
        streams,
        ok: ok.len() as u64,
        failed: (records.len() - ok.len()) as u64,
        chunks,
        output_tokens,
        seconds,
        chunks_per_s: chunks as f64 / seconds.max(1e-9),
        tokens_per_s: output_tokens as f64 / seconds.max(1e-9),
    })
}

/// Runs `streams` concurrent streams of `output_tokens` one-token chunks
/// `itl` apart (`rounds` requests per stream) and compares each gap the
/// harness measured with the gap between the simulator's flushes of the
/// same two chunks. Both clocks are this process's monotonic clock.
pub fn itl_accuracy(streams: u32, itl: Duration, output_tokens: u32, rounds: u32) -> std::io::Result<ItlAccuracy> {
    let sim = SimHost::start(SimConfig {
        ttft: Delay::Fixed(Duration::from_millis(20)),
        itl: Delay::Fixed(itl),
        output_tokens: Some(output_tokens),
        record_flushes: true,
        ..SimConfig::default()
    })?;
    let records = run_requests(&sim, streams, streams * rounds, output_tokens)?;
    let flushes: HashMap<String, Vec<Instant>> =
        sim.flushes().into_iter().map(|f| (f.response_id, f.chunk_times)).collect();
    let (mut abs_errors, mut signed, mut measured, mut unpaired) = (Vec::new(), 0.0, Vec::new(), 0);
    for r in records.iter().filter(|r| r.is_ok()) {
        let Some(times) = r.response_id.as_ref().and_then(|id| flushes.get(id)) else {
            unpaired += 1;
            continue;
        };
        if times.len() != r.gaps_us.len() + 1 {
            unpaired += 1;
            continue;
        }
        for (k, &client_gap_us) in r.gaps_us.iter().enumerate() {
            let server_gap_ms = times[k + 1].duration_since(times[k]).as_secs_f64() * 1e3;
            let client_gap_ms = f64::from(client_gap_us) / 1e3;
            let error = client_gap_ms - server_gap_ms;
            signed += error;
            abs_errors.push(error.abs());
            measured.push(client_gap_ms);
        }
    }
    let gaps = abs_errors.len() as u64;
    let empty = || LatencySummary::from_values(&[0.0]).expect("one value");
    Ok(ItlAccuracy {
        streams,
        itl,
        gaps,
        unpaired,
        abs_error: LatencySummary::from_values(&abs_errors).unwrap_or_else(empty),
        mean_error_ms: if gaps > 0 { signed / gaps as f64 } else { 0.0 },
        measured_itl: LatencySummary::from_values(&measured).unwrap_or_else(empty),
    })
}
