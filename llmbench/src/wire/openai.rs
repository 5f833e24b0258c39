//! OpenAI chat and completions (`POST /v1/chat/completions`, `/v1/completions`
//! with `stream: true`), as served by OpenAI, vLLM, TGI, Ollama's `/v1`,
//! llama.cpp and others (docs/providers.md): the request body, the streamed
//! chunk, error and usage objects, the decoder of a stream's events, and
//! the encoders of a streamed response for the simulator and the mock.
//!
//! Chunks are deserialized without copying token text: strings borrow from
//! the read buffer (see [`Text`]), so a token costs no allocation.

use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::sse::Event;
use super::{First, Progress, Sink, Text, not_json, quote, stream_error};
use crate::provider::GenRequest;
use crate::record::{ContentKind, RequestError, Usage};

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
}

#[derive(Serialize)]
pub(crate) struct WireMessage<'a> {
    pub(crate) role: &'static str,
    pub(crate) content: &'a str,
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
    #[serde(borrow)]
    pub(crate) function: Option<ToolFunction<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct ToolFunction<'a> {
    #[serde(borrow)]
    pub(crate) arguments: Option<Text<'a>>,
}

#[derive(Deserialize)]
pub(crate) struct WireUsage {
    pub(crate) prompt_tokens: Option<u64>,
    pub(crate) completion_tokens: Option<u64>,
    pub(crate) prompt_tokens_details: Option<PromptTokensDetails>,
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
        Endpoint::Chat => {
            let messages = req.messages.iter().map(|m| WireMessage { role: m.role.as_str(), content: &m.content });
            (Some(messages.collect()), None)
        }
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
                if let Some(arguments) = call.function.and_then(|f| f.arguments) {
                    sink.content(ContentKind::Answer, &arguments.0);
                }
            }
        }
        if let Some(text) = choice.text {
            sink.content(ContentKind::Answer, &text.0);
        }
        if let Some(reason) = choice.finish_reason.filter(|r| !r.0.is_empty()) {
            sink.stop_reason(&reason.0);
            self.finished = true;
        }
    }
}

// ---- Encoding: JSON values ----
//
// The mock and the simulator's AWS protocols (Bedrock's OpenAI-style
// family, SageMaker's `openai` format) build chunks as JSON values, which
// serde_json prints with sorted keys.

/// What every chunk of one response repeats.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChunkHead<'a> {
    pub(crate) id: &'a str,
    pub(crate) endpoint: Endpoint,
    /// `created`; left out when `None` (as Bedrock and SageMaker containers do).
    pub(crate) created: Option<u64>,
    pub(crate) model: &'a str,
}

impl ChunkHead<'_> {
    /// A chunk with one choice.
    pub(crate) fn chunk(&self, choice: Value) -> Value {
        let mut chunk = json!({"id": self.id, "object": self.endpoint.chunk_object(), "model": self.model,
                               "choices": [choice]});
        if let Some(created) = self.created {
            chunk["created"] = json!(created);
        }
        chunk
    }

    /// The `include_usage` chunk: no choices, the request's usage.
    pub(crate) fn usage_chunk(&self, prompt_tokens: u64, completion_tokens: u64) -> Value {
        let mut chunk = self.chunk(Value::Null);
        chunk["choices"] = json!([]);
        chunk["usage"] = json!({"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                                "total_tokens": prompt_tokens + completion_tokens});
        chunk
    }

    /// The role-only first choice of a chat stream.
    pub(crate) fn role_choice(&self) -> Value {
        json!({"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null})
    }

    /// A choice carrying `text`.
    pub(crate) fn content_choice(&self, text: &str) -> Value {
        match self.endpoint {
            Endpoint::Chat => json!({"index": 0, "delta": {"content": text}, "finish_reason": null}),
            Endpoint::Completions => json!({"index": 0, "text": text, "finish_reason": null}),
        }
    }

    /// The last choice, with its finish reason.
    pub(crate) fn finish_choice(&self, reason: &str) -> Value {
        match self.endpoint {
            Endpoint::Chat => json!({"index": 0, "delta": {}, "finish_reason": reason}),
            Endpoint::Completions => json!({"index": 0, "text": "", "finish_reason": reason}),
        }
    }
}

/// An error object as vLLM sends it in a stream (and OpenAI in a body).
pub(crate) fn error_json(message: &str, kind: &str, code: u16) -> Value {
    json!({"error": {"message": message, "type": kind, "code": code}})
}

/// The data of a stream's last event.
pub(crate) const DONE: &str = "[DONE]";

// ---- Encoding: bytes, for the simulator's hot path ----

/// Writes the SSE events of one streamed response straight into a buffer,
/// in OpenAI's own key order and without building JSON values: the
/// simulator writes a chunk per token at full speed. The shapes are those
/// of [`ChunkHead`]; `tests::the_writer_and_the_json_encoder_agree` keeps
/// the two equal as JSON.
#[derive(Debug, Clone)]
pub(crate) struct StreamWriter {
    endpoint: Endpoint,
    /// `data: {"id":…,"object":…,"created":…,"model":…,"choices":[`: the
    /// prefix every event of this response shares.
    head: Vec<u8>,
}

impl StreamWriter {
    /// A writer for the response `id` (no character of it needs escaping).
    pub(crate) fn new(id: &str, endpoint: Endpoint, created: u64, model: &str) -> StreamWriter {
        let head = format!(
            "data: {{\"id\":\"{id}\",\"object\":\"{}\",\"created\":{created},\"model\":{},\"choices\":[",
            endpoint.chunk_object(),
            Value::from(model),
        )
        .into_bytes();
        StreamWriter { endpoint, head }
    }

    /// Bytes every event starts with; a caller reserves this much more
    /// than an event's own bytes.
    pub(crate) fn head_len(&self) -> usize {
        self.head.len()
    }

    /// The role-only first chunk of a chat stream.
    pub(crate) fn role(&self, buf: &mut BytesMut) {
        buf.put_slice(&self.head);
        buf.put_slice(
            b"{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n",
        );
    }

    /// A content chunk saying `words` one after the other (none needs
    /// JSON escaping).
    pub(crate) fn content<'w>(&self, buf: &mut BytesMut, words: impl IntoIterator<Item = &'w str>) {
        let (open, close): (&[u8], &[u8]) = match self.endpoint {
            Endpoint::Chat => (b"{\"index\":0,\"delta\":{\"content\":\"", b"\"},\"finish_reason\":null}]}\n\n"),
            Endpoint::Completions => (b"{\"index\":0,\"text\":\"", b"\",\"finish_reason\":null}]}\n\n"),
        };
        buf.put_slice(&self.head);
        buf.put_slice(open);
        for word in words {
            buf.put_slice(word.as_bytes());
        }
        buf.put_slice(close);
    }

    /// The end of a complete stream: the finishing chunk, the usage chunk
    /// when asked for (`(prompt, completion)` tokens), and `[DONE]`.
    pub(crate) fn tail(&self, buf: &mut BytesMut, finish_reason: &str, usage: Option<(u64, u64)>) {
        buf.put_slice(&self.head);
        match self.endpoint {
            Endpoint::Chat => buf.put_slice(b"{\"index\":0,\"delta\":{},\"finish_reason\":\""),
            Endpoint::Completions => buf.put_slice(b"{\"index\":0,\"text\":\"\",\"finish_reason\":\""),
        }
        buf.put_slice(finish_reason.as_bytes());
        buf.put_slice(b"\"}]}\n\n");
        if let Some((prompt, completion)) = usage {
            buf.put_slice(&self.head);
            let total = prompt + completion;
            // Writing to a BytesMut cannot fail.
            let _ = write!(
                buf,
                "],\"usage\":{{\"prompt_tokens\":{prompt},\"completion_tokens\":{completion},\"total_tokens\":{total}}}}}\n\n"
            );
        }
        buf.put_slice(b"data: [DONE]\n\n");
    }

    /// A model error in the stream, then `[DONE]`, as vLLM ends a failed
    /// generation.
    pub(crate) fn error_and_done(buf: &mut BytesMut, message: &str, kind: &str, code: u16) {
        let _ = write!(
            buf,
            "data: {{\"error\":{{\"message\":{},\"type\":{},\"code\":{code}}}}}\n\ndata: [DONE]\n\n",
            Value::from(message),
            Value::from(kind),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::sse::SseDecoder;

    /// The JSON events of an SSE stream, `[DONE]` as a string.
    fn events(bytes: &[u8]) -> Vec<Value> {
        let mut out = Vec::new();
        let mut decoder = SseDecoder::new();
        let flow: std::ops::ControlFlow<()> = decoder.feed(bytes, |event| {
            let data = std::str::from_utf8(event.data).unwrap();
            out.push(serde_json::from_str(data).unwrap_or_else(|_| Value::from(data)));
            std::ops::ControlFlow::Continue(())
        });
        assert!(flow.is_continue());
        out
    }

    #[test]
    fn the_writer_and_the_json_encoder_agree() {
        for endpoint in [Endpoint::Chat, Endpoint::Completions] {
            let writer = StreamWriter::new("chatcmpl-1", endpoint, 17, "m\"x");
            let mut buf = BytesMut::new();
            if endpoint == Endpoint::Chat {
                writer.role(&mut buf);
            }
            writer.content(&mut buf, [" a", " b"]);
            writer.tail(&mut buf, "length", Some((5, 2)));
            let head = ChunkHead { id: "chatcmpl-1", endpoint, created: Some(17), model: "m\"x" };
            let mut expected = Vec::new();
            if endpoint == Endpoint::Chat {
                expected.push(head.chunk(head.role_choice()));
            }
            expected.push(head.chunk(head.content_choice(" a b")));
            expected.push(head.chunk(head.finish_choice("length")));
            expected.push(head.usage_chunk(5, 2));
            expected.push(Value::from(DONE));
            assert_eq!(events(&buf), expected, "{endpoint:?}");
        }
        let mut buf = BytesMut::new();
        StreamWriter::error_and_done(&mut buf, "failed", "server_error", 500);
        assert_eq!(events(&buf), [error_json("failed", "server_error", 500), Value::from(DONE)]);
    }

    /// Collects what a decoder hands on.
    #[derive(Default)]
    struct Seen(Vec<String>);

    impl Sink for Seen {
        fn content(&mut self, kind: ContentKind, text: &str) {
            self.0.push(format!("{kind:?}:{text}"));
        }
        fn usage(&mut self, usage: Usage) {
            self.0.push(format!("usage:{:?}/{:?}", usage.input_tokens, usage.output_tokens));
        }
        fn stop_reason(&mut self, reason: &str) {
            self.0.push(format!("stop:{reason}"));
        }
        fn response_id(&mut self, id: &str) {
            self.0.push(format!("id:{id}"));
        }
    }

    #[test]
    fn the_decoder_reads_what_the_writer_wrote() {
        let writer = StreamWriter::new("chatcmpl-1", Endpoint::Chat, 17, "m");
        let mut buf = BytesMut::new();
        writer.role(&mut buf);
        writer.content(&mut buf, [" a"]);
        writer.tail(&mut buf, "stop", Some((5, 1)));
        let (mut decoder, mut seen, mut progress) = (StreamDecoder::default(), Seen::default(), Vec::new());
        let flow: std::ops::ControlFlow<()> = SseDecoder::new().feed(&buf, |event| {
            progress.push(decoder.on_event(event, &mut seen).unwrap());
            std::ops::ControlFlow::Continue(())
        });
        assert!(flow.is_continue());
        assert_eq!(seen.0, ["id:chatcmpl-1", "Answer:", "Answer: a", "stop:stop", "usage:Some(5)/Some(1)"]);
        assert_eq!(progress, [Progress::More, Progress::More, Progress::Complete, Progress::Complete, Progress::Last]);
    }
}
