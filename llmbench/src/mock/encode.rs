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
use crate::wire::{anthropic, eventstream, sse};

/// The message of every injected error.
const MESSAGE: &str = "mock: injected error";

/// The stream body (without any HTTP error, which `mount` handles).
pub(super) fn body(m: &MockLlm) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = Encoder { m, out: &mut out, sent: 0, text: Vec::new() };
    enc.start();
    let fail_at = m.fail.map(|(n, _)| n);
    let cut_at = m.truncate_after;
    for (i, token) in m.tokens.iter().enumerate() {
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
        let mut enc = Encoder { m, out: &mut extra, sent: 0, text: Vec::new() };
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
}

impl Encoder<'_> {
    fn usage(&self) -> (u64, u64) {
        self.m.usage.unwrap_or((1, self.m.tokens.len() as u64))
    }

    fn stop<'s>(&'s self, default: &'s str) -> &'s str {
        self.m.stop_reason.as_deref().unwrap_or(default)
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
                self.anthropic("message_start", &anthropic::message_start("msg_mock", &self.m.model, input));
                self.anthropic("content_block_start", &anthropic::content_block_start());
                sse::write_event(self.out, Some("ping"), anthropic::PING.as_bytes());
            }
            Protocol::BedrockConverse => {
                converse::write_event(self.out, converse::MESSAGE_START, &converse::message_start());
            }
            Protocol::BedrockInvoke(family) => {
                for chunk in family.start_chunks(&self.head(), role_chunk) {
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

    fn tail(&mut self) {
        let (input, output) = self.usage();
        match self.m.protocol.clone() {
            Protocol::OpenAiChat | Protocol::OpenAiCompletions => {
                let openai = self.openai();
                let data = openai.chunk(openai.finish_choice(self.stop("stop")));
                self.sse(None, &data);
                if self.m.usage_chunk {
                    let data = self.openai().usage_chunk(input, output);
                    self.sse(None, &data);
                }
                sse::write_event(self.out, None, openai::DONE.as_bytes());
            }
            Protocol::Anthropic => {
                sse::write_event(self.out, Some("content_block_stop"), anthropic::CONTENT_BLOCK_STOP.as_bytes());
                self.anthropic("message_delta", &anthropic::message_delta(self.stop("end_turn"), output));
                sse::write_event(self.out, Some("message_stop"), anthropic::MESSAGE_STOP.as_bytes());
            }
            Protocol::BedrockConverse => {
                let latency = self.m.server_latency_ms.unwrap_or(0);
                for (event, payload) in converse::end_events(self.stop("end_turn"), input, output, None, latency) {
                    converse::write_event(self.out, event, &payload);
                }
            }
            Protocol::BedrockInvoke(family) => {
                let latency = self.m.server_latency_ms.unwrap_or(0);
                let metrics = invocation_metrics(input, output, latency, self.m.first_byte_latency_ms);
                let stop = self.stop(family.stop_reason(false));
                for chunk in family.end_chunks(&self.head(), stop, output, metrics) {
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
                    let lines: Vec<String> = format
                        .end_lines(&self.openai(), &end, self.m.usage_chunk)
                        .iter()
                        .map(Value::to_string)
                        .collect();
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
