//! The model families of `InvokeModelWithResponseStream`: each has its own
//! request body and chunk JSON (protocols-and-prices.md §2.4). Bedrock adds
//! `amazon-bedrock-invocationMetrics` to the last chunk of every family:
//! billed tokens, `invocationLatency` (→ `server_latency`) and
//! `firstByteLatency` (→ `server_first_byte`). Unknown keys, such as the
//! random `p` padding, are ignored.

use std::ops::ControlFlow;
use std::time::Instant;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::provider::anthropic::{self, MessagesState};
use crate::provider::openai::{self, StreamState, Text};
use crate::provider::sse::Event;
use crate::provider::{GenRequest, Progress, Role};
use crate::record::{ContentKind, ErrorClass, RequestError, Timeline, Usage};

/// A model family: selects the body builder and the chunk parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    /// Anthropic Claude, Messages API (`anthropic_version: bedrock-2023-05-31`).
    Anthropic,
    /// Meta Llama: `prompt`, `max_gen_len`; chunks `{"generation": …}`.
    Meta,
    /// Amazon Nova, `messages-v1`; Converse-shaped chunk keys.
    AmazonNova,
    /// Amazon Titan Text: `inputText`; chunks `{"outputText": …}`.
    AmazonTitan,
    /// Mistral: `prompt`, `max_tokens`; chunks `{"outputs": [{"text": …}]}`.
    Mistral,
    /// OpenAI-style models on Bedrock (gpt-oss, Qwen, DeepSeek…): chat body,
    /// `chat.completion.chunk` chunks.
    OpenAi,
}

impl Family {
    /// Every family with its config name.
    pub(crate) const ALL: [(&'static str, Family); 6] = [
        ("anthropic", Family::Anthropic),
        ("meta", Family::Meta),
        ("amazon-nova", Family::AmazonNova),
        ("amazon-titan", Family::AmazonTitan),
        ("mistral", Family::Mistral),
        ("openai", Family::OpenAi),
    ];

    /// The family named `name` in config.
    pub(crate) fn parse(name: &str) -> Option<Family> {
        Family::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    /// The family's config name.
    pub(crate) fn name(self) -> &'static str {
        Family::ALL.iter().find(|(_, f)| *f == self).map_or("?", |(n, _)| n)
    }

    /// The request body for `req`; `extra` fields replace standard ones.
    pub(crate) fn body(self, req: &GenRequest, extra: Option<&serde_json::Map<String, Value>>) -> Vec<u8> {
        let max_tokens = req.max_tokens.unwrap_or(crate::workload::DEFAULT_OUTPUT_TOKENS);
        let stop = (!req.stop.is_empty()).then_some(&req.stop);
        let mut body = serde_json::Map::new();
        match self {
            Family::Anthropic => return anthropic::messages_body("", req, extra, false),
            Family::Meta => {
                body.insert("prompt".into(), json!(llama3_prompt(req)));
                body.insert("max_gen_len".into(), json!(max_tokens));
                anthropic::insert_sampling(&mut body, req);
            }
            Family::AmazonNova => {
                let system: Vec<Value> = req
                    .messages
                    .iter()
                    .filter(|m| m.role == Role::System)
                    .map(|m| json!({"text": m.content}))
                    .collect();
                let messages: Vec<Value> = req
                    .messages
                    .iter()
                    .filter(|m| m.role != Role::System)
                    .map(|m| json!({"role": m.role.as_str(), "content": [{"text": m.content}]}))
                    .collect();
                body.insert("schemaVersion".into(), json!("messages-v1"));
                body.insert("messages".into(), Value::Array(messages));
                if !system.is_empty() {
                    body.insert("system".into(), Value::Array(system));
                }
                let mut config = serde_json::Map::new();
                config.insert("maxTokens".into(), json!(max_tokens));
                anthropic::insert_sampling(&mut config, req);
                if let Some(p) = config.remove("top_p") {
                    config.insert("topP".into(), p);
                }
                if let Some(stop) = stop {
                    config.insert("stopSequences".into(), json!(stop));
                }
                body.insert("inferenceConfig".into(), Value::Object(config));
            }
            Family::AmazonTitan => {
                let mut config = serde_json::Map::new();
                config.insert("maxTokenCount".into(), json!(max_tokens));
                anthropic::insert_sampling(&mut config, req);
                if let Some(p) = config.remove("top_p") {
                    config.insert("topP".into(), p);
                }
                if let Some(stop) = stop {
                    config.insert("stopSequences".into(), json!(stop));
                }
                body.insert("inputText".into(), json!(req.prompt_text()));
                body.insert("textGenerationConfig".into(), Value::Object(config));
            }
            Family::Mistral => {
                body.insert("prompt".into(), json!(format!("<s>[INST] {} [/INST]", req.prompt_text())));
                body.insert("max_tokens".into(), json!(max_tokens));
                anthropic::insert_sampling(&mut body, req);
                if let Some(stop) = stop {
                    body.insert("stop".into(), json!(stop));
                }
            }
            Family::OpenAi => {
                let messages: Vec<Value> =
                    req.messages.iter().map(|m| json!({"role": m.role.as_str(), "content": m.content})).collect();
                body.insert("messages".into(), Value::Array(messages));
                body.insert("max_tokens".into(), json!(max_tokens));
                anthropic::insert_sampling(&mut body, req);
                if let Some(stop) = stop {
                    body.insert("stop".into(), json!(stop));
                }
            }
        }
        if let Some(extra) = extra {
            body.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

/// The Llama 3 chat template, which Bedrock's Meta models expect in `prompt`.
fn llama3_prompt(req: &GenRequest) -> String {
    let mut out = String::from("<|begin_of_text|>");
    for m in &req.messages {
        out.push_str("<|start_header_id|>");
        out.push_str(m.role.as_str());
        out.push_str("<|end_header_id|>\n\n");
        out.push_str(&m.content);
        out.push_str("<|eot_id|>");
    }
    out.push_str("<|start_header_id|>assistant<|end_header_id|>\n\n");
    out
}

/// The key Bedrock adds to a stream's last chunk.
const METRICS_KEY: &[u8] = b"amazon-bedrock-invocationMetrics";

/// Parses one family's chunks, in order.
#[derive(Debug)]
pub(crate) struct ChunkParser {
    family: Family,
    messages: MessagesState,
    openai: StreamState,
}

impl ChunkParser {
    /// A parser at the start of a stream.
    pub(crate) fn new(family: Family) -> ChunkParser {
        ChunkParser { family, messages: MessagesState::default(), openai: StreamState::default() }
    }

    /// One chunk's JSON (already base64-decoded by the SDK), read at `at`.
    pub(crate) fn on_chunk(&mut self, bytes: &[u8], at: Instant, tl: &mut Timeline) -> Result<Progress, RequestError> {
        let progress = match self.family {
            Family::Anthropic => self.messages.on_event(bytes, at, tl)?,
            Family::OpenAi => self.on_openai(bytes, at, tl)?,
            family => on_native(family, bytes, at, tl)?,
        };
        if contains(bytes, METRICS_KEY) {
            let metrics: MetricsChunk = serde_json::from_slice(bytes).map_err(|e| protocol(e, bytes))?;
            if let Some(m) = metrics.metrics {
                tl.on_usage(Usage {
                    input_tokens: m.input_token_count,
                    output_tokens: m.output_token_count,
                    cache_read_tokens: m.cache_read_input_token_count,
                    cache_write_tokens: m.cache_write_input_token_count,
                });
                if let Some(ms) = m.invocation_latency {
                    tl.set_server_latency_ms(ms);
                }
                if let Some(ms) = m.first_byte_latency {
                    tl.set_server_first_byte_ms(ms);
                }
                return Ok(Progress::Last);
            }
        }
        Ok(progress)
    }

    fn on_openai(&mut self, bytes: &[u8], at: Instant, tl: &mut Timeline) -> Result<Progress, RequestError> {
        // Some models end with the JSON string "[DONE]".
        let data = bytes.trim_ascii();
        let data = if data == b"\"[DONE]\"" { &b"[DONE]"[..] } else { data };
        match self.openai.on_event(Event { name: b"", data }, at, tl) {
            ControlFlow::Break(Ok(())) => Ok(Progress::Last),
            ControlFlow::Break(Err(e)) => Err(e),
            ControlFlow::Continue(()) if self.openai.finished => Ok(Progress::Complete),
            ControlFlow::Continue(()) => Ok(Progress::More),
        }
    }
}

/// Meta, Nova, Titan and Mistral chunks.
fn on_native(family: Family, bytes: &[u8], at: Instant, tl: &mut Timeline) -> Result<Progress, RequestError> {
    let chunk: Native<'_> = serde_json::from_slice(bytes).map_err(|e| protocol(e, bytes))?;
    let mut stop = None;
    match family {
        Family::Meta => {
            if let Some(text) = &chunk.generation {
                tl.on_content(at, ContentKind::Answer, &text.0);
            }
            tl.on_usage(Usage {
                input_tokens: chunk.prompt_token_count,
                output_tokens: chunk.generation_token_count,
                ..Usage::default()
            });
            stop = chunk.stop_reason;
        }
        Family::AmazonTitan => {
            if let Some(text) = &chunk.output_text {
                tl.on_content(at, ContentKind::Answer, &text.0);
            }
            tl.on_usage(Usage {
                input_tokens: chunk.input_text_token_count,
                output_tokens: chunk.total_output_text_token_count,
                ..Usage::default()
            });
            stop = chunk.completion_reason;
        }
        Family::Mistral => {
            if let Some(output) = chunk.outputs.and_then(|o| o.0) {
                if let Some(text) = &output.text {
                    tl.on_content(at, ContentKind::Answer, &text.0);
                }
                stop = output.stop_reason;
            }
        }
        Family::AmazonNova => {
            if let Some(delta) = chunk.content_block_delta.and_then(|d| d.delta) {
                if let Some(text) = &delta.text {
                    tl.on_content(at, ContentKind::Answer, &text.0);
                }
                if let Some(text) = delta.reasoning_content.and_then(|r| r.text) {
                    tl.on_content(at, ContentKind::Reasoning, &text.0);
                }
            }
            if let Some(u) = chunk.metadata.and_then(|m| m.usage) {
                tl.on_usage(Usage {
                    input_tokens: u.input_tokens,
                    output_tokens: u.output_tokens,
                    cache_read_tokens: u.cache_read_input_tokens,
                    cache_write_tokens: u.cache_write_input_tokens,
                });
            }
            stop = chunk.message_stop.and_then(|m| m.stop_reason);
        }
        Family::Anthropic | Family::OpenAi => {}
    }
    Ok(match stop {
        Some(reason) if !reason.0.is_empty() => {
            tl.set_stop_reason(&reason.0);
            Progress::Complete
        }
        _ => Progress::More,
    })
}

fn protocol(e: serde_json::Error, bytes: &[u8]) -> RequestError {
    RequestError::new(ErrorClass::Protocol, format!("chunk is not valid JSON ({e}): {}", openai::quote(bytes)))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The keys of every native family; each chunk sets a few.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Native<'a> {
    // Meta
    #[serde(borrow)]
    generation: Option<Text<'a>>,
    #[serde(rename = "prompt_token_count")]
    prompt_token_count: Option<u64>,
    #[serde(rename = "generation_token_count")]
    generation_token_count: Option<u64>,
    #[serde(rename = "stop_reason", borrow)]
    stop_reason: Option<Text<'a>>,
    // Titan
    #[serde(borrow)]
    output_text: Option<Text<'a>>,
    input_text_token_count: Option<u64>,
    total_output_text_token_count: Option<u64>,
    #[serde(borrow)]
    completion_reason: Option<Text<'a>>,
    // Mistral
    #[serde(borrow)]
    outputs: Option<FirstOutput<'a>>,
    // Nova
    #[serde(borrow)]
    content_block_delta: Option<NovaDelta<'a>>,
    #[serde(borrow)]
    message_stop: Option<NovaStop<'a>>,
    metadata: Option<NovaMetadata>,
}

/// The first of Mistral's `outputs`.
struct FirstOutput<'a>(Option<MistralOutput<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for FirstOutput<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let outputs: Vec<MistralOutput<'a>> = Vec::deserialize(deserializer)?;
        Ok(FirstOutput(outputs.into_iter().next()))
    }
}

#[derive(Deserialize)]
struct MistralOutput<'a> {
    #[serde(borrow)]
    text: Option<Text<'a>>,
    #[serde(borrow)]
    stop_reason: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct NovaDelta<'a> {
    #[serde(borrow)]
    delta: Option<NovaDeltaBody<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NovaDeltaBody<'a> {
    #[serde(borrow)]
    text: Option<Text<'a>>,
    #[serde(borrow)]
    reasoning_content: Option<NovaReasoning<'a>>,
}

#[derive(Deserialize)]
struct NovaReasoning<'a> {
    #[serde(borrow)]
    text: Option<Text<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NovaStop<'a> {
    #[serde(borrow)]
    stop_reason: Option<Text<'a>>,
}

#[derive(Deserialize)]
struct NovaMetadata {
    usage: Option<NovaUsage>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NovaUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    cache_write_input_tokens: Option<u64>,
}

#[derive(Deserialize)]
struct MetricsChunk {
    #[serde(rename = "amazon-bedrock-invocationMetrics")]
    metrics: Option<InvocationMetrics>,
}

/// `amazon-bedrock-invocationMetrics`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InvocationMetrics {
    input_token_count: Option<u64>,
    output_token_count: Option<u64>,
    cache_read_input_token_count: Option<u64>,
    cache_write_input_token_count: Option<u64>,
    invocation_latency: Option<f64>,
    first_byte_latency: Option<f64>,
}
