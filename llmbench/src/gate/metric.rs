//! How the gate reads a metric of the catalog (`crate::metric`) from a run:
//! a point value from a [`LevelSummary`], or a per-request [`Sample`] for
//! the bootstrap.
//!
//! A new per-level figure in [`LevelSummary`] is added to the catalog's
//! `SCALARS` and read here in [`MetricId::value`] and [`MetricId::sample`].

use crate::cost::Price;
use crate::record::{Phase, RequestRecord};
use crate::stats::LevelSummary;
use crate::stats::compare::{Sample, Statistic};
// The catalog, where the gate's callers have always found it.
#[cfg(test)]
use crate::metric::Direction;
use crate::metric::Scale;
pub(crate) use crate::metric::{DEFAULT_SET, MetricId, STATS, Unit};
use crate::stats::goodput::Slo;

impl MetricId {
    /// The bootstrap statistic.
    pub(crate) fn statistic(&self) -> Statistic {
        match self.stat.and_then(|s| STATS.iter().find(|x| x.0 == s)) {
            Some((_, Some(q), _)) => Statistic::Quantile(*q),
            Some((_, None, _)) => Statistic::Mean,
            // A token-weighted share: Σ read / Σ prompt, not a mean of flags.
            None if self.key == "cache_hit_ratio" => Statistic::Ratio,
            None if self.scale == Scale::Absolute => Statistic::Mean,
            None => Statistic::Ratio,
        }
    }

    /// The point value of a level, as its summary reports it (so it agrees
    /// with the tables), or why it has none.
    pub(crate) fn value(&self, level: &LevelSummary) -> Result<f64, String> {
        match self.stat {
            None => match self.key {
                "goodput" => level.goodput.as_ref().map(|g| g.ratio).ok_or_else(|| "goodput was not computed".into()),
                "cost_per_ok_request" => level
                    .cost
                    .as_ref()
                    .and_then(|c| c.cost_per_ok_request)
                    .ok_or_else(|| "no cost per ok request (no price known, or no request succeeded)".into()),
                key => level.metric_value(key).ok_or_else(|| format!("{key} is missing")),
            },
            Some(stat) => {
                let Some(summary) = level.metric(self.key) else {
                    return Err(format!("{} was not measured (no successful request reported it)", self.key));
                };
                summary.get(stat).ok_or_else(|| match summary.missing.get(stat) {
                    Some(why) => format!("{self} {why}"),
                    None => format!("{self} is missing"),
                })
            }
        }
    }

    /// The per-request sample of a level's measured records; `price` is the
    /// run's (for cost).
    pub(crate) fn sample(&self, level: &LevelSummary, records: &[&RequestRecord], price: Option<&Price>) -> Sample {
        let ok = || records.iter().filter(|r| r.is_ok());
        let flag = |good: bool| if good { 1.0 } else { 0.0 };
        match self.key {
            "error_rate" => Sample::Values(records.iter().map(|r| flag(!r.is_ok())).collect()),
            "goodput" => {
                let slo = level.goodput.as_ref().and_then(|g| Slo::parse(&g.slo.join(", ")).ok());
                match slo {
                    Some(slo) => Sample::Values(records.iter().map(|r| flag(slo.is_good(r))).collect()),
                    None => Sample::Values(Vec::new()),
                }
            }
            "cost_per_ok_request" => {
                // Σ cost / Σ ok, each request weighed by what it is billed
                // for: its tokens, or its share of instance time.
                let weight = |r: &RequestRecord| match price {
                    Some(Price::PerToken { rates, .. }) => {
                        r.input_tokens.unwrap_or(0) as f64 * rates.input + r.output_tokens as f64 * rates.output
                    }
                    _ => r.e2e_ms.max(0.0),
                };
                let pairs: Vec<(f64, f64)> = records.iter().map(|r| (weight(r), flag(r.is_ok()))).collect();
                let (num, den) = pairs.iter().fold((0.0, 0.0), |(n, d), p| (n + p.0, d + p.1));
                let measured = self.value(level).unwrap_or(0.0);
                let scale = if num > 0.0 && den > 0.0 { measured / (num / den) } else { 1.0 };
                Sample::Ratio { pairs, scale }
            }
            "output_tok_per_s" | "req_per_s" => {
                let per = |r: &RequestRecord| match (r.is_ok(), self.key) {
                    (false, _) => 0.0,
                    (true, "req_per_s") => 1.0,
                    (true, _) => r.output_tokens as f64,
                };
                let pairs: Vec<(f64, f64)> = records.iter().map(|r| (per(r), r.e2e_ms.max(0.0))).collect();
                let (num, den) = pairs.iter().fold((0.0, 0.0), |(n, d), p| (n + p.0, d + p.1));
                let measured = if self.key == "req_per_s" { level.req_per_s } else { level.output_tok_per_s };
                // Little's law: throughput = in flight × Σ work / Σ time.
                let scale = if num > 0.0 && den > 0.0 { measured / (num / den) } else { 1.0 };
                Sample::Ratio { pairs, scale }
            }
            "cache_hit_ratio" => {
                // Σ cache-read tokens / Σ prompt tokens, as the summary.
                let pairs: Vec<(f64, f64)> = ok()
                    .filter(|r| r.cache_hit().is_some())
                    .map(|r| (r.cache_read_tokens.unwrap_or(0) as f64, r.prompt_tokens.unwrap_or(0) as f64))
                    .collect();
                Sample::Ratio { pairs, scale: 1.0 }
            }
            "itl" => Sample::Clusters(
                ok().filter(|r| !r.gaps_us.is_empty())
                    .map(|r| r.gaps_us.iter().map(|&g| f64::from(g) / 1e3).collect())
                    .collect(),
            ),
            key => Sample::Values(ok().filter_map(|r| per_request(key, r)).filter(|v| v.is_finite()).collect()),
        }
    }
}

/// A distribution metric's value for one ok request (as `summarize_level`).
fn per_request(key: &str, r: &RequestRecord) -> Option<f64> {
    match key {
        "ttft" => r.ttft_ms,
        "ttfo" => r.ttfo_ms,
        "ttfb" => r.ttfb_ms,
        "queue" => Some(r.queue_ms),
        "tpot" => r.tpot_ms(),
        "ntpot" => r.ntpot_ms(),
        "e2e" => Some(r.e2e_ms),
        "decode_tps" => r.decode_tps(),
        "output_tokens" => Some(r.output_tokens as f64),
        "input_tokens" => r.input_tokens.map(|n| n as f64),
        "server_latency" => r.server_latency_ms,
        "server_first_byte" => r.server_first_byte_ms,
        "network_overhead" => r.network_overhead_ms(),
        "thinking" => r.thinking_ms(),
        "reasoning_tokens" => r.reasoning_tokens.map(|n| n as f64),
        "answer_tokens" => Some(r.answer_tokens() as f64),
        "ttftc" => r.ttftc_ms,
        "tool_call" => r.tool_call_ms,
        "ttft_cache_hit" => r.ttft_ms.filter(|_| r.cache_hit() == Some(true)),
        "ttft_cache_miss" => r.ttft_ms.filter(|_| r.cache_hit() == Some(false)),
        "input_tokens_requested" => r.input_tokens_requested.map(|n| n as f64),
        "input_tokens_generated" => r.input_tokens_generated.map(|n| n as f64),
        _ => None,
    }
}

/// The measured records of the level at row `row` of the summary.
pub(crate) fn level_records(records: &[RequestRecord], row: usize) -> Vec<&RequestRecord> {
    records.iter().filter(|r| r.phase == Phase::Measured && r.level as usize == row).collect()
}

/// Values in the sample, pooled (what a percentile is taken over).
pub(crate) fn value_count(sample: &Sample) -> usize {
    match sample {
        Sample::Clusters(c) => c.iter().map(Vec::len).sum(),
        other => other.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_with_helpful_errors() {
        let m = MetricId::parse("ttft.p90").unwrap();
        assert_eq!((m.key, m.stat, m.direction), ("ttft", Some("p90"), Direction::LowerIsBetter));
        assert_eq!(m.statistic(), Statistic::Quantile(0.9));
        assert_eq!(MetricId::parse("output_tok_per_s").unwrap().statistic(), Statistic::Ratio);
        assert_eq!(MetricId::parse("error_rate").unwrap().scale, Scale::Absolute);
        assert_eq!(MetricId::parse("e2e.mean").unwrap().statistic(), Statistic::Mean);
        assert!(MetricId::parse("ttft").unwrap_err().contains("needs a statistic, e.g. ttft.p90"));
        assert!(MetricId::parse("ttft.p42").unwrap_err().contains("unknown statistic \"p42\""));
        assert!(
            MetricId::parse("latency.p50").unwrap_err().starts_with("unknown metric \"latency\" (known: error_rate")
        );
        assert!(MetricId::parse("error_rate.p50").unwrap_err().contains("remove `.p50`"));
        assert_eq!(MetricId::parse("ttft.p50").unwrap().min_values(), 1);
        assert_eq!(MetricId::parse("ttft.p90").unwrap().min_values(), 100);
        assert_eq!(MetricId::parse("ttft.p99").unwrap().min_values(), 1000);
        assert_eq!(MetricId::parse("ttft.mean").unwrap().min_values(), 1);
        for name in DEFAULT_SET {
            assert_eq!(MetricId::parse(name).unwrap().to_string(), *name);
        }
    }
}
