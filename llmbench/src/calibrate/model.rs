//! A whole run of the simulator's timing model ([`model_records`]) with its
//! summary, as a benchmark binary would write it: what the statistical
//! check of the regression gate compares (`examples/stat_check.rs`). Here,
//! not in `sim`, because a summary belongs to the layers above the
//! simulator (stats, results).

use crate::config::TargetIdentity;
use crate::record::RequestRecord;
use crate::results::{BenchInfo, FORMAT_VERSION, RunSettings, RunSummary, ToolInfo};
use crate::sim::{SimConfig, model_records};

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
            connections: None,
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
