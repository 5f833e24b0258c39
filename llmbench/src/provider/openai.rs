//! The OpenAI-compatible provider: `POST {base_url}/chat/completions` or
//! `/completions` with `stream: true`, as served by OpenAI, vLLM, TGI,
//! Ollama's `/v1`, llama.cpp and others (protocols-and-prices.md §4).
//!
//! It sends one request and stamps its stream on a [`Timeline`]; every read
//! is stamped when it returns, before its bytes are parsed. What it absorbs
//! from the servers' deviations:
//!
//! - a role-only first chunk (`content: ""`) is passed on as empty text,
//!   which is not content;
//! - the usage chunk's `choices` may be `[]`, `null` or missing;
//! - Ollama puts a zero-valued `usage` on every chunk before the real one;
//! - errors may arrive after HTTP 200 as a `data:` object with an `error`
//!   key (vLLM, TGI, Ollama), or as an `event: error`;
//! - some servers close the stream after the finishing chunk without
//!   `data: [DONE]`.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::GenRequest;
use super::sse::{Event, SseDecoder};
use crate::record::{ContentKind, ErrorClass, RequestError, Timeline, Usage};

/// The most of an error response's body read to explain it: any JSON error
/// fits, and a server that answers with an endless page cannot hold us.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// The most bytes of server text quoted in an error message.
const MAX_QUOTE: usize = 300;
/// The largest SSE event accepted. Real chunks are a few hundred bytes; the
/// bound keeps a server that never ends a line from exhausting memory.
pub(crate) const MAX_EVENT_BYTES: usize = 8 << 20;
/// How long to wait after `[DONE]` for the body's own end. Reading it lets
/// the connection go back to the pool, so the next request does not pay a
/// new handshake inside its measured time.
pub(crate) const DRAIN_GRACE: Duration = Duration::from_millis(250);

/// Which OpenAI route to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `/chat/completions`, with `messages`.
    Chat,
    /// The legacy `/completions`, with the conversation flattened to `prompt`.
    Completions,
}

impl Endpoint {
    /// The route appended to `base_url`.
    pub(crate) fn route(self) -> &'static str {
        match self {
            Endpoint::Chat => "/chat/completions",
            Endpoint::Completions => "/completions",
        }
    }
}

/// How to reach one OpenAI-compatible server. `Debug` never prints the key.
#[derive(Clone)]
pub(crate) struct OpenAiSettings {
    /// Up to and including the version, e.g. `http://127.0.0.1:8000/v1`; a
    /// trailing slash is tolerated.
    pub base_url: String,
    /// The `model` field of every request.
    pub model: String,
    /// Sent as `Authorization: Bearer <key>` when set.
    pub api_key: Option<String>,
    /// The route to call.
    pub endpoint: Endpoint,
    /// How long a new connection may take to open.
    pub connect_timeout: Duration,
    /// Ask for the final usage chunk (`stream_options.include_usage`), the
    /// source of record for token counts. On by default; off for servers
    /// that reject the field.
    pub include_usage: bool,
    /// Send `min_tokens` and `ignore_eos` from the request (vLLM extras that
    /// make the output length exact). Off by default: OpenAI rejects them.
    pub send_min_tokens: bool,
    /// Fields merged into every request body; they replace standard fields
    /// of the same name.
    pub extra_body: Option<serde_json::Map<String, Value>>,
}

impl fmt::Debug for OpenAiSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiSettings")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("endpoint", &self.endpoint)
            .field("connect_timeout", &self.connect_timeout)
            .field("include_usage", &self.include_usage)
            .field("send_min_tokens", &self.send_min_tokens)
            .field("extra_body", &self.extra_body)
            .finish()
    }
}

/// A client for one OpenAI-compatible target. Clones share one connection
/// pool, so concurrent requests reuse warm connections.
#[derive(Clone)]
pub(crate) struct OpenAiProvider {
    client: reqwest::Client,
    url: String,
    auth: Option<HeaderValue>,
    settings: OpenAiSettings,
}

impl fmt::Debug for OpenAiProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiProvider").field("url", &self.url).field("settings", &self.settings).finish()
    }
}

impl OpenAiProvider {
    /// Checks the settings and builds the shared HTTP client.
    pub(crate) fn new(settings: OpenAiSettings) -> Result<Self, String> {
        let url = format!("{}{}", settings.base_url.trim_end_matches('/'), settings.endpoint.route());
        match reqwest::Url::parse(&url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
            _ => {
                return Err(format!(
                    "base_url {:?} is not an http(s) URL (example: http://127.0.0.1:8000/v1)",
                    settings.base_url
                ));
            }
        }
        let auth = match settings.api_key.as_deref().filter(|key| !key.is_empty()) {
            Some(key) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {key}"))
                    .map_err(|_| "api key contains characters not allowed in an HTTP header".to_string())?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        // reqwest is built without a crypto provider so that the workspace
        // picks one; this fails harmlessly when one is already installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // No overall timeout: the timeline's deadlines bound every wait.
        let client = reqwest::Client::builder()
            .connect_timeout(settings.connect_timeout)
            .tcp_nodelay(true)
            .pool_max_idle_per_host(usize::MAX)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(OpenAiProvider { client, url, auth, settings })
    }

    /// Sends `req` and records its stream on `tl`: the measured path.
    pub(crate) async fn send(&self, req: &GenRequest, tl: &mut Timeline) -> Result<(), RequestError> {
        let request = self.request(req)?;
        tl.mark_sent(Instant::now());
        let sent = tokio::time::timeout_at(deadline(tl), self.client.execute(request)).await;
        let headers_at = Instant::now();
        let mut response = match sent {
            Err(_elapsed) => return Err(tl.timeout_error()),
            Ok(Err(e)) if e.is_timeout() => {
                return Err(RequestError::new(ErrorClass::Timeout, format!("connect timed out: {}", describe(&e))));
            }
            Ok(Err(e)) => {
                return Err(RequestError::new(ErrorClass::Server, format!("connection failed: {}", describe(&e))));
            }
            Ok(Ok(response)) => response,
        };
        tl.mark_headers(headers_at);
        if !response.status().is_success() {
            return Err(status_error(response, tl).await);
        }
        let outcome = read_stream(&mut response, tl).await;
        if outcome.is_ok() {
            drain(&mut response).await;
        }
        outcome
    }

    /// The HTTP request for `req`, built before the clock starts.
    fn request(&self, req: &GenRequest) -> Result<reqwest::Request, RequestError> {
        let body = self
            .body(req)
            .map_err(|e| RequestError::new(ErrorClass::Client, format!("cannot encode the request body: {e}")))?;
        let mut builder = self
            .client
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "text/event-stream")
            .body(body);
        if let Some(auth) = &self.auth {
            builder = builder.header(AUTHORIZATION, auth.clone());
        }
        builder
            .build()
            .map_err(|e| RequestError::new(ErrorClass::Client, format!("cannot build the request: {}", describe(&e))))
    }

    /// The JSON body of `req`.
    fn body(&self, req: &GenRequest) -> serde_json::Result<Vec<u8>> {
        let s = &self.settings;
        let (messages, prompt) = match s.endpoint {
            Endpoint::Chat => {
                let messages = req.messages.iter().map(|m| WireMessage { role: m.role.as_str(), content: &m.content });
                (Some(messages.collect()), None)
            }
            Endpoint::Completions => (None, Some(req.prompt_text())),
        };
        let body = Body {
            model: &s.model,
            messages,
            prompt,
            stream: true,
            stream_options: s.include_usage.then_some(StreamOptions { include_usage: true }),
            max_tokens: req.max_tokens,
            temperature: req.temperature,
            top_p: req.top_p,
            seed: req.seed,
            stop: (!req.stop.is_empty()).then_some(&req.stop),
            min_tokens: req.min_tokens.filter(|_| s.send_min_tokens),
            ignore_eos: (s.send_min_tokens && req.ignore_eos).then_some(true),
        };
        let bytes = serde_json::to_vec(&body)?;
        let Some(extra) = &s.extra_body else { return Ok(bytes) };
        // Merging through a map lets an extra field replace a standard one
        // instead of repeating the key. Re-reading our own output keeps
        // floats exact: an f32 turned straight into a JSON value prints
        // 0.7 as 0.699999988079071.
        let mut map: serde_json::Map<String, Value> = serde_json::from_slice(&bytes)?;
        map.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        serde_json::to_vec(&map)
    }
}

/// The timeline's next deadline, on tokio's clock.
pub(crate) fn deadline(tl: &Timeline) -> tokio::time::Instant {
    tokio::time::Instant::from_std(tl.next_deadline())
}

/// Reads the SSE body until `[DONE]`, an error or the end of the stream.
async fn read_stream(response: &mut reqwest::Response, tl: &mut Timeline) -> Result<(), RequestError> {
    let mut decoder = SseDecoder::new();
    let mut stream = StreamState::default();
    let mut last_read = Instant::now();
    loop {
        let until = tl.next_deadline();
        let read = tokio::time::timeout_at(until.into(), response.chunk()).await;
        let at = Instant::now();
        let bytes = match read {
            Err(_elapsed) => return Err(tl.timeout_error()),
            // Bytes already buffered are returned even past the deadline.
            Ok(_) if at > until => return Err(tl.timeout_error()),
            Ok(Ok(Some(bytes))) => bytes,
            Ok(Ok(None)) => return stream.at_end(&mut decoder, last_read, tl),
            Ok(Err(e)) => return Err(RequestError::new(ErrorClass::Cut, format!("stream broke: {}", describe(&e)))),
        };
        last_read = at;
        stream.bytes += bytes.len();
        if let ControlFlow::Break(outcome) = decoder.feed(&bytes, |event| stream.on_event(event, at, tl)) {
            return outcome;
        }
        if decoder.pending_len() > MAX_EVENT_BYTES {
            return Err(RequestError::new(
                ErrorClass::Protocol,
                format!("an SSE event grew past {} MiB without ending", MAX_EVENT_BYTES >> 20),
            ));
        }
    }
}

/// Reads what follows `[DONE]` (normally just the body's end), briefly.
pub(crate) async fn drain(response: &mut reqwest::Response) {
    let until = tokio::time::Instant::now() + DRAIN_GRACE;
    let mut left = MAX_ERROR_BODY;
    while let Ok(Ok(Some(bytes))) = tokio::time::timeout_at(until, response.chunk()).await {
        left = left.saturating_sub(bytes.len());
        if left == 0 {
            break;
        }
    }
}

/// What one stream has shown so far, beyond what the timeline keeps.
#[derive(Debug, Default)]
pub(crate) struct StreamState {
    /// Bytes of body read.
    bytes: usize,
    /// SSE events decoded.
    events: usize,
    /// A `finish_reason` arrived: the generation is complete.
    pub(crate) finished: bool,
    /// The response id was recorded.
    id_seen: bool,
}

impl StreamState {
    /// Handles one SSE event read at `at`. Breaks with the request's outcome
    /// at `[DONE]` or an error.
    pub(crate) fn on_event(&mut self, event: Event<'_>, at: Instant, tl: &mut Timeline) -> ControlFlow<Result<(), RequestError>> {
        self.events += 1;
        if event.name == b"error" {
            let message = serde_json::from_slice::<ErrorBody>(event.data)
                .ok()
                .and_then(ErrorBody::message)
                .unwrap_or_else(|| quote(event.data));
            return ControlFlow::Break(Err(stream_error(message)));
        }
        let data = event.data.trim_ascii();
        if data.is_empty() {
            return ControlFlow::Continue(());
        }
        if data == b"[DONE]" {
            tl.mark_end(at);
            return ControlFlow::Break(Ok(()));
        }
        let chunk: Chunk<'_> = match serde_json::from_slice(data) {
            Ok(chunk) => chunk,
            Err(e) => {
                let message = format!("chunk is not valid JSON ({e}): {}", quote(data));
                return ControlFlow::Break(Err(RequestError::new(ErrorClass::Protocol, message)));
            }
        };
        if let Some(error) = chunk.error {
            let body = ErrorBody { error: Some(error), error_type: chunk.error_type, message: None, detail: None };
            let message = body.message().unwrap_or_else(|| "the server sent an error without a message".into());
            return ControlFlow::Break(Err(stream_error(message)));
        }
        if !self.id_seen
            && let Some(id) = chunk.id.filter(|id| !id.0.is_empty())
        {
            tl.set_response_id(&id.0);
            self.id_seen = true;
        }
        let has_choice = chunk.choices.0.is_some();
        if let Some(choice) = chunk.choices.0 {
            self.on_choice(choice, at, tl);
        }
        // Usage policy: a report is taken when it counts output tokens, or
        // when it comes on a chunk without choices (the include_usage
        // chunk). That drops Ollama's zero-valued usage on every content
        // chunk, yet keeps an honest zero from the final chunk; among the
        // reports taken the last wins, which suits vLLM's cumulative
        // continuous_usage_stats.
        if let Some(usage) = chunk.usage
            && (!has_choice || usage.completion_tokens.is_some_and(|n| n > 0))
        {
            tl.on_usage(usage.into());
        }
        ControlFlow::Continue(())
    }

    fn on_choice(&mut self, choice: Choice<'_>, at: Instant, tl: &mut Timeline) {
        if let Some(delta) = choice.delta {
            for (kind, text) in [
                (ContentKind::Reasoning, delta.reasoning_content),
                (ContentKind::Reasoning, delta.reasoning),
                (ContentKind::Answer, delta.content),
                (ContentKind::Answer, delta.refusal),
            ] {
                if let Some(text) = text {
                    tl.on_content(at, kind, &text.0);
                }
            }
            for call in delta.tool_calls.into_iter().flatten() {
                if let Some(arguments) = call.function.and_then(|f| f.arguments) {
                    tl.on_content(at, ContentKind::Answer, &arguments.0);
                }
            }
        }
        if let Some(text) = choice.text {
            tl.on_content(at, ContentKind::Answer, &text.0);
        }
        if let Some(reason) = choice.finish_reason.filter(|r| !r.0.is_empty()) {
            tl.set_stop_reason(&reason.0);
            self.finished = true;
        }
    }

    /// The body ended without `[DONE]`. `last_read` is when its last bytes
    /// arrived.
    fn at_end(&mut self, decoder: &mut SseDecoder, last_read: Instant, tl: &mut Timeline) -> Result<(), RequestError> {
        match decoder.finish(|event| self.on_event(event, last_read, tl)) {
            ControlFlow::Break(Err(e)) if e.class == ErrorClass::Protocol => {
                return Err(RequestError::new(ErrorClass::Cut, "stream closed in the middle of an event"));
            }
            ControlFlow::Break(outcome) => return outcome,
            ControlFlow::Continue(()) => {}
        }
        if tl.has_content() && self.finished {
            // Servers that omit [DONE] end the stream with their last event.
            tl.mark_end(last_read);
            return Ok(());
        }
        if self.events == 0 && self.bytes > 0 {
            return Err(RequestError::new(
                ErrorClass::Protocol,
                "the response holds no SSE events (does the server ignore stream: true?)",
            ));
        }
        Err(RequestError::new(ErrorClass::Cut, "stream closed before data: [DONE]"))
    }
}

/// The failure of a response with a non-2xx status, explained by its body
/// (read up to a bound, and only until the deadline).
pub(crate) async fn status_error(mut response: reqwest::Response, tl: &Timeline) -> RequestError {
    let status = response.status();
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match tokio::time::timeout_at(deadline(tl), response.chunk()).await {
            Ok(Ok(Some(bytes))) => body.extend_from_slice(&bytes),
            // The end, a broken body or the deadline: explain with what came.
            _ => break,
        }
    }
    // llama.cpp answers 503 while it loads the model: a cold start, not a fault.
    let loading = status.as_u16() == 503 && body.windows(b"Loading model".len()).any(|w| w == b"Loading model");
    let class = if loading { ErrorClass::NotReady } else { ErrorClass::from_http_status(status.as_u16()) };
    let message = match serde_json::from_slice::<ErrorBody>(&body).ok().and_then(ErrorBody::message) {
        Some(message) => truncate(message),
        None if body.trim_ascii().is_empty() => status.canonical_reason().unwrap_or("no body").to_lowercase(),
        None => quote(&body),
    };
    RequestError::new(class, message).with_status(status.as_u16())
}

/// An error reported inside the stream.
pub(crate) fn stream_error(message: String) -> RequestError {
    RequestError::new(ErrorClass::ModelStream, truncate(format!("server error in stream: {message}")))
}

/// A reqwest error and its causes, one line (e.g. "… tcp connect error:
/// Connection refused (os error 111)"). Carries no header, so no key.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    truncate(out)
}

/// Server bytes fit for a message: lossy UTF-8, bounded.
pub(crate) fn quote(bytes: &[u8]) -> String {
    truncate(String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_QUOTE + 4)]).into_owned())
}

/// `s` cut to about [`MAX_QUOTE`] bytes, on a character boundary.
pub(crate) fn truncate(mut s: String) -> String {
    if s.len() > MAX_QUOTE {
        let mut cut = MAX_QUOTE;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

// ---- Request body ----

#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    messages: Option<Vec<WireMessage<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<String>,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stop: Option<&'a Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    min_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ignore_eos: Option<bool>,
}

#[derive(Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

// ---- Stream chunks ----
//
// Only the fields llmbench reads; serde skips the rest. Strings borrow from
// the read buffer (see `Text`) so that a token costs no allocation.

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow, default)]
    choices: First<Choice<'a>>,
    usage: Option<WireUsage>,
    error: Option<WireError>,
    error_type: Option<String>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(borrow)]
    delta: Option<Delta<'a>>,
    /// The legacy completions endpoint's output.
    #[serde(borrow)]
    text: Option<Text<'a>>,
    #[serde(borrow)]
    finish_reason: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow)]
    content: Option<Text<'a>>,
    /// vLLM, llama.cpp, DeepSeek.
    #[serde(borrow)]
    reasoning_content: Option<Text<'a>>,
    /// Newer vLLM, OpenRouter, Ollama.
    #[serde(borrow)]
    reasoning: Option<Text<'a>>,
    #[serde(borrow)]
    refusal: Option<Text<'a>>,
    #[serde(borrow)]
    tool_calls: Option<Vec<ToolCall<'a>>>,
}

#[derive(Deserialize)]
struct ToolCall<'a> {
    #[serde(borrow)]
    function: Option<ToolFunction<'a>>,
}

#[derive(Deserialize)]
struct ToolFunction<'a> {
    #[serde(borrow)]
    arguments: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct WireUsage {
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    prompt_tokens_details: Option<PromptTokensDetails>,
}

#[derive(Deserialize)]
struct PromptTokensDetails {
    cached_tokens: Option<u64>,
    cache_write_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Usage {
        let details = u.prompt_tokens_details;
        Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
            cache_read_tokens: details.as_ref().and_then(|d| d.cached_tokens),
            cache_write_tokens: details.as_ref().and_then(|d| d.cache_write_tokens),
        }
    }
}

/// A JSON string borrowed from the input when it has no escapes. A plain
/// `Option<Cow<str>>` field would always own its text: serde borrows a `Cow`
/// only when it is the field's own type (serde-rs/serde#1497).
#[derive(Deserialize)]
pub(crate) struct Text<'a>(#[serde(borrow)] pub(crate) Cow<'a, str>);

/// The first element of a JSON array, the rest skipped without being
/// collected; `null` or a missing key read as no element.
struct First<T>(Option<T>);

impl<T> Default for First<T> {
    fn default() -> Self {
        First(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for First<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FirstVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for FirstVisitor<T> {
            type Value = First<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array or null")
            }

            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(First(None))
            }

            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(First(None))
            }

            fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
                deserializer.deserialize_seq(self)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let first = seq.next_element()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }
        }

        deserializer.deserialize_option(FirstVisitor(PhantomData))
    }
}

/// An `error` value in the shapes servers send.
#[derive(Deserialize)]
#[serde(untagged)]
enum WireError {
    /// TGI, Ollama: `"error": "…"`.
    Text(String),
    /// OpenAI, vLLM, llama.cpp: `"error": {"message": "…", "type": "…"}`.
    Object {
        message: Option<String>,
        #[serde(rename = "type")]
        kind: Option<String>,
    },
    /// Anything else still says something failed.
    Other(IgnoredAny),
}

/// A JSON error document: an HTTP error body, or an error event's data.
#[derive(Deserialize)]
struct ErrorBody {
    error: Option<WireError>,
    /// TGI's class of a text error (`overloaded`, `generation`, …).
    error_type: Option<String>,
    /// vLLM's HTTP errors put the message at the top.
    message: Option<String>,
    /// FastAPI's `{"detail": …}`.
    detail: Option<Value>,
}

impl ErrorBody {
    /// "message (type)", from wherever this server put them.
    fn message(self) -> Option<String> {
        let (text, kind) = match self.error {
            Some(WireError::Text(text)) => (Some(text), self.error_type),
            Some(WireError::Object { message, kind }) => (message, kind.or(self.error_type)),
            Some(WireError::Other(_)) | None => (None, self.error_type),
        };
        let detail = self.detail.map(|d| match d {
            Value::String(s) => s,
            other => other.to_string(),
        });
        let text = text.or(self.message).or(detail)?;
        Some(match kind.filter(|k| !k.is_empty()) {
            Some(kind) => format!("{text} ({kind})"),
            None => text,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Message, Role};
    use crate::record::{Deadlines, Phase, RequestRecord, TokenSource};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use wiremock::matchers::{body_partial_json, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!("../../tests/fixtures/openai/", $name))
        };
    }

    const GENEROUS: Deadlines = Deadlines { first_content: Duration::from_secs(10), total: Duration::from_secs(20) };

    fn request() -> GenRequest {
        GenRequest {
            messages: vec![
                Message { role: Role::System, content: "Be brief.".into() },
                Message { role: Role::User, content: "Say hello.".into() },
            ],
            max_tokens: Some(16),
            min_tokens: Some(16),
            ignore_eos: true,
            temperature: Some(0.7),
            ..GenRequest::default()
        }
    }

    /// A server answering POSTs to `route` under `/v1` with `response`.
    async fn mock(route: &str, response: ResponseTemplate) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST")).and(path(format!("/v1{route}"))).respond_with(response).mount(&server).await;
        server
    }

    fn sse(body: &[u8]) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_raw(body, "text/event-stream")
    }

    /// The defaults target/mod.rs applies: chat, no key, usage asked for.
    fn settings(base_url: String) -> OpenAiSettings {
        OpenAiSettings {
            base_url,
            model: "m".into(),
            api_key: None,
            endpoint: Endpoint::Chat,
            connect_timeout: Duration::from_secs(2),
            include_usage: true,
            send_min_tokens: false,
            extra_body: None,
        }
    }

    /// Sends `request()` with `settings` and returns the finished record.
    /// The runner's end is an hour away, so a request whose stream never
    /// marked its end shows an e2e of an hour.
    async fn run(settings: OpenAiSettings, deadlines: Deadlines) -> RequestRecord {
        let provider = OpenAiProvider::new(settings).expect("valid settings");
        let mut tl = Timeline::new(Instant::now(), deadlines, 16, true);
        let outcome = provider.send(&request(), &mut tl).await;
        tl.into_record(0, Phase::Measured, outcome.err(), Instant::now() + Duration::from_secs(3600), 0)
    }

    fn marked_end(rec: &RequestRecord) -> bool {
        rec.e2e_ms < 60_000.0
    }

    /// Serves `body` on the chat route and runs one request against it.
    async fn chat(body: &[u8]) -> RequestRecord {
        let server = mock("/chat/completions", sse(body)).await;
        run(settings(format!("{}/v1", server.uri())), GENEROUS).await
    }

    fn class(rec: &RequestRecord) -> Option<ErrorClass> {
        rec.error.as_ref().map(|e| e.class)
    }

    fn assert_hello_world(rec: &RequestRecord) {
        assert_eq!(rec.error, None);
        // The role-only first chunk is not content: two chunks, not three.
        assert_eq!(rec.chunks, 2);
        assert_eq!(rec.text.as_deref(), Some("Hello world"));
        assert!(rec.ttft_ms.is_some() && rec.ttfb_ms.is_some());
        assert_eq!(rec.ttft_ms, rec.ttfo_ms);
        assert_eq!((rec.output_tokens, rec.output_source), (2, TokenSource::Usage));
        assert_eq!((rec.input_tokens, rec.cache_read_tokens), (Some(12), Some(8)));
        assert_eq!(rec.stop_reason.as_deref(), Some("stop"));
        assert_eq!(rec.response_id.as_deref(), Some("chatcmpl-abc123"));
        assert!(marked_end(rec), "[DONE] marks the end");
    }

    #[tokio::test]
    async fn role_chunk_content_usage_chunk_and_done() {
        assert_hello_world(&chat(fixture!("role_first.sse")).await);
    }

    #[tokio::test]
    async fn crlf_line_endings() {
        assert_hello_world(&chat(fixture!("crlf.sse")).await);
    }

    #[tokio::test]
    async fn multi_token_chunks_take_the_count_from_usage() {
        let rec = chat(fixture!("multi_token.sse")).await;
        assert_eq!(rec.error, None);
        assert_eq!(rec.chunks, 2);
        assert_eq!((rec.output_tokens, rec.output_source), (9, TokenSource::Usage));
        assert_eq!(rec.text.as_deref(), Some("The quick brown fox\njumps \"over\" café"));
        assert_eq!(rec.stop_reason.as_deref(), Some("length"));
    }

    #[tokio::test]
    async fn usage_chunk_with_null_or_missing_choices() {
        let rec = chat(fixture!("usage_null_choices.sse")).await;
        assert_eq!(rec.error, None);
        assert_eq!((rec.output_tokens, rec.output_source, rec.input_tokens), (1, TokenSource::Usage, Some(3)));
        let rec = chat(fixture!("usage_no_choices.sse")).await;
        assert_eq!(rec.error, None);
        assert_eq!((rec.input_tokens, rec.cache_read_tokens), (Some(30), Some(24)));
    }

    #[tokio::test]
    async fn missing_done_is_fine_after_finish_reason_and_a_cut_otherwise() {
        let rec = chat(fixture!("no_done_finish.sse")).await;
        assert_eq!(rec.error, None);
        assert_eq!((rec.text.as_deref(), rec.stop_reason.as_deref()), (Some("Hi"), Some("stop")));
        assert!(marked_end(&rec));
        let rec = chat(fixture!("no_done_no_finish.sse")).await;
        assert_eq!(class(&rec), Some(ErrorClass::Cut));
        assert_eq!(rec.text.as_deref(), Some("Hi there"));
    }

    #[tokio::test]
    async fn error_objects_in_the_stream_are_model_stream_errors() {
        // vLLM sends [DONE] after its error: the error still stands.
        let rec = chat(fixture!("vllm_error.sse")).await;
        assert_eq!(class(&rec), Some(ErrorClass::ModelStream));
        assert!(rec.error.as_ref().is_some_and(|e| e.message.contains("KV cache") && e.status.is_none()));
        assert_eq!(rec.text.as_deref(), Some("Hi"));

        let rec = chat(fixture!("tgi_error.sse")).await;
        assert_eq!(class(&rec), Some(ErrorClass::ModelStream));
        assert!(rec.error.as_ref().is_some_and(|e| e.message.contains("Model is overloaded (overloaded)")));

        let rec = chat(fixture!("event_error.sse")).await;
        assert_eq!(class(&rec), Some(ErrorClass::ModelStream));
        assert!(rec.error.as_ref().is_some_and(|e| e.message.contains("Upstream request timed out")));
    }

    #[tokio::test]
    async fn malformed_json_is_a_protocol_error() {
        let rec = chat(fixture!("malformed.sse")).await;
        assert_eq!(class(&rec), Some(ErrorClass::Protocol));
        assert!(rec.error.as_ref().is_some_and(|e| e.message.starts_with("chunk is not valid JSON")));

        let json =
            ResponseTemplate::new(200).set_body_raw(&br#"{"id":"chatcmpl-1","choices":[]}"#[..], "application/json");
        let server = mock("/chat/completions", json).await;
        let rec = run(settings(format!("{}/v1", server.uri())), GENEROUS).await;
        assert_eq!(class(&rec), Some(ErrorClass::Protocol));
    }

    #[tokio::test]
    async fn a_stream_that_ends_mid_event_is_cut() {
        let rec = chat(fixture!("cut_mid_event.sse")).await;
        assert_eq!(class(&rec), Some(ErrorClass::Cut));
        assert_eq!(rec.text.as_deref(), Some("Hel"));
    }

    #[tokio::test]
    async fn keep_alive_comments_and_other_fields_are_ignored() {
        let rec = chat(fixture!("keepalive.sse")).await;
        assert_eq!(rec.error, None);
        assert_eq!((rec.chunks, rec.text.as_deref()), (2, Some("Still here")));
    }

    #[tokio::test]
    async fn tool_call_arguments_are_answer_content() {
        let rec = chat(fixture!("tool_calls.sse")).await;
        assert_eq!(rec.error, None);
        assert_eq!((rec.chunks, rec.text.as_deref()), (2, Some(r#"{"city": "Paris"}"#)));
        assert_eq!(rec.stop_reason.as_deref(), Some("tool_calls"));
    }

    #[tokio::test]
    async fn completions_endpoint_sends_a_prompt_and_reads_text() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/completions"))
            .and(body_partial_json(serde_json::json!({ "model": "m", "prompt": "Be brief.\n\nSay hello." })))
            .respond_with(sse(fixture!("completions.sse")))
            .expect(1)
            .mount(&server)
            .await;
        let settings = OpenAiSettings { endpoint: Endpoint::Completions, ..settings(format!("{}/v1/", server.uri())) };
        let rec = run(settings, GENEROUS).await;
        assert_eq!(rec.error, None);
        assert_eq!((rec.chunks, rec.text.as_deref()), (3, Some("Once upon a time")));
        assert_eq!((rec.output_tokens, rec.output_source), (4, TokenSource::Usage));
        assert_eq!(rec.stop_reason.as_deref(), Some("length"));
    }

    #[tokio::test]
    async fn ollama_zero_usage_on_content_chunks_is_not_taken() {
        let ollama = fixture!("ollama_completions.sse");
        let server = mock("/completions", sse(ollama)).await;
        let base = format!("{}/v1", server.uri());
        let rec = run(OpenAiSettings { endpoint: Endpoint::Completions, ..settings(base) }, GENEROUS).await;
        assert_eq!(rec.error, None);
        assert_eq!((rec.output_tokens, rec.input_tokens), (3, Some(26)));

        // Without the final usage chunk the zeros must not pass for a count.
        let needle = br#""choices":[],"#;
        let usage_chunk = ollama.windows(needle.len()).position(|w| w == needle).expect("usage chunk");
        let start = ollama[..usage_chunk].windows(2).rposition(|w| w == b"\n\n").expect("event start") + 2;
        let server = mock("/completions", sse(&ollama[..start])).await;
        let base = format!("{}/v1", server.uri());
        let rec = run(OpenAiSettings { endpoint: Endpoint::Completions, ..settings(base) }, GENEROUS).await;
        assert_eq!(rec.error, None);
        assert_eq!((rec.output_tokens, rec.output_source, rec.input_tokens), (2, TokenSource::Chunks, None));
    }

    #[tokio::test]
    async fn reasoning_before_content_makes_ttft_earlier_than_ttfo() {
        let events = split_events(fixture!("reasoning.sse"));
        let parts = events.into_iter().map(|e| (Duration::from_millis(40), e)).collect();
        let base = paced_server(parts, Some(Duration::ZERO)).await;
        let rec = run(settings(base), GENEROUS).await;
        assert_eq!(rec.error, None);
        assert_eq!((rec.chunks, rec.text.as_deref()), (3, Some("Let me think. Six times seven.42")));
        let (ttft, ttfo) = (rec.ttft_ms.expect("ttft"), rec.ttfo_ms.expect("ttfo"));
        // The role chunk came 40 ms after the headers and is not content;
        // the first reasoning came 40 ms later.
        let headers = rec.queue_ms + rec.ttfb_ms.expect("ttfb");
        assert!(ttft - headers > 60.0, "headers at {headers} ms, ttft {ttft} ms");
        // Two 40 ms pauses separate the first reasoning from the answer.
        assert!(ttfo - ttft > 40.0, "ttft {ttft} ms, ttfo {ttfo} ms");
        assert_eq!(rec.gaps_us.len(), 2);
    }

    #[tokio::test]
    async fn http_errors_are_classified_by_status() {
        let cases = [
            (
                429,
                r#"{"error":{"message":"Rate limit reached","type":"rate_limit_error"}}"#,
                ErrorClass::Throttled,
                "Rate limit reached (rate_limit_error)",
            ),
            (500, "Internal Server Error", ErrorClass::Server, "Internal Server Error"),
            (
                401,
                r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#,
                ErrorClass::Client,
                "Incorrect API key provided",
            ),
            (
                400,
                r#"{"object":"error","message":"max_tokens is too large","type":"BadRequestError","code":400}"#,
                ErrorClass::Client,
                "max_tokens is too large",
            ),
            (
                503,
                r#"{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}"#,
                ErrorClass::NotReady,
                "Loading model",
            ),
            (503, "", ErrorClass::Server, "service unavailable"),
        ];
        for (status, body, expected, message) in cases {
            let server = mock("/chat/completions", ResponseTemplate::new(status).set_body_string(body)).await;
            let rec = run(settings(format!("{}/v1", server.uri())), GENEROUS).await;
            let error = rec.error.expect("an error");
            assert_eq!((error.class, error.status), (expected, Some(status)), "HTTP {status}");
            assert!(error.message.contains(message), "HTTP {status}: {:?}", error.message);
            assert!(rec.ttfb_ms.is_some());
        }
    }

    #[tokio::test]
    async fn the_body_carries_model_max_tokens_and_include_usage() {
        let server = MockServer::start().await;
        let standard = serde_json::json!({
            "model": "m",
            "stream": true,
            "stream_options": { "include_usage": true },
            "max_tokens": 16,
            "temperature": 0.7,
            "messages": [{ "role": "system", "content": "Be brief." }, { "role": "user", "content": "Say hello." }],
        });
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(body_partial_json(standard))
            .respond_with(sse(fixture!("role_first.sse")))
            .expect(1)
            .mount(&server)
            .await;
        // extra_body fields are added, and replace standard ones.
        let exact = serde_json::json!({ "min_tokens": 16, "ignore_eos": true, "top_k": 5, "max_tokens": 99 });
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(body_partial_json(exact))
            .respond_with(sse(fixture!("role_first.sse")))
            .expect(1)
            .mount(&server)
            .await;

        let rec = run(settings(format!("{}/v1", server.uri())), GENEROUS).await;
        assert_eq!(rec.error, None);
        let with_extras = OpenAiSettings {
            send_min_tokens: true,
            extra_body: serde_json::json!({ "top_k": 5, "max_tokens": 99 }).as_object().cloned(),
            ..settings(format!("{}/v1", server.uri()))
        };
        let rec = run(with_extras, GENEROUS).await;
        assert_eq!(rec.error, None);

        let requests = server.received_requests().await.expect("recording on");
        let first: Value = serde_json::from_slice(&requests[0].body).expect("a JSON body");
        assert_eq!(first.get("min_tokens"), None, "vLLM extras are off by default");
        assert_eq!(first.get("ignore_eos"), None);
    }

    #[tokio::test]
    async fn the_key_is_sent_but_never_printed() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v1/chat/completions"))
            .and(header("authorization", "Bearer sk-test-secret"))
            .respond_with(sse(fixture!("role_first.sse")))
            .expect(1)
            .mount(&server)
            .await;
        let settings =
            OpenAiSettings { api_key: Some("sk-test-secret".into()), ..settings(format!("{}/v1", server.uri())) };
        let provider = OpenAiProvider::new(settings.clone()).expect("valid settings");
        assert!(!format!("{provider:?}").contains("sk-test-secret"));
        assert!(!format!("{settings:?}").contains("sk-test-secret"));
        assert!(format!("{provider:?}").contains("<redacted>"));
        assert_eq!(run(settings, GENEROUS).await.error, None);
    }

    #[tokio::test]
    async fn no_content_before_the_first_content_deadline_is_a_timeout() {
        let slow = sse(fixture!("role_first.sse")).set_delay(Duration::from_millis(800));
        let server = mock("/chat/completions", slow).await;
        let deadlines = Deadlines { first_content: Duration::from_millis(100), total: Duration::from_secs(5) };
        let started = Instant::now();
        let rec = run(settings(format!("{}/v1", server.uri())), deadlines).await;
        assert_eq!(class(&rec), Some(ErrorClass::Timeout));
        assert!(started.elapsed() < Duration::from_millis(700), "gave up after {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn a_stall_after_content_hits_the_total_deadline() {
        let events = split_events(fixture!("role_first.sse"));
        let parts = vec![(Duration::ZERO, events[1].clone()), (Duration::from_millis(900), events[2].clone())];
        let base = paced_server(parts, Some(Duration::ZERO)).await;
        let deadlines = Deadlines { first_content: Duration::from_millis(300), total: Duration::from_millis(400) };
        let rec = run(settings(base), deadlines).await;
        assert_eq!(class(&rec), Some(ErrorClass::Timeout));
        assert!(rec.error.as_ref().is_some_and(|e| e.message.contains("not complete")));
        assert_eq!(rec.text.as_deref(), Some("Hello"));
    }

    #[tokio::test]
    async fn a_connection_broken_mid_body_is_cut() {
        let events = split_events(fixture!("role_first.sse"));
        let base = paced_server(vec![(Duration::ZERO, events[1].clone())], None).await;
        let rec = run(settings(base), GENEROUS).await;
        assert_eq!(class(&rec), Some(ErrorClass::Cut));
        assert!(rec.error.as_ref().is_some_and(|e| e.message.starts_with("stream broke")));
        assert_eq!(rec.text.as_deref(), Some("Hello"));
    }

    #[tokio::test]
    async fn after_done_the_connection_is_reused() {
        // The body's end comes 50 ms after [DONE]; unless it is read, the
        // connection cannot go back to the pool, and the paced server
        // refuses a second one.
        let parts = vec![(Duration::ZERO, fixture!("role_first.sse").to_vec())];
        let base = paced_server(parts, Some(Duration::from_millis(50))).await;
        let provider = OpenAiProvider::new(settings(base)).expect("valid settings");
        for attempt in 0..3 {
            let mut tl = Timeline::new(Instant::now(), GENEROUS, 16, false);
            let outcome = provider.send(&request(), &mut tl).await;
            assert_eq!(outcome, Ok(()), "request {attempt}");
        }
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_server_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        drop(listener);
        let rec = run(settings(format!("http://127.0.0.1:{port}/v1")), GENEROUS).await;
        assert_eq!(class(&rec), Some(ErrorClass::Server));
        assert!(rec.error.as_ref().is_some_and(|e| e.message.starts_with("connection failed")));
        assert_eq!(rec.ttfb_ms, None);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_connect_timeout_is_a_timeout() {
        // A listener that never accepts, with its backlog filled: Linux then
        // drops further SYNs, so the next connect hangs until it times out.
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.bind("127.0.0.1:0".parse().expect("address")).expect("bind");
        let listener = socket.listen(0).expect("listen");
        let addr = listener.local_addr().expect("address");
        let mut fillers = Vec::new();
        for _ in 0..4 {
            let connect = tokio::net::TcpStream::connect(addr);
            if let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_millis(100), connect).await {
                fillers.push(stream);
            }
        }
        let settings =
            OpenAiSettings { connect_timeout: Duration::from_millis(200), ..settings(format!("http://{addr}/v1")) };
        let rec = run(settings, GENEROUS).await;
        assert_eq!(class(&rec), Some(ErrorClass::Timeout), "{:?}", rec.error);
        assert!(rec.error.as_ref().is_some_and(|e| e.message.starts_with("connect timed out")));
        drop(listener);
    }

    #[test]
    fn bad_settings_are_refused() {
        assert!(OpenAiProvider::new(settings("localhost:8000/v1".into())).is_err());
        let key = OpenAiSettings { api_key: Some("bad\nkey".into()), ..settings("http://h/v1".into()) };
        let error = OpenAiProvider::new(key).expect_err("a newline cannot go in a header");
        assert!(!error.contains("bad"));
    }

    #[test]
    fn plain_tokens_are_borrowed_and_only_the_first_choice_is_read() {
        let data = br#"{"id":"x","choices":[{"delta":{"content":"tok"}},{"delta":{"content":"other"}}]}"#;
        let chunk: Chunk<'_> = serde_json::from_slice(data).expect("valid chunk");
        let content = chunk.choices.0.and_then(|c| c.delta).and_then(|d| d.content).expect("content");
        assert!(matches!(content.0, Cow::Borrowed("tok")));
        let escaped: Chunk<'_> = serde_json::from_slice(br#"{"choices":[{"text":"a\nb"}]}"#).expect("valid chunk");
        assert_eq!(escaped.choices.0.and_then(|c| c.text).map(|t| t.0.into_owned()).as_deref(), Some("a\nb"));
    }

    /// The events of an SSE fixture, each with its blank line.
    fn split_events(fixture: &[u8]) -> Vec<Vec<u8>> {
        let mut events = Vec::new();
        let mut rest = fixture;
        while let Some(end) = rest.windows(2).position(|w| w == b"\n\n") {
            events.push(rest[..end + 2].to_vec());
            rest = &rest[end + 2..];
        }
        events
    }

    /// An HTTP/1.1 server for one connection: it answers each request with
    /// `parts` as chunks of a `text/event-stream` body, each after its
    /// pause, then ends the body after the pause `end`, or drops the
    /// connection mid-body when `end` is `None`.
    /// A second connection is refused. wiremock writes a body at once, so it
    /// can neither pace nor break one. Returns the base URL.
    async fn paced_server(parts: Vec<(Duration, Vec<u8>)>, end: Option<Duration>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            drop(listener);
            socket.set_nodelay(true).expect("nodelay");
            while read_request(&mut socket).await {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
                socket.write_all(head.as_bytes()).await.expect("write");
                for (pause, part) in &parts {
                    tokio::time::sleep(*pause).await;
                    let mut chunk = format!("{:x}\r\n", part.len()).into_bytes();
                    chunk.extend_from_slice(part);
                    chunk.extend_from_slice(b"\r\n");
                    if socket.write_all(&chunk).await.is_err() {
                        return; // the client gave up (a timeout test)
                    }
                }
                let Some(pause) = end else { return };
                tokio::time::sleep(pause).await;
                if socket.write_all(b"0\r\n\r\n").await.is_err() {
                    return;
                }
            }
        });
        format!("http://{addr}/v1")
    }

    /// Reads one request (head and `content-length` body) off `socket`;
    /// false when the client closed the connection instead.
    async fn read_request(socket: &mut tokio::net::TcpStream) -> bool {
        let mut buf = Vec::new();
        let mut chunk = [0; 4096];
        loop {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= head_end + 4 + length {
                return true;
            }
        }
    }
}
