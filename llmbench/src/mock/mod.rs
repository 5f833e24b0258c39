//! Mocked streaming LLM endpoints for your own tests, on
//! [wiremock](https://docs.rs/wiremock) (cargo feature `mock`).
//!
//! A [`MockLlm`] is one canned streaming response in one protocol — OpenAI
//! chat or completions (SSE), Bedrock `ConverseStream` and
//! `InvokeModelWithResponseStream` (each model family), SageMaker
//! `InvokeEndpointWithResponseStream` (each container format), or the
//! Anthropic Messages API — mounted on a [`wiremock::MockServer`]. Point
//! your client (the AWS SDK with `endpoint_url`, reqwest, any HTTP client)
//! at the server and assert on what it makes of the stream.
//!
//! ```no_run
//! # async fn demo() {
//! use llmbench::mock::MockLlm;
//! use wiremock::MockServer;
//!
//! let server = MockServer::start().await;
//! MockLlm::bedrock_converse("anthropic.claude-3-5-haiku-20241022-v1:0")
//!     .tokens(["Hello", ",", " world"])
//!     .usage(12, 3)
//!     .mount(&server)
//!     .await;
//! // aws_sdk_bedrockruntime::Config::builder().endpoint_url(server.uri())…
//! # }
//! ```
//!
//! The bodies are byte-exact: event stream frames with the headers the
//! SDKs check (`:exception-type` for exceptions, `application/octet-stream`
//! for SageMaker parts), Bedrock's `p` padding field, the OpenAI role-only
//! first chunk and usage chunk, SageMaker parts that split lines. wiremock
//! sends a body at once: for timing, use the simulator
//! ([`crate::sim::SimServer`]) instead.

mod encode;

use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A Bedrock `InvokeModelWithResponseStream` model family: the one the
/// `family` key of `llmbench.toml` names.
pub use crate::wire::bedrock::Family as BedrockFamily;

/// A SageMaker container's stream: one of the formats `llmbench.toml`
/// names (`format`), or the batch form of LMI, a second shape the `lmi`
/// format may stream and that config never names (which is why this is
/// not the config enum itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SageMakerFormat {
    /// TGI: SSE `data:` lines with `token.text`, last with `generated_text` and `details`.
    Tgi,
    /// DJL LMI: JSON lines `{"token": …}`, last with `generated_text` and `details`.
    Lmi,
    /// DJL LMI batch form: JSON lines `{"outputs": ["…"]}`, no end marker.
    LmiBatch,
    /// OpenAI chat chunks as SSE, ending with `data: [DONE]` (vLLM, TGI Messages API).
    OpenAi,
}

impl SageMakerFormat {
    /// The container format a client is configured with for this stream.
    pub(crate) fn format(self) -> crate::wire::sagemaker::Format {
        use crate::wire::sagemaker::Format;
        match self {
            SageMakerFormat::Tgi => Format::Tgi,
            SageMakerFormat::Lmi | SageMakerFormat::LmiBatch => Format::Lmi,
            SageMakerFormat::OpenAi => Format::OpenAi,
        }
    }
}

/// An error injected in the stream, after some tokens, as each protocol
/// sends it (an exception frame, an `error` event, an error line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MockError {
    /// Bedrock `throttlingException`; OpenAI/Anthropic rate-limit errors.
    Throttled,
    /// Bedrock `modelStreamErrorException`; SageMaker `ModelStreamError`;
    /// LMI's `finish_reason: "error"` line.
    ModelStream,
    /// Bedrock `internalServerException`; SageMaker `InternalStreamFailure`.
    Server,
    /// Bedrock `serviceUnavailableException`; Anthropic `overloaded_error`.
    ServiceUnavailable,
    /// Bedrock `validationException`.
    Validation,
    /// Bedrock `modelTimeoutException` (InvokeModelWithResponseStream).
    ModelTimeout,
    /// AWS streams: an unmodelled `:message-type: error` frame
    /// (`:error-code: InternalFailure`); others as [`MockError::Server`].
    Unmodelled,
}

/// An HTTP error instead of a stream, with the status, error-type header
/// and body each service uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpError {
    /// Bedrock 429 `ThrottlingException`; SageMaker **400**
    /// `ThrottlingException`; OpenAI/Anthropic 429.
    Throttled,
    /// Bedrock/SageMaker 429 `ModelNotReadyException`; OpenAI-style 503 "Loading model".
    NotReady,
    /// 400 `ValidationException` (`ValidationError` for SageMaker).
    Validation,
    /// 403 `AccessDeniedException`.
    AccessDenied,
    /// 500 `InternalServerException` (`InternalFailure` for SageMaker).
    Server,
    /// 503 `ServiceUnavailableException` (529 `overloaded_error` for Anthropic).
    ServiceUnavailable,
    /// 424 `ModelErrorException` (`ModelError` for SageMaker).
    ModelError,
    /// Bedrock 400 `ServiceQuotaExceededException`.
    QuotaExceeded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Protocol {
    OpenAiChat,
    OpenAiCompletions,
    Anthropic,
    BedrockConverse,
    BedrockInvoke(BedrockFamily),
    SageMaker(SageMakerFormat),
}

/// One mocked streaming response. Build it with a protocol constructor,
/// adjust it, then [`mount`](MockLlm::mount) it.
///
/// Defaults: tokens `["Hello", ",", " world"]`, usage = (1 input, one output
/// token per chunk), OpenAI role-only first chunk and usage chunk on,
/// server latency 0.
#[derive(Debug, Clone)]
pub struct MockLlm {
    protocol: Protocol,
    /// Model id, endpoint name or model name, depending on the protocol.
    model: String,
    tokens: Vec<String>,
    usage: Option<(u64, u64)>,
    stop_reason: Option<String>,
    role_chunk: bool,
    usage_chunk: bool,
    server_latency_ms: Option<u64>,
    first_byte_latency_ms: Option<u64>,
    part_size: Option<usize>,
    fail: Option<(usize, MockError)>,
    truncate_after: Option<usize>,
    http_error: Option<HttpError>,
    max_tokens: Option<u32>,
    variant: Option<String>,
    expect: Option<u64>,
    reasoning: Vec<String>,
    tool_call: Option<MockToolCall>,
    cache: Option<(u64, u64)>,
}

/// A tool call a mocked model answers with ([`MockLlm::tool_call`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MockToolCall {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) pieces: Vec<String>,
}

impl MockLlm {
    fn new(protocol: Protocol, model: impl Into<String>) -> MockLlm {
        MockLlm {
            protocol,
            model: model.into(),
            tokens: vec!["Hello".into(), ",".into(), " world".into()],
            usage: None,
            stop_reason: None,
            role_chunk: true,
            usage_chunk: true,
            server_latency_ms: None,
            first_byte_latency_ms: None,
            part_size: None,
            fail: None,
            truncate_after: None,
            http_error: None,
            max_tokens: None,
            variant: None,
            expect: None,
            reasoning: Vec::new(),
            tool_call: None,
            cache: None,
        }
    }

    /// `POST /v1/chat/completions` (OpenAI, vLLM, TGI…), SSE.
    pub fn openai_chat(model: impl Into<String>) -> MockLlm {
        MockLlm::new(Protocol::OpenAiChat, model)
    }

    /// `POST /v1/completions`, SSE.
    pub fn openai_completions(model: impl Into<String>) -> MockLlm {
        MockLlm::new(Protocol::OpenAiCompletions, model)
    }

    /// `POST /v1/messages` (Anthropic Messages API), SSE.
    pub fn anthropic(model: impl Into<String>) -> MockLlm {
        MockLlm::new(Protocol::Anthropic, model)
    }

    /// `POST /model/{model_id}/converse-stream` (Bedrock ConverseStream).
    pub fn bedrock_converse(model_id: impl Into<String>) -> MockLlm {
        MockLlm::new(Protocol::BedrockConverse, model_id)
    }

    /// `POST /model/{model_id}/invoke-with-response-stream` in `family`'s chunks.
    pub fn bedrock_invoke(model_id: impl Into<String>, family: BedrockFamily) -> MockLlm {
        MockLlm::new(Protocol::BedrockInvoke(family), model_id)
    }

    /// `POST /endpoints/{endpoint_name}/invocations-response-stream` in `format`.
    pub fn sagemaker(endpoint_name: impl Into<String>, format: SageMakerFormat) -> MockLlm {
        MockLlm::new(Protocol::SageMaker(format), endpoint_name)
    }

    /// The content chunks, one string each.
    pub fn tokens<I, S>(mut self, tokens: I) -> MockLlm
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.tokens = tokens.into_iter().map(Into::into).collect();
        self
    }

    /// Reasoning streamed before the answer, one string a chunk: OpenAI
    /// chat `reasoning_content`, an Anthropic `thinking` block of
    /// `thinking_delta`s (the Messages API and Bedrock's Anthropic family),
    /// Bedrock Converse `reasoningContent` deltas. Protocols without a
    /// reasoning field leave it out.
    pub fn reasoning<I, S>(mut self, pieces: I) -> MockLlm
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.reasoning = pieces.into_iter().map(Into::into).collect();
        self
    }

    /// Answers with a call to the tool `name` instead of the tokens: its
    /// id, then its argument JSON in `pieces`, one a chunk — OpenAI chat
    /// `tool_calls` deltas (finish reason `tool_calls`), an Anthropic
    /// `tool_use` block of `input_json_delta`s (the Messages API and
    /// Bedrock's Anthropic family) and Bedrock Converse `toolUse` (stop
    /// reason `tool_use`). Other protocols keep the tokens.
    pub fn tool_call<I, S>(mut self, id: impl Into<String>, name: impl Into<String>, pieces: I) -> MockLlm
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let pieces = pieces.into_iter().map(Into::into).collect();
        self.tool_call = Some(MockToolCall { id: id.into(), name: name.into(), pieces });
        self
    }

    /// Reports `read` prompt tokens read from a prompt cache and `written`
    /// written to it: OpenAI `prompt_tokens_details.cached_tokens` (reads
    /// only; chat, completions and SageMaker's OpenAI format), Anthropic
    /// `cache_read_input_tokens` and `cache_creation_input_tokens`, Bedrock
    /// Converse `cacheReadInputTokens` and `cacheWriteInputTokens`, and the
    /// invocation metrics' `cacheRead/WriteInputTokenCount` of every invoke
    /// family. The input count stays what [`usage`](Self::usage) says.
    pub fn cache(mut self, read: u64, written: u64) -> MockLlm {
        self.cache = Some((read, written));
        self
    }

    /// The usage the stream reports (input and output tokens).
    pub fn usage(mut self, input_tokens: u64, output_tokens: u64) -> MockLlm {
        self.usage = Some((input_tokens, output_tokens));
        self
    }

    /// The stop reason (default: the protocol's normal end, e.g. `end_turn`, `stop`).
    pub fn stop_reason(mut self, reason: impl Into<String>) -> MockLlm {
        self.stop_reason = Some(reason.into());
        self
    }

    /// OpenAI-style streams: send the role-only first chunk (default true).
    pub fn role_chunk(mut self, on: bool) -> MockLlm {
        self.role_chunk = on;
        self
    }

    /// OpenAI-style streams: send the final usage chunk (default true).
    pub fn usage_chunk(mut self, on: bool) -> MockLlm {
        self.usage_chunk = on;
        self
    }

    /// Bedrock: `latencyMs` (converse) and `invocationLatency` (invoke).
    pub fn server_latency_ms(mut self, ms: u64) -> MockLlm {
        self.server_latency_ms = Some(ms);
        self
    }

    /// Bedrock invoke: `firstByteLatency`.
    pub fn first_byte_latency_ms(mut self, ms: u64) -> MockLlm {
        self.first_byte_latency_ms = Some(ms);
        self
    }

    /// SageMaker: cut the container's bytes into PayloadParts of `bytes`
    /// each, regardless of lines and UTF-8 characters (default: one part a line).
    pub fn part_size(mut self, bytes: usize) -> MockLlm {
        self.part_size = Some(bytes.max(1));
        self
    }

    /// SageMaker: the `x-Amzn-Invoked-Production-Variant` answered.
    pub fn production_variant(mut self, variant: impl Into<String>) -> MockLlm {
        self.variant = Some(variant.into());
        self
    }

    /// After `tokens` content chunks, end the stream with `error`.
    pub fn fail_after(mut self, tokens: usize, error: MockError) -> MockLlm {
        self.fail = Some((tokens, error));
        self
    }

    /// After `tokens` content chunks, end the body without the stream's end
    /// (AWS streams: inside a frame).
    pub fn truncate_after(mut self, tokens: usize) -> MockLlm {
        self.truncate_after = Some(tokens);
        self
    }

    /// Answer with an HTTP error instead of a stream.
    pub fn http_error(mut self, error: HttpError) -> MockLlm {
        self.http_error = Some(error);
        self
    }

    /// Match only requests whose output limit is `max_tokens` (the field the
    /// protocol uses: `maxTokens`, `max_tokens`, `max_gen_len`, …).
    pub fn expect_max_tokens(mut self, max_tokens: u32) -> MockLlm {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// Verify, when the server is dropped, that exactly `times` requests matched.
    pub fn expect(mut self, times: u64) -> MockLlm {
        self.expect = Some(times);
        self
    }

    /// The response body bytes this mock serves (without HTTP errors).
    pub fn body(&self) -> Vec<u8> {
        encode::body(self)
    }

    /// The request path this mock answers (the model id or endpoint name is
    /// URL-encoded, as the AWS SDKs send it).
    pub fn path(&self) -> String {
        let id = encode_path_segment(&self.model);
        match self.protocol {
            Protocol::OpenAiChat => "/v1/chat/completions".into(),
            Protocol::OpenAiCompletions => "/v1/completions".into(),
            Protocol::Anthropic => "/v1/messages".into(),
            Protocol::BedrockConverse => format!("/model/{id}/converse-stream"),
            Protocol::BedrockInvoke(_) => format!("/model/{id}/invoke-with-response-stream"),
            Protocol::SageMaker(_) => format!("/endpoints/{id}/invocations-response-stream"),
        }
    }

    /// The wiremock [`Mock`], to mount or combine yourself.
    pub fn into_mock(self) -> Mock {
        let mut mock = Mock::given(method("POST")).and(path(self.path()));
        if let Some(max) = self.max_tokens {
            mock = mock.and(body_partial_json(max_tokens_json(&self.protocol, max)));
        }
        if matches!(self.protocol, Protocol::OpenAiChat | Protocol::OpenAiCompletions | Protocol::Anthropic) {
            mock = mock.and(body_partial_json(serde_json::json!({"model": self.model})));
        }
        let response = match self.http_error {
            Some(error) => http_error(&self.protocol, error),
            None => {
                let mut template =
                    ResponseTemplate::new(200).set_body_raw(encode::body(&self), encode::content_type(&self.protocol));
                template = template.insert_header("x-amzn-requestid", "00000000-0000-4000-8000-000000000001");
                match self.protocol {
                    Protocol::BedrockInvoke(_) => {
                        template = template.insert_header("x-amzn-bedrock-content-type", "application/json");
                    }
                    Protocol::SageMaker(_) => {
                        let variant = self.variant.clone().unwrap_or_else(|| "AllTraffic".into());
                        template = template.insert_header("x-amzn-invoked-production-variant", variant.as_str());
                    }
                    _ => {}
                }
                template
            }
        };
        let mut mock = mock.respond_with(response);
        if let Some(times) = self.expect {
            mock = mock.expect(times);
        }
        mock
    }

    /// Mounts the mock on `server`.
    pub async fn mount(self, server: &MockServer) {
        self.into_mock().mount(server).await;
    }
}

/// The body fragment that carries the output limit in `protocol`.
fn max_tokens_json(protocol: &Protocol, max: u32) -> serde_json::Value {
    use serde_json::json;
    match protocol {
        Protocol::OpenAiChat | Protocol::OpenAiCompletions | Protocol::Anthropic => json!({"max_tokens": max}),
        Protocol::BedrockConverse => crate::wire::bedrock::converse::max_tokens_json(max),
        Protocol::BedrockInvoke(family) => family.max_tokens_json(max),
        Protocol::SageMaker(format) => format.format().max_tokens_json(max),
    }
}

/// The HTTP error response of `error` in `protocol`'s service.
fn http_error(protocol: &Protocol, error: HttpError) -> ResponseTemplate {
    use serde_json::json;
    let aws = |status: u16, code: &str, body: serde_json::Value| {
        ResponseTemplate::new(status)
            .insert_header(
                "x-amzn-errortype",
                format!("{code}:http://internal.amazon.com/coral/com.amazon.bedrock/").as_str(),
            )
            .set_body_raw(body.to_string().into_bytes(), "application/json")
    };
    let message = "mock: injected error";
    match protocol {
        Protocol::BedrockConverse | Protocol::BedrockInvoke(_) => {
            let (status, code) = match error {
                HttpError::Throttled => (429, "ThrottlingException"),
                HttpError::NotReady => (429, "ModelNotReadyException"),
                HttpError::Validation => (400, "ValidationException"),
                HttpError::AccessDenied => (403, "AccessDeniedException"),
                HttpError::Server => (500, "InternalServerException"),
                HttpError::ServiceUnavailable => (503, "ServiceUnavailableException"),
                HttpError::ModelError => (424, "ModelErrorException"),
                HttpError::QuotaExceeded => (400, "ServiceQuotaExceededException"),
            };
            aws(status, code, json!({"message": message}))
        }
        Protocol::SageMaker(_) => {
            let (status, code, body) = match error {
                // Not modelled by the SDK: HTTP 400 with a null message.
                HttpError::Throttled | HttpError::QuotaExceeded => {
                    (400, "ThrottlingException", json!({"message": null}))
                }
                HttpError::NotReady => (429, "ModelNotReadyException", json!({"Message": message})),
                HttpError::Validation => (400, "ValidationError", json!({"Message": message})),
                HttpError::AccessDenied => (403, "AccessDeniedException", json!({"Message": message})),
                HttpError::Server => (500, "InternalFailure", json!({"Message": message})),
                HttpError::ServiceUnavailable => (503, "ServiceUnavailable", json!({"Message": message})),
                HttpError::ModelError => (
                    424,
                    "ModelError",
                    json!({"Message": message, "OriginalStatusCode": 500, "OriginalMessage": "model failed",
                           "LogStreamArn": "arn:aws:logs:us-east-1:000000000000:log-group:/aws/sagemaker/Endpoints/mock"}),
                ),
            };
            ResponseTemplate::new(status)
                .insert_header("x-amzn-errortype", code)
                .set_body_raw(body.to_string().into_bytes(), "application/json")
        }
        Protocol::OpenAiChat | Protocol::OpenAiCompletions | Protocol::Anthropic => {
            let anthropic = *protocol == Protocol::Anthropic;
            let (status, kind, text) = match error {
                HttpError::Throttled | HttpError::QuotaExceeded => (429, "rate_limit_error", message),
                HttpError::NotReady => (503, "unavailable_error", "Loading model"),
                HttpError::Validation => (400, "invalid_request_error", message),
                HttpError::AccessDenied => (403, "permission_error", message),
                HttpError::Server | HttpError::ModelError => (500, "api_error", message),
                HttpError::ServiceUnavailable if anthropic => (529, "overloaded_error", message),
                HttpError::ServiceUnavailable => (503, "server_error", message),
            };
            let body = if anthropic {
                json!({"type": "error", "error": {"type": kind, "message": text}})
            } else {
                json!({"error": {"message": text, "type": kind, "code": status}})
            };
            ResponseTemplate::new(status).set_body_raw(body.to_string().into_bytes(), "application/json")
        }
    }
}

/// Percent-encodes a path segment the way the AWS SDKs do (`:` → `%3A`).
fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
