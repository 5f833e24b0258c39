//! One module per protocol's client. A provider turns one [`GenRequest`]
//! into timed events on a [`Timeline`] and nothing else: it knows nothing of
//! load shape, statistics or reports. It owns the transport (HTTP client or
//! AWS SDK) and the stamping: each read is stamped when it returns, then its
//! bytes go to the protocol's decoder in [`crate::wire`], whose findings
//! land on the timeline through [`Stamp`].

pub(crate) mod anthropic;
#[cfg(all(test, feature = "_eventstream"))]
mod anthropic_tests;
#[cfg(feature = "_aws")]
pub(crate) mod aws;
#[cfg(feature = "bedrock")]
pub(crate) mod bedrock;
pub(crate) mod http;
pub(crate) mod openai;
#[cfg(feature = "sagemaker")]
pub(crate) mod sagemaker;

use std::time::Instant;

use crate::record::{ContentKind, ErrorClass, RequestError, Timeline, Usage};
pub(crate) use crate::wire::Progress;

/// Who said a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The system prompt.
    System,
    /// The user.
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// The wire name shared by the OpenAI, Anthropic and Bedrock APIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who said it.
    pub role: Role,
    /// What was said.
    pub content: String,
}

/// How hard a reasoning model should think (`reasoning_effort`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasoningEffort {
    /// As little as the model allows.
    Minimal,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

impl ReasoningEffort {
    /// The wire value (OpenAI `reasoning_effort`).
    pub fn as_str(self) -> &'static str {
        match self {
            ReasoningEffort::Minimal => "minimal",
            ReasoningEffort::Low => "low",
            ReasoningEffort::Medium => "medium",
            ReasoningEffort::High => "high",
        }
    }

    /// Parses `minimal`, `low`, `medium` or `high`.
    pub fn parse(text: &str) -> Result<ReasoningEffort, String> {
        match text.trim() {
            "minimal" => Ok(ReasoningEffort::Minimal),
            "low" => Ok(ReasoningEffort::Low),
            "medium" => Ok(ReasoningEffort::Medium),
            "high" => Ok(ReasoningEffort::High),
            other => Err(format!("unknown reasoning effort {other:?} (use minimal, low, medium or high)")),
        }
    }

    /// The thinking budget it stands for where a protocol takes a budget
    /// instead (Anthropic, Bedrock `thinking`): 1024 tokens (the API's
    /// minimum) for minimal and low, 4096 for medium, 16384 for high.
    pub fn budget_tokens(self) -> u32 {
        match self {
            ReasoningEffort::Minimal | ReasoningEffort::Low => 1024,
            ReasoningEffort::Medium => 4096,
            ReasoningEffort::High => 16384,
        }
    }
}

/// A tool the model may call: a function with a JSON Schema for its
/// arguments (OpenAI `tools`, Anthropic `tools`, Bedrock `toolConfig`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Tool {
    /// The function's name.
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// The JSON Schema of its arguments (an object schema).
    pub parameters: serde_json::Value,
}

/// A PNG image sent with the last user message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
    /// The PNG file.
    pub png: std::sync::Arc<[u8]>,
    /// The PNG file in standard base64, as every JSON protocol sends it.
    pub base64: std::sync::Arc<str>,
}

impl Image {
    /// The media type of the data.
    pub const MEDIA_TYPE: &'static str = "image/png";

    /// The `data:` URI of the image (OpenAI `image_url`).
    pub fn data_uri(&self) -> String {
        format!("data:{};base64,{}", Image::MEDIA_TYPE, self.base64)
    }

    /// About how many input tokens the image costs: width × height / 750,
    /// Anthropic's published estimate (other providers are within a small
    /// factor of it); the simulator counts images this way.
    pub fn estimated_tokens(&self) -> u32 {
        (u64::from(self.width) * u64::from(self.height)).div_ceil(750).max(1) as u32
    }
}

/// One generation request, independent of protocol.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GenRequest {
    /// The conversation; a system prompt, if any, comes first.
    pub messages: Vec<Message>,
    /// Maximum output tokens (always set by workloads).
    pub max_tokens: Option<u32>,
    /// Ask the server for at least this many tokens (vLLM `min_tokens`).
    pub min_tokens: Option<u32>,
    /// Ask the server to ignore end-of-sequence (vLLM/TGI `ignore_eos`).
    pub ignore_eos: bool,
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Nucleus sampling.
    pub top_p: Option<f32>,
    /// Sampling seed passed to the server.
    pub seed: Option<u64>,
    /// Stop sequences.
    pub stop: Vec<String>,
    /// How hard a reasoning model should think (OpenAI-compatible
    /// `reasoning_effort`; mapped to a thinking budget where only a budget
    /// exists).
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Anthropic and Bedrock `thinking.budget_tokens`.
    pub thinking_budget: Option<u32>,
    /// Tools the model may call.
    pub tools: Vec<Tool>,
    /// Images sent with the last user message, after its text.
    pub images: Vec<Image>,
    /// The first message is a system prompt shared by many requests: mark
    /// the end of it as a cache point where the protocol has one
    /// (Anthropic `cache_control`, Bedrock Converse `cachePoint`).
    pub cache_prefix: bool,
    /// The prompt length the workload asked for, in tokens (synthetic
    /// prompts).
    pub input_tokens_requested: Option<u32>,
    /// The prompt length by the workload's tokenizer, images estimated.
    pub input_tokens_generated: Option<u32>,
}

impl GenRequest {
    /// The thinking budget to send where a protocol takes one: the
    /// budget, else the effort's (see [`ReasoningEffort::budget_tokens`]).
    pub fn thinking_budget_tokens(&self) -> Option<u32> {
        self.thinking_budget.or_else(|| self.reasoning_effort.map(ReasoningEffort::budget_tokens))
    }

    /// Whether the request carries images or tools, which text-only
    /// protocols cannot send.
    pub fn needs_multimodal(&self) -> Option<&'static str> {
        if !self.images.is_empty() {
            Some("images")
        } else if !self.tools.is_empty() {
            Some("tools")
        } else {
            None
        }
    }

    /// The index of the message the images go with: the last user message.
    pub(crate) fn image_message(&self) -> Option<usize> {
        if self.images.is_empty() {
            return None;
        }
        self.messages.iter().rposition(|m| m.role == Role::User)
    }

    /// The conversation flattened to one prompt, for completion endpoints.
    pub fn prompt_text(&self) -> String {
        let mut out = String::new();
        for m in &self.messages {
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(&m.content);
        }
        out
    }
}

/// The timeline, and when the read being decoded returned: the
/// [`Sink`](crate::wire::Sink) every decoder writes to. Everything a read
/// carried is stamped with its time.
pub(crate) struct Stamp<'a> {
    pub(crate) tl: &'a mut Timeline,
    pub(crate) at: Instant,
}

impl crate::wire::Sink for Stamp<'_> {
    fn content(&mut self, kind: ContentKind, text: &str) {
        self.tl.on_content(self.at, kind, text);
    }

    fn usage(&mut self, usage: Usage) {
        self.tl.on_usage(usage);
    }

    fn stop_reason(&mut self, reason: &str) {
        self.tl.set_stop_reason(reason);
    }

    fn response_id(&mut self, id: &str) {
        self.tl.set_response_id(id);
    }

    fn server_latency_ms(&mut self, ms: f64) {
        self.tl.set_server_latency_ms(ms);
    }

    fn tool_call_start(&mut self, name: &str) {
        self.tl.on_tool_call_start(self.at, name);
    }

    fn tool_call_end(&mut self) {
        self.tl.on_tool_call_end(self.at);
    }

    fn server_first_byte_ms(&mut self, ms: f64) {
        self.tl.set_server_first_byte_ms(ms);
    }
}

/// A configured client for one target.
#[derive(Debug, Clone)]
pub(crate) enum Provider {
    OpenAi(openai::OpenAiProvider),
    Anthropic(anthropic::AnthropicProvider),
    #[cfg(feature = "bedrock")]
    Bedrock(bedrock::BedrockProvider),
    #[cfg(feature = "sagemaker")]
    SageMaker(sagemaker::SageMakerProvider),
}

impl Provider {
    /// Sends one request and records its stream on `timeline`. Returns when
    /// the stream ended or failed; a failure is classified, never a panic.
    pub(crate) async fn send(&self, req: &GenRequest, timeline: &mut Timeline) -> Result<(), RequestError> {
        timeline.set_input_tokens_planned(req.input_tokens_requested, req.input_tokens_generated);
        match self {
            Provider::OpenAi(p) => p.send(req, timeline).await,
            Provider::Anthropic(p) => p.send(req, timeline).await,
            #[cfg(feature = "bedrock")]
            Provider::Bedrock(p) => p.send(req, timeline).await,
            #[cfg(feature = "sagemaker")]
            Provider::SageMaker(p) => p.send(req, timeline).await,
        }
        // Where error text is born, once per failed request: a server may
        // echo the key it was sent, an error may quote a URL with
        // credentials (docs/security.md).
        .map_err(crate::redact::redact_error)
    }
}

/// Registers the secrets of an HTTP target for redaction: its API key and
/// any password (or token-like user name) in its `base_url`.
pub(crate) fn register_secrets(api_key: Option<&str>, base_url: &str) {
    if let Some(key) = api_key {
        crate::redact::register(key);
    }
    if let Ok(url) = reqwest::Url::parse(base_url) {
        crate::redact::register(url.username());
        if let Some(password) = url.password() {
            crate::redact::register(password);
        }
    }
}

/// The error of a request whose connection could not be made: `local` when
/// a client-side resource ran out (too many open files, no memory), which
/// is never the endpoint's fault; otherwise `server`.
pub(crate) fn connection_failed(e: &reqwest::Error) -> RequestError {
    let detail = openai::describe(e);
    if crate::process::is_local_exhaustion(e) {
        RequestError::new(ErrorClass::Local, format!("{LOCAL_EXHAUSTION}: {CONNECTION_FAILED}: {detail}"))
    } else {
        RequestError::new(ErrorClass::Server, format!("{CONNECTION_FAILED}: {detail}"))
    }
}

/// The start of the message of a `server` error whose connection could not
/// be made (refused, reset, unreachable): nothing reached the endpoint.
pub(crate) const CONNECTION_FAILED: &str = "connection failed";
/// The start of the message of a `timeout` whose connection was never
/// established within `connect_timeout`.
pub(crate) const CONNECT_TIMED_OUT: &str = "connect timed out";

/// Whether a request failed before reaching the endpoint at all: its
/// connection failed or timed out, or a client-side resource ran out
/// (class `local`). What a dead endpoint looks like (docs/metrics.md).
pub(crate) fn is_connection_failure(e: &RequestError) -> bool {
    match e.class {
        ErrorClass::Local => true,
        ErrorClass::Server => e.message.starts_with(CONNECTION_FAILED),
        ErrorClass::Timeout => e.message.starts_with(CONNECT_TIMED_OUT),
        _ => false,
    }
}

/// The start of a `local` error's message.
pub(crate) const LOCAL_EXHAUSTION: &str =
    "a client-side resource ran out (not the endpoint's fault; raise `ulimit -n` or lower the load)";

/// A header value carrying a secret: marked sensitive so it is never logged.
pub(crate) fn secret_header(value: &str) -> Result<reqwest::header::HeaderValue, String> {
    let mut header = reqwest::header::HeaderValue::from_str(value)
        .map_err(|_| "api key contains characters not allowed in an HTTP header".to_string())?;
    header.set_sensitive(true);
    Ok(header)
}
