//! The Anthropic Messages API client (`provider = "anthropic"`):
//! `POST {base_url}/v1/messages` with `stream: true`, its SSE events decoded
//! by [`crate::wire::anthropic`] (docs/providers.md).

use std::fmt;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use serde_json::Value;

use super::openai;
use super::{GenRequest, Progress, Stamp};
use crate::record::{ErrorClass, RequestError, Timeline};
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

/// A client for one Anthropic target.
#[derive(Clone)]
pub(crate) struct AnthropicProvider {
    client: reqwest::Client,
    url: String,
    key: Option<HeaderValue>,
    settings: AnthropicSettings,
    /// The largest SSE event accepted (`max_event_size`).
    max_event_bytes: usize,
}

impl fmt::Debug for AnthropicProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicProvider").field("url", &self.url).field("settings", &self.settings).finish()
    }
}

impl AnthropicProvider {
    /// Checks the settings and builds the HTTP client.
    pub(crate) fn new(settings: AnthropicSettings) -> Result<Self, String> {
        let url = format!("{}/v1/messages", settings.base_url.trim_end_matches('/'));
        match reqwest::Url::parse(&url) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
            _ => {
                return Err(format!(
                    "base_url {:?} is not an http(s) URL",
                    crate::redact::redact_url(&settings.base_url)
                ));
            }
        }
        let key = settings.api_key.as_deref().filter(|k| !k.is_empty()).map(super::secret_header).transpose()?;
        let client = super::http_client(settings.connect_timeout)?;
        super::register_secrets(settings.api_key.as_deref(), &settings.base_url);
        Ok(AnthropicProvider { client, url, key, settings, max_event_bytes: crate::wire::DEFAULT_MAX_EVENT_BYTES })
    }

    /// Accepts SSE events up to `bytes` long (`max_event_size`).
    pub(crate) fn with_max_event_bytes(mut self, bytes: usize) -> Self {
        self.max_event_bytes = bytes;
        self
    }

    /// Sends `req` and records its stream on `tl`.
    pub(crate) async fn send(&self, req: &GenRequest, tl: &mut Timeline) -> Result<(), RequestError> {
        let host = Host::Direct { model: &self.settings.model };
        let body = messages_body(host, req, self.settings.extra_body.as_ref());
        let mut builder = self
            .client
            .post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "text/event-stream")
            .header("anthropic-version", ANTHROPIC_VERSION)
            .body(body);
        if let Some(key) = &self.key {
            builder = builder.header("x-api-key", key.clone());
        }
        let request = builder.build().map_err(|e| {
            RequestError::new(ErrorClass::Client, format!("cannot build the request: {}", openai::describe(&e)))
        })?;
        let mut response = openai::execute(&self.client, request, tl).await?;
        let outcome = read_sse(&mut response, tl, self.max_event_bytes).await;
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
