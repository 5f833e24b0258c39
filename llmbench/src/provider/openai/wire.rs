//! The OpenAI wire format: the request body and the streamed chunk, error
//! and usage objects, deserialized without copying token text.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::record::Usage;

// ---- Request body ----

#[derive(Serialize)]
pub(super) struct Body<'a> {
    pub(super) model: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) messages: Option<Vec<WireMessage<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) prompt: Option<String>,
    pub(super) stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) stop: Option<&'a Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) min_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) ignore_eos: Option<bool>,
}

#[derive(Serialize)]
pub(super) struct WireMessage<'a> {
    pub(super) role: &'static str,
    pub(super) content: &'a str,
}

#[derive(Serialize)]
pub(super) struct StreamOptions {
    pub(super) include_usage: bool,
}

// ---- Stream chunks ----
//
// Only the fields llmbench reads; serde skips the rest. Strings borrow from
// the read buffer (see `Text`) so that a token costs no allocation.

#[derive(Deserialize)]
pub(super) struct Chunk<'a> {
    #[serde(borrow)]
    pub(super) id: Option<Text<'a>>,
    #[serde(borrow, default)]
    pub(super) choices: First<Choice<'a>>,
    pub(super) usage: Option<WireUsage>,
    pub(super) error: Option<WireError>,
    pub(super) error_type: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Choice<'a> {
    #[serde(borrow)]
    pub(super) delta: Option<Delta<'a>>,
    /// The legacy completions endpoint's output.
    #[serde(borrow)]
    pub(super) text: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) finish_reason: Option<Text<'a>>,
}

#[derive(Deserialize)]
pub(super) struct Delta<'a> {
    #[serde(borrow)]
    pub(super) content: Option<Text<'a>>,
    /// vLLM, llama.cpp, DeepSeek.
    #[serde(borrow)]
    pub(super) reasoning_content: Option<Text<'a>>,
    /// Newer vLLM, OpenRouter, Ollama.
    #[serde(borrow)]
    pub(super) reasoning: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) refusal: Option<Text<'a>>,
    #[serde(borrow)]
    pub(super) tool_calls: Option<Vec<ToolCall<'a>>>,
}

#[derive(Deserialize)]
pub(super) struct ToolCall<'a> {
    #[serde(borrow)]
    pub(super) function: Option<ToolFunction<'a>>,
}

#[derive(Deserialize)]
pub(super) struct ToolFunction<'a> {
    #[serde(borrow)]
    pub(super) arguments: Option<Text<'a>>,
}

#[derive(Deserialize)]
pub(super) struct WireUsage {
    pub(super) prompt_tokens: Option<u64>,
    pub(super) completion_tokens: Option<u64>,
    pub(super) prompt_tokens_details: Option<PromptTokensDetails>,
}

#[derive(Deserialize)]
pub(super) struct PromptTokensDetails {
    pub(super) cached_tokens: Option<u64>,
    pub(super) cache_write_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Usage {
        let details = u.prompt_tokens_details;
        Usage {
            input_tokens: u.prompt_tokens,
            output_tokens: u.completion_tokens,
            cache_read_tokens: details.as_ref().and_then(|d| d.cached_tokens),
            cache_write_tokens: details.as_ref().and_then(|d| d.cache_write_tokens),
        }
    }
}

/// A JSON string borrowed from the input when it has no escapes. A plain
/// `Option<Cow<str>>` field would always own its text: serde borrows a `Cow`
/// only when it is the field's own type (serde-rs/serde#1497).
#[derive(Deserialize)]
pub(crate) struct Text<'a>(#[serde(borrow)] pub(crate) Cow<'a, str>);

/// The first element of a JSON array, the rest skipped without being
/// collected; `null` or a missing key read as no element.
pub(super) struct First<T>(pub(super) Option<T>);

impl<T> Default for First<T> {
    fn default() -> Self {
        First(None)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for First<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FirstVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for FirstVisitor<T> {
            type Value = First<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array or null")
            }

            fn visit_none<E>(self) -> Result<Self::Value, E> {
                Ok(First(None))
            }

            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(First(None))
            }

            fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
                deserializer.deserialize_seq(self)
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let first = seq.next_element()?;
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(First(first))
            }
        }

        deserializer.deserialize_option(FirstVisitor(PhantomData))
    }
}

/// An `error` value in the shapes servers send.
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum WireError {
    /// TGI, Ollama: `"error": "…"`.
    Text(String),
    /// OpenAI, vLLM, llama.cpp: `"error": {"message": "…", "type": "…"}`.
    Object {
        message: Option<String>,
        #[serde(rename = "type")]
        kind: Option<String>,
    },
    /// Anything else still says something failed.
    Other(IgnoredAny),
}

/// A JSON error document: an HTTP error body, or an error event's data.
#[derive(Deserialize)]
pub(super) struct ErrorBody {
    pub(super) error: Option<WireError>,
    /// TGI's class of a text error (`overloaded`, `generation`, …).
    pub(super) error_type: Option<String>,
    /// vLLM's HTTP errors put the message at the top.
    pub(super) message: Option<String>,
    /// FastAPI's `{"detail": …}`.
    pub(super) detail: Option<Value>,
}

impl ErrorBody {
    /// "message (type)", from wherever this server put them.
    pub(super) fn message(self) -> Option<String> {
        let (text, kind) = match self.error {
            Some(WireError::Text(text)) => (Some(text), self.error_type),
            Some(WireError::Object { message, kind }) => (message, kind.or(self.error_type)),
            Some(WireError::Other(_)) | None => (None, self.error_type),
        };
        let detail = self.detail.map(|d| match d {
            Value::String(s) => s,
            other => other.to_string(),
        });
        let text = text.or(self.message).or(detail)?;
        Some(match kind.filter(|k| !k.is_empty()) {
            Some(kind) => format!("{text} ({kind})"),
            None => text,
        })
    }
}
