//! The serving containers' request bodies and stream lines
//! (protocols-and-prices.md §3.3):
//!
//! - `tgi`: `{"inputs", "parameters", "stream": true}` in; SSE `data:`
//!   lines of `{"token": {"text", "special"}, "generated_text", "details"}`
//!   out, the last with `generated_text`; errors `{"error", "error_type"}`;
//! - `lmi`: the same request; JSON lines `{"token": {"text"}}` (or SSE with
//!   `output_formatter=sse`), the last with `generated_text`/`details`; an
//!   error is `details.finish_reason == "error"` with HTTP 200; the batch
//!   form streams `{"outputs": ["text"]}` lines without an end marker;
//! - `openai`: a chat-completions body; `chat.completion.chunk` lines, SSE
//!   or JSON lines, ending with `[DONE]` or a finish reason.

use std::ops::ControlFlow;
use std::time::Instant;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::provider::anthropic::insert_sampling;
use crate::provider::openai::{self, StreamState, Text};
use crate::provider::sse::Event;
use crate::provider::{GenRequest, Progress};
use crate::record::{ContentKind, ErrorClass, RequestError, Timeline, Usage};

/// The container protocol of a SageMaker endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Hugging Face TGI's native `/generate_stream` shape.
    Tgi,
    /// DJL LMI rolling batch (and its `outputs` batch form).
    Lmi,
    /// OpenAI chat completions (vLLM, TGI Messages API, LMI chat).
    OpenAi,
}

impl Format {
    /// Every format with its config name.
    pub(crate) const ALL: [(&'static str, Format); 3] =
        [("tgi", Format::Tgi), ("lmi", Format::Lmi), ("openai", Format::OpenAi)];

    /// The format named `name` in config.
    pub(crate) fn parse(name: &str) -> Option<Format> {
        Format::ALL.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    /// The format's config name.
    pub(crate) fn name(self) -> &'static str {
        Format::ALL.iter().find(|(_, f)| *f == self).map_or("?", |(n, _)| n)
    }

    /// The `Accept` sent (as `X-Amzn-SageMaker-Accept`).
    pub(crate) fn accept(self) -> &'static str {
        match self {
            Format::Tgi | Format::OpenAi => "text/event-stream",
            Format::Lmi => "application/jsonlines",
        }
    }

    /// What a complete stream ends with, for messages.
    pub(crate) fn end_marker(self) -> &'static str {
        match self {
            Format::Tgi | Format::Lmi => "the line with generated_text",
            Format::OpenAi => "data: [DONE] or a finish_reason",
        }
    }

    /// The request body. For `tgi` and `lmi`, `extra` goes into
    /// `parameters`; for `openai`, into the body.
    pub(crate) fn body(
        self,
        req: &GenRequest,
        model: Option<&str>,
        extra: Option<&serde_json::Map<String, Value>>,
    ) -> Vec<u8> {
        let mut body = serde_json::Map::new();
        match self {
            Format::Tgi | Format::Lmi => {
                let mut parameters = serde_json::Map::new();
                parameters.insert(
                    "max_new_tokens".into(),
                    json!(req.max_tokens.unwrap_or(crate::workload::DEFAULT_OUTPUT_TOKENS)),
                );
                insert_sampling(&mut parameters, req);
                if !req.stop.is_empty() {
                    parameters.insert("stop".into(), json!(req.stop));
                }
                if let Some(seed) = req.seed {
                    parameters.insert("seed".into(), json!(seed));
                }
                // Token counts and the finish reason come only in `details`.
                parameters.insert("details".into(), json!(true));
                if let Some(extra) = extra {
                    parameters.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
                body.insert("inputs".into(), json!(req.prompt_text()));
                body.insert("parameters".into(), Value::Object(parameters));
                body.insert("stream".into(), json!(true));
            }
            Format::OpenAi => {
                if let Some(model) = model {
                    body.insert("model".into(), json!(model));
                }
                let messages: Vec<Value> =
                    req.messages.iter().map(|m| json!({"role": m.role.as_str(), "content": m.content})).collect();
                body.insert("messages".into(), Value::Array(messages));
                body.insert(
                    "max_tokens".into(),
                    json!(req.max_tokens.unwrap_or(crate::workload::DEFAULT_OUTPUT_TOKENS)),
                );
                insert_sampling(&mut body, req);
                if !req.stop.is_empty() {
                    body.insert("stop".into(), json!(req.stop));
                }
                body.insert("stream".into(), json!(true));
                body.insert("stream_options".into(), json!({"include_usage": true}));
                if let Some(extra) = extra {
                    body.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

/// Parses the lines of one stream.
#[derive(Debug)]
pub(crate) struct LineParser {
    format: Format,
    openai: StreamState,
}

impl LineParser {
    /// A parser at the start of a stream.
    pub(crate) fn new(format: Format) -> LineParser {
        LineParser { format, openai: StreamState::default() }
    }

    /// One complete line's payload (SSE framing already removed), read at `at`.
    pub(crate) fn on_line(&mut self, line: &[u8], at: Instant, tl: &mut Timeline) -> Result<Progress, RequestError> {
        if self.format == Format::OpenAi {
            return match self.openai.on_event(Event { name: b"", data: line }, at, tl) {
                ControlFlow::Break(Ok(())) => Ok(Progress::Last),
                ControlFlow::Break(Err(e)) => Err(e),
                ControlFlow::Continue(()) if self.openai.finished => Ok(Progress::Complete),
                ControlFlow::Continue(()) => Ok(Progress::More),
            };
        }
        if line == b"[DONE]" {
            return Ok(Progress::Last);
        }
        let parsed: GenerateLine<'_> = serde_json::from_slice(line).map_err(|e| {
            RequestError::new(ErrorClass::Protocol, format!("line is not valid JSON ({e}): {}", openai::quote(line)))
        })?;
        if let Some(error) = parsed.error {
            let message = match (error, parsed.error_type) {
                (Value::String(text), Some(kind)) => format!("{text} ({kind})"),
                (Value::String(text), None) => text,
                (other, _) => other.to_string(),
            };
            return Err(openai::stream_error(message));
        }
        if let Some(token) = parsed.token {
            let special = token.special.or(token.special_token).unwrap_or(false);
            if let Some(text) = token.text.filter(|_| !special) {
                tl.on_content(at, ContentKind::Answer, &text.0);
            }
        }
        let mut progress = Progress::More;
        if let Some(outputs) = parsed.outputs {
            // The batch form has no end marker: any close after it is clean.
            for text in &outputs {
                tl.on_content(at, ContentKind::Answer, &text.0);
            }
            progress = Progress::Complete;
        }
        if let Some(details) = parsed.details {
            if let Some(reason) = &details.finish_reason {
                if reason.0 == "error" {
                    return Err(openai::stream_error(
                        "the container ended the stream with finish_reason \"error\"".into(),
                    ));
                }
                tl.set_stop_reason(&reason.0);
            }
            tl.on_usage(Usage {
                input_tokens: details.input_length,
                output_tokens: details.generated_tokens,
                ..Usage::default()
            });
            progress = Progress::Complete;
        }
        if parsed.generated_text.is_some_and(|v| !v.is_null()) {
            progress = Progress::Complete;
        }
        Ok(progress)
    }
}

/// A TGI or LMI line.
#[derive(Deserialize)]
struct GenerateLine<'a> {
    #[serde(borrow)]
    token: Option<Token<'a>>,
    generated_text: Option<Value>,
    #[serde(borrow)]
    details: Option<Details<'a>>,
    #[serde(borrow)]
    outputs: Option<Vec<Text<'a>>>,
    error: Option<Value>,
    error_type: Option<String>,
}

#[derive(Deserialize)]
struct Token<'a> {
    #[serde(borrow)]
    text: Option<Text<'a>>,
    /// TGI.
    special: Option<bool>,
    /// LMI.
    special_token: Option<bool>,
}

#[derive(Deserialize)]
struct Details<'a> {
    #[serde(borrow)]
    finish_reason: Option<Text<'a>>,
    generated_tokens: Option<u64>,
    input_length: Option<u64>,
}
