//! The simulator's timing model without sockets: request records drawn
//! in-process from a [`SimConfig`]'s distributions, as a closed-loop run
//! against the real simulator would record them minus the few hundred
//! microseconds of HTTP and parsing. Thousands of such runs take a second,
//! which is what a statistical check of the regression gate needs
//! (`examples/stat_check.rs`); the check also validates against real
//! simulator runs.

use crate::config::TargetIdentity;
use crate::record::{ErrorClass, Phase, RequestError, RequestRecord, TokenSource};
use crate::results::{BenchInfo, FORMAT_VERSION, RunSettings, RunSummary, ToolInfo};
use crate::rng::Rng;

use super::SimConfig;

/// `samples` measured requests of `output_tokens` tokens at `concurrency`,
/// with `config`'s TTFT, ITL and error rate, seeded by `config.seed`
/// (capacity is ignored: every slot is served at once). Failed requests
/// fail at once, as the simulator's `throttled` errors do.
pub fn model_records(config: &SimConfig, samples: u32, concurrency: u32, output_tokens: u32) -> Vec<RequestRecord> {
    let mut rng = Rng::new(config.seed ^ 0x5eed_0fa1);
    let tokens = config.output_tokens.unwrap_or(output_tokens).max(1);
    let mut slots = vec![0u64; concurrency.max(1) as usize];
    let mut out = Vec::with_capacity(samples as usize);
    for index in 0..u64::from(samples) {
        // Closed loop: the next request goes to the slot that frees first.
        let slot = (0..slots.len()).min_by_key(|&i| slots[i]).unwrap_or(0);
        let start_us = slots[slot];
        let failed = config.error_rate > 0.0 && rng.next_f64() < config.error_rate;
        let record = if failed {
            RequestRecord {
                error: Some(RequestError::new(ErrorClass::Throttled, "simulated").with_status(429)),
                ..blank(index, concurrency, start_us, 0.3)
            }
        } else {
            let ttft = config.ttft.sample(&mut rng).as_secs_f64() * 1e3;
            let gaps_us: Vec<u32> =
                (1..tokens).map(|_| (config.itl.sample(&mut rng).as_secs_f64() * 1e6).round() as u32).collect();
            let last = ttft + gaps_us.iter().map(|&g| f64::from(g) / 1e3).sum::<f64>();
            RequestRecord {
                ttfb_ms: Some(0.2),
                ttft_ms: Some(ttft),
                ttfo_ms: Some(ttft),
                last_content_ms: Some(last),
                chunks: u64::from(tokens),
                gaps_us,
                output_tokens: u64::from(tokens),
                output_source: TokenSource::Usage,
                ..blank(index, concurrency, start_us, last + 0.1)
            }
        };
        slots[slot] = start_us + (record.e2e_ms * 1e3) as u64;
        out.push(record);
    }
    out
}

fn blank(index: u64, concurrency: u32, start_us: u64, e2e_ms: f64) -> RequestRecord {
    RequestRecord {
        index,
        phase: Phase::Measured,
        concurrency,
        level: 0,
        start_us,
        queue_ms: 0.0,
        ttfb_ms: None,
        ttft_ms: None,
        ttfo_ms: None,
        last_content_ms: None,
        e2e_ms,
        chunks: 0,
        gaps_us: Vec::new(),
        output_tokens: 0,
        output_source: TokenSource::Chunks,
        input_tokens: None,
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
        stop_reason: None,
        server_latency_ms: None,
        server_first_byte_ms: None,
        error: None,
        response_id: None,
        text: None,
        attempts: None,
        variant: None,
    }
}

/// A whole run of [`model_records`] for benchmark `bench` at each of
/// `concurrency`, with its summary, as a benchmark binary would write it.
pub fn model_run(
    config: &SimConfig,
    bench: &str,
    samples: u32,
    concurrency: &[u32],
    output_tokens: u32,
) -> (RunSummary, Vec<RequestRecord>) {
    let mut records = Vec::new();
    let mut levels = Vec::new();
    for (i, &c) in concurrency.iter().enumerate() {
        let level_config = SimConfig { seed: config.seed.wrapping_add(i as u64 * 7919), ..config.clone() };
        let mut level = model_records(&level_config, samples, c, output_tokens);
        level.iter_mut().for_each(|r| r.level = i as u32);
        levels.push(crate::stats::summarize_level(c, &level));
        records.extend(level);
    }
    (run_summary(bench, samples, concurrency, output_tokens, levels), records)
}

/// The summary a benchmark binary would write for these levels.
pub(crate) fn run_summary(
    bench: &str,
    samples: u32,
    concurrency: &[u32],
    output_tokens: u32,
    levels: Vec<crate::stats::LevelSummary>,
) -> RunSummary {
    RunSummary {
        format_version: FORMAT_VERSION,
        tool: ToolInfo::current(),
        bench: BenchInfo { id: bench.to_owned(), module_path: "model".into(), file: "model.rs".into(), line: 1 },
        target: TargetIdentity {
            name: "sim".into(),
            provider: "sim".into(),
            model: "sim".into(),
            endpoint: "sim".into(),
        },
        workload: serde_json::json!({ "kind": "model", "output_tokens": output_tokens }),
        settings: RunSettings {
            samples,
            warmup: 0,
            concurrency: concurrency.to_vec(),
            timeout_ms: 30_000,
            first_content_timeout_ms: 30_000,
            load: None,
        },
        started_at: crate::results::rfc3339(std::time::SystemTime::now()),
        duration_s: 0.0,
        partial: false,
        cold_start: None,
        levels,
        price: None,
        sweep: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Delay;
    use std::time::Duration;

    #[test]
    fn the_model_follows_the_config() {
        let config =
            SimConfig { ttft: Delay::ms(40), itl: Delay::ms(4), error_rate: 0.1, seed: 3, ..SimConfig::default() };
        let (summary, records) = model_run(&config, "b", 200, &[1, 4], 16);
        assert_eq!(records.len(), 400);
        let level = &summary.levels[0];
        assert_eq!(level.ttft.as_ref().unwrap().p50, Some(40.0));
        assert_eq!(level.itl.as_ref().unwrap().p50, Some(4.0));
        assert!((0.04..0.2).contains(&level.error_rate), "{}", level.error_rate);
        // Four slots in parallel: about four times the throughput.
        let ratio = summary.levels[1].output_tok_per_s / level.output_tok_per_s;
        assert!((3.5..4.5).contains(&ratio), "{ratio}");
        let noisy = SimConfig {
            ttft: Delay::Normal { mean: Duration::from_millis(100), stddev: Duration::from_millis(10) },
            ..config
        };
        let a = model_records(&noisy, 50, 1, 8);
        let b = model_records(&SimConfig { seed: 4, ..noisy }, 50, 1, 8);
        assert_ne!(a[0].ttft_ms, b[0].ttft_ms, "another seed, other draws");
    }
}
