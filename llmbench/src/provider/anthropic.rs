//! The Anthropic Messages API client (`provider = "anthropic"`):
//! `POST {base_url}/v1/messages` with `stream: true`, its SSE events decoded
//! by [`crate::wire::anthropic`] (docs/providers.md).

use std::fmt;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use reqwest::header::HeaderValue;
use serde_json::Value;

use super::http::HttpTarget;
use super::openai;
use super::{GenRequest, Progress, Stamp};
use crate::record::{ErrorClass, RequestError, Timeline};
use crate::settings::value::Connections;
pub(crate) use crate::wire::anthropic::ANTHROPIC_VERSION;
use crate::wire::anthropic::{Host, MessagesDecoder, messages_body};
use crate::wire::sse::SseDecoder;
/// The public API.
pub(crate) const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// How to reach the Anthropic API. `Debug` never prints the key.
#[derive(Clone)]
pub(crate) struct AnthropicSettings {
    /// Up to the host, e.g. `https://api.anthropic.com` (the route adds `/v1/messages`).
    pub base_url: String,
    /// The `model` field.
    pub model: String,
    /// Sent as `x-api-key`.
    pub api_key: Option<String>,
    /// How long a new connection may take to open.
    pub connect_timeout: Duration,
    /// Fields merged into every request body, replacing standard ones.
    pub extra_body: Option<serde_json::Map<String, Value>>,
}

impl fmt::Debug for AnthropicSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicSettings")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("connect_timeout", &self.connect_timeout)
            .field("extra_body", &self.extra_body)
            .finish()
    }
}

/// A client for one Anthropic target. `Debug` prints no key: the settings
/// redact it and the header is marked sensitive.
#[derive(Clone, Debug)]
pub(crate) struct AnthropicProvider {
    http: HttpTarget,
    key: Option<HeaderValue>,
    settings: AnthropicSettings,
}

impl AnthropicProvider {
    /// Checks the settings and builds the HTTP client.
    pub(crate) fn new(settings: AnthropicSettings) -> Result<Self, String> {
        let http = HttpTarget::new(&settings.base_url, "/v1/messages", settings.connect_timeout, "")?;
        let key = settings.api_key.as_deref().filter(|k| !k.is_empty()).map(super::secret_header).transpose()?;
        super::register_secrets(settings.api_key.as_deref(), &settings.base_url);
        Ok(AnthropicProvider { http, key, settings })
    }

    /// Pools connections or not; accepts SSE events up to `max_event_bytes`.
    pub(crate) fn with(mut self, connections: Connections, max_event_bytes: usize) -> Result<Self, String> {
        self.http = self.http.with(connections, max_event_bytes)?;
        Ok(self)
    }

    /// Sends `req` and records its stream on `tl`.
    pub(crate) async fn send(&self, req: &GenRequest, tl: &mut Timeline) -> Result<(), RequestError> {
        let host = Host::Direct { model: &self.settings.model };
        let body = messages_body(host, req, self.settings.extra_body.as_ref());
        let mut builder = self.http.post(body).header("anthropic-version", ANTHROPIC_VERSION);
        if let Some(key) = &self.key {
            builder = builder.header("x-api-key", key.clone());
        }
        let request = builder.build().map_err(|e| {
            RequestError::new(ErrorClass::Client, format!("cannot build the request: {}", openai::describe(&e)))
        })?;
        let mut response = openai::execute(&self.http.client, request, tl).await?;
        let outcome = read_sse(&mut response, tl, self.http.max_event_bytes).await;
        if outcome.is_ok() {
            openai::drain(&mut response).await;
        }
        outcome
    }
}

/// Reads the SSE body until `message_stop`, an error or the end.
async fn read_sse(response: &mut reqwest::Response, tl: &mut Timeline, max_event: usize) -> Result<(), RequestError> {
    let mut decoder = SseDecoder::new();
    let mut messages = MessagesDecoder::default();
    let mut last_read = Instant::now();
    loop {
        let until = tl.next_deadline();
        let read = tokio::time::timeout_at(until.into(), response.chunk()).await;
        let at = Instant::now();
        let bytes = match read {
            Err(_elapsed) => return Err(tl.timeout_error()),
            Ok(_) if at > until => return Err(tl.timeout_error()),
            Ok(Ok(Some(bytes))) => bytes,
            Ok(Ok(None)) => {
                let flow = decoder.finish(|event| on_sse(&mut messages, event.name, event.data, last_read, tl));
                return match flow {
                    ControlFlow::Break(outcome) => outcome,
                    ControlFlow::Continue(()) if messages.stopped() => {
                        tl.mark_end(last_read);
                        Ok(())
                    }
                    ControlFlow::Continue(()) => {
                        Err(RequestError::new(ErrorClass::Cut, "stream closed before message_stop"))
                    }
                };
            }
            Ok(Err(e)) => {
                return Err(RequestError::new(ErrorClass::Cut, format!("stream broke: {}", openai::describe(&e))));
            }
        };
        last_read = at;
        tl.mark_read(at);
        if let ControlFlow::Break(outcome) =
            decoder.feed(&bytes, |event| on_sse(&mut messages, event.name, event.data, at, tl))
        {
            return outcome;
        }
        if decoder.pending_len() > max_event {
            return Err(crate::wire::event_too_big("an SSE event", max_event));
        }
    }
}

/// One SSE event of the direct API, read at `at`; breaks at
/// `message_stop` or an error.
pub(crate) fn on_sse(
    decoder: &mut MessagesDecoder,
    name: &[u8],
    data: &[u8],
    at: Instant,
    tl: &mut Timeline,
) -> ControlFlow<Result<(), RequestError>> {
    if name == b"ping" {
        return ControlFlow::Continue(());
    }
    match decoder.on_event(data, &mut Stamp { tl, at }) {
        Ok(Progress::Last) => {
            tl.mark_end(at);
            ControlFlow::Break(Ok(()))
        }
        Ok(_) => ControlFlow::Continue(()),
        Err(e) => ControlFlow::Break(Err(e)),
    }
}
