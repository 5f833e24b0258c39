//! `ConverseStream`: one event shape for every model. The SDK decodes the
//! frames into typed events; [`on_event`] reads them. Text deltas are
//! answers; reasoning deltas count for `ttft` but not `ttfo`; tool-use
//! input is answer text. Usage, cache tokens and `latencyMs` come from the
//! trailing `metadata` event. The encoders write the events' JSON for the
//! simulator and [`crate::mock`].

use serde_json::{Value, json};

#[cfg(feature = "bedrock")]
pub(crate) use decode::ConverseDecoder;

/// The event that opens a response.
pub(crate) const MESSAGE_START: &str = "messageStart";
/// The event that carries content.
pub(crate) const CONTENT_BLOCK_DELTA: &str = "contentBlockDelta";
/// The event that opens a tool-use block.
pub(crate) const CONTENT_BLOCK_START: &str = "contentBlockStart";
/// The event that closes a content block.
pub(crate) const CONTENT_BLOCK_STOP: &str = "contentBlockStop";

/// The output limit of a request body.
pub(crate) fn max_tokens(body: &Value) -> Option<u64> {
    body["inferenceConfig"]["maxTokens"].as_u64()
}

/// The part of a request body that sets the output limit to `max`.
pub(crate) fn max_tokens_json(max: u32) -> Value {
    json!({"inferenceConfig": {"maxTokens": max}})
}

/// The stop reason of a complete answer, or of one cut by its limit.
pub(crate) fn stop_reason(length_limited: bool) -> &'static str {
    crate::wire::anthropic::stop_reason(length_limited)
}

/// `messageStart`'s payload.
pub(crate) fn message_start() -> Value {
    json!({"role": "assistant"})
}

/// `contentBlockDelta`'s payload saying `text`. `padding` is the `p` field
/// Bedrock pads events with (random in length).
pub(crate) fn content_block_delta(text: &str, padding: &str) -> Value {
    json!({"contentBlockIndex": 0, "delta": {"text": text}, "p": padding})
}

/// `contentBlockStart`'s payload opening block `index`, a call to the tool
/// `name` with id `id` (text and reasoning blocks have no start event).
pub(crate) fn tool_use_start(index: u32, id: &str, name: &str) -> Value {
    json!({"contentBlockIndex": index, "start": {"toolUse": {"toolUseId": id, "name": name}}})
}

/// `contentBlockDelta`'s payload for block `index`: reasoning, text or a
/// tool call's arguments saying `piece`, padded with `padding`.
pub(crate) fn block_delta(index: u32, kind: crate::wire::BlockKind, piece: &str, padding: &str) -> Value {
    let delta = match kind {
        crate::wire::BlockKind::Reasoning => json!({"reasoningContent": {"text": piece}}),
        crate::wire::BlockKind::Text => json!({"text": piece}),
        crate::wire::BlockKind::Tool => json!({"toolUse": {"input": piece}}),
    };
    json!({"contentBlockIndex": index, "delta": delta, "p": padding})
}

/// `contentBlockStop`'s payload for block `index`.
pub(crate) fn block_stop(index: u32) -> Value {
    json!({"contentBlockIndex": index})
}

/// The events that end a complete answer: `contentBlockStop`,
/// `messageStop` and `metadata` with usage and the service's latency.
/// `cache` is the prompt tokens read from and written to a prompt cache,
/// when there is one.
pub(crate) fn end_events(
    stop_reason: &str,
    prompt: u64,
    output: u64,
    cache: Option<(u64, u64)>,
    latency_ms: u64,
) -> [(&'static str, Value); 3] {
    let mut usage = json!({"inputTokens": prompt, "outputTokens": output, "totalTokens": prompt + output});
    if let Some((read, written)) = cache {
        // `inputTokens` is the part neither read from nor written to the cache.
        usage["inputTokens"] = json!(prompt.saturating_sub(read + written));
        usage["cacheReadInputTokens"] = json!(read);
        usage["cacheWriteInputTokens"] = json!(written);
    }
    [
        (CONTENT_BLOCK_STOP, json!({"contentBlockIndex": 0})),
        ("messageStop", json!({"stopReason": stop_reason})),
        ("metadata", json!({"usage": usage, "metrics": {"latencyMs": latency_ms}})),
    ]
}

/// Appends an event frame with a JSON payload.
#[cfg(feature = "_eventstream")]
pub(crate) fn write_event(out: &mut Vec<u8>, event_type: &str, payload: &Value) {
    crate::wire::eventstream::event(out, event_type, "application/json", payload.to_string().as_bytes());
}

#[cfg(feature = "bedrock")]
mod decode {
    use aws_sdk_bedrockruntime::types::{
        ContentBlockDelta, ContentBlockStart, ConverseStreamOutput, ReasoningContentBlockDelta,
    };

    use crate::record::{ContentKind, Usage};
    use crate::wire::{Progress, Sink};

    /// Decodes the events of one stream, in order.
    #[derive(Debug, Default)]
    pub(crate) struct ConverseDecoder {
        /// The index of the open `toolUse` block.
        tool_block: Option<i32>,
    }

    impl ConverseDecoder {
        /// One event of the stream.
        pub(crate) fn on_event(&mut self, event: ConverseStreamOutput, sink: &mut impl Sink) -> Progress {
            match event {
                ConverseStreamOutput::ContentBlockStart(start) => {
                    if let Some(ContentBlockStart::ToolUse(tool)) = start.start() {
                        sink.tool_call_start(tool.tool_use_id(), tool.name());
                        self.tool_block = Some(start.content_block_index());
                    }
                    Progress::More
                }
                ConverseStreamOutput::ContentBlockStop(stop) => {
                    if self.tool_block.is_some_and(|i| i == stop.content_block_index()) {
                        self.tool_block = None;
                        sink.tool_call_end();
                    }
                    Progress::More
                }
                other => on_event(other, sink),
            }
        }
    }

    /// One event of the stream that needs no state.
    fn on_event(event: ConverseStreamOutput, sink: &mut impl Sink) -> Progress {
        match event {
            ConverseStreamOutput::ContentBlockDelta(d) => match d.delta() {
                Some(ContentBlockDelta::Text(text)) => sink.content(ContentKind::Answer, text),
                Some(ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Text(text))) => {
                    sink.content(ContentKind::Reasoning, text)
                }
                Some(ContentBlockDelta::ToolUse(tool)) => sink.content(ContentKind::ToolCall, tool.input()),
                _ => {}
            },
            ConverseStreamOutput::MessageStop(stop) => {
                sink.stop_reason(stop.stop_reason().as_str());
                return Progress::Complete;
            }
            ConverseStreamOutput::Metadata(meta) => {
                if let Some(u) = meta.usage() {
                    let count = |n: i32| u64::try_from(n).ok();
                    sink.usage(Usage {
                        input_tokens: count(u.input_tokens()),
                        output_tokens: count(u.output_tokens()),
                        cache_read_tokens: u.cache_read_input_tokens().and_then(count),
                        cache_write_tokens: u.cache_write_input_tokens().and_then(count),
                        reasoning_tokens: None,
                        // `inputTokens` leaves the cache counts out.
                        input_excludes_cache: true,
                    });
                }
                if let Some(metrics) = meta.metrics() {
                    sink.server_latency_ms(metrics.latency_ms() as f64);
                }
                return Progress::Last;
            }
            // messageStart, contentBlockStart/Stop (read by the decoder) and
            // events newer than this SDK.
            _ => {}
        }
        Progress::More
    }
}
