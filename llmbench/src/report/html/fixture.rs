//! Synthetic results for the report's tests, its speed example and its
//! browser check: runs that look like real ones (a cold start, warm-up,
//! a capacity limit that makes latency climb with concurrency, throttling
//! and server errors), written to a results root with the real writer.
//!
//! Not a public API: outside the crate it is reachable only as the hidden
//! `llmbench::report::__fixture`, so that `examples/report.rs` and
//! `scripts/browser-check.sh` can exercise the report without sending
//! requests.

use std::path::Path;

use crate::config::TargetIdentity;
use crate::record::{ErrorClass, Phase, RequestError, RequestRecord, TokenSource};
use crate::results::{self, BenchInfo, ColdStart, FORMAT_VERSION, RunSettings, RunSummary, ToolInfo};
use crate::rng::Rng;
use crate::stats::summarize_level;

/// What to generate.
#[derive(Debug, Clone)]
pub struct FixtureSpec {
    /// Benchmarks.
    pub benches: usize,
    /// Targets per benchmark (at most 3 distinct profiles, then repeated).
    pub targets: usize,
    /// Measured requests per benchmark × target, split over the levels.
    pub requests: usize,
    /// Concurrency levels.
    pub concurrency: Vec<u32>,
    /// Output tokens per request.
    pub output_tokens: u32,
    /// Also write a `base/` baseline beside each run (slightly faster).
    pub baseline: bool,
    /// Put hostile strings (`<script>alert(1)</script>`, an `onerror`
    /// image) in ids, model names, prompts, error messages and outputs.
    pub hostile: bool,
    /// Seed of every random draw.
    pub seed: u64,
}

impl Default for FixtureSpec {
    fn default() -> Self {
        FixtureSpec {
            benches: 2,
            targets: 2,
            requests: 400,
            concurrency: vec![1, 4, 16, 32],
            output_tokens: 64,
            baseline: true,
            hostile: false,
            seed: 7,
        }
    }
}

/// The payload hostile fixtures carry.
pub const HOSTILE: &str = "<script>alert(1)</script><img src=x onerror=\"document.title='pwned'\">";

struct Profile {
    name: &'static str,
    ttft_ms: f64,
    itl_ms: f64,
    capacity: f64,
    error_rate: f64,
    error: ErrorClass,
}

const PROFILES: [Profile; 3] = [
    Profile { name: "sim", ttft_ms: 40.0, itl_ms: 4.0, capacity: 16.0, error_rate: 0.0, error: ErrorClass::Server },
    Profile {
        name: "sim-slow",
        ttft_ms: 120.0,
        itl_ms: 8.0,
        capacity: 4.0,
        error_rate: 0.02,
        error: ErrorClass::Throttled,
    },
    Profile {
        name: "sim-far",
        ttft_ms: 260.0,
        itl_ms: 6.0,
        capacity: 8.0,
        error_rate: 0.005,
        error: ErrorClass::Server,
    },
];

/// Writes the fixture runs under `root` (`<root>/<bench>/<target>/new/`).
pub fn write(root: &Path, spec: &FixtureSpec) -> std::io::Result<()> {
    for b in 0..spec.benches {
        let bench = if spec.hostile && b == 0 { format!("chat{HOSTILE}") } else { format!("bench_{b:02}") };
        for t in 0..spec.targets {
            let profile = &PROFILES[t % PROFILES.len()];
            let target = if t < PROFILES.len() { profile.name.to_owned() } else { format!("{}-{t}", profile.name) };
            let seed = spec.seed ^ ((b as u64) << 32) ^ t as u64;
            let (summary, records) = run(spec, &bench, &target, profile, seed, 1.0);
            results::write_run(&results::run_dir(root, &bench, &target, results::NEW_DIR), &summary, &records)?;
            if spec.baseline {
                let (summary, records) = run(spec, &bench, &target, profile, seed ^ 0xBA5E, 0.93);
                results::write_run(&results::run_dir(root, &bench, &target, "base"), &summary, &records)?;
            }
        }
    }
    Ok(())
}

fn run(
    spec: &FixtureSpec,
    bench: &str,
    target: &str,
    p: &Profile,
    seed: u64,
    speed: f64,
) -> (RunSummary, Vec<RequestRecord>) {
    let mut rng = Rng::new(seed);
    let levels = spec.concurrency.len().max(1);
    let per_level = (spec.requests / levels).max(1) as u64;
    let warmup = (per_level / 20).clamp(1, 20);
    let mut records = Vec::with_capacity(spec.requests + levels * warmup as usize + 1);
    let mut summaries = Vec::new();
    let mut cold = request(spec, p, &mut rng, 0, Phase::ColdStart, 1, 0, 6.0 * speed);
    cold.concurrency = 1;
    let cold_start = ColdStart { ttft_ms: cold.ttft_ms, e2e_ms: cold.e2e_ms, error: None };
    records.push(cold);
    for &c in &spec.concurrency {
        let load = (f64::from(c) / p.capacity).max(1.0);
        let mut slots = vec![0u64; c as usize];
        let mut level = Vec::with_capacity((per_level + warmup) as usize);
        for i in 0..per_level + warmup {
            let phase = if i < warmup { Phase::Warmup } else { Phase::Measured };
            // Warm-up requests are slower, easing off as the server warms.
            let warm = if i < warmup { 1.0 + 0.8 * (1.0 - i as f64 / warmup as f64) } else { 1.0 };
            let slot = (0..slots.len()).min_by_key(|&s| slots[s]).unwrap_or(0);
            let mut r = request(spec, p, &mut rng, i, phase, c, slots[slot], load * warm * speed);
            // Throttling grows with overload.
            if rng.next_f64() < p.error_rate * load {
                fail(spec, p, &mut rng, &mut r);
            }
            slots[slot] = r.end_us() + 200;
            level.push(r);
        }
        level.iter_mut().for_each(|r| r.level = summaries.len() as u32);
        summaries.push(summarize_level(c, &level));
        records.extend(level);
    }
    let summary = RunSummary {
        format_version: FORMAT_VERSION,
        tool: ToolInfo::current(),
        bench: BenchInfo {
            id: bench.to_owned(),
            module_path: "fixture".into(),
            file: "benches/fixture.rs".into(),
            line: 1,
        },
        target: TargetIdentity {
            name: target.to_owned(),
            provider: "sim".into(),
            model: if spec.hostile { format!("model{HOSTILE}") } else { "sim".into() },
            endpoint: "sim".into(),
        },
        workload: serde_json::json!({
            "kind": "synthetic",
            "input_tokens": [100, 200],
            "output_tokens": spec.output_tokens,
            "system": if spec.hostile { format!("You are helpful. {HOSTILE}") } else { "You are helpful.".to_owned() },
            "seed": spec.seed,
        }),
        settings: RunSettings {
            samples: per_level as u32,
            warmup: warmup as u32,
            concurrency: spec.concurrency.clone(),
            timeout_ms: 30_000,
            first_content_timeout_ms: 30_000,
            load: None,
        },
        started_at: "2026-11-28T01:46:48Z".into(),
        duration_s: records.iter().map(|r| r.end_us()).max().unwrap_or(0) as f64 / 1e6,
        partial: false,
        cold_start: Some(cold_start),
        sweep: (summaries.len() > 1).then(|| crate::stats::knee::analyse(&summaries)),
        levels: summaries,
        price: None,
    };
    (summary, records)
}

#[allow(clippy::too_many_arguments)]
fn request(
    spec: &FixtureSpec,
    p: &Profile,
    rng: &mut Rng,
    index: u64,
    phase: Phase,
    c: u32,
    start_us: u64,
    slow: f64,
) -> RequestRecord {
    let lognormal = |rng: &mut Rng, sigma: f64| (rng.normal() * sigma).exp();
    let ttft = p.ttft_ms * slow * lognormal(rng, 0.25);
    let n = spec.output_tokens.max(1);
    let mut gaps_us = Vec::with_capacity(n as usize);
    let mut t = ttft;
    for _ in 1..n {
        // Mostly steady decoding, with an occasional scheduler hiccup.
        let hiccup = if rng.next_f64() < 0.02 { 4.0 } else { 1.0 };
        let gap = p.itl_ms * (1.0 + (slow - 1.0) * 0.3) * lognormal(rng, 0.15) * hiccup;
        gaps_us.push((gap * 1e3) as u32);
        t += gap;
    }
    let text = spec.hostile.then(|| format!("Sure! {HOSTILE} and that is all."));
    RequestRecord {
        index,
        phase,
        concurrency: c,
        level: 0,
        start_us,
        queue_ms: 0.05,
        ttfb_ms: Some(ttft * 0.9),
        ttft_ms: Some(ttft),
        ttfo_ms: Some(ttft),
        last_content_ms: Some(t),
        e2e_ms: t + 0.5,
        chunks: u64::from(n),
        gaps_us,
        output_tokens: u64::from(n),
        output_source: TokenSource::Usage,
        input_tokens: Some(100 + rng.range_u64(0, 100)),
        cache_read_tokens: None,
        cache_write_tokens: None,
        prompt_tokens: None,
        reasoning_tokens: None,
        reasoning_source: None,
        ttftc_ms: None,
        tool_call_ms: None,
        tool_calls: 0,
        tool_call_text: Vec::new(),
        input_tokens_requested: None,
        input_tokens_generated: None,
        stop_reason: Some("length".into()),
        server_latency_ms: None,
        server_first_byte_ms: None,
        error: None,
        response_id: None,
        text,
        attempts: None,
        variant: None,
    }
}

/// Turns a request into the profile's failure: fast, with no content.
fn fail(spec: &FixtureSpec, p: &Profile, rng: &mut Rng, r: &mut RequestRecord) {
    let e = RequestError::new(p.error, error_message(spec, p.error));
    r.error = Some(if p.error == ErrorClass::Throttled { e.with_status(429) } else { e.with_status(503) });
    r.e2e_ms = 5.0 + rng.next_f64() * 20.0;
    r.ttft_ms = None;
    r.last_content_ms = None;
    r.gaps_us.clear();
    r.chunks = 0;
}

fn error_message(spec: &FixtureSpec, class: ErrorClass) -> String {
    let base = match class {
        ErrorClass::Throttled => "Rate limit reached for requests",
        _ => "upstream connect error or disconnect/reset before headers",
    };
    if spec.hostile { format!("{base} {HOSTILE}") } else { base.to_owned() }
}
