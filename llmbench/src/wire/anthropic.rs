//! The Anthropic Messages API, streamed: `POST /v1/messages` with
//! `stream: true`, answered with SSE events `message_start`,
//! `content_block_start/delta/stop`, `message_delta`, `message_stop`, `ping`
//! and `error` (docs/providers.md). Bedrock's Anthropic family
//! (`InvokeModelWithResponseStream`) sends the same JSON objects as chunks,
//! without SSE framing, so [`MessagesDecoder`] and the encoders serve both.

use serde::Deserialize;
use serde_json::{Value, json};

use super::{BlockKind, Progress, Sink, Text, insert_sampling, merge_extra, not_json, quote, stream_error};
use crate::record::{ContentKind, RequestError, Usage};
use crate::request::{GenRequest, Image, Role};

/// The API version header sent with every direct request.
pub(crate) const ANTHROPIC_VERSION: &str = "2023-06-01";
/// The API version Bedrock wants in the body.
pub(crate) const BEDROCK_VERSION: &str = "bedrock-2023-05-31";

/// Where a Messages body goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Host<'a> {
    /// The Anthropic API: the body names the model and asks for a stream.
    Direct { model: &'a str },
    /// Bedrock: the operation asks for the stream and the path names the
    /// model; the body names the API version.
    Bedrock,
}

/// The content blocks of `message` when it is a user message of tool
/// results (where the next result joins them).
fn tool_results(message: &mut Value) -> Option<&mut Vec<Value>> {
    let blocks = message["content"].as_array_mut()?;
    blocks.iter().all(|b| b["type"] == "tool_result").then_some(blocks)
}

/// The Messages request body.
pub(crate) fn messages_body(
    host: Host<'_>,
    req: &GenRequest,
    extra: Option<&serde_json::Map<String, Value>>,
) -> Vec<u8> {
    let system: Vec<&str> =
        req.messages.iter().filter(|m| m.role == Role::System).map(|m| m.content.as_str()).collect();
    let with_images = req.image_message();
    let mut messages: Vec<Value> = Vec::with_capacity(req.messages.len());
    for (i, m) in req.messages.iter().enumerate() {
        let content = match m.role {
            Role::System => continue,
            // Results of one reply's calls go back together, in one user message.
            Role::Tool => {
                let result = json!({"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.content});
                if let Some(blocks) = messages.last_mut().and_then(|last| tool_results(last)) {
                    blocks.push(result);
                    continue;
                }
                messages.push(json!({"role": "user", "content": [result]}));
                continue;
            }
            _ if with_images == Some(i) => {
                let mut content = vec![json!({"type": "text", "text": m.content})];
                content.extend(req.images.iter().map(|image| {
                    json!({"type": "image", "source": {"type": "base64", "media_type": Image::MEDIA_TYPE,
                                                       "data": &*image.base64}})
                }));
                Value::Array(content)
            }
            _ if !m.tool_calls.is_empty() => {
                let text = (!m.content.is_empty()).then(|| json!({"type": "text", "text": m.content}));
                let calls = m
                    .tool_calls
                    .iter()
                    .map(|c| json!({"type": "tool_use", "id": c.id, "name": c.name, "input": c.input()}));
                Value::Array(text.into_iter().chain(calls).collect())
            }
            _ => json!(m.content),
        };
        messages.push(json!({"role": m.role.as_str(), "content": content}));
    }
    let mut body = serde_json::Map::new();
    match host {
        Host::Direct { model } => {
            body.insert("model".into(), json!(model));
            body.insert("stream".into(), json!(true));
        }
        Host::Bedrock => {
            body.insert("anthropic_version".into(), json!(BEDROCK_VERSION));
        }
    }
    // Required by the API; Bedrock reserves quota for it.
    body.insert("max_tokens".into(), json!(req.max_tokens.unwrap_or(crate::workload::DEFAULT_OUTPUT_TOKENS)));
    body.insert("messages".into(), Value::Array(messages));
    match system.split_first() {
        // The shared prefix is a block of its own, marked for the cache.
        Some((prefix, rest)) if req.cache_prefix => {
            let mut blocks = vec![json!({"type": "text", "text": prefix, "cache_control": {"type": "ephemeral"}})];
            blocks.extend(rest.iter().map(|text| json!({"type": "text", "text": text})));
            body.insert("system".into(), Value::Array(blocks));
        }
        Some(_) => {
            body.insert("system".into(), json!(system.join("\n\n")));
        }
        None => {}
    }
    insert_sampling(&mut body, req);
    if !req.stop.is_empty() {
        body.insert("stop_sequences".into(), json!(req.stop));
    }
    if let Some(budget) = req.thinking_budget_tokens() {
        body.insert("thinking".into(), json!({"type": "enabled", "budget_tokens": budget}));
    }
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
            .collect();
        body.insert("tools".into(), Value::Array(tools));
    }
    merge_extra(&mut body, extra);
    serde_json::to_vec(&body).unwrap_or_default()
}

// ---- Decoding ----

/// Decodes the events of one Messages stream, in order.
#[derive(Debug, Default)]
pub(crate) struct MessagesDecoder {
    /// A stop reason arrived (`message_delta`): the generation is complete.
    stopped: bool,
    /// The index of the open `tool_use` block.
    tool_block: Option<u32>,
}

impl MessagesDecoder {
    /// Whether a stop reason arrived.
    pub(crate) fn stopped(&self) -> bool {
        self.stopped
    }

    /// One event's JSON; `message_stop` is [`Progress::Last`].
    pub(crate) fn on_event(&mut self, data: &[u8], sink: &mut impl Sink) -> Result<Progress, RequestError> {
        let event: Event<'_> = serde_json::from_slice(data).map_err(|e| not_json("event", &e, data))?;
        match event.kind.0.as_ref() {
            "message_start" => {
                if let Some(message) = event.message {
                    if let Some(id) = message.id.filter(|id| !id.0.is_empty()) {
                        sink.response_id(&id.0);
                    }
                    if let Some(u) = message.usage {
                        // Output counts here are placeholders; message_delta has them.
                        sink.usage(Usage {
                            input_tokens: u.input_tokens,
                            output_tokens: None,
                            cache_read_tokens: u.cache_read_input_tokens,
                            cache_write_tokens: u.cache_creation_input_tokens,
                            reasoning_tokens: None,
                            input_excludes_cache: true,
                        });
                    }
                }
            }
            "content_block_start" => {
                if let Some(block) = event.content_block
                    && block.kind.0 == "tool_use"
                {
                    let id = block.id.as_ref().map_or("", |t| t.0.as_ref());
                    sink.tool_call_start(id, block.name.as_ref().map_or("", |n| n.0.as_ref()));
                    self.tool_block = Some(event.index.unwrap_or(0));
                }
            }
            "content_block_delta" => {
                if let Some(d) = event.delta {
                    if let Some(text) = d.text {
                        sink.content(ContentKind::Answer, &text.0);
                    }
                    if let Some(thinking) = d.thinking {
                        sink.content(ContentKind::Reasoning, &thinking.0);
                    }
                    if let Some(json) = d.partial_json {
                        sink.content(ContentKind::ToolCall, &json.0);
                    }
                }
            }
            "content_block_stop" if self.tool_block.is_some() && self.tool_block == event.index.or(Some(0)) => {
                self.tool_block = None;
                sink.tool_call_end();
            }
            "message_delta" => {
                if let Some(reason) = event.delta.and_then(|d| d.stop_reason) {
                    sink.stop_reason(&reason.0);
                    self.stopped = true;
                }
                if let Some(u) = event.usage {
                    sink.usage(Usage {
                        output_tokens: u.output_tokens,
                        input_excludes_cache: true,
                        ..Usage::default()
                    });
                }
                if self.stopped {
                    return Ok(Progress::Complete);
                }
            }
            "message_stop" => return Ok(Progress::Last),
            "error" => {
                let (kind, message) = match event.error {
                    Some(e) => (e.kind.unwrap_or_default(), e.message.unwrap_or_default()),
                    None => (String::new(), quote(data)),
                };
                return Err(stream_error(format!("{message} ({kind})")));
            }
            // ping and newer event types.
            _ => {}
        }
        Ok(Progress::More)
    }
}

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow)]
    kind: Text<'a>,
    /// The content block a `content_block_*` event is about.
    index: Option<u32>,
    #[serde(borrow)]
    content_block: Option<ContentBlock<'a>>,
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

/// The block a `content_block_start` opens: `text`, `thinking`, `tool_use`…
#[derive(Deserialize)]
struct ContentBlock<'a> {
    #[serde(rename = "type", borrow)]
    kind: Text<'a>,
    #[serde(borrow)]
    id: Option<Text<'a>>,
    #[serde(borrow)]
    name: Option<Text<'a>>,
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

// ---- Encoding ----
//
// Each event is a JSON value whose `type` is also its SSE event name.

/// `message_start`: the response id and the prompt's tokens.
pub(crate) fn message_start(id: &str, model: &str, input_tokens: u64) -> Value {
    json!({"type": "message_start", "message": {"id": id, "type": "message", "role": "assistant", "model": model,
           "content": [], "usage": {"input_tokens": input_tokens, "output_tokens": 1}}})
}

/// Adds prompt-cache counts to a `message_start`'s usage: `input_tokens`
/// becomes `input`, beside `cache_read_input_tokens` and
/// `cache_creation_input_tokens` (the API counts the three apart).
pub(crate) fn add_cache_usage(message_start: &mut Value, input: u64, (read, written): (u64, u64)) {
    if let Some(usage) = message_start.get_mut("message").and_then(|m| m.get_mut("usage")) {
        usage["input_tokens"] = json!(input);
        usage["cache_read_input_tokens"] = json!(read);
        usage["cache_creation_input_tokens"] = json!(written);
    }
}

/// `content_block_start` of the one text block.
pub(crate) fn content_block_start() -> Value {
    json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}})
}

/// `content_block_start` of block `index` of `kind`; a tool call names
/// `tool` (its id and name).
pub(crate) fn block_start(index: u32, kind: BlockKind, tool: (&str, &str)) -> Value {
    let block = match kind {
        BlockKind::Reasoning => json!({"type": "thinking", "thinking": ""}),
        BlockKind::Text => json!({"type": "text", "text": ""}),
        BlockKind::Tool => json!({"type": "tool_use", "id": tool.0, "name": tool.1, "input": {}}),
    };
    json!({"type": "content_block_start", "index": index, "content_block": block})
}

/// `content_block_delta` of block `index`: a `thinking_delta`, a
/// `text_delta` or an `input_json_delta`, saying `piece`.
pub(crate) fn block_delta(index: u32, kind: BlockKind, piece: &str) -> Value {
    let delta = match kind {
        BlockKind::Reasoning => json!({"type": "thinking_delta", "thinking": piece}),
        BlockKind::Text => json!({"type": "text_delta", "text": piece}),
        BlockKind::Tool => json!({"type": "input_json_delta", "partial_json": piece}),
    };
    json!({"type": "content_block_delta", "index": index, "delta": delta})
}

/// `content_block_stop` of block `index`.
pub(crate) fn block_stop(index: u32) -> Value {
    json!({"type": "content_block_stop", "index": index})
}

/// `content_block_delta` carrying `text`.
pub(crate) fn text_delta(text: &str) -> Value {
    json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}})
}

/// `content_block_stop`, in the key order the API sends.
pub(crate) const CONTENT_BLOCK_STOP: &str = r#"{"type":"content_block_stop","index":0}"#;

/// [`CONTENT_BLOCK_STOP`] as a value.
pub(crate) fn content_block_stop() -> Value {
    json!({"type": "content_block_stop", "index": 0})
}

/// `message_delta`: the stop reason and the output tokens.
pub(crate) fn message_delta(stop_reason: &str, output_tokens: u64) -> Value {
    json!({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": null},
           "usage": {"output_tokens": output_tokens}})
}

/// `message_stop`, the last event.
pub(crate) const MESSAGE_STOP: &str = r#"{"type":"message_stop"}"#;

/// `message_stop` as a value, for Bedrock to add its metrics to.
pub(crate) fn message_stop() -> Value {
    json!({"type": "message_stop"})
}

/// `ping`, the keep-alive event.
pub(crate) const PING: &str = r#"{"type":"ping"}"#;

/// An `error` event.
pub(crate) fn error(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

/// The normal stop reason, or the one of a generation cut by its limit.
pub(crate) fn stop_reason(length_limited: bool) -> &'static str {
    if length_limited { "max_tokens" } else { "end_turn" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_events_are_the_values_in_the_apis_key_order() {
        let parsed: Value = serde_json::from_str(CONTENT_BLOCK_STOP).unwrap();
        assert_eq!(parsed, content_block_stop());
        let parsed: Value = serde_json::from_str(MESSAGE_STOP).unwrap();
        assert_eq!(parsed, message_stop());
    }
}
