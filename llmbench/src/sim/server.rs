//! The simulator's HTTP side: the accept loop, one hyper HTTP/1.1
//! connection task per socket, routing, request parsing, the per-request
//! decisions (id, error, capacity slot, clock start) and every response that
//! is not a paced stream. The paced body lives in `stream.rs`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::stream::{Endpoint, MidStream, Schedule, SimBody, SseBody, StreamCut, StreamSpec, next_word};
use super::{FlushRecord, SimConfig, SimError};
use crate::rng::Rng;

/// Output length when neither the config nor the request sets one.
pub(super) const DEFAULT_MAX_TOKENS: u32 = 128;
/// The longest answer it gives, like a model's context length: bigger
/// `max_tokens` are refused (400), which also bounds a response's memory.
const MAX_OUTPUT_TOKENS: u32 = 1 << 20;
/// Request bodies beyond this are refused (413).
pub(super) const MAX_REQUEST_BYTES: usize = 16 * 1024 * 1024;

/// What every connection of one server shares.
pub(crate) struct Shared {
    pub(crate) config: SimConfig,
    /// The number of the last request accepted; ids and random streams
    /// derive from it.
    pub(super) requests: AtomicU64,
    pub(super) slots: Option<Arc<Semaphore>>,
    pub(crate) flushes: Arc<Mutex<Vec<FlushRecord>>>,
    /// Prompt blocks cached so far (`prefix_cache`).
    pub(crate) prefix: super::traffic::PrefixCache,
    /// A `restart` fault asks the accept loop to go away for this long.
    restart: tokio::sync::mpsc::UnboundedSender<Duration>,
    restarts: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<Duration>>>,
}

impl Shared {
    pub(crate) fn new(config: SimConfig) -> Shared {
        let (restart, restarts) = tokio::sync::mpsc::unbounded_channel();
        Shared {
            restart,
            restarts: Mutex::new(Some(restarts)),
            slots: config.capacity.map(|n| Arc::new(Semaphore::new(n as usize))),
            config,
            requests: AtomicU64::new(0),
            flushes: Arc::default(),
            prefix: super::traffic::PrefixCache::default(),
        }
    }
}

/// Accepts connections until `stop` changes or its sender is dropped, then
/// closes the listener and aborts every connection, and returns once they
/// are all gone.
pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    let mut listener = Some(listener);
    let restarts = shared.restarts.lock().ok().and_then(|mut r| r.take());
    let Some(mut restarts) = restarts else { return };
    while let Some(accepting) = &listener {
        tokio::select! {
            _ = stop.changed() => break,
            Some(pause) = restarts.recv() => {
                // A `restart` fault: every connection cut, the port closed
                // (new connections are refused), then the same port again.
                let Ok(addr) = accepting.local_addr() else { break };
                connections.shutdown().await;
                listener = None;
                tokio::select! {
                    _ = stop.changed() => break,
                    _ = tokio::time::sleep(pause) => {}
                }
                listener = rebind(addr).await;
                continue;
            }
            accepted = accepting.accept() => match accepted {
                Ok((socket, _)) => {
                    connections.spawn(serve_connection(socket, Arc::clone(&shared)));
                }
                // Out of file descriptors, or the like: back off, don't spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    connections.shutdown().await;
}

/// Listens on `addr` again after a restart; the port was just ours, so
/// only a brief race with another process could take it.
async fn rebind(addr: std::net::SocketAddr) -> Option<TcpListener> {
    for _ in 0..50 {
        if let Ok(listener) = TcpListener::bind(addr).await {
            return Some(listener);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

async fn serve_connection(socket: TcpStream, shared: Arc<Shared>) {
    // Each chunk must leave at once, not wait for Nagle.
    let _ = socket.set_nodelay(true);
    let service = service_fn(move |request| handle(request, Arc::clone(&shared)));
    // Errors here are the client's doing (hung up, bad HTTP) or a `cut`.
    let _ = http1::Builder::new().serve_connection(TokioIo::new(socket), service).await;
}

async fn handle(request: Request<Incoming>, shared: Arc<Shared>) -> Result<Response<SimBody>, StreamCut> {
    #[cfg(feature = "_eventstream")]
    if let Some(route) = super::aws::route(&request) {
        return super::aws::handle(route, request, &shared).await;
    }
    let endpoint = match (request.method(), request.uri().path()) {
        (&Method::POST, "/v1/chat/completions") => Endpoint::Chat,
        (&Method::POST, "/v1/completions") => Endpoint::Completions,
        (&Method::GET, "/v1/models") => return Ok(models()),
        (method, path @ ("/v1/chat/completions" | "/v1/completions")) => {
            let message = format!("sim: {method} is not allowed on {path} (use POST)");
            return Ok(error_response(StatusCode::METHOD_NOT_ALLOWED, "invalid_request_error", &message));
        }
        (method, path) => {
            let message =
                format!("sim: no route for {method} {path} (use POST /v1/chat/completions or POST /v1/completions)");
            return Ok(error_response(StatusCode::NOT_FOUND, "invalid_request_error", &message));
        }
    };
    let body = match Limited::new(request.into_body(), MAX_REQUEST_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => {
            let message = format!("sim: request body over {MAX_REQUEST_BYTES} bytes");
            return Ok(error_response(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request_error", &message));
        }
        Err(e) => {
            let message = format!("sim: could not read the request body: {e}");
            return Ok(error_response(StatusCode::BAD_REQUEST, "invalid_request_error", &message));
        }
    };
    match SimRequest::parse(&body, endpoint) {
        Ok(request) => respond(request, &shared).await,
        Err(message) => Ok(error_response(StatusCode::BAD_REQUEST, "invalid_request_error", &message)),
    }
}

/// The part of a request the simulator acts on.
#[derive(Debug, Clone, PartialEq)]
struct SimRequest {
    endpoint: Endpoint,
    model: String,
    prompt_tokens: u32,
    max_tokens: Option<u32>,
    stream: bool,
    include_usage: bool,
    /// `reasoning_effort` was sent: the answer starts with reasoning.
    reasoning: bool,
    /// The first declared tool (name, parameters schema): the answer is a
    /// call to it, unless the last message is a tool's result.
    tool: Option<(String, Value)>,
    /// The prompt as the prefix cache sees it.
    blocks: super::traffic::PromptBlocks,
}

#[derive(serde::Deserialize)]
struct WireRequest {
    model: Option<String>,
    messages: Option<Vec<Value>>,
    prompt: Option<Value>,
    max_tokens: Option<u32>,
    max_completion_tokens: Option<u32>,
    stream: Option<bool>,
    stream_options: Option<StreamOptions>,
    reasoning_effort: Option<Value>,
    tools: Option<Vec<Value>>,
}

#[derive(serde::Deserialize)]
struct StreamOptions {
    include_usage: Option<bool>,
}

impl SimRequest {
    /// Reads an OpenAI request body; other fields (temperature, …) are
    /// accepted and ignored. The error is the message for a 400.
    fn parse(body: &[u8], endpoint: Endpoint) -> Result<SimRequest, String> {
        let wire: WireRequest = serde_json::from_slice(body).map_err(|e| format!("sim: invalid request body: {e}"))?;
        check_tool_results(wire.messages.as_deref().unwrap_or_default())?;
        // A model that got its tools' results answers them in text.
        let after_tool = wire.messages.iter().flatten().next_back().is_some_and(|m| m["role"] == "tool");
        let (prompt_tokens, blocks): (u64, _) = match endpoint {
            Endpoint::Chat => {
                let messages = wire.messages.ok_or("sim: `messages` is required")?;
                let (text, _) = super::traffic::chat_text(None, &messages);
                let tokens = messages.iter().map(message_tokens).sum();
                (tokens, super::traffic::PromptBlocks::of(&text, None))
            }
            Endpoint::Completions => {
                let prompt = wire.prompt.ok_or("sim: `prompt` is required")?;
                let text = prompt.as_str().unwrap_or_default();
                (content_tokens(&prompt), super::traffic::PromptBlocks::of(text, None))
            }
        };
        let chat = endpoint == Endpoint::Chat;
        let tool = wire.tools.iter().flatten().find_map(|t| {
            let f = &t["function"];
            Some((f["name"].as_str()?.to_owned(), f.get("parameters").cloned().unwrap_or(Value::Null)))
        });
        // OpenAI's newer name wins, as in vLLM.
        let max_tokens = wire.max_completion_tokens.or(wire.max_tokens);
        match max_tokens {
            Some(0) => return Err("sim: max_tokens must be at least 1".into()),
            Some(n) if n > MAX_OUTPUT_TOKENS => {
                return Err(format!("sim: max_tokens {n} is over the sim's limit of {MAX_OUTPUT_TOKENS}"));
            }
            _ => {}
        }
        Ok(SimRequest {
            endpoint,
            model: wire.model.unwrap_or_else(|| "sim".into()),
            prompt_tokens: u32::try_from(prompt_tokens).unwrap_or(u32::MAX).max(1),
            max_tokens,
            stream: wire.stream.unwrap_or(false),
            include_usage: wire.stream_options.and_then(|o| o.include_usage).unwrap_or(false),
            reasoning: chat && wire.reasoning_effort.is_some_and(|e| !e.is_null()),
            tool: tool.filter(|_| chat && !after_tool),
            blocks,
        })
    }
}

/// Refuses, as OpenAI and vLLM do, a `tool` message that answers no call
/// of an earlier assistant message.
fn check_tool_results(messages: &[Value]) -> Result<(), String> {
    let mut calls: Vec<&str> = Vec::new();
    for (k, m) in messages.iter().enumerate() {
        if let Some(made) = m["tool_calls"].as_array() {
            calls.extend(made.iter().filter_map(|c| c["id"].as_str()));
        }
        if m["role"] == "tool" {
            match m["tool_call_id"].as_str() {
                Some(id) if calls.contains(&id) => {}
                Some(id) => {
                    return Err(format!("sim: messages[{k}]: tool_call_id {id:?} answers no earlier tool call"));
                }
                None => return Err(format!("sim: messages[{k}]: a tool message needs `tool_call_id`")),
            }
        }
    }
    Ok(())
}

/// Prompt tokens in a chat message: its content, and the name and
/// arguments of each tool call it carries.
fn message_tokens(message: &Value) -> u64 {
    let calls = message["tool_calls"].as_array().into_iter().flatten().map(|c| {
        let f = &c["function"];
        [&f["name"], &f["arguments"]].into_iter().filter(|v| v.is_string()).map(content_tokens).sum::<u64>()
    });
    message.get("content").map_or(0, content_tokens) + calls.sum::<u64>()
}

/// Prompt tokens in a message content or a prompt, as the workload's
/// default tokenizer counts them (so a synthetic prompt is the length it
/// was asked to be): a string, an array of strings or of content parts —
/// `{"type":"text","text":…}`, and images in each protocol's form
/// (`image_url` data URIs, base64 `source.data`, Bedrock `source.bytes`),
/// counted as width × height / 750 from the PNG's header. A token id
/// (completions accept token arrays) is one token.
pub(super) fn content_tokens(value: &Value) -> u64 {
    match value {
        Value::String(text) => u64::from(prompt_tokenizer().count(text)),
        Value::Array(items) => items.iter().map(content_tokens).sum(),
        Value::Object(part) => {
            if let Some(text) = part.get("text") {
                return content_tokens(text);
            }
            let base64 = part["image_url"]["url"]
                .as_str()
                .and_then(|url| url.split_once(";base64,").map(|(_, data)| data))
                .or_else(|| part["source"]["data"].as_str())
                .or_else(|| part["image"]["source"]["bytes"].as_str());
            base64.map_or(0, image_tokens)
        }
        Value::Number(_) => 1,
        _ => 0,
    }
}

/// The tokens of a base64 PNG: width × height / 750 (docs/metrics.md); a
/// picture that is not a PNG counts one token.
fn image_tokens(base64: &str) -> u64 {
    // The signature and IHDR's width and height are the first 24 bytes.
    let head = base64.get(..32).unwrap_or(base64);
    match crate::workload::image::unbase64(head).as_deref().and_then(crate::workload::image::png_size) {
        Some((w, h)) => (u64::from(w) * u64::from(h)).div_ceil(750).max(1),
        None => 1,
    }
}

/// The tokenizer the simulator counts prompts with: the workloads' default.
pub(crate) fn prompt_tokenizer() -> &'static crate::tokenizer::Tokenizer {
    static TOKENIZER: std::sync::OnceLock<crate::tokenizer::Tokenizer> = std::sync::OnceLock::new();
    TOKENIZER.get_or_init(crate::tokenizer::Tokenizer::default)
}

/// Decides the request's fate and starts its response.
async fn respond(request: SimRequest, shared: &Shared) -> Result<Response<SimBody>, StreamCut> {
    let config = &shared.config;
    let n = shared.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let (failure, timing, words) = draws(config, n);
    let mut fail_at = None;
    if let Some(fault) = super::faults::pick(&config.faults, config.seed, n) {
        use super::faults::{DEFAULT_HUGE_EVENT, DEFAULT_RESTART, DEFAULT_STALL, FaultKind};
        let pause = fault.duration;
        fail_at = fault.after;
        let mid = match fault.kind {
            FaultKind::Throttle => {
                return Ok(error_response(StatusCode::TOO_MANY_REQUESTS, "rate_limit_error", "sim: fault throttle"));
            }
            FaultKind::ServerError => {
                let status =
                    StatusCode::from_u16(fault.status.unwrap_or(500)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return Ok(error_response(status, "server_error", "sim: fault server_error"));
            }
            // Hyper closes the connection without a response.
            FaultKind::Refuse => return Err(StreamCut),
            FaultKind::Restart => {
                let _ = shared.restart.send(pause.unwrap_or(DEFAULT_RESTART));
                return Err(StreamCut);
            }
            FaultKind::SlowHeaders => {
                tokio::time::sleep(pause.unwrap_or(DEFAULT_STALL)).await;
                None
            }
            FaultKind::Cut => Some(MidStream::Cut),
            FaultKind::StallBeforeContent => {
                fail_at = Some(0);
                Some(MidStream::Stall(pause.unwrap_or(DEFAULT_STALL)))
            }
            FaultKind::Stall => Some(MidStream::Stall(pause.unwrap_or(DEFAULT_STALL))),
            FaultKind::Garbage => Some(MidStream::Garbage),
            FaultKind::InvalidJson => Some(MidStream::InvalidJson),
            FaultKind::HugeEvent => Some(MidStream::Huge(fault.size.unwrap_or(DEFAULT_HUGE_EVENT))),
            FaultKind::NonUtf8 => Some(MidStream::NonUtf8),
            FaultKind::ErrorEvent => Some(MidStream::ErrorEvent),
            FaultKind::NoEnd => Some(MidStream::NoEnd),
        };
        if let Some(mid) = mid {
            return stream(request, shared, n, timing, words, Some(mid), fail_at).await;
        }
        return stream(request, shared, n, timing, words, None, None).await;
    }
    let failure = match failure {
        None => None,
        Some(SimError::Throttled) => {
            return Ok(error_response(StatusCode::TOO_MANY_REQUESTS, "rate_limit_error", "sim: rate limited"));
        }
        Some(SimError::Server) => {
            let status = StatusCode::INTERNAL_SERVER_ERROR;
            return Ok(error_response(status, "server_error", "sim: internal server error"));
        }
        Some(SimError::ModelStream) => Some(MidStream::ModelError),
        Some(SimError::Cut) => Some(MidStream::Cut),
    };
    stream(request, shared, n, timing, words, failure, fail_at).await
}

/// Starts the response of request number `n`: paced, and failing as
/// `failure` says at chunk `fail_at` (about half way when `None`).
async fn stream(
    mut request: SimRequest,
    shared: &Shared,
    n: u64,
    timing: Rng,
    words: Rng,
    failure: Option<MidStream>,
    fail_at: Option<u32>,
) -> Result<Response<SimBody>, StreamCut> {
    let received = std::time::Instant::now();
    let config = &shared.config;
    let mut spec = stream_spec(&mut request, config, n, failure, fail_at);
    // Queueing for a slot happens before the clock starts, so it shows in
    // the client's TTFT, as on a loaded server. A slot is never closed.
    let permit = match &shared.slots {
        Some(slots) => Arc::clone(slots).acquire_owned().await.ok(),
        None => None,
    };
    let (first_token, cache) = prefill(shared, &request.blocks, request.prompt_tokens, n);
    spec.cached_tokens = cache.map(|c| c.read);
    if cache.is_some() && request.endpoint == Endpoint::Chat && spec.tool.is_none() && spec.failure.is_none() {
        // As a server caching generated tokens too: the next turn, which
        // sends this answer back, finds it cached.
        shared.prefix.insert(&request.blocks.with_answer(&answer_text(&spec, &words)));
    }
    let schedule = Schedule::start(first_token, &config.ttft, config.itl, timing);
    if !request.stream {
        return whole_response(spec, schedule, words, permit).await;
    }
    let sink = config.record_flushes.then(|| (received, Arc::clone(&shared.flushes)));
    let mut response = Response::new(SimBody::Sse(Box::new(SseBody::new(spec, schedule, words, sink, permit))));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// The answer text `words` will stream for `spec`: the words after the
/// reasoning ones, as `SseBody` draws them.
fn answer_text(spec: &StreamSpec, words: &Rng) -> String {
    let mut words = words.clone();
    (0..spec.output_tokens).map(|_| next_word(&mut words)).skip(spec.reasoning_tokens as usize).collect()
}

/// Prefill, once the request has its slot: the prompt's leading blocks
/// already in the prefix cache (`prefix_cache`) are free, the rest cost
/// `prefill` a token. When the first token's delay may start, and what the
/// cache did (`None` without one). Every protocol's request goes through it.
pub(super) fn prefill(
    shared: &Shared,
    blocks: &super::traffic::PromptBlocks,
    prompt_tokens: u32,
    n: u64,
) -> (Instant, Option<super::traffic::CacheUse>) {
    let config = &shared.config;
    let cache = config.prefix_cache.then(|| shared.prefix.serve(blocks, prompt_tokens));
    let uncached = prompt_tokens.saturating_sub(cache.map_or(0, |c| c.read));
    let prefill = config.prefill.sample(&mut Rng::for_item(config.seed ^ 0x009E_F111, n)) * uncached;
    (Instant::now() + prefill, cache)
}

/// What request number `n` will be answered with: its length, reasoning,
/// tool call and finish reason, failing as `failure` says.
fn stream_spec(
    request: &mut SimRequest,
    config: &SimConfig,
    n: u64,
    failure: Option<MidStream>,
    fail_at: Option<u32>,
) -> StreamSpec {
    let output_tokens = match (config.output_tokens, request.max_tokens) {
        (Some(fixed), Some(limit)) => fixed.min(limit),
        (fixed, limit) => fixed.or(limit).unwrap_or(DEFAULT_MAX_TOKENS),
    };
    let prefix = if request.endpoint == Endpoint::Chat { "chatcmpl" } else { "cmpl" };
    let reasoning_tokens = if request.reasoning { super::traffic::reasoning_tokens(output_tokens, None) } else { 0 };
    let tool = request.tool.as_ref().map(|(name, schema)| super::traffic::ToolPlan::new(name, schema, n));
    // A tool call is the answer: one token per argument piece.
    let output_tokens = match &tool {
        Some(t) => reasoning_tokens + t.pieces.len() as u32,
        None => output_tokens,
    };
    StreamSpec {
        id: format!("{prefix}-sim-{n}"),
        endpoint: request.endpoint,
        created: SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        model: std::mem::take(&mut request.model),
        prompt_tokens: request.prompt_tokens,
        output_tokens,
        chunk_tokens: config.chunk_tokens,
        // The request's limit cut it short, or the "model" chose to stop.
        finish_reason: match (&tool, request.max_tokens == Some(output_tokens)) {
            (Some(_), _) => "tool_calls",
            (None, true) => "length",
            (None, false) => "stop",
        },
        include_usage: request.include_usage,
        failure,
        fail_at,
        reasoning_tokens,
        tool,
        cached_tokens: None,
        report_reasoning: request.reasoning,
    }
}

/// The random choices of request number `n`: its failure, if any, the
/// generator its delays are drawn from, and the one its words come from.
/// Seeded per request number (arrival order), so the n-th request gets
/// the same draws in every run, whatever happened to the requests before.
pub(super) fn draws(config: &SimConfig, n: u64) -> (Option<SimError>, Rng, Rng) {
    let mut timing = Rng::for_item(config.seed, n << 1);
    let words = Rng::for_item(config.seed, (n << 1) | 1);
    // Always drawn, so the delays do not depend on error_rate.
    let fails = timing.next_f64() < config.error_rate;
    (fails.then_some(config.error), timing, words)
}

/// A `stream: false` answer: the whole completion once its last token is
/// due (or the failure, once it strikes), with usage.
async fn whole_response(
    spec: StreamSpec,
    mut schedule: Schedule,
    mut words: Rng,
    permit: Option<OwnedSemaphorePermit>,
) -> Result<Response<SimBody>, StreamCut> {
    let chunks = spec.chunks();
    let last = if spec.failure.is_some() { StreamSpec::failure_chunk(chunks) } else { chunks - 1 };
    for _ in 0..last {
        schedule.advance();
    }
    if schedule.due() > Instant::now() {
        tokio::time::sleep_until(schedule.due()).await;
    }
    drop(permit);
    match spec.failure {
        Some(MidStream::ModelError) => {
            let status = StatusCode::INTERNAL_SERVER_ERROR;
            return Ok(error_response(status, "server_error", "sim: model failed"));
        }
        // A whole answer has no stream to stall or to corrupt: a stall
        // delays it, a huge event or a missing end marker is moot, and the
        // other faults drop the connection without an answer.
        Some(MidStream::Stall(pause)) => tokio::time::sleep(pause).await,
        Some(MidStream::Huge(_) | MidStream::NoEnd) | None => {}
        Some(_) => return Err(StreamCut),
    }
    let text: String = (0..spec.output_tokens).map(|_| next_word(&mut words)).collect();
    let (object, choice) = match spec.endpoint {
        Endpoint::Chat => (
            "chat.completion",
            json!({"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": spec.finish_reason}),
        ),
        Endpoint::Completions => {
            ("text_completion", json!({"index": 0, "text": text, "finish_reason": spec.finish_reason}))
        }
    };
    let body = json!({
        "id": spec.id,
        "object": object,
        "created": spec.created,
        "model": spec.model,
        "choices": [choice],
        "usage": spec.usage().json(),
    });
    Ok(json_response(StatusCode::OK, &body))
}

fn models() -> Response<SimBody> {
    let body =
        json!({"object": "list", "data": [{"id": "sim", "object": "model", "created": 0, "owned_by": "llmbench"}]});
    json_response(StatusCode::OK, &body)
}

fn json_response(status: StatusCode, body: &Value) -> Response<SimBody> {
    let mut response = Response::new(SimBody::Full(Some(Bytes::from(body.to_string()))));
    *response.status_mut() = status;
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// An OpenAI-shaped error: `{"error":{"message","type","code"}}`.
fn error_response(status: StatusCode, kind: &str, message: &str) -> Response<SimBody> {
    json_response(status, &json!({"error": {"message": message, "type": kind, "code": status.as_u16()}}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Delay;

    fn parse(body: &str, endpoint: Endpoint) -> Result<SimRequest, String> {
        SimRequest::parse(body.as_bytes(), endpoint)
    }

    #[test]
    fn parses_chat_and_completion_requests() {
        let chat = parse(
            r#"{"model":"m","messages":[{"role":"system","content":"12345678"},
                {"role":"user","content":[{"type":"text","text":"abcd"}]}],
                "max_tokens":9,"max_completion_tokens":7,"stream":true,
                "stream_options":{"include_usage":true},"temperature":0.5}"#,
            Endpoint::Chat,
        )
        .unwrap();
        let expected = SimRequest {
            endpoint: Endpoint::Chat,
            model: "m".into(),
            prompt_tokens: crate::tokenizer::Tokenizer::default().count("12345678")
                + crate::tokenizer::Tokenizer::default().count("abcd"),
            max_tokens: Some(7),
            stream: true,
            include_usage: true,
            reasoning: false,
            tool: None,
            blocks: chat.blocks.clone(),
        };
        assert_eq!(chat, expected);
        let completion = parse(r#"{"prompt":"hi","max_tokens":null}"#, Endpoint::Completions).unwrap();
        assert_eq!((completion.model.as_str(), completion.prompt_tokens), ("sim", 1));
        assert_eq!((completion.max_tokens, completion.stream, completion.include_usage), (None, false, false));
        let token_ids = parse(r#"{"prompt":[1,2,3,4,5]}"#, Endpoint::Completions).unwrap();
        assert_eq!(token_ids.prompt_tokens, 5);
    }

    #[test]
    fn rejects_what_it_cannot_serve() {
        let cases = [
            ("{", Endpoint::Chat, "invalid request body: EOF"),
            ("3", Endpoint::Chat, "invalid type: integer `3`, expected struct WireRequest"),
            ("{}", Endpoint::Chat, "`messages` is required"),
            (r#"{"messages":[]}"#, Endpoint::Completions, "`prompt` is required"),
            (r#"{"messages":[],"max_tokens":0}"#, Endpoint::Chat, "max_tokens must be at least 1"),
            (r#"{"messages":[],"max_tokens":-3}"#, Endpoint::Chat, "invalid value: integer `-3`"),
            (r#"{"messages":[],"max_tokens":2000000}"#, Endpoint::Chat, "over the sim's limit of 1048576"),
        ];
        for (body, endpoint, expected) in cases {
            let err = parse(body, endpoint).unwrap_err();
            assert!(err.contains(expected), "{body}: {err}");
        }
    }

    #[test]
    fn draws_are_seeded_per_request() {
        let config = SimConfig {
            ttft: Delay::Exponential { mean: Duration::from_millis(50) },
            itl: Delay::Normal { mean: Duration::from_millis(10), stddev: Duration::from_millis(3) },
            error_rate: 0.5,
            seed: 11,
            ..SimConfig::default()
        };
        let offsets = |config: &SimConfig, n: u64| {
            let (failure, timing, mut words) = draws(config, n);
            let t0 = Instant::now();
            let mut schedule = Schedule::start(t0, &config.ttft, config.itl, timing);
            let mut offsets = Vec::new();
            for _ in 0..20 {
                offsets.push(schedule.due() - t0);
                schedule.advance();
            }
            let text: String = (0..5).map(|_| next_word(&mut words)).collect();
            (failure, offsets, text)
        };
        let run: Vec<_> = (1..=30).map(|n| offsets(&config, n)).collect();
        let again: Vec<_> = (1..=30).map(|n| offsets(&config, n)).collect();
        assert_eq!(run, again);
        // Random, not constant: the errors hit some requests, not all, and
        // requests and seeds differ.
        let failures = run.iter().filter(|(failure, ..)| failure.is_some()).count();
        assert!((5..=25).contains(&failures), "{failures} of 30 failed");
        assert_ne!(run[0].1, run[1].1);
        assert_ne!(run[0].2, run[1].2);
        let reseeded = offsets(&SimConfig { seed: 12, ..config.clone() }, 1);
        assert_ne!(reseeded.1, run[0].1);
        // The error rate does not shift the delays.
        let no_errors = offsets(&SimConfig { error_rate: 0.0, ..config.clone() }, 1);
        assert_eq!(no_errors.1, run[0].1);
    }
}
