//! The response bodies of [`MockLlm`](super::MockLlm): byte-exact streams of
//! each protocol, built from its settings with [`crate::wire`]'s encoders.
//! How these bytes differ from the simulator's is listed in
//! `sim/aws/wire.rs`.

use serde_json::{Value, json};

use super::{MockError, MockLlm, Protocol, SageMakerFormat};
use crate::wire::bedrock::converse;
use crate::wire::bedrock::invoke::encode::{Head, invocation_metrics, write_chunk};
use crate::wire::openai::{self, ChunkHead, Endpoint};
use crate::wire::sagemaker::{self, End, Format};
use crate::wire::{BlockKind, Blocks, anthropic, eventstream, sse};

/// The message of every injected error.
const MESSAGE: &str = "mock: injected error";

/// The stream body (without any HTTP error, which `mount` handles).
pub(super) fn body(m: &MockLlm) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = Encoder::new(m, &mut out);
    enc.start();
    if enc.features.reasoning {
        for piece in &m.reasoning {
            enc.block_delta(BlockKind::Reasoning, piece);
        }
    }
    let fail_at = m.fail.map(|(n, _)| n);
    let cut_at = m.truncate_after;
    for (i, token) in enc.answer().iter().enumerate() {
        if fail_at == Some(i) || cut_at == Some(i) {
            break;
        }
        enc.content(token);
    }
    if let Some((at, error)) = m.fail
        && at <= m.tokens.len()
    {
        enc.error(error);
    } else if cut_at.is_none() {
        enc.tail();
    } else {
        enc.flush_parts(true);
    }
    // A truncated AWS stream ends inside a frame: half of one more event.
    if m.truncate_after.is_some()
        && matches!(m.protocol, Protocol::BedrockConverse | Protocol::BedrockInvoke(_) | Protocol::SageMaker(_))
    {
        let mut extra = Vec::new();
        let mut enc = Encoder::new(m, &mut extra);
        enc.content("…");
        enc.flush_parts(true);
        extra.truncate(extra.len() / 2);
        out.extend_from_slice(&extra);
    }
    out
}

/// The `Content-Type` of the stream.
pub(super) fn content_type(protocol: &Protocol) -> &'static str {
    match protocol {
        Protocol::OpenAiChat | Protocol::OpenAiCompletions | Protocol::Anthropic => "text/event-stream",
        Protocol::BedrockConverse | Protocol::BedrockInvoke(_) | Protocol::SageMaker(_) => eventstream::CONTENT_TYPE,
    }
}

struct Encoder<'a> {
    m: &'a MockLlm,
    out: &'a mut Vec<u8>,
    /// Content chunks sent.
    sent: u64,
    /// SageMaker container bytes not yet framed.
    text: Vec<u8>,
    /// What of the mock's reasoning and tool call the protocol plays.
    features: Features,
    /// Anthropic and Converse streams with reasoning or a tool call: the
    /// content block open.
    blocks: Blocks,
}

/// Which of the mock's reasoning and tool call a protocol has fields for.
#[derive(Debug, Clone, Copy)]
struct Features {
    reasoning: bool,
    tool: bool,
    /// Content goes in blocks opened by kind (Anthropic, Converse): true
    /// when there is reasoning or a tool call to play.
    blocks: bool,
}

impl Features {
    fn of(m: &MockLlm) -> Features {
        use crate::wire::bedrock::Family;
        let (reasoning, tool) = match m.protocol {
            Protocol::OpenAiChat
            | Protocol::Anthropic
            | Protocol::BedrockConverse
            | Protocol::BedrockInvoke(Family::Anthropic) => (true, true),
            Protocol::BedrockInvoke(Family::AmazonNova) => (true, false),
            _ => (false, false),
        };
        let (reasoning, tool) = (reasoning && !m.reasoning.is_empty(), tool && m.tool_call.is_some());
        let by_blocks = matches!(
            m.protocol,
            Protocol::Anthropic | Protocol::BedrockConverse | Protocol::BedrockInvoke(Family::Anthropic)
        );
        Features { reasoning, tool, blocks: by_blocks && (reasoning || tool) }
    }
}

impl<'a> Encoder<'a> {
    fn new(m: &'a MockLlm, out: &'a mut Vec<u8>) -> Encoder<'a> {
        Encoder { m, out, sent: 0, text: Vec::new(), features: Features::of(m), blocks: Blocks::default() }
    }

    /// The answer's chunks: the tool call's argument pieces, or the tokens.
    fn answer(&self) -> &'a [String] {
        match (&self.m.tool_call, self.features.tool) {
            (Some(call), true) => &call.pieces,
            _ => &self.m.tokens,
        }
    }

    /// The mocked tool call's id and name (empty without one).
    fn tool(&self) -> (&'a str, &'a str) {
        self.m.tool_call.as_ref().map_or(("", ""), |c| (c.id.as_str(), c.name.as_str()))
    }

    fn usage(&self) -> (u64, u64) {
        let reasoning = if self.features.reasoning { self.m.reasoning.len() } else { 0 };
        self.m.usage.unwrap_or((1, (reasoning + self.answer().len()) as u64))
    }

    fn stop<'s>(&'s self, default: &'s str) -> &'s str {
        let tool = match self.m.protocol {
            Protocol::OpenAiChat => "tool_calls",
            _ => "tool_use",
        };
        let default = if self.features.tool { tool } else { default };
        self.m.stop_reason.as_deref().unwrap_or(default)
    }

    /// Moves to a block of `kind` (closing another one first), its index:
    /// Anthropic `content_block_start`, Converse `contentBlockStart` for a
    /// tool call (text and reasoning blocks have none).
    fn open_block(&mut self, kind: BlockKind) -> u32 {
        let step = self.blocks.to(kind);
        if let Some(index) = step.close {
            self.write_block_stop(index);
        }
        if step.opens {
            let tool = self.tool();
            match self.m.protocol {
                Protocol::Anthropic => {
                    self.anthropic("content_block_start", &anthropic::block_start(step.index, kind, tool))
                }
                Protocol::BedrockInvoke(_) => write_chunk(self.out, &anthropic::block_start(step.index, kind, tool)),
                Protocol::BedrockConverse if kind == BlockKind::Tool => {
                    let start = converse::tool_use_start(step.index, tool.0, tool.1);
                    converse::write_event(self.out, converse::CONTENT_BLOCK_START, &start);
                }
                _ => {}
            }
        }
        step.index
    }

    fn write_block_stop(&mut self, index: u32) {
        match self.m.protocol {
            Protocol::Anthropic => self.anthropic("content_block_stop", &anthropic::block_stop(index)),
            Protocol::BedrockInvoke(_) => write_chunk(self.out, &anthropic::block_stop(index)),
            Protocol::BedrockConverse => {
                converse::write_event(self.out, converse::CONTENT_BLOCK_STOP, &converse::block_stop(index));
            }
            _ => {}
        }
    }

    /// Closes the open block, if any.
    fn close_block(&mut self) {
        if let Some(index) = self.blocks.close() {
            self.write_block_stop(index);
        }
    }

    /// One reasoning, text or tool-call delta in its protocol's form, in a
    /// block of its kind where the protocol has blocks.
    fn block_delta(&mut self, kind: BlockKind, piece: &str) {
        let index = if self.features.blocks { self.open_block(kind) } else { 0 };
        match (&self.m.protocol, kind) {
            (Protocol::OpenAiChat, BlockKind::Reasoning) => {
                let openai = self.openai();
                self.sse(None, &openai.chunk(openai.reasoning_choice(piece)));
            }
            (Protocol::OpenAiChat, BlockKind::Tool) => {
                let openai = self.openai();
                let (id, name) = self.tool();
                let opening = (self.sent == 1).then(|| openai.chunk(openai.tool_start_choice(id, name)));
                let args = openai.chunk(openai.tool_args_choice(piece));
                for chunk in opening.iter().chain([&args]) {
                    self.sse(None, chunk);
                }
            }
            (Protocol::OpenAiChat, BlockKind::Text) => {
                let openai = self.openai();
                self.sse(None, &openai.chunk(openai.content_choice(piece)));
            }
            (Protocol::BedrockConverse, _) => {
                let payload = converse::block_delta(index, kind, piece, "abcdefghijklmnop");
                converse::write_event(self.out, converse::CONTENT_BLOCK_DELTA, &payload);
            }
            (Protocol::BedrockInvoke(crate::wire::bedrock::Family::AmazonNova), BlockKind::Reasoning) => {
                let chunk = json!({"contentBlockDelta": {"delta": {"reasoningContent": {"text": piece}}, "contentBlockIndex": 0}});
                write_chunk(self.out, &chunk);
            }
            (protocol, _) => {
                let chunk = anthropic::block_delta(index, kind, piece);
                if *protocol == Protocol::Anthropic {
                    self.anthropic("content_block_delta", &chunk);
                } else {
                    write_chunk(self.out, &chunk);
                }
            }
        }
    }

    /// What OpenAI-style chunks repeat, in every protocol that has them.
    fn openai(&self) -> ChunkHead<'_> {
        let endpoint =
            if self.m.protocol == Protocol::OpenAiCompletions { Endpoint::Completions } else { Endpoint::Chat };
        ChunkHead { id: "chatcmpl-mock", endpoint, created: Some(0), model: &self.m.model }
    }

    /// What the chunks of an invoke response repeat.
    fn head(&self) -> Head<'_> {
        let id = if self.m.protocol == Protocol::BedrockInvoke(crate::wire::bedrock::Family::OpenAi) {
            "chatcmpl-mock"
        } else {
            "msg_mock"
        };
        Head { id, model: &self.m.model, input_tokens: self.usage().0, created: Some(0) }
    }

    fn sse(&mut self, event: Option<&str>, data: &Value) {
        sse::write_event(self.out, event, data.to_string().as_bytes());
    }

    /// An Anthropic event, named by its type.
    fn anthropic(&mut self, event: &str, data: &Value) {
        self.sse(Some(event), data);
    }

    /// Container bytes for SageMaker: a line, framed as PayloadParts.
    fn line(&mut self, line: &str) {
        match self.m.protocol {
            Protocol::SageMaker(SageMakerFormat::Lmi) => Format::Lmi.write_line(&mut self.text, line),
            _ => sagemaker::write_sse_line(&mut self.text, line),
        }
        self.flush_parts(false);
    }

    /// Frames the pending container bytes: each line as one part, or, with
    /// `part_size`, the whole stream cut every `part_size` bytes (mid-line
    /// and mid-character) once it is `end`.
    fn flush_parts(&mut self, end: bool) {
        match self.m.part_size {
            None => {
                let bytes = std::mem::take(&mut self.text);
                if !bytes.is_empty() {
                    eventstream::sagemaker_part(self.out, &bytes);
                }
            }
            Some(_) if !end => {}
            Some(size) => {
                for part in std::mem::take(&mut self.text).chunks(size.max(1)) {
                    eventstream::sagemaker_part(self.out, part);
                }
            }
        }
    }

    fn start(&mut self) {
        let role_chunk = self.m.role_chunk;
        match &self.m.protocol {
            Protocol::OpenAiChat if role_chunk => {
                let openai = self.openai();
                let data = openai.chunk(openai.role_choice());
                self.sse(None, &data);
            }
            Protocol::OpenAiChat | Protocol::OpenAiCompletions => {}
            Protocol::Anthropic => {
                let (input, _) = self.usage();
                let mut start = anthropic::message_start("msg_mock", &self.m.model, input);
                self.add_anthropic_cache(&mut start);
                self.anthropic("message_start", &start);
                if !self.features.blocks {
                    self.anthropic("content_block_start", &anthropic::content_block_start());
                }
                sse::write_event(self.out, Some("ping"), anthropic::PING.as_bytes());
            }
            Protocol::BedrockConverse => {
                converse::write_event(self.out, converse::MESSAGE_START, &converse::message_start());
            }
            Protocol::BedrockInvoke(family) => {
                for mut chunk in family.start_chunks(&self.head(), role_chunk) {
                    if self.features.blocks && chunk["type"] == "content_block_start" {
                        continue;
                    }
                    self.add_anthropic_cache(&mut chunk);
                    write_chunk(self.out, &chunk);
                }
            }
            Protocol::SageMaker(SageMakerFormat::OpenAi) if role_chunk => {
                let openai = self.openai();
                let data = openai.chunk(openai.role_choice()).to_string();
                self.line(&data);
            }
            Protocol::SageMaker(_) => {}
        }
    }

    fn content(&mut self, token: &str) {
        self.sent += 1;
        let n = self.sent;
        if self.features.tool || self.features.blocks {
            let kind = if self.features.tool { BlockKind::Tool } else { BlockKind::Text };
            return self.block_delta(kind, token);
        }
        match &self.m.protocol {
            Protocol::OpenAiChat | Protocol::OpenAiCompletions => {
                let openai = self.openai();
                let data = openai.chunk(openai.content_choice(token));
                self.sse(None, &data);
            }
            Protocol::Anthropic => self.anthropic("content_block_delta", &anthropic::text_delta(token)),
            Protocol::BedrockConverse => {
                let payload = converse::content_block_delta(token, "abcdefghijklmnop");
                converse::write_event(self.out, converse::CONTENT_BLOCK_DELTA, &payload);
            }
            Protocol::BedrockInvoke(family) => {
                let mut payload = family.content_chunk(&self.head(), token, n == 1, n);
                // Bedrock pads chunks too; a client must ignore the key.
                payload["p"] = json!("abcdefgh");
                write_chunk(self.out, &payload);
            }
            Protocol::SageMaker(format) => {
                let line = match format {
                    SageMakerFormat::LmiBatch => sagemaker::lmi_batch_line(token),
                    _ => format.format().content_line(&self.openai(), token, n),
                };
                self.line(&line.to_string());
            }
        }
    }

    /// Adds the cache counts to an Anthropic `message_start`'s usage (the
    /// input count stays the usage's).
    fn add_anthropic_cache(&self, chunk: &mut Value) {
        if let Some(cache) = self.m.cache {
            anthropic::add_cache_usage(chunk, self.usage().0, cache);
        }
    }

    fn tail(&mut self) {
        let (input, output) = self.usage();
        // Blocks opened by kind close here, instead of the encoders' block 0.
        let by_blocks = self.features.blocks;
        self.close_block();
        match self.m.protocol.clone() {
            Protocol::OpenAiChat | Protocol::OpenAiCompletions => {
                let openai = self.openai();
                let data = openai.chunk(openai.finish_choice(self.stop("stop")));
                self.sse(None, &data);
                if self.m.usage_chunk {
                    let cached = self.m.cache.map(|(read, _)| read);
                    let usage = openai::StreamUsage { cached, ..openai::StreamUsage::new(input, output) };
                    let data = self.openai().usage_chunk_with(usage);
                    self.sse(None, &data);
                }
                sse::write_event(self.out, None, openai::DONE.as_bytes());
            }
            Protocol::Anthropic => {
                if !by_blocks {
                    sse::write_event(self.out, Some("content_block_stop"), anthropic::CONTENT_BLOCK_STOP.as_bytes());
                }
                self.anthropic("message_delta", &anthropic::message_delta(self.stop("end_turn"), output));
                sse::write_event(self.out, Some("message_stop"), anthropic::MESSAGE_STOP.as_bytes());
            }
            Protocol::BedrockConverse => {
                let latency = self.m.server_latency_ms.unwrap_or(0);
                // `inputTokens` stays the usage's: the cache counts come beside it.
                let prompt = input + self.m.cache.map_or(0, |(read, written)| read + written);
                let events = converse::end_events(self.stop("end_turn"), prompt, output, self.m.cache, latency);
                for (event, payload) in events {
                    if !(by_blocks && event == converse::CONTENT_BLOCK_STOP) {
                        converse::write_event(self.out, event, &payload);
                    }
                }
            }
            Protocol::BedrockInvoke(family) => {
                let latency = self.m.server_latency_ms.unwrap_or(0);
                let metrics = invocation_metrics(input, output, latency, self.m.first_byte_latency_ms, self.m.cache);
                let stop = self.stop(family.stop_reason(false));
                for chunk in family.end_chunks(&self.head(), stop, output, metrics) {
                    if by_blocks && chunk["type"] == "content_block_stop" {
                        continue;
                    }
                    write_chunk(self.out, &chunk);
                }
            }
            Protocol::SageMaker(format) => {
                // The batch form has no end line: the stream just closes.
                if format != SageMakerFormat::LmiBatch {
                    let format = format.format();
                    let text: String = self.m.tokens.concat();
                    let end = End {
                        text: &text,
                        stop_reason: self.stop(format.stop_reason(false)),
                        input_tokens: input,
                        output_tokens: output,
                    };
                    let mut lines = format.end_lines(&self.openai(), &end, self.m.usage_chunk);
                    if let Some((read, _)) = self.m.cache {
                        for usage in lines.iter_mut().filter_map(|l| l.get_mut("usage")).filter(|u| u.is_object()) {
                            usage["prompt_tokens_details"] = json!({"cached_tokens": read});
                        }
                    }
                    let lines: Vec<String> = lines.iter().map(Value::to_string).collect();
                    for line in lines {
                        self.line(&line);
                    }
                    if format == Format::OpenAi {
                        self.line(openai::DONE);
                    }
                }
                self.flush_parts(true);
            }
        }
    }

    fn error(&mut self, error: MockError) {
        match self.m.protocol.clone() {
            Protocol::OpenAiChat | Protocol::OpenAiCompletions => {
                let kind = match error {
                    MockError::Throttled => "rate_limit_error",
                    MockError::Validation => "invalid_request_error",
                    _ => "server_error",
                };
                self.sse(None, &openai::error_json(MESSAGE, kind, 500));
                sse::write_event(self.out, None, openai::DONE.as_bytes());
            }
            Protocol::Anthropic => {
                let kind = match error {
                    MockError::Throttled => "rate_limit_error",
                    MockError::Validation => "invalid_request_error",
                    MockError::ServiceUnavailable => "overloaded_error",
                    _ => "api_error",
                };
                self.anthropic("error", &anthropic::error(kind, MESSAGE));
            }
            Protocol::BedrockConverse | Protocol::BedrockInvoke(_) | Protocol::SageMaker(_)
                if error == MockError::Unmodelled =>
            {
                self.flush_parts(true);
                eventstream::error(self.out, "InternalFailure", MESSAGE);
            }
            Protocol::BedrockConverse | Protocol::BedrockInvoke(_) => self.bedrock_exception(error),
            Protocol::SageMaker(format) => {
                if format == SageMakerFormat::Lmi && error == MockError::ModelStream {
                    // LMI reports a failed generation in a line, with HTTP 200.
                    self.line(&sagemaker::lmi_error_line(self.sent).to_string());
                    self.flush_parts(true);
                    return;
                }
                self.flush_parts(true);
                let (kind, payload) = match error {
                    MockError::Server | MockError::ServiceUnavailable => {
                        ("InternalStreamFailure", json!({"Message": MESSAGE}))
                    }
                    _ => ("ModelStreamError", json!({"Message": MESSAGE, "ErrorCode": "ModelInvocationTimeExceeded"})),
                };
                eventstream::exception(self.out, kind, payload.to_string().as_bytes());
            }
        }
    }

    /// A Bedrock exception frame for `error`.
    fn bedrock_exception(&mut self, error: MockError) {
        let (kind, payload) = match error {
            MockError::Throttled => ("throttlingException", json!({"message": MESSAGE})),
            MockError::ModelStream => (
                "modelStreamErrorException",
                json!({"message": MESSAGE, "originalStatusCode": 500, "originalMessage": "model failed"}),
            ),
            MockError::Server | MockError::Unmodelled => ("internalServerException", json!({"message": MESSAGE})),
            MockError::ServiceUnavailable => ("serviceUnavailableException", json!({"message": MESSAGE})),
            MockError::Validation => ("validationException", json!({"message": MESSAGE})),
            MockError::ModelTimeout => ("modelTimeoutException", json!({"message": MESSAGE})),
        };
        eventstream::exception(self.out, kind, payload.to_string().as_bytes());
    }
}
