//! OpenAI chat and completions (`POST /v1/chat/completions`, `/v1/completions`
//! with `stream: true`), as served by OpenAI, vLLM, TGI, Ollama's `/v1`,
//! llama.cpp and others (docs/providers.md): the request body, the streamed
//! chunk, error and usage objects, the decoder of a stream's events, and
//! the encoders of a streamed response for the simulator and the mock.
//!
//! Chunks are deserialized without copying token text: strings borrow from
//! the read buffer (see [`Text`]), so a token costs no allocation.

mod encode;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[cfg_attr(not(feature = "mock"), allow(unused_imports))]
pub(crate) use encode::{ChunkHead, DONE, StreamUsage, StreamWriter, error_json};

use super::sse::Event;
use super::{First, Progress, Sink, Text, not_json, quote, stream_error};
use crate::record::{ContentKind, RequestError, Usage};
use crate::request::GenRequest;

/// Which OpenAI route a request goes to (`endpoint` in config).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// `/chat/completions`, with `messages`; answers in `choices[0].delta`,
    /// after a role-only first chunk.
    #[default]
    Chat,
    /// The legacy `/completions`, with the conversation flattened to
    /// `prompt`; answers in `choices[0].text`.
    Completions,
}

impl Endpoint {
    /// The route appended to a base URL that ends with the version.
    pub(crate) fn route(self) -> &'static str {
        match self {
            Endpoint::Chat => "/chat/completions",
            Endpoint::Completions => "/completions",
        }
    }

    /// The `object` of a streamed chunk.
    pub(crate) fn chunk_object(self) -> &'static str {
        match self {
            Endpoint::Chat => "chat.completion.chunk",
            Endpoint::Completions => "text_completion",
        }
    }
}

// ---- Request body ----

#[derive(Serialize)]
pub(crate) struct Body<'a> {
    pub(crate) model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) messages: Option<Vec<WireMessage<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) prompt: Option<String>,
    pub(crate) stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) stop: Option<&'a Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) min_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) ignore_eos: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reasoning_effort: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tools: Option<Vec<Value>>,
}

#[derive(Serialize)]
pub(crate) struct WireMessage<'a> {
    pub(crate) role: &'static str,
    pub(crate) content: WireContent<'a>,
    /// An assistant message's calls, in OpenAI's function form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool_calls: Option<Vec<Value>>,
    /// A `tool` message: the call it answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) tool_call_id: Option<&'a str>,
}

/// A message's content: its text, content parts when images go with it,
/// or `null` (an assistant message that only called tools).
#[derive(Serialize)]
#[serde(untagged)]
pub(crate) enum WireContent<'a> {
    Text(&'a str),
    Parts(Vec<Value>),
    Null,
}

/// The chat `messages` of `req`: images go with the last user message, as
/// `image_url` parts holding data URIs, after its text.
pub(crate) fn wire_messages(req: &GenRequest) -> Vec<WireMessage<'_>> {
    let with_images = req.image_message();
    req.messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let content = if m.content.is_empty() && !m.tool_calls.is_empty() {
                WireContent::Null
            } else if with_images == Some(i) {
                let mut parts = vec![serde_json::json!({"type": "text", "text": m.content})];
                parts.extend(
                    req.images
                        .iter()
                        .map(|image| serde_json::json!({"type": "image_url", "image_url": {"url": image.data_uri()}})),
                );
                WireContent::Parts(parts)
            } else {
                WireContent::Text(&m.content)
            };
            let tool_calls = (!m.tool_calls.is_empty()).then(|| {
                m.tool_calls
                    .iter()
                    .map(|c| {
                        serde_json::json!({"id": c.id, "type": "function",
                                           "function": {"name": c.name, "arguments": c.arguments}})
                    })
                    .collect()
            });
            WireMessage { role: m.role.as_str(), content, tool_calls, tool_call_id: m.tool_call_id.as_deref() }
        })
        .collect()
}

/// The `tools` of `req` in OpenAI's function form.
pub(crate) fn wire_tools(req: &GenRequest) -> Option<Vec<Value>> {
    (!req.tools.is_empty()).then(|| {
        req.tools
            .iter()
            .map(|t| {
                serde_json::json!({"type": "function", "function": {"name": t.name, "description": t.description,
                                   "parameters": t.parameters}})
            })
            .collect()
    })
}

#[derive(Serialize)]
pub(crate) struct StreamOptions {
    pub(crate) include_usage: bool,
}

// ---- Stream chunks ----
//
// Only the fields llmbench reads; serde skips the rest. Strings borrow from
// the read buffer (see `Text`) so that a token costs no allocation.

#[derive(Deserialize)]
pub(crate) struct Chunk<'a> {
    #[serde(borrow)]
    pub(crate) id: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(crate) choices: First<Choice<'a>>,
    pub(crate) usage: Option<WireUsage>,
    pub(crate) error: Option<WireError>,
    pub(crate) error_type: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct Choice<'a> {
    #[serde(borrow)]
    pub(crate) delta: Option<Delta<'a>>,
    /// The legacy completions endpoint's output.
    #[serde(borrow)]
    pub(crate) text: Option<Text<'a>>,
    #[serde(borrow)]
    pub(crate) finish_reason: Option<Text<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct Delta<'a> {
    #[serde(borrow)]
    pub(crate) content: Option<Text<'a>>,
    /// vLLM, llama.cpp, DeepSeek.
    #[serde(borrow)]
    pub(crate) reasoning_content: Option<Text<'a>>,
    /// Newer vLLM, OpenRouter, Ollama.
    #[serde(borrow)]
    pub(crate) reasoning: Option<Text<'a>>,
    #[serde(borrow)]
    pub(crate) refusal: Option<Text<'a>>,
    #[serde(borrow)]
    pub(crate) tool_calls: Option<Vec<ToolCall<'a>>>,
}

#[derive(Deserialize)]
pub(crate) struct ToolCall<'a> {
    /// Which call of the response a delta belongs to.
    pub(crate) index: Option<u32>,
    /// Sent once, in the delta that opens the call.
    #[serde(borrow)]
    pub(crate) id: Option<Text<'a>>,
    #[serde(borrow)]
    pub(crate) function: Option<ToolFunction<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct ToolFunction<'a> {
    /// Sent once, in the delta that opens the call.
    #[serde(borrow)]
    pub(crate) name: Option<Text<'a>>,
    #[serde(borrow)]
    pub(crate) arguments: Option<Text<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct WireUsage {
    pub(crate) prompt_tokens: Option<u64>,
    pub(crate) completion_tokens: Option<u64>,
    pub(crate) prompt_tokens_details: Option<PromptTokensDetails>,
    pub(crate) completion_tokens_details: Option<CompletionTokensDetails>,
}

#[derive(Deserialize)]
pub(crate) struct CompletionTokensDetails {
    pub(crate) reasoning_tokens: Option<u64>,
}

#[derive(Deserialize)]
pub(crate) struct PromptTokensDetails {
    pub(crate) cached_tokens: Option<u64>,
    pub(crate) cache_write_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Usage {
        let details = u.prompt_tokens_details;
        Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
            cache_read_tokens: details.as_ref().and_then(|d| d.cached_tokens),
            cache_write_tokens: details.as_ref().and_then(|d| d.cache_write_tokens),
            reasoning_tokens: u.completion_tokens_details.and_then(|d| d.reasoning_tokens),
            // `prompt_tokens` counts cached tokens too.
            input_excludes_cache: false,
        }
    }
}

/// An `error` value in the shapes servers send.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum WireError {
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
pub(crate) struct ErrorBody {
    pub(crate) error: Option<WireError>,
    /// TGI's class of a text error (`overloaded`, `generation`, …).
    pub(crate) error_type: Option<String>,
    /// vLLM's HTTP errors put the message at the top.
    pub(crate) message: Option<String>,
    /// FastAPI's `{"detail": …}`.
    pub(crate) detail: Option<Value>,
}

impl ErrorBody {
    /// "message (type)", from wherever this server put them.
    pub(crate) fn message(self) -> Option<String> {
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

// ---- Request ----

/// What a request body says beyond the [`GenRequest`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyOptions<'a> {
    pub(crate) model: &'a str,
    pub(crate) endpoint: Endpoint,
    /// Ask for the final usage chunk (`stream_options.include_usage`).
    pub(crate) include_usage: bool,
    /// Send `min_tokens` and `ignore_eos` (vLLM extras).
    pub(crate) send_min_tokens: bool,
    /// Fields merged into the body; they replace standard fields.
    pub(crate) extra: Option<&'a serde_json::Map<String, Value>>,
}

/// The JSON body of a streamed request for `req`.
pub(crate) fn request_body(o: BodyOptions<'_>, req: &GenRequest) -> serde_json::Result<Vec<u8>> {
    let (messages, prompt) = match o.endpoint {
        Endpoint::Chat => (Some(wire_messages(req)), None),
        Endpoint::Completions => (None, Some(req.prompt_text())),
    };
    let body = Body {
        model: o.model,
        messages,
        prompt,
        stream: true,
        stream_options: o.include_usage.then_some(StreamOptions { include_usage: true }),
        max_tokens: req.max_tokens,
        temperature: req.temperature,
        top_p: req.top_p,
        seed: req.seed,
        stop: (!req.stop.is_empty()).then_some(&req.stop),
        min_tokens: req.min_tokens.filter(|_| o.send_min_tokens),
        ignore_eos: (o.send_min_tokens && req.ignore_eos).then_some(true),
        reasoning_effort: req.reasoning_effort.map(|e| e.as_str()),
        tools: wire_tools(req),
    };
    let bytes = serde_json::to_vec(&body)?;
    let Some(extra) = o.extra else { return Ok(bytes) };
    // Merging through a map lets an extra field replace a standard one
    // instead of repeating the key. Re-reading our own output keeps
    // floats exact: an f32 turned straight into a JSON value prints
    // 0.7 as 0.699999988079071.
    let mut map: serde_json::Map<String, Value> = serde_json::from_slice(&bytes)?;
    super::merge_extra(&mut map, Some(extra));
    serde_json::to_vec(&map)
}

/// The output limit a request body asks for: OpenAI's newer
/// `max_completion_tokens` wins over `max_tokens`, as in vLLM.
pub(crate) fn max_tokens(body: &Value) -> Option<u64> {
    body["max_completion_tokens"].as_u64().or_else(|| body["max_tokens"].as_u64())
}

// ---- Decoding ----

/// Decodes the events of one stream, in order.
///
/// What it absorbs from the servers' deviations: a role-only first chunk
/// (`content: ""`) is passed on as empty text, which is not content; the
/// usage chunk's `choices` may be `[]`, `null` or missing; Ollama puts a
/// zero-valued `usage` on every chunk before the real one; errors may come
/// after HTTP 200 as a `data:` object with an `error` key (vLLM, TGI,
/// Ollama) or as an `event: error`.
#[derive(Debug, Default)]
pub(crate) struct StreamDecoder {
    /// A `finish_reason` arrived: the generation is complete.
    finished: bool,
    /// The response id was handed on.
    id_seen: bool,
    /// The index of the tool call whose arguments are streaming.
    open_call: Option<u32>,
}

impl StreamDecoder {
    /// Whether a `finish_reason` arrived.
    pub(crate) fn finished(&self) -> bool {
        self.finished
    }

    fn progress(&self) -> Progress {
        if self.finished { Progress::Complete } else { Progress::More }
    }

    /// One SSE event; `[DONE]` is [`Progress::Last`], an error event or an
    /// `error` object is the server's error.
    pub(crate) fn on_event(&mut self, event: Event<'_>, sink: &mut impl Sink) -> Result<Progress, RequestError> {
        if event.name == b"error" {
            let message = serde_json::from_slice::<ErrorBody>(event.data)
                .ok()
                .and_then(ErrorBody::message)
                .unwrap_or_else(|| quote(event.data));
            return Err(stream_error(message));
        }
        let data = event.data.trim_ascii();
        if data.is_empty() {
            return Ok(self.progress());
        }
        if data == b"[DONE]" {
            return Ok(Progress::Last);
        }
        let chunk: Chunk<'_> = serde_json::from_slice(data).map_err(|e| not_json("chunk", &e, data))?;
        if let Some(error) = chunk.error {
            let body = ErrorBody { error: Some(error), error_type: chunk.error_type, message: None, detail: None };
            let message = body.message().unwrap_or_else(|| "the server sent an error without a message".into());
            return Err(stream_error(message));
        }
        if !self.id_seen
            && let Some(id) = chunk.id.filter(|id| !id.0.is_empty())
        {
            sink.response_id(&id.0);
            self.id_seen = true;
        }
        let has_choice = chunk.choices.0.is_some();
        if let Some(choice) = chunk.choices.0 {
            self.on_choice(choice, sink);
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
            sink.usage(usage.into());
        }
        Ok(self.progress())
    }

    fn on_choice(&mut self, choice: Choice<'_>, sink: &mut impl Sink) {
        if let Some(delta) = choice.delta {
            for (kind, text) in [
                (ContentKind::Reasoning, delta.reasoning_content),
                (ContentKind::Reasoning, delta.reasoning),
                (ContentKind::Answer, delta.content),
                (ContentKind::Answer, delta.refusal),
            ] {
                if let Some(text) = text {
                    sink.content(kind, &text.0);
                }
            }
            for call in delta.tool_calls.into_iter().flatten() {
                let Some(function) = call.function else { continue };
                // A call opens with its name; a new index closes the one before.
                if let Some(name) = function.name.filter(|n| !n.0.is_empty()) {
                    if self.open_call.take().is_some() {
                        sink.tool_call_end();
                    }
                    sink.tool_call_start(call.id.as_ref().map_or("", |id| id.0.as_ref()), &name.0);
                    self.open_call = Some(call.index.unwrap_or(0));
                }
                if let Some(arguments) = function.arguments {
                    sink.content(ContentKind::ToolCall, &arguments.0);
                }
            }
        }
        if let Some(text) = choice.text {
            sink.content(ContentKind::Answer, &text.0);
        }
        if let Some(reason) = choice.finish_reason.filter(|r| !r.0.is_empty()) {
            if self.open_call.take().is_some() {
                sink.tool_call_end();
            }
            sink.stop_reason(&reason.0);
            self.finished = true;
        }
    }
}
