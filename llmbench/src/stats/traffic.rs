//! The request-level figures of real traffic, per level: prompt caching
//! (`cache_hit_ratio`, TTFT of hits and misses), the input length asked
//! for against the one sent and the one the server counted, and the
//! warnings they raise (docs/metrics.md).

use serde::{Deserialize, Serialize};

use super::LatencySummary;
use super::summary::Distribution;
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
#[cfg(test)]
pub(crate) fn cache(ok: &[&RequestRecord]) -> Option<CacheSummary> {
    let mut tally = CacheTally::default();
    ok.iter().for_each(|r| tally.add(r));
    tally.finish()
}

/// [`CacheSummary`] gathered request by request (ok requests).
#[derive(Debug, Clone, Default)]
pub(crate) struct CacheTally {
    reported: u64,
    hits: u64,
    read: u64,
    write: u64,
    prompt: u64,
    ttft_hit: Distribution,
    ttft_miss: Distribution,
}

impl CacheTally {
    pub(crate) fn add(&mut self, r: &RequestRecord) {
        let Some(hit) = r.cache_hit() else { return };
        self.reported += 1;
        self.hits += u64::from(hit);
        self.read += r.cache_read_tokens.unwrap_or(0);
        self.write += r.cache_write_tokens.unwrap_or(0);
        self.prompt += r.prompt_tokens.unwrap_or(0);
        if hit { &mut self.ttft_hit } else { &mut self.ttft_miss }.add_some(r.ttft_ms);
    }

    pub(crate) fn finish(&self) -> Option<CacheSummary> {
        (self.reported > 0).then(|| CacheSummary {
            cache_hit_ratio: if self.prompt > 0 { self.read as f64 / self.prompt as f64 } else { 0.0 },
            hits: self.hits,
            reported: self.reported,
            read_tokens: self.read,
            write_tokens: self.write,
            prompt_tokens: self.prompt,
            ttft_hit: self.ttft_hit.summary(),
            ttft_miss: self.ttft_miss.summary(),
        })
    }
}

/// Warnings when the input lengths disagree by more than
/// [`INPUT_DISCREPANCY`] on average: asked for against generated (the
/// generator missed), and generated (else asked for) against what the
/// server counted (another tokenizer, a chat template, images).
#[cfg(test)]
pub(crate) fn input_warnings(ok: &[&RequestRecord]) -> Vec<String> {
    let mut tally = InputTally::default();
    ok.iter().for_each(|r| tally.add(r));
    tally.warnings()
}

/// Sums of input lengths in pairs, for [`input_warnings`]: (requests,
/// Σ first, Σ second).
#[derive(Debug, Clone, Default)]
pub(crate) struct InputTally {
    generated: (u64, f64, f64),
    reported: (u64, f64, f64),
}

impl InputTally {
    pub(crate) fn add(&mut self, r: &RequestRecord) {
        let pair = |sums: &mut (u64, f64, f64), a: Option<u64>, b: Option<u64>| {
            if let (Some(a), Some(b)) = (a, b) {
                *sums = (sums.0 + 1, sums.1 + a as f64, sums.2 + b as f64);
            }
        };
        pair(&mut self.generated, r.input_tokens_requested, r.input_tokens_generated);
        pair(&mut self.reported, r.input_tokens_generated.or(r.input_tokens_requested), r.prompt_tokens);
    }

    pub(crate) fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mean_gap = |&(n, a, b): &(u64, f64, f64)| -> Option<(f64, f64, f64)> {
            let n = n as f64;
            (n > 0.0 && a > 0.0).then(|| (a / n, b / n, (b - a) / a))
        };
        if let Some((asked, made, gap)) = mean_gap(&self.generated).filter(|g| g.2.abs() > INPUT_DISCREPANCY) {
            out.push(format!(
                "prompts were generated with {made:.0} input tokens on average for {asked:.0} requested ({:+.1}%): \
                 the synthetic lengths missed their target",
                gap * 100.0
            ));
        }
        if let Some((sent, counted, gap)) = mean_gap(&self.reported).filter(|g| g.2.abs() > INPUT_DISCREPANCY) {
            out.push(format!(
                "the server counted {counted:.0} input tokens on average for {sent:.0} sent ({:+.1}%): its tokenizer, \
                 chat template or images differ from the local count (set `tokenizer` on the target for exact lengths)",
                gap * 100.0
            ));
        }
        out
    }
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
