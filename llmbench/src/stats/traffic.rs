//! The request-level figures of real traffic, per level: prompt caching
//! (`cache_hit_ratio`, TTFT of hits and misses), the input length asked
//! for against the one sent and the one the server counted, and the
//! warnings they raise (docs/metrics.md).

use serde::{Deserialize, Serialize};

use super::LatencySummary;
use crate::record::RequestRecord;

/// Above this relative gap between two input-token counts of the same
/// prompts, a level warns: the lengths are not what the workload says.
pub(crate) const INPUT_DISCREPANCY: f64 = 0.05;

/// Prompt caching at one level (docs/metrics.md `cache_hit_ratio`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheSummary {
    /// Σ cache-read prompt tokens / Σ prompt tokens, over ok requests that
    /// reported both.
    pub cache_hit_ratio: f64,
    /// Ok requests that read part of their prompt from a cache.
    pub hits: u64,
    /// Ok requests whose usage said something about caching.
    pub reported: u64,
    /// Σ prompt tokens read from a cache.
    pub read_tokens: u64,
    /// Σ prompt tokens written to a cache.
    pub write_tokens: u64,
    /// Σ prompt tokens, cached or not.
    pub prompt_tokens: u64,
    /// TTFT of the requests that read from the cache, ms.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ttft_hit: Option<LatencySummary>,
    /// TTFT of the requests that did not, ms.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ttft_miss: Option<LatencySummary>,
}

/// The cache figures of `ok` requests; `None` when none reported caching.
pub(crate) fn cache(ok: &[&RequestRecord]) -> Option<CacheSummary> {
    let reported: Vec<&RequestRecord> = ok.iter().copied().filter(|r| r.cache_hit().is_some()).collect();
    if reported.is_empty() {
        return None;
    }
    let (mut read, mut write, mut prompt) = (0, 0, 0);
    for r in &reported {
        read += r.cache_read_tokens.unwrap_or(0);
        write += r.cache_write_tokens.unwrap_or(0);
        prompt += r.prompt_tokens.unwrap_or(0);
    }
    let ttft = |hit: bool| {
        let values: Vec<f64> =
            reported.iter().filter(|r| r.cache_hit() == Some(hit)).filter_map(|r| r.ttft_ms).collect();
        LatencySummary::from_values(&values)
    };
    Some(CacheSummary {
        cache_hit_ratio: if prompt > 0 { read as f64 / prompt as f64 } else { 0.0 },
        hits: reported.iter().filter(|r| r.cache_hit() == Some(true)).count() as u64,
        reported: reported.len() as u64,
        read_tokens: read,
        write_tokens: write,
        prompt_tokens: prompt,
        ttft_hit: ttft(true),
        ttft_miss: ttft(false),
    })
}

/// Warnings when the input lengths disagree by more than
/// [`INPUT_DISCREPANCY`] on average: asked for against generated (the
/// generator missed), and generated (else asked for) against what the
/// server counted (another tokenizer, a chat template, images).
pub(crate) fn input_warnings(ok: &[&RequestRecord]) -> Vec<String> {
    let mut out = Vec::new();
    let mean_gap = |pairs: &[(u64, u64)]| -> Option<(f64, f64, f64)> {
        let n = pairs.len() as f64;
        let (a, b) = pairs.iter().fold((0.0, 0.0), |(x, y), &(p, q)| (x + p as f64, y + q as f64));
        (n > 0.0 && a > 0.0).then(|| (a / n, b / n, (b - a) / a))
    };
    let generated: Vec<(u64, u64)> =
        ok.iter().filter_map(|r| Some((r.input_tokens_requested?, r.input_tokens_generated?))).collect();
    if let Some((asked, made, gap)) = mean_gap(&generated).filter(|g| g.2.abs() > INPUT_DISCREPANCY) {
        out.push(format!(
            "prompts were generated with {made:.0} input tokens on average for {asked:.0} requested ({:+.1}%): \
             the synthetic lengths missed their target",
            gap * 100.0
        ));
    }
    let reported: Vec<(u64, u64)> = ok
        .iter()
        .filter_map(|r| Some((r.input_tokens_generated.or(r.input_tokens_requested)?, r.prompt_tokens?)))
        .collect();
    if let Some((sent, counted, gap)) = mean_gap(&reported).filter(|g| g.2.abs() > INPUT_DISCREPANCY) {
        out.push(format!(
            "the server counted {counted:.0} input tokens on average for {sent:.0} sent ({:+.1}%): its tokenizer, \
             chat template or images differ from the local count (set `tokenizer` on the target for exact lengths)",
            gap * 100.0
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::goodput::tests::rec;

    #[test]
    fn cache_ratio_is_token_weighted_and_ttft_is_split_by_hit() {
        let mut records: Vec<RequestRecord> = (0..4).map(|i| rec(100.0 + i as f64, 300.0, 10, None)).collect();
        for (i, r) in records.iter_mut().enumerate() {
            r.prompt_tokens = Some(1000);
            r.cache_read_tokens = Some(if i < 3 { 800 } else { 0 });
            r.ttft_ms = Some(if i < 3 { 20.0 } else { 90.0 });
        }
        let ok: Vec<&RequestRecord> = records.iter().collect();
        let c = cache(&ok).unwrap();
        assert_eq!((c.hits, c.reported, c.read_tokens, c.prompt_tokens), (3, 4, 2400, 4000));
        assert!((c.cache_hit_ratio - 0.6).abs() < 1e-12);
        assert_eq!(c.ttft_hit.unwrap().p50, Some(20.0));
        assert_eq!(c.ttft_miss.unwrap().p50, Some(90.0));
        let none = rec(10.0, 20.0, 1, None);
        assert_eq!(cache(&[&none]), None, "no cache fields, no cache figures");
    }

    #[test]
    fn input_gaps_over_five_percent_warn() {
        let mut r = rec(10.0, 20.0, 1, None);
        (r.input_tokens_requested, r.input_tokens_generated, r.prompt_tokens) = (Some(100), Some(102), Some(104));
        assert!(input_warnings(&[&r]).is_empty(), "within 5%");
        r.prompt_tokens = Some(120);
        let w = input_warnings(&[&r]);
        assert_eq!(w.len(), 1);
        assert!(w[0].starts_with("the server counted 120 input tokens on average for 102 sent (+17.6%)"), "{w:?}");
        r.input_tokens_generated = Some(80);
        assert!(input_warnings(&[&r])[0].contains("generated with 80 input tokens on average for 100 requested"));
    }
}
