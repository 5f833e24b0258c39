//! SageMaker `InvokeEndpointWithResponseStream`: the serving containers'
//! request bodies and stream lines (docs/providers.md). The stream's
//! `PayloadPart`s carry raw container bytes, rebuilt into lines by
//! [`LineBuffer`]; a format names the container's protocol:
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
//!
//! The line encoders at the end write these streams for the simulator and
//! [`crate::mock`].

#[cfg(feature = "sagemaker")]
mod lines;

#[cfg(feature = "sagemaker")]
use std::ops::ControlFlow;

use serde::Deserialize;
use serde_json::{Value, json};

#[cfg(feature = "sagemaker")]
use lines::LineBuffer;

use super::openai::{ChunkHead, StreamDecoder};
use super::sse::Event;
use super::{Progress, Sink, Text, insert_sampling, merge_extra, not_json, stream_error};
use crate::record::{ContentKind, RequestError, Usage};
use crate::request::GenRequest;

/// The container protocol of a SageMaker endpoint (`format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Hugging Face TGI's native `/generate_stream` shape.
    Tgi,
    /// DJL LMI rolling batch (and its `outputs` batch form).
    Lmi,
    /// OpenAI chat completions (vLLM, TGI Messages API, LMI chat).
    #[serde(rename = "openai")]
    OpenAi,
}

impl Format {
    /// The format's config name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Tgi => "tgi",
            Format::Lmi => "lmi",
            Format::OpenAi => "openai",
        }
    }

    /// The format a request body is written for: `messages` is OpenAI chat;
    /// `inputs` is TGI, or LMI when JSON lines are asked for.
    pub(crate) fn detect(body: &Value, accept: Option<&str>) -> Option<Format> {
        if body.get("messages").is_some() {
            Some(Format::OpenAi)
        } else if body.get("inputs").is_some() {
            Some(if accept.is_some_and(|a| a.contains("jsonlines")) { Format::Lmi } else { Format::Tgi })
        } else {
            None
        }
    }

    /// The output limit of a request body written for this format.
    pub(crate) fn max_tokens(self, body: &Value) -> Option<u64> {
        match self {
            Format::Tgi | Format::Lmi => body["parameters"]["max_new_tokens"].as_u64(),
            Format::OpenAi => super::openai::max_tokens(body),
        }
    }

    /// The part of a request body that sets the output limit to `max`.
    pub(crate) fn max_tokens_json(self, max: u32) -> Value {
        match self {
            Format::Tgi | Format::Lmi => json!({"parameters": {"max_new_tokens": max}}),
            Format::OpenAi => json!({"max_tokens": max}),
        }
    }

    /// The `Accept` sent (as `X-Amzn-SageMaker-Accept`), and the content
    /// type the container answers with.
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

    /// Why `req` cannot go to this format: `tgi` and `lmi` take a text
    /// prompt, with no images or tools.
    pub(crate) fn refuses(self, req: &GenRequest) -> Option<String> {
        match (self, req.needs_multimodal()) {
            (Format::Tgi | Format::Lmi, Some(what)) => Some(format!(
                "format {} takes a text prompt and cannot send {what} (use format = \"openai\")",
                self.name()
            )),
            _ => None,
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
                merge_extra(&mut parameters, extra);
                body.insert("inputs".into(), json!(req.prompt_text()));
                body.insert("parameters".into(), Value::Object(parameters));
                body.insert("stream".into(), json!(true));
            }
            Format::OpenAi => {
                if let Some(model) = model {
                    body.insert("model".into(), json!(model));
                }
                body.insert("messages".into(), json!(super::openai::wire_messages(req)));
                body.insert(
                    "max_tokens".into(),
                    json!(req.max_tokens.unwrap_or(crate::workload::DEFAULT_OUTPUT_TOKENS)),
                );
                insert_sampling(&mut body, req);
                if !req.stop.is_empty() {
                    body.insert("stop".into(), json!(req.stop));
                }
                if let Some(effort) = req.reasoning_effort {
                    body.insert("reasoning_effort".into(), json!(effort.as_str()));
                }
                if let Some(tools) = super::openai::wire_tools(req) {
                    body.insert("tools".into(), Value::Array(tools));
                }
                body.insert("stream".into(), json!(true));
                body.insert("stream_options".into(), json!({"include_usage": true}));
                merge_extra(&mut body, extra);
            }
        }
        serde_json::to_vec(&body).unwrap_or_default()
    }
}

/// Decodes the lines of one stream.
#[derive(Debug)]
pub(crate) struct LineDecoder {
    format: Format,
    openai: StreamDecoder,
}

impl LineDecoder {
    /// A decoder at the start of a stream.
    pub(crate) fn new(format: Format) -> LineDecoder {
        LineDecoder { format, openai: StreamDecoder::default() }
    }

    /// One complete line's payload (SSE framing already removed).
    pub(crate) fn on_line(&mut self, line: &[u8], sink: &mut impl Sink) -> Result<Progress, RequestError> {
        if self.format == Format::OpenAi {
            return self.openai.on_event(Event { name: b"", data: line }, sink);
        }
        if line == b"[DONE]" {
            return Ok(Progress::Last);
        }
        let parsed: GenerateLine<'_> = serde_json::from_slice(line).map_err(|e| not_json("line", &e, line))?;
        if let Some(error) = parsed.error {
            let message = match (error, parsed.error_type) {
                (Value::String(text), Some(kind)) => format!("{text} ({kind})"),
                (Value::String(text), None) => text,
                (other, _) => other.to_string(),
            };
            return Err(stream_error(message));
        }
        if let Some(token) = parsed.token {
            let special = token.special.or(token.special_token).unwrap_or(false);
            if let Some(text) = token.text.filter(|_| !special) {
                sink.content(ContentKind::Answer, &text.0);
            }
        }
        let mut progress = Progress::More;
        if let Some(outputs) = parsed.outputs {
            // The batch form has no end marker: any close after it is clean.
            for text in &outputs {
                sink.content(ContentKind::Answer, &text.0);
            }
            progress = Progress::Complete;
        }
        if let Some(details) = parsed.details {
            if let Some(reason) = &details.finish_reason {
                if reason.0 == "error" {
                    return Err(stream_error("the container ended the stream with finish_reason \"error\"".into()));
                }
                sink.stop_reason(&reason.0);
            }
            sink.usage(Usage {
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

/// Decodes a stream's `PayloadPart`s: lines rebuilt across parts by
/// [`LineBuffer`], then decoded by [`LineDecoder`].
#[cfg(feature = "sagemaker")]
#[derive(Debug)]
pub(crate) struct PartDecoder {
    lines: LineBuffer,
    decoder: LineDecoder,
    /// The longest line accepted (`max_event_size`): a container that never
    /// ends a line cannot exhaust memory.
    max_line: usize,
}

#[cfg(feature = "sagemaker")]
impl PartDecoder {
    /// A decoder at the start of a stream.
    pub(crate) fn new(format: Format) -> PartDecoder {
        PartDecoder {
            lines: LineBuffer::default(),
            decoder: LineDecoder::new(format),
            max_line: super::DEFAULT_MAX_EVENT_BYTES,
        }
    }

    /// Accepts lines up to `bytes` long.
    pub(crate) fn with_max_line(mut self, bytes: usize) -> Self {
        self.max_line = bytes;
        self
    }

    /// One part's bytes: the most final progress of the lines they complete.
    pub(crate) fn on_part(&mut self, bytes: &[u8], sink: &mut impl Sink) -> Result<Progress, RequestError> {
        let decoder = &mut self.decoder;
        let mut progress = Progress::More;
        if let ControlFlow::Break(e) = self.lines.feed(bytes, |line| decode(decoder, line, sink, &mut progress)) {
            return Err(e);
        }
        if self.lines.pending_len() > self.max_line {
            return Err(super::event_too_big("a line", self.max_line));
        }
        Ok(progress)
    }

    /// The stream closed: a last line without its newline is decoded too.
    pub(crate) fn finish(&mut self, sink: &mut impl Sink) -> Result<Progress, RequestError> {
        let decoder = &mut self.decoder;
        let mut progress = Progress::More;
        if let ControlFlow::Break(e) = self.lines.finish(|line| decode(decoder, line, sink, &mut progress)) {
            return Err(e);
        }
        Ok(progress)
    }
}

/// Decodes one line, keeping the most final progress; breaks on an error.
#[cfg(feature = "sagemaker")]
fn decode(
    decoder: &mut LineDecoder,
    line: &[u8],
    sink: &mut impl Sink,
    progress: &mut Progress,
) -> ControlFlow<RequestError> {
    match decoder.on_line(line, sink) {
        Ok(p) => {
            *progress = (*progress).max(p);
            ControlFlow::Continue(())
        }
        Err(e) => ControlFlow::Break(e),
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

// ---- Encoding ----

impl Format {
    /// The stop reason of a complete answer, or of one cut by its limit.
    pub(crate) fn stop_reason(self, length_limited: bool) -> &'static str {
        match (self, length_limited) {
            (_, true) => "length",
            (Format::Tgi | Format::Lmi, false) => "eos_token",
            (Format::OpenAi, false) => "stop",
        }
    }

    /// One content line saying `text`; `n` counts the tokens so far, this
    /// line's included. `openai` is what OpenAI-style chunks repeat.
    pub(crate) fn content_line(self, openai: &ChunkHead<'_>, text: &str, n: u64) -> Value {
        match self {
            Format::Tgi => json!({"index": n, "token": {"id": n, "text": text, "logprob": -0.1, "special": false},
                                  "generated_text": null, "details": null}),
            Format::Lmi => json!({"token": {"id": n, "text": text, "log_prob": -0.1}}),
            Format::OpenAi => openai.chunk(openai.content_choice(text)),
        }
    }

    /// The lines that end a complete answer (without `[DONE]`, whose
    /// framing the caller chooses). `text` is the whole answer, which TGI
    /// and LMI repeat; `usage_chunk` adds OpenAI's `include_usage` chunk.
    pub(crate) fn end_lines(self, openai: &ChunkHead<'_>, end: &End<'_>, usage_chunk: bool) -> Vec<Value> {
        let (input, output) = (end.input_tokens, end.output_tokens);
        match self {
            Format::Tgi => vec![json!({
                "index": output + 1, "token": {"id": 2, "text": "</s>", "logprob": 0.0, "special": true},
                "generated_text": end.text,
                "details": {"finish_reason": end.stop_reason, "generated_tokens": output, "seed": null,
                            "input_length": input}})],
            Format::Lmi => vec![json!({
                "token": {"id": 2, "text": "", "log_prob": 0.0, "special_token": true},
                "generated_text": end.text,
                "details": {"finish_reason": end.stop_reason, "generated_tokens": output, "input_length": input}})],
            Format::OpenAi => {
                let mut lines = vec![openai.chunk(openai.finish_choice(end.stop_reason))];
                if usage_chunk {
                    lines.push(openai.usage_chunk(input, output));
                }
                lines
            }
        }
    }

    /// Appends `json` as one line of this format's stream: a JSON line for
    /// LMI, an SSE `data:` event otherwise.
    pub(crate) fn write_line(self, out: &mut Vec<u8>, json: &str) {
        match self {
            Format::Lmi => {
                out.extend_from_slice(json.as_bytes());
                out.push(b'\n');
            }
            Format::Tgi | Format::OpenAi => write_sse_line(out, json),
        }
    }
}

/// How a complete answer ends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct End<'a> {
    pub(crate) text: &'a str,
    pub(crate) stop_reason: &'a str,
    pub(crate) input_tokens: u64,
    pub(crate) output_tokens: u64,
}

/// Appends `json` as an SSE `data:` line, written the way the containers do
/// (no space after the colon).
pub(crate) fn write_sse_line(out: &mut Vec<u8>, json: &str) {
    out.extend_from_slice(b"data:");
    out.extend_from_slice(json.as_bytes());
    out.extend_from_slice(b"\n\n");
}

/// An LMI batch-form line: the chunk's text in `outputs`, no end marker.
pub(crate) fn lmi_batch_line(text: &str) -> Value {
    json!({"outputs": [text]})
}

/// An LMI line reporting a failed generation, with HTTP 200.
pub(crate) fn lmi_error_line(generated_tokens: u64) -> Value {
    json!({"token": {"id": -1, "text": "", "log_prob": -1, "special_token": true},
           "generated_text": "", "details": {"finish_reason": "error", "generated_tokens": generated_tokens}})
}
