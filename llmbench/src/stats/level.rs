//! The figures of one concurrency level (docs/metrics.md "Per run"), computed
//! from its measured request records.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::LatencySummary;
use super::summary::Distribution;
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
    let mut tally = SummaryTally::new(None);
    records.iter().for_each(|r| tally.add(r));
    tally.finish(concurrency)
}

/// The figures of one level gathered as its requests finish: counters,
/// one [`Distribution`] per metric, the in-flight sweep; memory does not
/// grow with the number of requests (sessions keep a little per session).
#[derive(Debug, Clone)]
pub(crate) struct SummaryTally {
    counts: RequestCounts,
    window_start: Option<u64>,
    window_end: u64,
    ok_output_tokens: u64,
    ttft: Distribution,
    ttfo: Distribution,
    ttfb: Distribution,
    queue: Distribution,
    tpot: Distribution,
    ntpot: Distribution,
    itl: Distribution,
    e2e: Distribution,
    decode_tps: Distribution,
    output_tokens: Distribution,
    input_tokens: Distribution,
    server_latency: Distribution,
    server_first_byte: Distribution,
    network_overhead: Distribution,
    reasoning_tokens: Distribution,
    answer_tokens: Distribution,
    thinking: Distribution,
    ttftc: Distribution,
    tool_call: Distribution,
    input_tokens_requested: Distribution,
    input_tokens_generated: Distribution,
    any_reasoning: bool,
    estimated_reasoning: bool,
    output_token_source: BTreeMap<String, u64>,
    cache: super::traffic::CacheTally,
    inputs: super::traffic::InputTally,
    connections: super::connections::ConnectionTally,
    sessions: super::sessions::SessionsTally,
    in_flight: InFlightSweep,
}

impl SummaryTally {
    /// An empty tally. `horizon_us`: no request lasts longer (its total
    /// deadline), so the in-flight sweep can settle what is older than
    /// that behind the latest end and keep only the rest; `None` keeps
    /// every event until [`finish`](Self::finish).
    pub(crate) fn new(horizon_us: Option<u64>) -> SummaryTally {
        SummaryTally {
            counts: RequestCounts::default(),
            window_start: None,
            window_end: 0,
            ok_output_tokens: 0,
            ttft: Distribution::default(),
            ttfo: Distribution::default(),
            ttfb: Distribution::default(),
            queue: Distribution::default(),
            tpot: Distribution::default(),
            ntpot: Distribution::default(),
            itl: Distribution::default(),
            e2e: Distribution::default(),
            decode_tps: Distribution::default(),
            output_tokens: Distribution::default(),
            input_tokens: Distribution::default(),
            server_latency: Distribution::default(),
            server_first_byte: Distribution::default(),
            network_overhead: Distribution::default(),
            reasoning_tokens: Distribution::default(),
            answer_tokens: Distribution::default(),
            thinking: Distribution::default(),
            ttftc: Distribution::default(),
            tool_call: Distribution::default(),
            input_tokens_requested: Distribution::default(),
            input_tokens_generated: Distribution::default(),
            any_reasoning: false,
            estimated_reasoning: false,
            output_token_source: BTreeMap::new(),
            cache: Default::default(),
            inputs: Default::default(),
            connections: Default::default(),
            sessions: Default::default(),
            in_flight: InFlightSweep::new(horizon_us),
        }
    }

    /// Counts one finished request (warm-up ones are left out).
    pub(crate) fn add(&mut self, r: &RequestRecord) {
        if r.phase != Phase::Measured {
            return;
        }
        self.sessions.add(r);
        if r.error.as_ref().is_some_and(|e| e.class.is_llmbench_cut()) {
            self.counts.cut_by_llmbench += 1;
            return;
        }
        self.counts.attempted += 1;
        self.window_start = Some(self.window_start.map_or(r.start_us, |s| s.min(r.start_us)));
        self.window_end = self.window_end.max(r.end_us());
        self.in_flight.add(r);
        self.connections.add(r);
        if let Some(e) = &r.error {
            self.counts.failed += 1;
            *self.counts.by_class.entry(e.class.as_str().to_owned()).or_default() += 1;
            return;
        }
        self.counts.ok += 1;
        self.ok_output_tokens += r.output_tokens;
        *self.output_token_source.entry(r.output_source.as_str().to_owned()).or_default() += 1;
        self.ttft.add_some(r.ttft_ms);
        self.ttfo.add_some(r.ttfo_ms);
        self.ttfb.add_some(r.ttfb_ms);
        self.queue.add(r.queue_ms);
        self.tpot.add_some(r.tpot_ms());
        self.ntpot.add_some(r.ntpot_ms());
        r.gaps_us.iter().for_each(|&g| self.itl.add(f64::from(g) / 1e3));
        self.e2e.add(r.e2e_ms);
        self.decode_tps.add_some(r.decode_tps());
        self.output_tokens.add(r.output_tokens as f64);
        self.input_tokens.add_some(r.input_tokens.map(|n| n as f64));
        self.server_latency.add_some(r.server_latency_ms);
        self.server_first_byte.add_some(r.server_first_byte_ms);
        self.network_overhead.add_some(r.network_overhead_ms());
        self.reasoning_tokens.add_some(r.reasoning_tokens.map(|n| n as f64));
        self.any_reasoning |= r.reasoning_tokens.is_some() || r.thinking_ms().is_some_and(|t| t > 0.0);
        self.estimated_reasoning |= r.reasoning_source == Some(TokenSource::Estimate);
        self.answer_tokens.add(r.answer_tokens() as f64);
        self.thinking.add_some(r.thinking_ms());
        self.ttftc.add_some(r.ttftc_ms);
        self.tool_call.add_some(r.tool_call_ms);
        self.input_tokens_requested.add_some(r.input_tokens_requested.map(|n| n as f64));
        self.input_tokens_generated.add_some(r.input_tokens_generated.map(|n| n as f64));
        self.cache.add(r);
        self.inputs.add(r);
    }

    /// The distribution of a metric `histograms.json` keeps, by key.
    pub(crate) fn distribution(&self, key: &str) -> Option<&Distribution> {
        Some(match key {
            "ttft" => &self.ttft,
            "ttfb" => &self.ttfb,
            "e2e" => &self.e2e,
            "tpot" => &self.tpot,
            "itl" => &self.itl,
            "queue" => &self.queue,
            _ => return None,
        })
    }

    /// The level's summary (cost, load, goodput and the like are the
    /// runner's to add).
    pub(crate) fn finish(&mut self, concurrency: u32) -> LevelSummary {
        let window_start = self.window_start.unwrap_or(0);
        let window_end = self.window_end.max(window_start);
        let window_s = (window_end - window_start) as f64 / 1e6;
        let per_s = |n: f64| if window_s > 0.0 { n / window_s } else { 0.0 };
        let counts = self.counts.clone();
        let connections = self.connections.finish();
        let mut warnings = self.inputs.warnings();
        warnings.extend(connections.as_ref().and_then(super::connections::warning));
        if self.estimated_reasoning {
            warnings.push(
                "the server reports no reasoning token count: reasoning tokens are the output count split by the \
                 reasoning share of the streamed text (reasoning_source \"estimate\")"
                    .into(),
            );
        }
        let reasoned = |d: &Distribution| if self.any_reasoning { d.summary() } else { None };
        LevelSummary {
            concurrency,
            error_rate: if counts.attempted > 0 { counts.failed as f64 / counts.attempted as f64 } else { 0.0 },
            req_per_s: per_s(counts.ok as f64),
            requests: counts,
            window_s,
            output_tok_per_s: per_s(self.ok_output_tokens as f64),
            in_flight: self.in_flight.finish(window_start, window_end, concurrency),
            ttft: self.ttft.summary(),
            ttfo: self.ttfo.summary(),
            ttfb: self.ttfb.summary(),
            queue: self.queue.summary(),
            tpot: self.tpot.summary(),
            ntpot: self.ntpot.summary(),
            itl: self.itl.summary(),
            e2e: self.e2e.summary(),
            decode_tps: self.decode_tps.summary(),
            output_tokens: self.output_tokens.summary(),
            input_tokens: self.input_tokens.summary(),
            server_latency: self.server_latency.summary(),
            server_first_byte: self.server_first_byte.summary(),
            network_overhead: self.network_overhead.summary(),
            reasoning_tokens: self.reasoning_tokens.summary(),
            answer_tokens: reasoned(&self.answer_tokens),
            thinking: reasoned(&self.thinking),
            ttftc: self.ttftc.summary(),
            tool_call: self.tool_call.summary(),
            cache: self.cache.finish(),
            connections,
            input_tokens_requested: self.input_tokens_requested.summary(),
            input_tokens_generated: self.input_tokens_generated.summary(),
            output_token_source: self.output_token_source.clone(),
            cost: None,
            rate: None,
            stage: None,
            load: None,
            goodput: None,
            correctness: None,
            sessions: self.sessions.finish(),
            stopped_early: None,
            warnings,
        }
    }
}

/// Time-weighted mean and maximum of requests in flight (from `sent` to
/// `end`), by a sweep over start and end events. Events are settled in
/// time order once no request still to come can precede them: a request
/// arrives when it ends and lasts at most the horizon, so what lies more
/// than the horizon (and a second's slack) before the latest end is final.
#[derive(Debug, Clone)]
struct InFlightSweep {
    horizon_us: Option<u64>,
    /// Pending events, earliest first; ends sort before starts at the same
    /// instant, so back-to-back requests of one closed-loop slot do not
    /// count twice.
    events: std::collections::BinaryHeap<std::cmp::Reverse<(u64, i8)>>,
    latest_end: u64,
    current: i64,
    max: i64,
    area: f64,
    last: Option<u64>,
}

/// Slack for requests that arrive a little after others that ended later.
const SWEEP_SLACK_US: u64 = 1_000_000;

impl InFlightSweep {
    fn new(horizon_us: Option<u64>) -> InFlightSweep {
        InFlightSweep {
            horizon_us,
            events: Default::default(),
            latest_end: 0,
            current: 0,
            max: 0,
            area: 0.0,
            last: None,
        }
    }

    fn add(&mut self, r: &RequestRecord) {
        let sent = r.start_us.saturating_add((r.queue_ms * 1e3) as u64);
        let end = r.end_us().max(sent);
        self.events.push(std::cmp::Reverse((sent, 1)));
        self.events.push(std::cmp::Reverse((end, -1)));
        self.latest_end = self.latest_end.max(end);
        if let Some(h) = self.horizon_us {
            self.settle(self.latest_end.saturating_sub(h.saturating_add(SWEEP_SLACK_US)));
        }
    }

    /// Sweeps every pending event before `until`.
    fn settle(&mut self, until: u64) {
        while let Some(&std::cmp::Reverse((t, delta))) = self.events.peek() {
            if t >= until {
                break;
            }
            self.events.pop();
            if let Some(last) = self.last {
                self.area += self.current as f64 * t.saturating_sub(last) as f64;
            }
            self.last = Some(t);
            self.current += i64::from(delta);
            self.max = self.max.max(self.current);
        }
    }

    fn finish(&mut self, start: u64, end: u64, requested: u32) -> InFlight {
        self.settle(u64::MAX);
        let span = end.saturating_sub(start) as f64;
        InFlight {
            mean: if span > 0.0 { self.area / span } else { 0.0 },
            max: self.max.max(0) as u64,
            requested: requested.into(),
        }
    }
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
