//! The Anthropic Messages API, streamed (`provider = "anthropic"`):
//! `POST {base_url}/v1/messages` with `stream: true`, answered with SSE
//! events `message_start`, `content_block_start/delta/stop`, `message_delta`,
//! `message_stop`, `ping` and `error` (protocols-and-prices.md §4.3).
//!
//! The event parser, [`MessagesState`], also reads Bedrock's Anthropic
//! family (`InvokeModelWithResponseStream`), whose chunks are the same JSON
//! objects without SSE framing.

use std::fmt;
use std::ops::ControlFlow;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};

use super::openai::{self, Text};
use super::sse::SseDecoder;
use super::{GenRequest, Progress, Role};
use crate::record::{ContentKind, ErrorClass, RequestError, Timeline, Usage};

/// The API version header sent with every request.
pub(crate) const ANTHROPIC_VERSION: &str = "2023-06-01";
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
        Ok(AnthropicProvider { client, url, key, settings })
    }

    /// Sends `req` and records its stream on `tl`.
    pub(crate) async fn send(&self, req: &GenRequest, tl: &mut Timeline) -> Result<(), RequestError> {
        let body = messages_body(&self.settings.model, req, self.settings.extra_body.as_ref(), true);
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
        tl.mark_sent(Instant::now());
        let sent = tokio::time::timeout_at(openai::deadline(tl), self.client.execute(request)).await;
        let headers_at = Instant::now();
        let mut response = match sent {
            Err(_elapsed) => return Err(tl.timeout_error()),
            Ok(Err(e)) if e.is_timeout() => {
                return Err(RequestError::new(
                    ErrorClass::Timeout,
                    format!("connect timed out: {}", openai::describe(&e)),
                ));
            }
            Ok(Err(e)) => return Err(super::connection_failed(&e)),
            Ok(Ok(response)) => response,
        };
        tl.mark_headers(headers_at);
        if !response.status().is_success() {
            return Err(openai::status_error(response, tl).await);
        }
        let outcome = read_sse(&mut response, tl).await;
        if outcome.is_ok() {
            openai::drain(&mut response).await;
        }
        outcome
    }
}

/// Reads the SSE body until `message_stop`, an error or the end.
async fn read_sse(response: &mut reqwest::Response, tl: &mut Timeline) -> Result<(), RequestError> {
    let mut decoder = SseDecoder::new();
    let mut state = MessagesState::default();
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
                let flow = decoder.finish(|event| state.on_sse(event.name, event.data, last_read, tl));
                return match flow {
                    ControlFlow::Break(outcome) => outcome,
                    ControlFlow::Continue(()) if state.stopped => {
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
        if let ControlFlow::Break(outcome) = decoder.feed(&bytes, |event| state.on_sse(event.name, event.data, at, tl))
        {
            return outcome;
        }
        if decoder.pending_len() > openai::MAX_EVENT_BYTES {
            return Err(RequestError::new(ErrorClass::Protocol, "an SSE event grew past 8 MiB without ending"));
        }
    }
}

/// The Messages request body. `stream` is false for Bedrock, whose
/// operation, not the body, asks for a stream; Bedrock also names the API
/// version in the body and takes the model from the path.
pub(crate) fn messages_body(
    model: &str,
    req: &GenRequest,
    extra: Option<&serde_json::Map<String, Value>>,
    direct: bool,
) -> Vec<u8> {
    let system: Vec<&str> =
        req.messages.iter().filter(|m| m.role == Role::System).map(|m| m.content.as_str()).collect();
    let messages: Vec<Value> = req
        .messages
        .iter()
        .filter(|m| m.role != Role::System)
        .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
        .collect();
    let mut body = serde_json::Map::new();
    if direct {
        body.insert("model".into(), json!(model));
        body.insert("stream".into(), json!(true));
    } else {
        body.insert("anthropic_version".into(), json!("bedrock-2023-05-31"));
    }
    // Required by the API; Bedrock reserves quota for it.
    body.insert("max_tokens".into(), json!(req.max_tokens.unwrap_or(crate::workload::DEFAULT_OUTPUT_TOKENS)));
    body.insert("messages".into(), Value::Array(messages));
    if !system.is_empty() {
        body.insert("system".into(), json!(system.join("\n\n")));
    }
    insert_sampling(&mut body, req);
    if !req.stop.is_empty() {
        body.insert("stop_sequences".into(), json!(req.stop));
    }
    if let Some(extra) = extra {
        body.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    serde_json::to_vec(&body).unwrap_or_default()
}

/// `temperature` and `top_p`, printed as written (an `f32` turned straight
/// into JSON prints 0.7 as 0.699999988079071).
pub(crate) fn insert_sampling(body: &mut serde_json::Map<String, Value>, req: &GenRequest) {
    let exact = |x: f32| x.to_string().parse::<f64>().map(Value::from).unwrap_or(Value::Null);
    if let Some(t) = req.temperature {
        body.insert("temperature".into(), exact(t));
    }
    if let Some(p) = req.top_p {
        body.insert("top_p".into(), exact(p));
    }
}

/// What a Messages stream has shown so far.
#[derive(Debug, Default)]
pub(crate) struct MessagesState {
    /// A stop reason arrived (`message_delta`): the generation is complete.
    pub(crate) stopped: bool,
}

impl MessagesState {
    /// One SSE event of the direct API; breaks at `message_stop` or an error.
    fn on_sse(
        &mut self,
        name: &[u8],
        data: &[u8],
        at: Instant,
        tl: &mut Timeline,
    ) -> ControlFlow<Result<(), RequestError>> {
        if name == b"ping" {
            return ControlFlow::Continue(());
        }
        match self.on_event(data, at, tl) {
            Ok(Progress::Last) => {
                tl.mark_end(at);
                ControlFlow::Break(Ok(()))
            }
            Ok(_) => ControlFlow::Continue(()),
            Err(e) => ControlFlow::Break(Err(e)),
        }
    }

    /// One event's JSON, read at `at`.
    pub(crate) fn on_event(&mut self, data: &[u8], at: Instant, tl: &mut Timeline) -> Result<Progress, RequestError> {
        let event: Event<'_> = serde_json::from_slice(data).map_err(|e| {
            RequestError::new(ErrorClass::Protocol, format!("event is not valid JSON ({e}): {}", openai::quote(data)))
        })?;
        match event.kind.0.as_ref() {
            "message_start" => {
                if let Some(message) = event.message {
                    if let Some(id) = message.id.filter(|id| !id.0.is_empty()) {
                        tl.set_response_id(&id.0);
                    }
                    if let Some(u) = message.usage {
                        // Output counts here are placeholders; message_delta has them.
                        tl.on_usage(Usage {
                            input_tokens: u.input_tokens,
                            output_tokens: None,
                            cache_read_tokens: u.cache_read_input_tokens,
                            cache_write_tokens: u.cache_creation_input_tokens,
                        });
                    }
                }
            }
            "content_block_delta" => {
                if let Some(d) = event.delta {
                    if let Some(text) = d.text {
                        tl.on_content(at, ContentKind::Answer, &text.0);
                    }
                    if let Some(thinking) = d.thinking {
                        tl.on_content(at, ContentKind::Reasoning, &thinking.0);
                    }
                    if let Some(json) = d.partial_json {
                        tl.on_content(at, ContentKind::Answer, &json.0);
                    }
                }
            }
            "message_delta" => {
                if let Some(reason) = event.delta.and_then(|d| d.stop_reason) {
                    tl.set_stop_reason(&reason.0);
                    self.stopped = true;
                }
                if let Some(u) = event.usage {
                    tl.on_usage(Usage { output_tokens: u.output_tokens, ..Usage::default() });
                }
                if self.stopped {
                    return Ok(Progress::Complete);
                }
            }
            "message_stop" => return Ok(Progress::Last),
            "error" => {
                let (kind, message) = match event.error {
                    Some(e) => (e.kind.unwrap_or_default(), e.message.unwrap_or_default()),
                    None => (String::new(), openai::quote(data)),
                };
                return Err(openai::stream_error(format!("{message} ({kind})")));
            }
            // content_block_start/stop, ping and newer event types.
            _ => {}
        }
        Ok(Progress::More)
    }
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow)]
    kind: Text<'a>,
    #[serde(borrow)]
    message: Option<EventMessage<'a>>,
    #[serde(borrow)]
    delta: Option<Delta<'a>>,
    usage: Option<WireUsage>,
    error: Option<WireError>,
}

#[derive(Deserialize)]
struct EventMessage<'a> {
    #[serde(borrow)]
    id: Option<Text<'a>>,
    usage: Option<WireUsage>,
}

/// A `content_block_delta` delta or a `message_delta` delta.
#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(borrow)]
    text: Option<Text<'a>>,
    #[serde(borrow)]
    thinking: Option<Text<'a>>,
    #[serde(borrow)]
    partial_json: Option<Text<'a>>,
    #[serde(borrow)]
    stop_reason: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct WireUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct WireError {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: Option<String>,
}
