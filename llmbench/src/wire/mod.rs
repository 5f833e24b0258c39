//! One module per protocol: the bytes and JSON shapes each one puts on the
//! wire, in both directions. Request bodies and response decoders serve the
//! providers; response encoders serve the simulator and [`crate::mock`], so
//! what the harness reads and what its test servers write are defined once.
//!
//! This module knows bytes and JSON and nothing else: no clock, no load, no
//! statistics, no sockets or HTTP clients. A decoder hands what it finds to
//! a [`Sink`]; the provider's sink stamps each finding with the time of the
//! read that carried it, which the provider took before decoding.
//!
//! - [`sse`]: Server-Sent Events framing (decoder and encoder);
//! - [`openai`]: chat and completions, shared by OpenAI-compatible servers,
//!   Bedrock's OpenAI-style family and SageMaker's `openai` format;
//! - [`anthropic`]: the Messages API, also Bedrock's Anthropic family;
//! - [`bedrock`]: `ConverseStream` and the `InvokeModelWithResponseStream`
//!   model families;
//! - [`sagemaker`]: the serving containers' formats;
//! - `eventstream`: AWS `application/vnd.amazon.eventstream` frames (written
//!   only: the providers read them through the SDK).

// Without the AWS features and `mock` some encoders and decoders have no
// caller; they stay compiled so that the enums config names keep one home.
#![cfg_attr(not(all(feature = "bedrock", feature = "sagemaker", feature = "mock")), allow(dead_code))]

pub(crate) mod anthropic;
pub(crate) mod bedrock;
#[cfg(feature = "_eventstream")]
pub(crate) mod eventstream;
pub(crate) mod openai;
#[cfg(test)]
mod request_tests;
pub(crate) mod sagemaker;
pub(crate) mod sse;

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};
use serde_json::Value;

use crate::record::{ContentKind, ErrorClass, RequestError, Usage};

/// The protocol a `provider = "sim"` target is spoken to in (`protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// OpenAI chat or completions over SSE (the default).
    #[default]
    Openai,
    /// Bedrock `ConverseStream`.
    Bedrock,
    /// Bedrock `InvokeModelWithResponseStream`, in a model `family`.
    BedrockInvoke,
    /// SageMaker `InvokeEndpointWithResponseStream`, in a container `format`.
    Sagemaker,
}

impl Protocol {
    /// The config spelling (named in the error of a build without a
    /// protocol's feature).
    #[cfg_attr(all(feature = "bedrock", feature = "sagemaker"), allow(dead_code))]
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Openai => "openai",
            Protocol::Bedrock => "bedrock",
            Protocol::BedrockInvoke => "bedrock-invoke",
            Protocol::Sagemaker => "sagemaker",
        }
    }
}

/// The kind of a content block in the streams that have blocks (the
/// Anthropic Messages API and Bedrock's Anthropic family, Converse).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockKind {
    /// Reasoning: an Anthropic `thinking` block, Converse `reasoningContent`.
    Reasoning,
    /// Answer text.
    Text,
    /// A tool call's arguments: `tool_use`, Converse `toolUse`.
    Tool,
}

/// The content block a stream being written has open. Content of another
/// kind closes it and opens the next index, as the APIs number blocks.
#[derive(Debug, Default)]
pub(crate) struct Blocks {
    open: Option<(BlockKind, u32)>,
}

/// What writing content of a kind takes: the block to close first, whether
/// a block opens, and the index the content goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockStep {
    pub(crate) close: Option<u32>,
    pub(crate) opens: bool,
    pub(crate) index: u32,
}

impl Blocks {
    /// Moves to a block of `kind`.
    pub(crate) fn to(&mut self, kind: BlockKind) -> BlockStep {
        match self.open {
            Some((open, index)) if open == kind => BlockStep { close: None, opens: false, index },
            Some((_, index)) => {
                self.open = Some((kind, index + 1));
                BlockStep { close: Some(index), opens: true, index: index + 1 }
            }
            None => {
                self.open = Some((kind, 0));
                BlockStep { close: None, opens: true, index: 0 }
            }
        }
    }

    /// Closes the open block: its index, if one was open.
    pub(crate) fn close(&mut self) -> Option<u32> {
        self.open.take().map(|(_, index)| index)
    }
}

/// What one event of a stream meant for its end; ordered, so that the
/// most final of several events decoded from one read wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Progress {
    /// More is expected.
    More,
    /// The generation is complete: a close from now on is a clean end
    /// (Converse `messageStop`, a model's stop reason).
    Complete,
    /// The protocol's last event (Converse `metadata`, the chunk with
    /// `amazon-bedrock-invocationMetrics`, `[DONE]`, `message_stop`).
    Last,
}

/// Where a decoder puts what a response said, as it reads it. Text is
/// borrowed from the read buffer: an implementation must not need to own it.
pub(crate) trait Sink {
    /// Output text (possibly empty, which is not content).
    fn content(&mut self, kind: ContentKind, text: &str);
    /// Token counts; fields left `None` keep what an earlier report said.
    fn usage(&mut self, usage: Usage);
    /// Why the generation stopped, as the server put it.
    fn stop_reason(&mut self, reason: &str);
    /// The server's id of the response.
    fn response_id(&mut self, id: &str);
    /// A tool call opens, with its id (empty when the server sent none)
    /// and its tool's name (its arguments follow as
    /// [`ContentKind::ToolCall`] content).
    fn tool_call_start(&mut self, _id: &str, _name: &str) {}
    /// The open tool call's arguments are complete.
    fn tool_call_end(&mut self) {}
    /// The service's own measure of the whole request, in milliseconds.
    fn server_latency_ms(&mut self, _ms: f64) {}
    /// The service's own measure of its first byte, in milliseconds.
    fn server_first_byte_ms(&mut self, _ms: f64) {}
}

/// The largest event (an SSE event, a SageMaker line) accepted when the
/// target does not say (`max_event_size`). Real chunks are a few hundred
/// bytes; the bound keeps a server that never ends an event from
/// exhausting memory (docs/providers.md).
pub(crate) const DEFAULT_MAX_EVENT_BYTES: usize = 8 << 20;

/// The error of an event that grew past `cap` bytes without ending.
pub(crate) fn event_too_big(what: &str, cap: usize) -> RequestError {
    RequestError::new(
        ErrorClass::Protocol,
        format!(
            "{what} grew past {} without ending (if the server's events are that large, raise max_event_size in its target)",
            crate::settings::value::Size(cap)
        ),
    )
}

/// The most bytes of server text quoted in an error message.
pub(crate) const MAX_QUOTE: usize = 300;

/// Server bytes fit for a message: lossy UTF-8, bounded.
pub(crate) fn quote(bytes: &[u8]) -> String {
    truncate(String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_QUOTE + 4)]).into_owned())
}

/// `s` cut to about [`MAX_QUOTE`] bytes, on a character boundary.
pub(crate) fn truncate(mut s: String) -> String {
    if s.len() > MAX_QUOTE {
        let mut cut = MAX_QUOTE;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// An error the server reported inside the stream.
pub(crate) fn stream_error(message: String) -> RequestError {
    RequestError::new(ErrorClass::ModelStream, truncate(format!("server error in stream: {message}")))
}

/// A payload that is not the JSON its protocol promises.
pub(crate) fn not_json(what: &str, e: &serde_json::Error, bytes: &[u8]) -> RequestError {
    RequestError::new(ErrorClass::Protocol, format!("{what} is not valid JSON ({e}): {}", quote(bytes)))
}

/// `temperature` and `top_p`, printed as written (an `f32` turned straight
/// into JSON prints 0.7 as 0.699999988079071).
pub(crate) fn insert_sampling(body: &mut serde_json::Map<String, Value>, req: &crate::request::GenRequest) {
    let exact = |x: f32| x.to_string().parse::<f64>().map(Value::from).unwrap_or(Value::Null);
    if let Some(t) = req.temperature {
        body.insert("temperature".into(), exact(t));
    }
    if let Some(p) = req.top_p {
        body.insert("top_p".into(), exact(p));
    }
}

/// Adds the user's `extra` fields to `body`, replacing standard ones of
/// the same name.
pub(crate) fn merge_extra(body: &mut serde_json::Map<String, Value>, extra: Option<&serde_json::Map<String, Value>>) {
    if let Some(extra) = extra {
        body.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
}

/// A JSON string borrowed from the input when it has no escapes. A plain
/// `Option<Cow<str>>` field would always own its text: serde borrows a `Cow`
/// only when it is the field's own type (serde-rs/serde#1497).
#[derive(Deserialize)]
pub(crate) struct Text<'a>(#[serde(borrow)] pub(crate) Cow<'a, str>);

/// The first element of a JSON array, the rest skipped without being
/// collected; `null` or a missing key read as no element.
pub(crate) struct First<T>(pub(crate) Option<T>);

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
