//! The figures of one concurrency level (docs/metrics.md "Per run"), computed
//! from its measured request records.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::LatencySummary;
use crate::record::{Phase, RequestRecord, TokenSource};

/// Request counts, failures by class.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RequestCounts {
    /// Requests started in the measured phase.
    pub attempted: u64,
    /// Requests that completed without error.
    pub ok: u64,
    /// Requests that failed.
    pub failed: u64,
    /// Failures by docs/metrics.md class.
    pub by_class: BTreeMap<String, u64>,
    /// Requests llmbench itself cut (`cut_at_end`, `interrupted`): kept in
    /// the records, counted neither as attempted nor as failed.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cut_by_llmbench: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Requests in flight over the measured window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InFlight {
    /// Time-weighted mean.
    pub mean: f64,
    /// Largest number at once.
    pub max: u64,
    /// What was asked for.
    pub requested: u64,
}

/// Everything measured at one concurrency level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelSummary {
    /// Requests kept in flight (closed loop).
    pub concurrency: u32,
    /// Measured request counts.
    pub requests: RequestCounts,
    /// failed / attempted.
    pub error_rate: f64,
    /// The measured window, seconds: first measured `scheduled` to last measured `end`.
    pub window_s: f64,
    /// ok requests / window.
    pub req_per_s: f64,
    /// Σ output tokens of ok requests / window.
    pub output_tok_per_s: f64,
    /// In-flight requests over the window.
    pub in_flight: InFlight,
    /// `first_content − scheduled`, ms (ok requests only, as every summary here).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ttft: Option<LatencySummary>,
    /// `first_answer − scheduled`, ms.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ttfo: Option<LatencySummary>,
    /// `headers − sent`, ms.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ttfb: Option<LatencySummary>,
    /// `sent − scheduled`, ms.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub queue: Option<LatencySummary>,
    /// `(last_content − first_content) / (output_tokens − 1)`, ms.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tpot: Option<LatencySummary>,
    /// `e2e / output_tokens`, ms.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ntpot: Option<LatencySummary>,
    /// Gaps between content chunks, pooled, ms.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub itl: Option<LatencySummary>,
    /// `end − scheduled`, ms.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub e2e: Option<LatencySummary>,
    /// Per-request decode speed, tokens/s.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub decode_tps: Option<LatencySummary>,
    /// Output tokens per request.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub output_tokens: Option<LatencySummary>,
    /// Input tokens per request (server-reported).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub input_tokens: Option<LatencySummary>,
    /// Service-reported latency, ms.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub server_latency: Option<LatencySummary>,
    /// Service-reported time to first byte, ms.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub server_first_byte: Option<LatencySummary>,
    /// `e2e − server_latency`, ms.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub network_overhead: Option<LatencySummary>,
    /// Reasoning tokens per request (reasoning models only).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reasoning_tokens: Option<LatencySummary>,
    /// Output tokens that were the answer, per request (when any reasoned).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub answer_tokens: Option<LatencySummary>,
    /// `first_answer − first_content`, ms: time spent thinking (when any reasoned).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub thinking: Option<LatencySummary>,
    /// `first_tool_call − scheduled`, ms.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ttftc: Option<LatencySummary>,
    /// `tool_call_done − scheduled`, ms: a complete tool call.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tool_call: Option<LatencySummary>,
    /// Prompt caching, when the server reported it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cache: Option<super::CacheSummary>,
    /// Connections the measured requests opened (HTTP providers).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub connections: Option<super::ConnectionSummary>,
    /// Input tokens per request as the workload asked for them.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub input_tokens_requested: Option<LatencySummary>,
    /// Input tokens per request as the local tokenizer counts the prompt sent.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub input_tokens_generated: Option<LatencySummary>,
    /// How many ok requests took their output count from each source.
    pub output_token_source: BTreeMap<String, u64>,
    /// Cost figures (docs/metrics.md "Cost"); absent when the target has no price.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cost: Option<super::level_cost::LevelCost>,
    /// Open loop: the offered rate of the level, requests/s (`concurrency` is 0).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub rate: Option<f64>,
    /// Staged runs: which stage of the profile this row covers.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stage: Option<super::StageInfo>,
    /// How the load was generated and whether the generator kept up.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub load: Option<super::LoadCheck>,
    /// Requests meeting every SLO / attempted.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub goodput: Option<super::Goodput>,
    /// Response checks, when the benchmark has any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub correctness: Option<super::Correctness>,
    /// Conversations: sessions, their duration and turns, and each turn
    /// index's figures (docs/metrics.md "Conversations").
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sessions: Option<super::SessionsSummary>,
    /// Why llmbench stopped the level before it sent all its requests, when
    /// it did: `slo_unreachable` (a capacity search's level could no longer
    /// meet its SLOs) or `dead_endpoint` (its connections kept failing).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stopped_early: Option<String>,
    /// Things that make the figures less comparable, for people.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub warnings: Vec<String>,
}

/// A load figure for a label: whole numbers as such, else one decimal.
pub(crate) fn short_number(v: f64) -> String {
    if v.fract() == 0.0 || v >= 100.0 { format!("{v:.0}") } else { format!("{v:.1}") }
}

impl LevelSummary {
    /// The load of the level as a short label, which also tells levels of
    /// one run apart: `c=8`, `20/s`, `s2 5→50/s` (stage 2 ramping 5 to 50/s).
    pub fn label(&self) -> String {
        let round = short_number;
        match (&self.stage, self.rate) {
            (Some(st), Some(_)) if st.from == st.to => format!("s{} {}/s", st.index, round(st.to)),
            (Some(st), Some(_)) => format!("s{} {}→{}/s", st.index, round(st.from), round(st.to)),
            (Some(st), None) if st.from == st.to => format!("s{} c={}", st.index, round(st.to)),
            (Some(st), None) => format!("s{} c={}→{}", st.index, round(st.from), round(st.to)),
            (None, Some(rate)) => format!("{}/s", round(rate)),
            (None, None) => format!("c={}", self.concurrency),
        }
    }

    /// The summary of a metric by its docs/metrics.md key.
    pub fn metric(&self, key: &str) -> Option<&LatencySummary> {
        match key {
            "ttft" => self.ttft.as_ref(),
            "ttfo" => self.ttfo.as_ref(),
            "ttfb" => self.ttfb.as_ref(),
            "queue" => self.queue.as_ref(),
            "tpot" => self.tpot.as_ref(),
            "ntpot" => self.ntpot.as_ref(),
            "itl" => self.itl.as_ref(),
            "e2e" => self.e2e.as_ref(),
            "decode_tps" => self.decode_tps.as_ref(),
            "output_tokens" => self.output_tokens.as_ref(),
            "input_tokens" => self.input_tokens.as_ref(),
            "server_latency" => self.server_latency.as_ref(),
            "server_first_byte" => self.server_first_byte.as_ref(),
            "network_overhead" => self.network_overhead.as_ref(),
            "reasoning_tokens" => self.reasoning_tokens.as_ref(),
            "answer_tokens" => self.answer_tokens.as_ref(),
            "thinking" => self.thinking.as_ref(),
            "ttftc" => self.ttftc.as_ref(),
            "tool_call" => self.tool_call.as_ref(),
            "ttft_cache_hit" => self.cache.as_ref()?.ttft_hit.as_ref(),
            "ttft_cache_miss" => self.cache.as_ref()?.ttft_miss.as_ref(),
            "input_tokens_requested" => self.input_tokens_requested.as_ref(),
            "input_tokens_generated" => self.input_tokens_generated.as_ref(),
            "session_duration" => self.sessions.as_ref()?.session_duration.as_ref(),
            "turns_completed" => self.sessions.as_ref()?.turns_completed.as_ref(),
            _ => None,
        }
    }

    /// A single figure by key, for limits and reports: `req_per_s`,
    /// `output_tok_per_s`, `error_rate`, the `cost_*` keys of
    /// [`LevelCost::value`](super::level_cost::LevelCost::value), or a summary
    /// statistic as `metric.stat` (`ttft.p90`, `e2e.mean`). `None` when the
    /// figure is absent (no price, too few samples) or the key is unknown.
    pub fn metric_value(&self, key: &str) -> Option<f64> {
        match key {
            "req_per_s" => Some(self.req_per_s),
            "output_tok_per_s" => Some(self.output_tok_per_s),
            "error_rate" => Some(self.error_rate),
            "cache_hit_ratio" => self.cache.as_ref().map(|c| c.cache_hit_ratio),
            _ if key.starts_with("cost_") || key == "instances_needed" => self.cost.as_ref()?.value(key),
            _ => {
                let (metric, stat) = key.split_once('.')?;
                self.metric(metric)?.get(stat)
            }
        }
    }
}

/// Summarizes the measured records of one level.
pub(crate) fn summarize_level(concurrency: u32, records: &[RequestRecord]) -> LevelSummary {
    let cut_by_llmbench = |r: &&RequestRecord| r.error.as_ref().is_some_and(|e| e.class.is_llmbench_cut());
    let all_measured = records.iter().filter(|r| r.phase == Phase::Measured);
    let (cut, measured): (Vec<&RequestRecord>, Vec<&RequestRecord>) = all_measured.partition(cut_by_llmbench);
    let ok: Vec<&RequestRecord> = measured.iter().copied().filter(|r| r.is_ok()).collect();

    let counts = request_counts(&measured, ok.len(), cut.len());

    let window_start = measured.iter().map(|r| r.start_us).min().unwrap_or(0);
    let window_end = measured.iter().map(|r| r.end_us()).max().unwrap_or(window_start);
    let window_s = (window_end.saturating_sub(window_start)) as f64 / 1e6;
    let per_s = |n: f64| if window_s > 0.0 { n / window_s } else { 0.0 };
    let output_tokens: u64 = ok.iter().map(|r| r.output_tokens).sum();

    let summary = |values: Vec<f64>| LatencySummary::from_values(&values);

    let mut output_token_source = BTreeMap::new();
    for r in &ok {
        *output_token_source.entry(r.output_source.as_str().to_owned()).or_default() += 1;
    }
    let reasoned: Vec<&RequestRecord> = ok.iter().copied().filter(|r| r.reasoning_tokens.is_some()).collect();
    let any_reasoning = !reasoned.is_empty() || ok.iter().any(|r| r.thinking_ms().is_some_and(|t| t > 0.0));
    let connections = super::connections::connections(&measured);
    let warnings = level_warnings(&ok, connections.as_ref());

    LevelSummary {
        concurrency,
        error_rate: if counts.attempted > 0 { counts.failed as f64 / counts.attempted as f64 } else { 0.0 },
        requests: counts,
        window_s,
        req_per_s: per_s(ok.len() as f64),
        output_tok_per_s: per_s(output_tokens as f64),
        in_flight: in_flight(&measured, window_start, window_end, concurrency),
        ttft: summary(ok.iter().filter_map(|r| r.ttft_ms).collect()),
        ttfo: summary(ok.iter().filter_map(|r| r.ttfo_ms).collect()),
        ttfb: summary(ok.iter().filter_map(|r| r.ttfb_ms).collect()),
        queue: summary(ok.iter().map(|r| r.queue_ms).collect()),
        tpot: summary(ok.iter().filter_map(|r| r.tpot_ms()).collect()),
        ntpot: summary(ok.iter().filter_map(|r| r.ntpot_ms()).collect()),
        itl: summary(ok.iter().flat_map(|r| r.gaps_us.iter().map(|&g| f64::from(g) / 1e3)).collect()),
        e2e: summary(ok.iter().map(|r| r.e2e_ms).collect()),
        decode_tps: summary(ok.iter().filter_map(|r| r.decode_tps()).collect()),
        output_tokens: summary(ok.iter().map(|r| r.output_tokens as f64).collect()),
        input_tokens: summary(ok.iter().filter_map(|r| r.input_tokens.map(|n| n as f64)).collect()),
        server_latency: summary(ok.iter().filter_map(|r| r.server_latency_ms).collect()),
        server_first_byte: summary(ok.iter().filter_map(|r| r.server_first_byte_ms).collect()),
        network_overhead: summary(ok.iter().filter_map(|r| r.network_overhead_ms()).collect()),
        reasoning_tokens: summary(reasoned.iter().filter_map(|r| r.reasoning_tokens.map(|n| n as f64)).collect()),
        answer_tokens: summary(if any_reasoning {
            ok.iter().map(|r| r.answer_tokens() as f64).collect()
        } else {
            Vec::new()
        }),
        thinking: summary(if any_reasoning { ok.iter().filter_map(|r| r.thinking_ms()).collect() } else { Vec::new() }),
        ttftc: summary(ok.iter().filter_map(|r| r.ttftc_ms).collect()),
        tool_call: summary(ok.iter().filter_map(|r| r.tool_call_ms).collect()),
        cache: super::traffic::cache(&ok),
        connections,
        input_tokens_requested: summary(ok.iter().filter_map(|r| r.input_tokens_requested.map(|n| n as f64)).collect()),
        input_tokens_generated: summary(ok.iter().filter_map(|r| r.input_tokens_generated.map(|n| n as f64)).collect()),
        output_token_source,
        cost: None,
        rate: None,
        stage: None,
        load: None,
        goodput: None,
        correctness: None,
        sessions: super::sessions::summarize(records),
        stopped_early: None,
        warnings,
    }
}

/// Attempted (measured, not cut by llmbench), ok, failed by class, and cut.
fn request_counts(measured: &[&RequestRecord], ok: usize, cut: usize) -> RequestCounts {
    let mut counts = RequestCounts {
        attempted: measured.len() as u64,
        ok: ok as u64,
        cut_by_llmbench: cut as u64,
        ..RequestCounts::default()
    };
    for r in measured {
        if let Some(e) = &r.error {
            counts.failed += 1;
            *counts.by_class.entry(e.class.as_str().to_owned()).or_default() += 1;
        }
    }
    counts
}

/// What makes a level's figures less comparable: input lengths that
/// disagree, connections some requests paid for, estimated reasoning counts.
fn level_warnings(ok: &[&RequestRecord], connections: Option<&super::ConnectionSummary>) -> Vec<String> {
    let mut warnings = super::traffic::input_warnings(ok);
    warnings.extend(connections.and_then(super::connections::warning));
    if ok.iter().any(|r| r.reasoning_source == Some(TokenSource::Estimate)) {
        warnings.push(
            "the server reports no reasoning token count: reasoning tokens are the output count split by the \
             reasoning share of the streamed text (reasoning_source \"estimate\")"
                .into(),
        );
    }
    warnings
}

/// Time-weighted mean and maximum of requests in flight (from `sent` to
/// `end`) over the window, by a sweep over start and end events.
fn in_flight(records: &[&RequestRecord], start: u64, end: u64, requested: u32) -> InFlight {
    let mut events: Vec<(u64, i64)> = Vec::with_capacity(records.len() * 2);
    for r in records {
        let sent = r.start_us.saturating_add((r.queue_ms * 1e3) as u64);
        events.push((sent, 1));
        events.push((r.end_us().max(sent), -1));
    }
    // Ends sort before starts at the same instant, so back-to-back requests
    // of one closed-loop slot do not count twice.
    events.sort_unstable();
    let (mut current, mut max, mut area, mut last) = (0i64, 0i64, 0f64, start);
    for (t, delta) in events {
        area += current as f64 * (t.saturating_sub(last)) as f64;
        last = t;
        current += delta;
        max = max.max(current);
    }
    let span = end.saturating_sub(start) as f64;
    InFlight { mean: if span > 0.0 { area / span } else { 0.0 }, max: max.max(0) as u64, requested: requested.into() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{ErrorClass, RequestError};

    fn rec(start_us: u64, e2e_ms: f64, ttft_ms: f64, tokens: u64, error: Option<ErrorClass>) -> RequestRecord {
        RequestRecord {
            concurrency: 1,
            start_us,
            ttfb_ms: Some(1.0),
            ttft_ms: Some(ttft_ms),
            ttfo_ms: Some(ttft_ms),
            last_content_ms: Some(e2e_ms - 1.0),
            e2e_ms,
            chunks: tokens,
            gaps_us: vec![1000; tokens.saturating_sub(1) as usize],
            output_tokens: tokens,
            output_source: TokenSource::Usage,
            input_tokens: Some(10),
            error: error.map(|c| RequestError::new(c, "x")),
            ..RequestRecord::default()
        }
    }

    #[test]
    fn a_level_with_failures() {
        // Two slots, each running two 100 ms requests back to back; one throttled.
        let records = vec![
            rec(0, 100.0, 10.0, 11, None),
            rec(0, 100.0, 10.0, 11, None),
            rec(100_000, 100.0, 10.0, 11, None),
            rec(100_000, 100.0, 10.0, 11, Some(ErrorClass::Throttled)),
        ];
        let s = summarize_level(2, &records);
        assert_eq!((s.requests.attempted, s.requests.ok, s.requests.failed), (4, 3, 1));
        assert_eq!(s.requests.by_class["throttled"], 1);
        assert!((s.error_rate - 0.25).abs() < 1e-12);
        assert!((s.window_s - 0.2).abs() < 1e-9);
        assert!((s.req_per_s - 15.0).abs() < 1e-9);
        assert!((s.output_tok_per_s - 165.0).abs() < 1e-9);
        assert_eq!(s.in_flight.max, 2);
        assert!((s.in_flight.mean - 2.0).abs() < 1e-9);
        assert_eq!(s.ttft.as_ref().unwrap().count, 3);
        assert_eq!(s.itl.as_ref().unwrap().count, 30);
        // tpot = (99 - 10) / 10
        assert!((s.tpot.as_ref().unwrap().mean - 8.9).abs() < 1e-9);
        assert_eq!(s.output_token_source["usage"], 3);
        assert_eq!(s.metric_value("req_per_s"), Some(s.req_per_s));
        assert_eq!(s.metric_value("ttft.p50"), Some(10.0));
        assert_eq!(s.metric_value("ttft.p99"), None, "too few samples");
        assert_eq!(s.metric_value("cost_per_ok_request"), None, "no price");
        assert_eq!(s.metric_value("nonsense"), None);
    }

    #[test]
    fn warmup_and_cold_start_are_not_measured() {
        let mut warm = rec(0, 100.0, 10.0, 5, None);
        warm.phase = Phase::Warmup;
        let mut cold = rec(0, 900.0, 800.0, 5, None);
        cold.phase = Phase::ColdStart;
        let s = summarize_level(1, &[warm, cold, rec(200_000, 50.0, 5.0, 5, None)]);
        assert_eq!(s.requests.attempted, 1);
        assert_eq!(s.ttft.as_ref().unwrap().max, 5.0);
    }
}
