//! The encoders of a streamed OpenAI response. The mock and the
//! simulator's AWS protocols (Bedrock's OpenAI-style family, SageMaker's
//! `openai` format) build chunks as JSON values with [`ChunkHead`], which
//! serde_json prints with sorted keys; the simulator's own OpenAI stream is
//! written byte by byte by [`StreamWriter`].

use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};
use serde_json::{Value, json};

use super::Endpoint;

/// The usage a stream reports at its end (`stream_options.include_usage`):
/// prompt and completion tokens, and where a server reports them, cached
/// prompt tokens (`prompt_tokens_details.cached_tokens`) and reasoning
/// tokens (`completion_tokens_details.reasoning_tokens`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct StreamUsage {
    pub(crate) prompt: u64,
    pub(crate) completion: u64,
    pub(crate) cached: Option<u64>,
    pub(crate) reasoning: Option<u64>,
}

impl StreamUsage {
    /// Just the two counts.
    pub(crate) fn new(prompt: u64, completion: u64) -> StreamUsage {
        StreamUsage { prompt, completion, cached: None, reasoning: None }
    }

    /// The `usage` object.
    pub(crate) fn json(&self) -> Value {
        let mut usage = json!({"prompt_tokens": self.prompt, "completion_tokens": self.completion,
                               "total_tokens": self.prompt + self.completion});
        if let Some(cached) = self.cached {
            usage["prompt_tokens_details"] = json!({"cached_tokens": cached});
        }
        if let Some(reasoning) = self.reasoning {
            usage["completion_tokens_details"] = json!({"reasoning_tokens": reasoning});
        }
        usage
    }
}

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
        self.usage_chunk_with(StreamUsage::new(prompt_tokens, completion_tokens))
    }

    /// The `include_usage` chunk with cached and reasoning details.
    pub(crate) fn usage_chunk_with(&self, usage: StreamUsage) -> Value {
        let mut chunk = self.chunk(Value::Null);
        chunk["choices"] = json!([]);
        chunk["usage"] = usage.json();
        chunk
    }

    /// A chat choice carrying reasoning text (`reasoning_content`, as vLLM,
    /// SGLang and DeepSeek stream it).
    #[cfg(any(test, feature = "mock"))]
    pub(crate) fn reasoning_choice(&self, text: &str) -> Value {
        json!({"index": 0, "delta": {"reasoning_content": text}, "finish_reason": null})
    }

    /// A chat choice opening tool call 0: its id and function name, no
    /// arguments yet.
    #[cfg(any(test, feature = "mock"))]
    pub(crate) fn tool_start_choice(&self, id: &str, name: &str) -> Value {
        json!({"index": 0, "delta": {"tool_calls": [{"index": 0, "id": id, "type": "function",
                "function": {"name": name, "arguments": ""}}]}, "finish_reason": null})
    }

    /// A chat choice carrying a piece of tool call 0's arguments.
    #[cfg(any(test, feature = "mock"))]
    pub(crate) fn tool_args_choice(&self, piece: &str) -> Value {
        json!({"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]},
               "finish_reason": null})
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

    /// A chat chunk of reasoning text (`reasoning_content`) saying `words`
    /// (none needs JSON escaping).
    pub(crate) fn reasoning<'w>(&self, buf: &mut BytesMut, words: impl IntoIterator<Item = &'w str>) {
        buf.put_slice(&self.head);
        buf.put_slice(b"{\"index\":0,\"delta\":{\"reasoning_content\":\"");
        for word in words {
            buf.put_slice(word.as_bytes());
        }
        buf.put_slice(b"\"},\"finish_reason\":null}]}\n\n");
    }

    /// The chat chunk opening tool call 0 (`id` and `name` need no JSON
    /// escaping: the simulator makes the id, and tool names are
    /// identifiers).
    pub(crate) fn tool_start(&self, buf: &mut BytesMut, id: &str, name: &str) {
        buf.put_slice(&self.head);
        let _ = write!(
            buf,
            "{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,\"id\":{},\"type\":\"function\",\"function\":{{\"name\":{},\"arguments\":\"\"}}}}]}},\"finish_reason\":null}}]}}\n\n",
            Value::from(id),
            Value::from(name),
        );
    }

    /// A chat chunk with a piece of tool call 0's arguments.
    pub(crate) fn tool_args(&self, buf: &mut BytesMut, piece: &str) {
        buf.put_slice(&self.head);
        let _ = write!(
            buf,
            "{{\"index\":0,\"delta\":{{\"tool_calls\":[{{\"index\":0,\"function\":{{\"arguments\":{}}}}}]}},\"finish_reason\":null}}]}}\n\n",
            Value::from(piece),
        );
    }

    /// The end of a complete stream: the finishing chunk, the usage chunk
    /// when asked for, and `[DONE]`.
    pub(crate) fn tail(&self, buf: &mut BytesMut, finish_reason: &str, usage: Option<StreamUsage>) {
        buf.put_slice(&self.head);
        match self.endpoint {
            Endpoint::Chat => buf.put_slice(b"{\"index\":0,\"delta\":{},\"finish_reason\":\""),
            Endpoint::Completions => buf.put_slice(b"{\"index\":0,\"text\":\"\",\"finish_reason\":\""),
        }
        buf.put_slice(finish_reason.as_bytes());
        buf.put_slice(b"\"}]}\n\n");
        if let Some(u) = usage {
            buf.put_slice(&self.head);
            let (prompt, completion) = (u.prompt, u.completion);
            let total = prompt + completion;
            // Writing to a BytesMut cannot fail.
            let _ = write!(
                buf,
                "],\"usage\":{{\"prompt_tokens\":{prompt},\"completion_tokens\":{completion},\"total_tokens\":{total}"
            );
            if let Some(cached) = u.cached {
                let _ = write!(buf, ",\"prompt_tokens_details\":{{\"cached_tokens\":{cached}}}");
            }
            if let Some(reasoning) = u.reasoning {
                let _ = write!(buf, ",\"completion_tokens_details\":{{\"reasoning_tokens\":{reasoning}}}");
            }
            buf.put_slice(b"}}\n\n");
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
    use crate::record::{ContentKind, Usage};
    use crate::wire::openai::StreamDecoder;
    use crate::wire::sse::SseDecoder;
    use crate::wire::{Progress, Sink};

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
            writer.tail(&mut buf, "length", Some(StreamUsage::new(5, 2)));
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
        // Reasoning, a tool call and the usage details, byte for byte.
        let writer = StreamWriter::new("chatcmpl-2", Endpoint::Chat, 3, "m");
        let mut buf = BytesMut::new();
        writer.reasoning(&mut buf, [" hm"]);
        writer.tool_start(&mut buf, "call_sim_2", "get_weather");
        writer.tool_args(&mut buf, "{\"ci");
        let usage = StreamUsage { prompt: 9, completion: 3, cached: Some(4), reasoning: Some(1) };
        writer.tail(&mut buf, "tool_calls", Some(usage));
        let head = ChunkHead { id: "chatcmpl-2", endpoint: Endpoint::Chat, created: Some(3), model: "m" };
        let expected = [
            head.chunk(head.reasoning_choice(" hm")),
            head.chunk(head.tool_start_choice("call_sim_2", "get_weather")),
            head.chunk(head.tool_args_choice("{\"ci")),
            head.chunk(head.finish_choice("tool_calls")),
            head.usage_chunk_with(usage),
            Value::from(DONE),
        ];
        assert_eq!(events(&buf), expected);
        let text = String::from_utf8(buf.to_vec()).unwrap();
        assert!(text.contains(
            r#""usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":1}}}"#
        ), "{text}");
        assert!(text.contains(r#""delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]}"#), "{text}");
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
        writer.tail(&mut buf, "stop", Some(StreamUsage::new(5, 1)));
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
