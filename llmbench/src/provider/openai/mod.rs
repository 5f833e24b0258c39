//! The OpenAI-compatible provider: `POST {base_url}/chat/completions` or
//! `/completions` with `stream: true`, as served by OpenAI, vLLM, TGI,
//! Ollama's `/v1`, llama.cpp and others (docs/providers.md).
//!
//! It sends one request and stamps its stream on a [`Timeline`]; every read
//! is stamped when it returns, before its bytes are decoded by
//! [`crate::wire::openai`], which also absorbs the servers' deviations.
//! Some servers close the stream after the finishing chunk without
//! `data: [DONE]`: that is a clean end here.

use std::fmt;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::Value;

use super::http::{HttpClient, HttpTarget};
use super::{GenRequest, Stamp};
use crate::record::{ErrorClass, RequestError, Timeline};
use crate::settings::value::Connections;
#[cfg(test)]
use crate::wire::openai::Chunk;
pub(crate) use crate::wire::openai::Endpoint;
use crate::wire::openai::{BodyOptions, ErrorBody, StreamDecoder};
use crate::wire::sse::{Event, SseDecoder};
use crate::wire::{Progress, quote, truncate};

/// The most of an error response's body read to explain it: any JSON error
/// fits, and a server that answers with an endless page cannot hold us.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// How long to wait after `[DONE]` for the body's own end. Reading it lets
/// the connection go back to the pool, so the next request does not pay a
/// new handshake inside its measured time.
pub(crate) const DRAIN_GRACE: Duration = Duration::from_millis(250);

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

impl OpenAiSettings {
    /// The chat route of `base_url` for `model`, as a `[targets]` entry
    /// has it by default: no key, usage asked for, no vLLM extras, 5 s to
    /// connect.
    pub(crate) fn chat(base_url: String, model: &str) -> OpenAiSettings {
        OpenAiSettings {
            base_url,
            model: model.into(),
            api_key: None,
            endpoint: Endpoint::Chat,
            connect_timeout: Duration::from_secs(5),
            include_usage: true,
            send_min_tokens: false,
            extra_body: None,
        }
    }
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
/// pool, so concurrent requests reuse warm connections. `Debug` prints no
/// key: the settings redact it and the header is marked sensitive.
#[derive(Clone, Debug)]
pub(crate) struct OpenAiProvider {
    http: HttpTarget,
    auth: Option<HeaderValue>,
    settings: OpenAiSettings,
}

impl OpenAiProvider {
    /// Checks the settings and builds the shared HTTP client.
    pub(crate) fn new(settings: OpenAiSettings) -> Result<Self, String> {
        let example = " (example: http://127.0.0.1:8000/v1)";
        let http = HttpTarget::new(&settings.base_url, settings.endpoint.route(), settings.connect_timeout, example)?;
        let auth = settings
            .api_key
            .as_deref()
            .filter(|key| !key.is_empty())
            .map(|key| super::secret_header(&format!("Bearer {key}")))
            .transpose()?;
        super::register_secrets(settings.api_key.as_deref(), &settings.base_url);
        Ok(OpenAiProvider { http, auth, settings })
    }

    /// Pools connections or not; accepts SSE events up to `max_event_bytes`.
    pub(crate) fn with(mut self, connections: Connections, max_event_bytes: usize) -> Result<Self, String> {
        self.http = self.http.with(connections, max_event_bytes)?;
        Ok(self)
    }

    /// Sends `req` and records its stream on `tl`: the measured path.
    pub(crate) async fn send(&self, req: &GenRequest, tl: &mut Timeline) -> Result<(), RequestError> {
        let request = self.request(req)?;
        let mut response = execute(&self.http.client, request, tl).await?;
        let outcome = read_stream(&mut response, tl, self.http.max_event_bytes).await;
        if outcome.is_ok() {
            drain(&mut response).await;
        }
        outcome
    }

    /// The HTTP request for `req`, built before the clock starts.
    fn request(&self, req: &GenRequest) -> Result<reqwest::Request, RequestError> {
        if self.settings.endpoint == Endpoint::Completions
            && let Some(what) = req.needs_multimodal()
        {
            let message = format!("the completions endpoint cannot send {what} (use endpoint = \"chat\")");
            return Err(RequestError::new(ErrorClass::Client, message));
        }
        let body = self
            .body(req)
            .map_err(|e| RequestError::new(ErrorClass::Client, format!("cannot encode the request body: {e}")))?;
        let mut builder = self.http.post(body);
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
        let options = BodyOptions {
            model: &s.model,
            endpoint: s.endpoint,
            include_usage: s.include_usage,
            send_min_tokens: s.send_min_tokens,
            extra: s.extra_body.as_ref(),
        };
        crate::wire::openai::request_body(options, req)
    }
}

/// Sends `request`, stamping `sent` before and `headers` when the response
/// head is in. A non-2xx status is an error explained by its body.
pub(crate) async fn execute(
    client: &HttpClient,
    request: reqwest::Request,
    tl: &mut Timeline,
) -> Result<reqwest::Response, RequestError> {
    tl.mark_sent(Instant::now());
    let sent = tokio::time::timeout_at(deadline(tl), client.client.execute(request)).await;
    let headers_at = Instant::now();
    let response = match sent {
        Err(_elapsed) => return Err(tl.timeout_error()),
        Ok(Err(e)) if e.is_timeout() => {
            return Err(RequestError::new(
                ErrorClass::Timeout,
                format!("{}: {}", super::CONNECT_TIMED_OUT, describe(&e)),
            ));
        }
        Ok(Err(e)) => return Err(super::connection_failed(&e)),
        Ok(Ok(response)) => response,
    };
    tl.mark_headers(headers_at);
    if let Some(connection) = client.connection_of(&response) {
        tl.mark_connection(connection.new, connection.connect_ms);
    }
    if !response.status().is_success() {
        return Err(status_error(response, tl).await);
    }
    Ok(response)
}

/// The timeline's next deadline, on tokio's clock.
pub(crate) fn deadline(tl: &Timeline) -> tokio::time::Instant {
    tokio::time::Instant::from_std(tl.next_deadline())
}

/// Reads the SSE body until `[DONE]`, an error or the end of the stream.
async fn read_stream(
    response: &mut reqwest::Response,
    tl: &mut Timeline,
    max_event: usize,
) -> Result<(), RequestError> {
    let mut decoder = SseDecoder::new();
    let mut stream = StreamState { max_event_bytes: max_event, ..StreamState::default() };
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
        if let ControlFlow::Break(outcome) = stream.on_read(&mut decoder, &bytes, at, tl) {
            return outcome;
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
#[derive(Debug)]
pub(crate) struct StreamState {
    /// The largest SSE event accepted.
    pub(crate) max_event_bytes: usize,
    /// Bytes of body read.
    bytes: usize,
    /// SSE events decoded.
    events: usize,
    decoder: StreamDecoder,
}

impl Default for StreamState {
    fn default() -> Self {
        StreamState {
            max_event_bytes: crate::wire::DEFAULT_MAX_EVENT_BYTES,
            bytes: 0,
            events: 0,
            decoder: StreamDecoder::default(),
        }
    }
}

impl StreamState {
    /// Decodes the bytes of one read that returned at `at`. Breaks with the
    /// request's outcome at `[DONE]`, an error, or an event past the cap.
    pub(crate) fn on_read(
        &mut self,
        decoder: &mut SseDecoder,
        bytes: &[u8],
        at: Instant,
        tl: &mut Timeline,
    ) -> ControlFlow<Result<(), RequestError>> {
        self.bytes += bytes.len();
        tl.mark_read(at);
        decoder.feed(bytes, |event| self.on_event(event, at, tl))?;
        if decoder.pending_len() > self.max_event_bytes {
            return ControlFlow::Break(Err(crate::wire::event_too_big("an SSE event", self.max_event_bytes)));
        }
        ControlFlow::Continue(())
    }

    /// Handles one SSE event read at `at`. Breaks with the request's outcome
    /// at `[DONE]` or an error.
    pub(crate) fn on_event(
        &mut self,
        event: Event<'_>,
        at: Instant,
        tl: &mut Timeline,
    ) -> ControlFlow<Result<(), RequestError>> {
        self.events += 1;
        match self.decoder.on_event(event, &mut Stamp { tl, at }) {
            Ok(Progress::Last) => {
                tl.mark_end(at);
                ControlFlow::Break(Ok(()))
            }
            Ok(_) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(Err(e)),
        }
    }

    /// The body ended without `[DONE]`. `last_read` is when its last bytes
    /// arrived.
    pub(crate) fn at_end(
        &mut self,
        decoder: &mut SseDecoder,
        last_read: Instant,
        tl: &mut Timeline,
    ) -> Result<(), RequestError> {
        match decoder.finish(|event| self.on_event(event, last_read, tl)) {
            ControlFlow::Break(Err(e)) if e.class == ErrorClass::Protocol => {
                return Err(RequestError::new(ErrorClass::Cut, "stream closed in the middle of an event"));
            }
            ControlFlow::Break(outcome) => return outcome,
            ControlFlow::Continue(()) => {}
        }
        if tl.has_content() && self.decoder.finished() {
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

#[cfg(test)]
mod tests;
