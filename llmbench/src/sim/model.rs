//! The simulator's timing model without sockets: request records drawn
//! in-process from a [`SimConfig`]'s distributions, as a closed-loop run
//! against the real simulator would record them minus the few hundred
//! microseconds of HTTP and parsing. Thousands of such runs take a second,
//! which is what a statistical check of the regression gate needs
//! (`examples/stat_check.rs`); the check also validates against real
//! simulator runs. A whole run with its summary (`model_run`) is
//! `calibrate`'s: a summary is the results layer's, above the simulator.

use crate::record::{ErrorClass, RequestError, RequestRecord, TokenSource};
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
        concurrency,
        start_us,
        e2e_ms,
        output_source: TokenSource::Chunks,
        ..RequestRecord::default()
    }
}
