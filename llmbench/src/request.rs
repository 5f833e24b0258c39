//! One generation request, independent of protocol: what a workload
//! builds, a protocol's encoder in [`crate::wire`] writes and a provider
//! sends. Plain data; it knows nothing of transports or load.

/// Who said a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The system prompt.
    System,
    /// The user.
    User,
    /// The model.
    Assistant,
    /// The result of a tool the model called (OpenAI role `tool`; a
    /// `tool_result` / `toolResult` block of a user message in the
    /// Anthropic and Bedrock APIs).
    Tool,
}

impl Role {
    /// The wire name shared by the OpenAI, Anthropic and Bedrock APIs
    /// (`tool` is OpenAI's; the others send a tool result as a user message).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who said it.
    pub role: Role,
    /// What was said (a tool's result, for [`Role::Tool`]).
    pub content: String,
    /// The tools an assistant message called, after its text.
    pub tool_calls: Vec<ToolCall>,
    /// For [`Role::Tool`]: the id of the call this is the result of.
    pub tool_call_id: Option<String>,
}

impl Message {
    /// A message of plain text.
    pub fn new(role: Role, content: impl Into<String>) -> Message {
        Message { role, content: content.into(), tool_calls: Vec::new(), tool_call_id: None }
    }

    /// An assistant message: its text, then the tools it called.
    pub fn assistant(content: impl Into<String>, tool_calls: Vec<ToolCall>) -> Message {
        Message { tool_calls, ..Message::new(Role::Assistant, content) }
    }

    /// The result of the tool call `call_id`.
    pub fn tool_result(call_id: impl Into<String>, content: impl Into<String>) -> Message {
        Message { tool_call_id: Some(call_id.into()), ..Message::new(Role::Tool, content) }
    }

    /// The text a tokenizer sees of this message: its content, and each
    /// call's name and arguments.
    pub fn texts(&self) -> impl Iterator<Item = &str> {
        let calls = self.tool_calls.iter().flat_map(|c| [c.name.as_str(), c.arguments.as_str()]);
        std::iter::once(self.content.as_str()).chain(calls)
    }
}

/// A tool call the model made, as a later request sends it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    /// The call's id, which its result names (OpenAI `id`, Anthropic
    /// `tool_use.id`, Bedrock `toolUseId`).
    pub id: String,
    /// The tool called.
    pub name: String,
    /// The argument JSON, as the model wrote it.
    pub arguments: String,
}

impl ToolCall {
    /// The arguments as a JSON value, for the protocols that send an object
    /// (Anthropic `input`, Bedrock `input`); arguments that do not parse as
    /// an object are sent as an empty one.
    pub fn input(&self) -> serde_json::Value {
        match serde_json::from_str::<serde_json::Value>(&self.arguments) {
            Ok(v @ serde_json::Value::Object(_)) => v,
            _ => serde_json::Value::Object(serde_json::Map::new()),
        }
    }
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
