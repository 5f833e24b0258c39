//! The chunks of a streamed invoke response, family by family, for the
//! simulator and [`crate::mock`]. Each chunk is the model's JSON; framing
//! it (base64 in `{"bytes": …}` inside an event frame) is [`write_chunk`].

use serde_json::{Value, json};

use super::Family;
use crate::wire::bedrock::METRICS_KEY;
use crate::wire::openai::{ChunkHead, Endpoint};
use crate::wire::{anthropic, eventstream};

/// What the chunks of one response repeat.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Head<'a> {
    /// The response id: Anthropic's message id, OpenAI-style chunks' `id`.
    pub(crate) id: &'a str,
    pub(crate) model: &'a str,
    pub(crate) input_tokens: u64,
    /// OpenAI-style chunks' `created`, when they carry one.
    pub(crate) created: Option<u64>,
}

impl Head<'_> {
    fn openai(&self) -> ChunkHead<'_> {
        ChunkHead { id: self.id, endpoint: Endpoint::Chat, created: self.created, model: self.model }
    }
}

impl Family {
    /// The chunks before the first content; `role_chunk`: whether an
    /// OpenAI-style stream opens with its role-only chunk.
    pub(crate) fn start_chunks(self, head: &Head<'_>, role_chunk: bool) -> Vec<Value> {
        match self {
            Family::Anthropic => {
                vec![anthropic::message_start(head.id, head.model, head.input_tokens), anthropic::content_block_start()]
            }
            Family::AmazonNova => vec![json!({"messageStart": {"role": "assistant"}})],
            Family::OpenAi if role_chunk => {
                let openai = head.openai();
                vec![openai.chunk(openai.role_choice())]
            }
            Family::OpenAi | Family::Meta | Family::AmazonTitan | Family::Mistral => Vec::new(),
        }
    }

    /// One content chunk saying `text`; `first` for the first one, and
    /// `output_tokens` counts the tokens so far, this chunk's included.
    pub(crate) fn content_chunk(self, head: &Head<'_>, text: &str, first: bool, output_tokens: u64) -> Value {
        match self {
            Family::Anthropic => anthropic::text_delta(text),
            Family::Meta => json!({"generation": text, "prompt_token_count": first.then_some(head.input_tokens),
                                   "generation_token_count": output_tokens, "stop_reason": null}),
            Family::AmazonNova => json!({"contentBlockDelta": {"delta": {"text": text}, "contentBlockIndex": 0}}),
            Family::AmazonTitan => json!({"outputText": text, "index": 0, "totalOutputTextTokenCount": output_tokens,
                                          "completionReason": null, "inputTextTokenCount": head.input_tokens}),
            Family::Mistral => json!({"outputs": [{"text": text, "stop_reason": null}]}),
            Family::OpenAi => {
                let openai = head.openai();
                openai.chunk(openai.content_choice(text))
            }
        }
    }

    /// The chunks that end a complete answer; the last carries `metrics`
    /// (see [`invocation_metrics`]).
    pub(crate) fn end_chunks(
        self,
        head: &Head<'_>,
        stop_reason: &str,
        output_tokens: u64,
        metrics: Value,
    ) -> Vec<Value> {
        let input = head.input_tokens;
        let mut chunks = match self {
            Family::Anthropic => vec![
                anthropic::content_block_stop(),
                anthropic::message_delta(stop_reason, output_tokens),
                anthropic::message_stop(),
            ],
            Family::Meta => vec![json!({"generation": "", "prompt_token_count": null,
                                        "generation_token_count": output_tokens, "stop_reason": stop_reason})],
            Family::AmazonNova => vec![
                json!({"contentBlockStop": {"contentBlockIndex": 0}}),
                json!({"messageStop": {"stopReason": stop_reason}}),
                json!({"metadata": {"usage": {"inputTokens": input, "outputTokens": output_tokens}}}),
            ],
            Family::AmazonTitan => {
                vec![json!({"outputText": "", "index": 0, "totalOutputTextTokenCount": output_tokens,
                                               "completionReason": stop_reason, "inputTextTokenCount": input})]
            }
            Family::Mistral => vec![json!({"outputs": [{"text": "", "stop_reason": stop_reason}]})],
            Family::OpenAi => {
                let openai = head.openai();
                vec![openai.chunk(openai.finish_choice(stop_reason))]
            }
        };
        if let Some(last) = chunks.last_mut() {
            last[METRICS_KEY] = metrics;
        }
        chunks
    }
}

/// `amazon-bedrock-invocationMetrics`: billed tokens and the service's
/// latencies in milliseconds (`firstByteLatency` only when given), and the
/// prompt tokens read from and written to a prompt cache, when there is
/// one (`inputTokenCount` then counts neither).
pub(crate) fn invocation_metrics(
    input: u64,
    output: u64,
    latency_ms: u64,
    first_byte_ms: Option<u64>,
    cache: Option<(u64, u64)>,
) -> Value {
    let mut metrics = json!({"inputTokenCount": input, "outputTokenCount": output, "invocationLatency": latency_ms});
    if let Some(first) = first_byte_ms {
        metrics["firstByteLatency"] = json!(first);
    }
    if let Some((read, written)) = cache {
        metrics["cacheReadInputTokenCount"] = json!(read);
        metrics["cacheWriteInputTokenCount"] = json!(written);
    }
    metrics
}

/// Appends `chunk` as an `InvokeModelWithResponseStream` chunk frame.
pub(crate) fn write_chunk(out: &mut Vec<u8>, chunk: &Value) {
    eventstream::bedrock_chunk(out, chunk.to_string().as_bytes());
}
