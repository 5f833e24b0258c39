//! The bytes of the simulator's Bedrock and SageMaker streams: event stream
//! frames holding each protocol's JSON, built by [`crate::wire`]'s encoders,
//! for the start of a response, each content chunk, its end with usage and
//! server-side metrics, and an in-stream model error.
//!
//! Where the simulator's bytes differ from [`crate::mock`]'s for the same
//! answer, on purpose: ids and model names are the request's; a chunk may
//! carry several tokens; Converse pads with a shorter `p` and invoke chunks
//! carry none; OpenAI-style chunks have no `created`; Anthropic's
//! `message_start` names `stop_reason: null` as the service does; every
//! SageMaker line is split across two `PayloadPart`s (parts need not end at
//! line ends), and `[DONE]` is sent as `data: [DONE]` in a part of its own.

use serde_json::{Value, json};

use crate::wire::bedrock::converse;
use crate::wire::bedrock::invoke::encode::{Head, invocation_metrics, write_chunk};
use crate::wire::openai::{ChunkHead, Endpoint};
use crate::wire::sagemaker::End;
use crate::wire::{BlockKind, Blocks, anthropic, eventstream};
pub(crate) use crate::wire::{bedrock::Family, sagemaker::Format};

/// Which stream a response is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Proto {
    Converse,
    Invoke(Family),
    SageMaker(Format),
}

/// What a response says, fixed when the request is accepted.
#[derive(Debug, Clone)]
pub(crate) struct WireSpec {
    pub id: String,
    pub model: String,
    pub prompt_tokens: u32,
    pub output_tokens: u32,
    /// The request's limit cut the answer short.
    pub length_limited: bool,
    /// What the prefix cache did, when the simulator keeps one (reported
    /// in the usage of every protocol that has a field for it).
    pub cache: Option<crate::sim::traffic::CacheUse>,
    /// The first this many output tokens are reasoning (Converse and the
    /// Anthropic family, when thinking was asked for).
    pub reasoning_tokens: u32,
    /// Instead of answer text, this tool call, one argument piece a token
    /// (Converse and the Anthropic family, when the request has tools).
    pub tool: Option<crate::sim::traffic::ToolPlan>,
}

/// Server-side timings reported at the end: milliseconds since the request
/// was accepted, to its end and to its first content.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerTimes {
    pub latency_ms: u64,
    pub first_byte_ms: u64,
}

/// The `p` padding of Converse content events.
const PADDING: &str = "abcdefgh";

/// Encodes one response's frames; keeps what later frames need.
#[derive(Debug)]
pub(crate) struct Wire {
    proto: Proto,
    spec: WireSpec,
    /// Tokens sent so far.
    sent: u32,
    /// The text so far (TGI and LMI repeat it in `generated_text`).
    text: String,
    /// Converse and Anthropic: the content block open.
    blocks: Blocks,
    /// Tool-call argument pieces sent.
    pieces_sent: usize,
}

impl Wire {
    pub(crate) fn new(proto: Proto, spec: WireSpec) -> Wire {
        let keep_text = matches!(proto, Proto::SageMaker(Format::Tgi | Format::Lmi));
        let capacity = if keep_text { (spec.output_tokens.min(4096) as usize) * 8 } else { 0 };
        Wire { proto, spec, sent: 0, text: String::with_capacity(capacity), blocks: Blocks::default(), pieces_sent: 0 }
    }

    /// How many tokens the next content chunk carries, at most
    /// `chunk_tokens`: reasoning up to its end, then one tool-call
    /// argument piece a chunk, or answer text.
    pub(crate) fn next_chunk_tokens(&self, chunk_tokens: u32) -> u32 {
        let reasoning_left = self.spec.reasoning_tokens.saturating_sub(self.sent);
        match (reasoning_left, &self.spec.tool) {
            (0, Some(_)) => 1,
            (0, None) => chunk_tokens,
            (left, _) => chunk_tokens.min(left),
        }
    }

    /// The kind of the next content: reasoning first, then the tool call or
    /// the answer.
    fn next_block(&self) -> BlockKind {
        match (self.sent < self.spec.reasoning_tokens, &self.spec.tool) {
            (true, _) => BlockKind::Reasoning,
            (false, Some(_)) => BlockKind::Tool,
            (false, None) => BlockKind::Text,
        }
    }

    /// Moves to a block of `kind` (closing the open one, opening the next
    /// where the protocol says so); its index.
    fn open_block(&mut self, kind: BlockKind, out: &mut Vec<u8>) -> u32 {
        let step = self.blocks.to(kind);
        if let Some(index) = step.close {
            self.write_block_stop(index, out);
        }
        if step.opens {
            let tool = self.spec.tool.as_ref().map_or(("", ""), |t| (t.id.as_str(), t.name.as_str()));
            match self.proto {
                Proto::Converse if kind == BlockKind::Tool => {
                    let start = converse::tool_use_start(step.index, tool.0, tool.1);
                    converse::write_event(out, converse::CONTENT_BLOCK_START, &start);
                }
                Proto::Invoke(Family::Anthropic) => write_chunk(out, &anthropic::block_start(step.index, kind, tool)),
                _ => {}
            }
        }
        step.index
    }

    fn write_block_stop(&self, index: u32, out: &mut Vec<u8>) {
        match self.proto {
            Proto::Converse => converse::write_event(out, converse::CONTENT_BLOCK_STOP, &converse::block_stop(index)),
            Proto::Invoke(Family::Anthropic) => write_chunk(out, &anthropic::block_stop(index)),
            _ => {}
        }
    }

    /// Closes the open block, if any (Converse and Anthropic).
    fn close_block(&mut self, out: &mut Vec<u8>) {
        if let Some(index) = self.blocks.close() {
            self.write_block_stop(index, out);
        }
    }

    /// Whether the response plays thinking or a tool call (Converse and
    /// the Anthropic family then open their blocks as content comes).
    fn blocks_by_kind(&self) -> bool {
        matches!(self.proto, Proto::Converse | Proto::Invoke(Family::Anthropic))
            && (self.spec.reasoning_tokens > 0 || self.spec.tool.is_some())
    }

    fn head(&self) -> Head<'_> {
        let s = &self.spec;
        Head { id: &s.id, model: &s.model, input_tokens: u64::from(s.prompt_tokens), created: None }
    }

    /// The prompt tokens read from and written to the prefix cache.
    fn cache(&self) -> Option<(u64, u64)> {
        self.spec.cache.map(|c| (u64::from(c.read), u64::from(c.written)))
    }

    /// The prompt tokens Bedrock counts as input: those neither read from
    /// nor written to the cache, which it reports beside them.
    fn uncached_input(&self) -> u64 {
        let (read, written) = self.cache().unwrap_or_default();
        u64::from(self.spec.prompt_tokens).saturating_sub(read + written)
    }

    fn openai(&self) -> ChunkHead<'_> {
        ChunkHead { id: &self.spec.id, endpoint: Endpoint::Chat, created: None, model: &self.spec.model }
    }

    /// Frames before the first content (may be none).
    pub(crate) fn start(&mut self, out: &mut Vec<u8>) {
        match self.proto {
            Proto::Converse => converse::write_event(out, converse::MESSAGE_START, &converse::message_start()),
            Proto::Invoke(family) => {
                let by_kind = self.blocks_by_kind();
                for mut chunk in family.start_chunks(&self.head(), true) {
                    if by_kind && chunk["type"] == "content_block_start" {
                        // Opened by the first content, of its kind.
                        continue;
                    }
                    if family == Family::Anthropic && chunk["type"] == "message_start" {
                        chunk["message"]["stop_reason"] = Value::Null;
                        if let Some(cache) = self.cache() {
                            anthropic::add_cache_usage(&mut chunk, self.uncached_input(), cache);
                        }
                    }
                    write_chunk(out, &chunk);
                }
            }
            Proto::SageMaker(Format::OpenAi) => {
                let openai = self.openai();
                line_parts(out, Format::OpenAi, &openai.chunk(openai.role_choice()));
            }
            Proto::SageMaker(Format::Tgi | Format::Lmi) => {}
        }
    }

    /// One content chunk of `tokens` tokens saying `text` (a tool call's
    /// chunk says its next argument piece instead).
    pub(crate) fn content(&mut self, text: &str, tokens: u32, out: &mut Vec<u8>) {
        if self.blocks_by_kind() {
            return self.block_content(text, tokens, out);
        }
        let first = self.sent == 0;
        self.sent += tokens;
        let sent = u64::from(self.sent);
        match self.proto {
            Proto::Converse => {
                let payload = converse::content_block_delta(text, PADDING);
                converse::write_event(out, converse::CONTENT_BLOCK_DELTA, &payload);
            }
            Proto::Invoke(family) => write_chunk(out, &family.content_chunk(&self.head(), text, first, sent)),
            Proto::SageMaker(format) => {
                let line = format.content_line(&self.openai(), text, sent);
                self.text.push_str(text);
                line_parts(out, format, &line);
            }
        }
    }

    /// A content chunk of a response that plays thinking or a tool call:
    /// the delta of its kind, in the block of that kind.
    fn block_content(&mut self, text: &str, tokens: u32, out: &mut Vec<u8>) {
        let kind = self.next_block();
        let index = self.open_block(kind, out);
        self.sent += tokens;
        let piece = match kind {
            BlockKind::Tool => {
                self.pieces_sent += 1;
                self.spec.tool.as_ref().and_then(|t| t.pieces.get(self.pieces_sent - 1)).map_or("", String::as_str)
            }
            _ => text,
        };
        if self.proto == Proto::Converse {
            let payload = converse::block_delta(index, kind, piece, PADDING);
            converse::write_event(out, converse::CONTENT_BLOCK_DELTA, &payload);
        } else {
            write_chunk(out, &anthropic::block_delta(index, kind, piece));
        }
    }

    /// The end of a complete response: stop reason, usage, server metrics.
    pub(crate) fn tail(&mut self, times: ServerTimes, out: &mut Vec<u8>) {
        // A response of blocks by kind closes its last here, so the
        // encoders' own closing event (of block 0) is left out below.
        let by_kind = self.blocks_by_kind();
        self.close_block(out);
        let tool_use = self.spec.tool.is_some();
        let s = &self.spec;
        let (prompt, output) = (u64::from(s.prompt_tokens), u64::from(s.output_tokens));
        let limited = s.length_limited;
        match self.proto {
            Proto::Converse => {
                let stop = if tool_use { "tool_use" } else { converse::stop_reason(limited) };
                for (event, payload) in converse::end_events(stop, prompt, output, self.cache(), times.latency_ms) {
                    if !(by_kind && event == converse::CONTENT_BLOCK_STOP) {
                        converse::write_event(out, event, &payload);
                    }
                }
            }
            Proto::Invoke(family) => {
                let input = self.uncached_input();
                let cache = self.cache();
                let metrics = invocation_metrics(input, output, times.latency_ms, Some(times.first_byte_ms), cache);
                let stop = if tool_use { "tool_use" } else { family.stop_reason(limited) };
                for mut chunk in family.end_chunks(&self.head(), stop, output, metrics) {
                    if by_kind && chunk["type"] == "content_block_stop" {
                        continue;
                    }
                    if let (Some((read, written)), Some(usage)) =
                        (cache, chunk.get_mut("metadata").and_then(|m| m.get_mut("usage")))
                    {
                        // Nova's own usage, beside the invocation metrics.
                        usage["inputTokens"] = json!(input);
                        usage["cacheReadInputTokens"] = json!(read);
                        usage["cacheWriteInputTokens"] = json!(written);
                    }
                    write_chunk(out, &chunk);
                }
            }
            Proto::SageMaker(format) => {
                let end = End {
                    text: &self.text,
                    stop_reason: format.stop_reason(limited),
                    input_tokens: prompt,
                    output_tokens: output,
                };
                for mut line in format.end_lines(&self.openai(), &end, true) {
                    // OpenAI's `prompt_tokens` includes the cached ones.
                    if let (Some((read, _)), Some(usage)) =
                        (self.cache(), line.get_mut("usage").filter(|u| u.is_object()))
                    {
                        usage["prompt_tokens_details"] = json!({"cached_tokens": read});
                    }
                    line_parts(out, format, &line);
                }
                if format == Format::OpenAi {
                    eventstream::sagemaker_part(out, b"data: [DONE]\n\n");
                }
            }
        }
    }

    /// An in-stream model error, as each service sends it.
    pub(crate) fn model_error(&self, out: &mut Vec<u8>) {
        match self.proto {
            Proto::Converse | Proto::Invoke(_) => eventstream::exception(
                out,
                "modelStreamErrorException",
                br#"{"message":"sim: model failed","originalStatusCode":500,"originalMessage":"sim: model failed"}"#,
            ),
            Proto::SageMaker(_) => eventstream::exception(
                out,
                "ModelStreamError",
                br#"{"Message":"sim: model failed","ErrorCode":"ModelInvocationTimeExceeded"}"#,
            ),
        }
    }
}

/// One line of `format`'s stream in two PayloadParts, split mid-line:
/// SageMaker does not promise that parts end at line ends, so neither does
/// the simulator.
fn line_parts(out: &mut Vec<u8>, format: Format, line: &Value) {
    let mut bytes = Vec::new();
    format.write_line(&mut bytes, &line.to_string());
    let (a, b) = bytes.split_at(bytes.len() / 2);
    eventstream::sagemaker_part(out, a);
    eventstream::sagemaker_part(out, b);
}

/// The simulator against [`crate::mock`] for the same answer: where their
/// bytes are meant to match, they do (the intended differences are listed
/// at the top of this file).
#[cfg(test)]
mod tests {
    use aws_smithy_eventstream::frame::read_message_from;
    use aws_smithy_types::event_stream::Message;

    use super::*;
    use crate::mock::{MockLlm, SageMakerFormat};

    const TOKENS: [&str; 3] = [" the", " model", " a"];

    fn sim(proto: Proto) -> Vec<u8> {
        let spec = WireSpec {
            id: "x".into(),
            model: "m".into(),
            prompt_tokens: 7,
            output_tokens: 3,
            length_limited: false,
            cache: None,
            reasoning_tokens: 0,
            tool: None,
        };
        let mut wire = Wire::new(proto, spec);
        let mut out = Vec::new();
        wire.start(&mut out);
        for token in TOKENS {
            wire.content(token, 1, &mut out);
        }
        wire.tail(ServerTimes { latency_ms: 40, first_byte_ms: 12 }, &mut out);
        out
    }

    fn mock(m: MockLlm) -> Vec<u8> {
        m.tokens(TOKENS).usage(7, 3).server_latency_ms(40).first_byte_latency_ms(12).body()
    }

    fn frames(mut bytes: &[u8]) -> Vec<Message> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            out.push(read_message_from(&mut bytes).expect("whole frames"));
        }
        out
    }

    /// The event type and JSON payload of each frame; an invoke chunk's
    /// model JSON is unwrapped from its base64, and the padding key `p`
    /// dropped.
    fn events(bytes: &[u8]) -> Vec<(String, Value)> {
        let event_type = |m: &Message| {
            let header = m.headers().iter().find(|h| h.name().as_str() == ":event-type");
            header.map(|h| h.value().as_string().unwrap().as_str().to_owned()).unwrap_or_default()
        };
        let unwrap = |m: &Message| {
            let mut v: Value = serde_json::from_slice(m.payload()).unwrap();
            if let Some(b64) = v.get("bytes").and_then(Value::as_str) {
                v = serde_json::from_slice(&aws_smithy_types::base64::decode(b64).unwrap()).unwrap();
            }
            if let Some(map) = v.as_object_mut() {
                map.remove("p");
            }
            v
        };
        frames(bytes).iter().map(|m| (event_type(m), unwrap(m))).collect()
    }

    #[test]
    fn sagemaker_containers_write_the_same_bytes() {
        for (format, mocked) in [(Format::Tgi, SageMakerFormat::Tgi), (Format::Lmi, SageMakerFormat::Lmi)] {
            let joined = |bytes: Vec<u8>| frames(&bytes).iter().flat_map(|m| m.payload().to_vec()).collect::<Vec<_>>();
            let sim = joined(sim(Proto::SageMaker(format)));
            let mock = joined(mock(MockLlm::sagemaker("m", mocked)));
            assert_eq!(String::from_utf8(sim).unwrap(), String::from_utf8(mock).unwrap(), "{format:?}");
        }
    }

    #[test]
    fn invoke_and_converse_events_match_but_for_padding() {
        for family in [Family::Meta, Family::AmazonNova, Family::AmazonTitan, Family::Mistral] {
            let (sim, mock) = (sim(Proto::Invoke(family)), mock(MockLlm::bedrock_invoke("m", family)));
            assert_eq!(events(&sim), events(&mock), "{family:?}");
        }
        let (sim, mock) = (sim(Proto::Converse), mock(MockLlm::bedrock_converse("m")));
        assert_eq!(events(&sim), events(&mock));
    }
}
