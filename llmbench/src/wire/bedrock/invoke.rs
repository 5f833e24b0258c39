//! `InvokeModelWithResponseStream`: each model family has its own request
//! body and chunk JSON (docs/providers.md). Bedrock adds
//! `amazon-bedrock-invocationMetrics` to the last chunk of every family:
//! billed tokens, `invocationLatency` (→ `server_latency`) and
//! `firstByteLatency` (→ `server_first_byte`). Unknown keys, such as the
//! random `p` padding, are ignored. The chunk encoders are in `encode`.

#[cfg(feature = "_eventstream")]
pub(crate) mod encode;

use serde::Deserialize;
use serde_json::{Value, json};

use super::METRICS_KEY;
use crate::record::{ContentKind, RequestError, Usage};
use crate::request::{GenRequest, Role};
use crate::wire::anthropic::{self, Host, MessagesDecoder};
use crate::wire::openai::{self, StreamDecoder};
use crate::wire::sse::Event;
use crate::wire::{First, Progress, Sink, Text, insert_sampling, merge_extra, not_json};

/// A model family of `InvokeModelWithResponseStream` (`family`): selects
/// the body builder, the chunk decoder and the chunk encoders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
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
    #[serde(rename = "openai")]
    OpenAi,
}

impl Family {
    /// The family's config name.
    pub fn name(self) -> &'static str {
        match self {
            Family::Anthropic => "anthropic",
            Family::Meta => "meta",
            Family::AmazonNova => "amazon-nova",
            Family::AmazonTitan => "amazon-titan",
            Family::Mistral => "mistral",
            Family::OpenAi => "openai",
        }
    }

    /// The family a request body is written for, told by its keys.
    pub(crate) fn detect(body: &Value) -> Option<Family> {
        let has = |key: &str| body.get(key).is_some();
        Some(if has("anthropic_version") {
            Family::Anthropic
        } else if has("schemaVersion") || has("inferenceConfig") {
            Family::AmazonNova
        } else if has("inputText") {
            Family::AmazonTitan
        } else if has("max_gen_len") {
            Family::Meta
        } else if has("prompt") {
            Family::Mistral
        } else if has("messages") {
            Family::OpenAi
        } else {
            return None;
        })
    }

    /// The output limit of a request body written for this family.
    pub(crate) fn max_tokens(self, body: &Value) -> Option<u64> {
        match self {
            Family::Anthropic | Family::Mistral => body["max_tokens"].as_u64(),
            Family::AmazonNova => body["inferenceConfig"]["maxTokens"].as_u64(),
            Family::AmazonTitan => body["textGenerationConfig"]["maxTokenCount"].as_u64(),
            Family::Meta => body["max_gen_len"].as_u64(),
            Family::OpenAi => openai::max_tokens(body),
        }
    }

    /// The part of a request body that sets the output limit to `max`.
    pub(crate) fn max_tokens_json(self, max: u32) -> Value {
        match self {
            Family::Anthropic | Family::Mistral | Family::OpenAi => json!({"max_tokens": max}),
            Family::Meta => json!({"max_gen_len": max}),
            Family::AmazonNova => json!({"inferenceConfig": {"maxTokens": max}}),
            Family::AmazonTitan => json!({"textGenerationConfig": {"maxTokenCount": max}}),
        }
    }

    /// The stop reason of a complete answer, or of one cut by its limit.
    pub(crate) fn stop_reason(self, length_limited: bool) -> &'static str {
        match (self, length_limited) {
            (Family::Anthropic | Family::AmazonNova, limited) => anthropic::stop_reason(limited),
            (Family::AmazonTitan, false) => "FINISH",
            (Family::AmazonTitan, true) => "LENGTH",
            (Family::Meta | Family::Mistral | Family::OpenAi, false) => "stop",
            (Family::Meta | Family::Mistral | Family::OpenAi, true) => "length",
        }
    }

    /// Why `req` cannot go to this family: Meta, Titan and Mistral bodies
    /// take a text prompt, with no images or tools.
    pub(crate) fn refuses(self, req: &GenRequest) -> Option<String> {
        match (self, req.needs_multimodal()) {
            (Family::Meta | Family::AmazonTitan | Family::Mistral, Some(what)) => Some(format!(
                "family {} takes a text prompt and cannot send {what} (use api = \"converse\")",
                self.name()
            )),
            _ => None,
        }
    }

    /// The request body for `req`; `extra` fields replace standard ones.
    pub(crate) fn body(self, req: &GenRequest, extra: Option<&serde_json::Map<String, Value>>) -> Vec<u8> {
        let max_tokens = req.max_tokens.unwrap_or(crate::workload::DEFAULT_OUTPUT_TOKENS);
        let stop = (!req.stop.is_empty()).then_some(&req.stop);
        let mut body = serde_json::Map::new();
        match self {
            Family::Anthropic => return anthropic::messages_body(Host::Bedrock, req, extra),
            Family::Meta => {
                body.insert("prompt".into(), json!(llama3_prompt(req)));
                body.insert("max_gen_len".into(), json!(max_tokens));
                insert_sampling(&mut body, req);
            }
            Family::AmazonNova => nova_body(&mut body, req, max_tokens, stop),
            Family::AmazonTitan => {
                let mut config = serde_json::Map::new();
                config.insert("maxTokenCount".into(), json!(max_tokens));
                insert_sampling(&mut config, req);
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
                insert_sampling(&mut body, req);
                if let Some(stop) = stop {
                    body.insert("stop".into(), json!(stop));
                }
            }
            Family::OpenAi => {
                body.insert("messages".into(), json!(openai::wire_messages(req)));
                body.insert("max_tokens".into(), json!(max_tokens));
                insert_sampling(&mut body, req);
                if let Some(stop) = stop {
                    body.insert("stop".into(), json!(stop));
                }
                if let Some(effort) = req.reasoning_effort {
                    body.insert("reasoning_effort".into(), json!(effort.as_str()));
                }
                if let Some(tools) = openai::wire_tools(req) {
                    body.insert("tools".into(), Value::Array(tools));
                }
            }
        }
        merge_extra(&mut body, extra);
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

/// Amazon Nova's messages-v1 body: system blocks (a cache point after the
/// shared prefix), messages with their images, tools, inference config.
fn nova_body(body: &mut serde_json::Map<String, Value>, req: &GenRequest, max_tokens: u32, stop: Option<&Vec<String>>) {
    let mut system = Vec::new();
    for m in req.messages.iter().filter(|m| m.role == Role::System) {
        system.push(json!({"text": m.content}));
        if req.cache_prefix && system.len() == 1 {
            system.push(json!({"cachePoint": {"type": "default"}}));
        }
    }
    let with_images = req.image_message();
    let mut messages: Vec<Value> = Vec::with_capacity(req.messages.len());
    for (i, m) in req.messages.iter().enumerate() {
        if m.role == Role::System {
            continue;
        }
        if m.role == Role::Tool {
            // Results of one reply's calls go back together, in one user message.
            let result = json!({"toolResult": {"toolUseId": m.tool_call_id, "content": [{"text": m.content}]}});
            match messages.last_mut().and_then(|last| last["content"].as_array_mut()) {
                Some(blocks) if blocks.iter().all(|b| b.get("toolResult").is_some()) => blocks.push(result),
                _ => messages.push(json!({"role": "user", "content": [result]})),
            }
            continue;
        }
        let text = (!m.content.is_empty() || m.tool_calls.is_empty()).then(|| json!({"text": m.content}));
        let mut content: Vec<Value> = text.into_iter().collect();
        if with_images == Some(i) {
            content.extend(
                req.images.iter().map(|image| json!({"image": {"format": "png", "source": {"bytes": &*image.base64}}})),
            );
        }
        content.extend(
            m.tool_calls.iter().map(|c| json!({"toolUse": {"toolUseId": c.id, "name": c.name, "input": c.input()}})),
        );
        messages.push(json!({"role": m.role.as_str(), "content": content}));
    }
    body.insert("schemaVersion".into(), json!("messages-v1"));
    body.insert("messages".into(), Value::Array(messages));
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }
    if !req.tools.is_empty() {
        let tools: Vec<Value> = req
            .tools
            .iter()
            .map(|t| {
                json!({"toolSpec": {"name": t.name, "description": t.description,
                                         "inputSchema": {"json": t.parameters}}})
            })
            .collect();
        body.insert("toolConfig".into(), json!({"tools": tools}));
    }
    let mut config = serde_json::Map::new();
    config.insert("maxTokens".into(), json!(max_tokens));
    insert_sampling(&mut config, req);
    if let Some(p) = config.remove("top_p") {
        config.insert("topP".into(), p);
    }
    if let Some(stop) = stop {
        config.insert("stopSequences".into(), json!(stop));
    }
    body.insert("inferenceConfig".into(), Value::Object(config));
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

/// Decodes one family's chunks, in order.
#[derive(Debug)]
pub(crate) struct ChunkDecoder {
    family: Family,
    messages: MessagesDecoder,
    openai: StreamDecoder,
}

impl ChunkDecoder {
    /// A decoder at the start of a stream.
    pub(crate) fn new(family: Family) -> ChunkDecoder {
        ChunkDecoder { family, messages: MessagesDecoder::default(), openai: StreamDecoder::default() }
    }

    /// One chunk's JSON (already base64-decoded by the SDK).
    pub(crate) fn on_chunk(&mut self, bytes: &[u8], sink: &mut impl Sink) -> Result<Progress, RequestError> {
        let progress = match self.family {
            Family::Anthropic => self.messages.on_event(bytes, sink)?,
            Family::OpenAi => {
                // Some models end with the JSON string "[DONE]".
                let data = bytes.trim_ascii();
                let data = if data == b"\"[DONE]\"" { &b"[DONE]"[..] } else { data };
                self.openai.on_event(Event { name: b"", data }, sink)?
            }
            family => on_native(family, bytes, sink)?,
        };
        if contains(bytes, METRICS_KEY.as_bytes()) {
            let metrics: MetricsChunk = serde_json::from_slice(bytes).map_err(|e| not_json("chunk", &e, bytes))?;
            if let Some(m) = metrics.metrics {
                sink.usage(Usage {
                    input_tokens: m.input_token_count,
                    output_tokens: m.output_token_count,
                    cache_read_tokens: m.cache_read_input_token_count,
                    cache_write_tokens: m.cache_write_input_token_count,
                    reasoning_tokens: None,
                    // Bedrock bills cache reads and writes beside `inputTokenCount`.
                    input_excludes_cache: true,
                });
                if let Some(ms) = m.invocation_latency {
                    sink.server_latency_ms(ms);
                }
                if let Some(ms) = m.first_byte_latency {
                    sink.server_first_byte_ms(ms);
                }
                return Ok(Progress::Last);
            }
        }
        Ok(progress)
    }
}

/// Meta, Nova, Titan and Mistral chunks.
fn on_native(family: Family, bytes: &[u8], sink: &mut impl Sink) -> Result<Progress, RequestError> {
    let chunk: Native<'_> = serde_json::from_slice(bytes).map_err(|e| not_json("chunk", &e, bytes))?;
    let mut stop = None;
    match family {
        Family::Meta => {
            if let Some(text) = &chunk.generation {
                sink.content(ContentKind::Answer, &text.0);
            }
            sink.usage(Usage {
                input_tokens: chunk.prompt_token_count,
                output_tokens: chunk.generation_token_count,
                ..Usage::default()
            });
            stop = chunk.stop_reason;
        }
        Family::AmazonTitan => {
            if let Some(text) = &chunk.output_text {
                sink.content(ContentKind::Answer, &text.0);
            }
            sink.usage(Usage {
                input_tokens: chunk.input_text_token_count,
                output_tokens: chunk.total_output_text_token_count,
                ..Usage::default()
            });
            stop = chunk.completion_reason;
        }
        Family::Mistral => {
            if let Some(output) = chunk.outputs.0 {
                if let Some(text) = &output.text {
                    sink.content(ContentKind::Answer, &text.0);
                }
                stop = output.stop_reason;
            }
        }
        Family::AmazonNova => {
            if let Some(delta) = chunk.content_block_delta.and_then(|d| d.delta) {
                if let Some(text) = &delta.text {
                    sink.content(ContentKind::Answer, &text.0);
                }
                if let Some(text) = delta.reasoning_content.and_then(|r| r.text) {
                    sink.content(ContentKind::Reasoning, &text.0);
                }
            }
            if let Some(u) = chunk.metadata.and_then(|m| m.usage) {
                sink.usage(Usage {
                    input_tokens: u.input_tokens,
                    output_tokens: u.output_tokens,
                    cache_read_tokens: u.cache_read_input_tokens,
                    cache_write_tokens: u.cache_write_input_tokens,
                    reasoning_tokens: None,
                    input_excludes_cache: true,
                });
            }
            stop = chunk.message_stop.and_then(|m| m.stop_reason);
        }
        Family::Anthropic | Family::OpenAi => {}
    }
    Ok(match stop {
        Some(reason) if !reason.0.is_empty() => {
            sink.stop_reason(&reason.0);
            Progress::Complete
        }
        _ => Progress::More,
    })
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
    #[serde(borrow, default)]
    outputs: First<MistralOutput<'a>>,
    // Nova
    #[serde(borrow)]
    content_block_delta: Option<NovaDelta<'a>>,
    #[serde(borrow)]
    message_stop: Option<NovaStop<'a>>,
    metadata: Option<NovaMetadata>,
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
