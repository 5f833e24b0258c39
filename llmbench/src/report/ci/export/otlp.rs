//! OpenTelemetry metrics in OTLP: `--export otlp-json=PATH` writes one
//! `ExportMetricsServiceRequest` in the OTLP/JSON encoding (a file a
//! collector's `otlpjsonfile` receiver, or `curl` to `/v1/metrics`, takes);
//! `--export otlp=URL` (cargo feature `otlp`) POSTs the same request to an
//! OTLP/HTTP endpoint such as `http://127.0.0.1:4318/v1/metrics`.
//!
//! Built from serde_json values rather than the `opentelemetry-otlp` crate:
//! that crate brings an SDK, tonic and prost for a request this small, and
//! OTLP/HTTP with JSON is a transport every collector accepts.
//!
//! Metric names are the OpenTelemetry GenAI semantic conventions' where one
//! exists (`gen_ai.client.operation.duration`,
//! `gen_ai.server.time_to_first_token`, `gen_ai.server.time_per_output_token`,
//! `gen_ai.client.token.usage`), `llmbench.*` otherwise. Encoding rules of
//! OTLP/JSON followed here: lowerCamelCase keys, enums as integers, 64-bit
//! times as decimal strings (they exceed a double's precision). Counts are
//! written as JSON numbers, which the encoding also accepts, because they
//! are small and some decoders (the Rust `opentelemetry-proto` types) read
//! only numbers there.

use serde_json::{Value, json};

use super::histogram::{Histogram, Measure};
use super::{ExportRun, Series, epoch_ms, series};

/// `AGGREGATION_TEMPORALITY_DELTA`: each run's figures stand alone.
const DELTA: u8 = 1;

const HISTOGRAMS: [(&str, &str, &str, Measure); 6] = [
    (
        "gen_ai.client.operation.duration",
        "s",
        "End-to-end latency of ok requests (request due to end of stream).",
        Measure::E2e,
    ),
    (
        "gen_ai.server.time_to_first_token",
        "s",
        "Time to first token of ok requests, measured by the client.",
        Measure::Ttft,
    ),
    (
        "llmbench.time_to_first_output",
        "s",
        "Time to the first answer token of ok requests (after any reasoning), where requests reasoned.",
        Measure::Ttfo,
    ),
    (
        "gen_ai.server.time_per_output_token",
        "s",
        "Time per output token after the first, of ok requests, measured by the client.",
        Measure::Tpot,
    ),
    ("llmbench.inter_token_latency", "s", "Every gap between successive content chunks of ok requests.", Measure::Itl),
    ("gen_ai.client.token.usage", "{token}", "Tokens per ok request, by gen_ai.token.type.", Measure::OutputTokens),
];

type Figure = fn(&Series<'_>) -> Option<f64>;
const GAUGES: [(&str, &str, &str, Figure); 6] = [
    ("llmbench.throughput.requests", "{request}/s", "Ok requests per second of the measured window.", |s| {
        s.value("req_per_s")
    }),
    ("llmbench.throughput.output_tokens", "{token}/s", "Output tokens of ok requests per second.", |s| {
        s.value("output_tok_per_s")
    }),
    ("llmbench.error_rate", "1", "Failed requests / attempted.", |s| s.value("error_rate")),
    ("llmbench.goodput", "1", "Requests that succeeded and met every SLO / attempted.", |s| s.goodput_ratio()),
    ("llmbench.cost.per_ok_request", "USD", "Cost of the level / ok requests.", |s| s.value("cost_per_ok_request")),
    ("llmbench.cache.hit_ratio", "1", "Prompt tokens read from a cache / prompt tokens, where reported.", |s| {
        s.value("cache_hit_ratio")
    }),
];

/// The request for `runs`.
pub(crate) fn render(runs: &[ExportRun<'_>]) -> Value {
    let all = series(runs);
    let mut metrics = Vec::new();
    for (name, unit, description, measure) in HISTOGRAMS {
        let mut points = Vec::new();
        for s in all.iter().filter(|s| measure.applies(s)) {
            let ok = || s.ok().into_iter().flatten();
            if measure == Measure::OutputTokens {
                for (kind, m) in [("input", Measure::InputTokens), ("output", Measure::OutputTokens)] {
                    let attrs = with(attributes(s), "gen_ai.token.type", kind);
                    points.push(histogram_point(s, attrs, &m.histogram(ok())));
                }
            } else {
                points.push(histogram_point(s, attributes(s), &measure.histogram(ok())));
            }
        }
        if !points.is_empty() {
            metrics.push(json!({ "name": name, "unit": unit, "description": description,
                "histogram": { "aggregationTemporality": DELTA, "dataPoints": points } }));
        }
    }
    let mut requests = Vec::new();
    for s in &all {
        for (outcome, n) in s.outcomes() {
            let (start, time) = times(s);
            let attrs = with(attributes(s), "llmbench.outcome", outcome);
            requests.push(json!({ "attributes": attrs, "startTimeUnixNano": start, "timeUnixNano": time, "asInt": n.to_string() }));
        }
    }
    if !requests.is_empty() {
        metrics.push(json!({ "name": "llmbench.requests", "unit": "{request}",
            "description": "Measured requests by outcome: ok, the error class, or cut_by_llmbench.",
            "sum": { "aggregationTemporality": DELTA, "isMonotonic": true, "dataPoints": requests } }));
    }
    for (name, unit, description, figure) in GAUGES {
        let points: Vec<Value> = all
            .iter()
            .filter_map(|s| {
                let v = figure(s)?;
                let (_, time) = times(s);
                Some(json!({ "attributes": attributes(s), "timeUnixNano": time, "asDouble": v }))
            })
            .collect();
        if !points.is_empty() {
            metrics.push(
                json!({ "name": name, "unit": unit, "description": description, "gauge": { "dataPoints": points } }),
            );
        }
    }
    json!({
        "resourceMetrics": [{
            "resource": { "attributes": [
                attribute("service.name", "llmbench"),
                attribute("service.version", env!("CARGO_PKG_VERSION")),
            ] },
            "scopeMetrics": [{
                "scope": { "name": "llmbench", "version": env!("CARGO_PKG_VERSION") },
                "metrics": metrics,
            }],
        }],
    })
}

fn histogram_point(s: &Series<'_>, attributes: Vec<Value>, h: &Histogram) -> Value {
    let (start, time) = times(s);
    let mut p = json!({
        "attributes": attributes,
        "startTimeUnixNano": start,
        "timeUnixNano": time,
        "count": h.count,
        "sum": h.sum,
        "bucketCounts": h.counts,
        "explicitBounds": h.bounds,
    });
    if h.count > 0 {
        p["min"] = json!(h.min);
        p["max"] = json!(h.max);
    }
    p
}

/// The run's start and end, nanoseconds since the epoch, as strings.
fn times(s: &Series<'_>) -> (String, String) {
    let start_ms = epoch_ms(&s.run.started_at).unwrap_or(0);
    let start = u128::from(start_ms) * 1_000_000;
    let end = start + (s.run.duration_s.max(0.0) * 1e9) as u128;
    (start.to_string(), end.to_string())
}

/// The data point attributes of a level: the GenAI conventions' where they
/// exist, `llmbench.*` for what only a benchmark has.
fn attributes(s: &Series<'_>) -> Vec<Value> {
    let operation = if s.run.target.endpoint.contains("completions") && !s.run.target.endpoint.contains("chat") {
        "text_completion"
    } else {
        "chat"
    };
    vec![
        attribute("gen_ai.operation.name", operation),
        attribute("gen_ai.provider.name", &s.run.target.provider),
        attribute("gen_ai.request.model", &s.run.target.model),
        attribute("llmbench.bench", &s.run.bench.id),
        attribute("llmbench.target", &s.run.target.name),
        attribute("llmbench.level", &s.level.label()),
    ]
}

fn attribute(key: &str, value: &str) -> Value {
    json!({ "key": key, "value": { "stringValue": value } })
}

fn with(mut attrs: Vec<Value>, key: &str, value: &str) -> Vec<Value> {
    attrs.push(attribute(key, value));
    attrs
}

/// POSTs `request` to an OTLP/HTTP endpoint as JSON. On a thread of its
/// own, with a runtime of its own: a benchmark binary run alone exports
/// from inside its client runtime, where another cannot be started.
#[cfg(feature = "otlp")]
pub(crate) fn push(url: &str, request: &Value) -> Result<(), String> {
    let body = serde_json::to_vec(request).map_err(|e| e.to_string())?;
    std::thread::scope(|s| s.spawn(|| post(url, body)).join()).unwrap_or_else(|_| Err("the OTLP push panicked".into()))
}

#[cfg(feature = "otlp")]
fn post(url: &str, body: Vec<u8>) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the HTTP client: {e}"))?;
    runtime.block_on(async {
        let client = crate::provider::http_client(std::time::Duration::from_secs(10))?;
        let response = client
            .post(url)
            .header("content-type", "application/json")
            .timeout(std::time::Duration::from_secs(30))
            .body(body)
            .send()
            .await
            .map_err(|e| format!("cannot reach the collector: {}", crate::redact::redact(&e.to_string())))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            let text = response.text().await.unwrap_or_default();
            Err(format!("the collector answered {status}: {}", text.chars().take(300).collect::<String>()))
        }
    })
}

/// Without the `otlp` feature `ExportSpec::parse` refuses `otlp=URL`, so
/// this is never reached.
#[cfg(not(feature = "otlp"))]
pub(crate) fn push(_url: &str, _request: &Value) -> Result<(), String> {
    Err("--export otlp=URL needs llmbench built with the cargo feature `otlp`".into())
}
