//! The bytes of the simulator's Bedrock and SageMaker streams: event stream
//! frames (via [`crate::eventstream`]) holding each protocol's JSON, for the
//! start of a response, each content chunk, its end with usage and
//! server-side metrics, and an in-stream model error.

use serde_json::{Value, json};

use crate::eventstream;

/// A Bedrock `InvokeModelWithResponseStream` model family, as the simulator
/// recognises it from the request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Anthropic,
    Meta,
    Nova,
    Titan,
    Mistral,
    OpenAi,
}

/// A SageMaker container format, recognised from the body and `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Tgi,
    Lmi,
    OpenAi,
}

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
}

/// Server-side timings reported at the end: milliseconds since the request
/// was accepted, to its end and to its first content.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ServerTimes {
    pub latency_ms: u64,
    pub first_byte_ms: u64,
}

/// Encodes one response's frames; keeps what later frames need.
#[derive(Debug)]
pub(crate) struct Wire {
    proto: Proto,
    spec: WireSpec,
    /// Tokens sent so far.
    sent: u32,
    /// The text so far (TGI and LMI repeat it in `generated_text`).
    text: String,
}

impl Wire {
    pub(crate) fn new(proto: Proto, spec: WireSpec) -> Wire {
        let keep_text = matches!(proto, Proto::SageMaker(Format::Tgi | Format::Lmi));
        let capacity = if keep_text { (spec.output_tokens.min(4096) as usize) * 8 } else { 0 };
        Wire { proto, spec, sent: 0, text: String::with_capacity(capacity) }
    }

    /// Frames before the first content (may be none).
    pub(crate) fn start(&mut self, out: &mut Vec<u8>) {
        let s = &self.spec;
        match self.proto {
            Proto::Converse => event(out, "messageStart", &json!({"role": "assistant"})),
            Proto::Invoke(Family::Anthropic) => {
                let start = json!({"type": "message_start", "message": {
                    "id": s.id, "type": "message", "role": "assistant", "model": s.model, "content": [],
                    "stop_reason": null, "usage": {"input_tokens": s.prompt_tokens, "output_tokens": 1}}});
                chunk(out, &start);
                chunk(
                    out,
                    &json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
                );
            }
            Proto::Invoke(Family::Nova) => chunk(out, &json!({"messageStart": {"role": "assistant"}})),
            Proto::Invoke(Family::OpenAi) => {
                chunk(out, &self.openai_chunk(json!({"role": "assistant", "content": ""}), None))
            }
            Proto::SageMaker(Format::OpenAi) => {
                let line = self.openai_chunk(json!({"role": "assistant", "content": ""}), None);
                sse_part(out, &line);
            }
            Proto::Invoke(Family::Meta | Family::Titan | Family::Mistral)
            | Proto::SageMaker(Format::Tgi | Format::Lmi) => {}
        }
    }

    /// One content chunk of `tokens` tokens saying `text`.
    pub(crate) fn content(&mut self, text: &str, tokens: u32, out: &mut Vec<u8>) {
        let first = self.sent == 0;
        self.sent += tokens;
        let s = &self.spec;
        match self.proto {
            Proto::Converse => {
                // `p`: Bedrock pads events with a random-length field.
                event(
                    out,
                    "contentBlockDelta",
                    &json!({"contentBlockIndex": 0, "delta": {"text": text}, "p": "abcdefgh"}),
                );
            }
            Proto::Invoke(Family::Anthropic) => chunk(
                out,
                &json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}),
            ),
            Proto::Invoke(Family::Meta) => chunk(
                out,
                &json!({"generation": text, "prompt_token_count": first.then_some(s.prompt_tokens),
                        "generation_token_count": self.sent, "stop_reason": null}),
            ),
            Proto::Invoke(Family::Nova) => {
                chunk(out, &json!({"contentBlockDelta": {"delta": {"text": text}, "contentBlockIndex": 0}}))
            }
            Proto::Invoke(Family::Titan) => chunk(
                out,
                &json!({"outputText": text, "index": 0, "totalOutputTextTokenCount": self.sent,
                        "completionReason": null, "inputTextTokenCount": s.prompt_tokens}),
            ),
            Proto::Invoke(Family::Mistral) => chunk(out, &json!({"outputs": [{"text": text, "stop_reason": null}]})),
            Proto::Invoke(Family::OpenAi) => chunk(out, &self.openai_chunk(json!({"content": text}), None)),
            Proto::SageMaker(format) => {
                let line = match format {
                    Format::Tgi => {
                        json!({"index": self.sent, "token": {"id": self.sent, "text": text, "logprob": -0.1, "special": false},
                                          "generated_text": null, "details": null})
                    }
                    Format::Lmi => json!({"token": {"id": self.sent, "text": text, "log_prob": -0.1}}),
                    Format::OpenAi => self.openai_chunk(json!({"content": text}), None),
                };
                self.text.push_str(text);
                match format {
                    Format::Lmi => jsonl_part(out, &line),
                    Format::Tgi | Format::OpenAi => sse_part(out, &line),
                }
            }
        }
    }

    /// The end of a complete response: stop reason, usage, server metrics.
    pub(crate) fn tail(&mut self, times: ServerTimes, out: &mut Vec<u8>) {
        let s = &self.spec;
        let (prompt, output) = (s.prompt_tokens, s.output_tokens);
        let limited = s.length_limited;
        let metrics = json!({"inputTokenCount": prompt, "outputTokenCount": output,
                             "invocationLatency": times.latency_ms, "firstByteLatency": times.first_byte_ms});
        let with_metrics = |mut v: Value| {
            v["amazon-bedrock-invocationMetrics"] = metrics.clone();
            v
        };
        match self.proto {
            Proto::Converse => {
                event(out, "contentBlockStop", &json!({"contentBlockIndex": 0}));
                event(out, "messageStop", &json!({"stopReason": if limited { "max_tokens" } else { "end_turn" }}));
                event(
                    out,
                    "metadata",
                    &json!({"usage": {"inputTokens": prompt, "outputTokens": output, "totalTokens": prompt + output},
                            "metrics": {"latencyMs": times.latency_ms}}),
                );
            }
            Proto::Invoke(Family::Anthropic) => {
                chunk(out, &json!({"type": "content_block_stop", "index": 0}));
                let reason = if limited { "max_tokens" } else { "end_turn" };
                chunk(
                    out,
                    &json!({"type": "message_delta", "delta": {"stop_reason": reason, "stop_sequence": null},
                            "usage": {"output_tokens": output}}),
                );
                chunk(out, &with_metrics(json!({"type": "message_stop"})));
            }
            Proto::Invoke(Family::Meta) => chunk(
                out,
                &with_metrics(json!({"generation": "", "prompt_token_count": null, "generation_token_count": output,
                                     "stop_reason": if limited { "length" } else { "stop" }})),
            ),
            Proto::Invoke(Family::Nova) => {
                chunk(out, &json!({"contentBlockStop": {"contentBlockIndex": 0}}));
                chunk(out, &json!({"messageStop": {"stopReason": if limited { "max_tokens" } else { "end_turn" }}}));
                chunk(
                    out,
                    &with_metrics(json!({"metadata": {"usage": {"inputTokens": prompt, "outputTokens": output}}})),
                );
            }
            Proto::Invoke(Family::Titan) => chunk(
                out,
                &with_metrics(json!({"outputText": "", "index": 0, "totalOutputTextTokenCount": output,
                                     "completionReason": if limited { "LENGTH" } else { "FINISH" },
                                     "inputTextTokenCount": prompt})),
            ),
            Proto::Invoke(Family::Mistral) => chunk(
                out,
                &with_metrics(
                    json!({"outputs": [{"text": "", "stop_reason": if limited { "length" } else { "stop" }}]}),
                ),
            ),
            Proto::Invoke(Family::OpenAi) => {
                let reason = if limited { "length" } else { "stop" };
                chunk(out, &with_metrics(self.openai_chunk(json!({}), Some(reason))));
            }
            Proto::SageMaker(Format::Tgi) => {
                let line = json!({"index": output + 1, "token": {"id": 2, "text": "</s>", "logprob": 0.0, "special": true},
                                  "generated_text": self.text,
                                  "details": {"finish_reason": if limited { "length" } else { "eos_token" },
                                              "generated_tokens": output, "seed": null, "input_length": prompt}});
                sse_part(out, &line);
            }
            Proto::SageMaker(Format::Lmi) => {
                let line = json!({"token": {"id": 2, "text": "", "log_prob": 0.0, "special_token": true},
                                  "generated_text": self.text,
                                  "details": {"finish_reason": if limited { "length" } else { "eos_token" },
                                              "generated_tokens": output, "input_length": prompt}});
                jsonl_part(out, &line);
            }
            Proto::SageMaker(Format::OpenAi) => {
                let reason = if limited { "length" } else { "stop" };
                sse_part(out, &self.openai_chunk(json!({}), Some(reason)));
                let usage = json!({"id": s.id, "object": "chat.completion.chunk", "model": s.model, "choices": [],
                                   "usage": {"prompt_tokens": prompt, "completion_tokens": output,
                                             "total_tokens": prompt + output}});
                sse_part(out, &usage);
                eventstream::sagemaker_part(out, b"data: [DONE]\n\n");
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

    fn openai_chunk(&self, delta: Value, finish: Option<&str>) -> Value {
        json!({"id": self.spec.id, "object": "chat.completion.chunk", "model": self.spec.model,
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    }
}

/// A Bedrock event frame with a JSON payload.
fn event(out: &mut Vec<u8>, event_type: &str, payload: &Value) {
    eventstream::event(out, event_type, "application/json", payload.to_string().as_bytes());
}

/// An InvokeModelWithResponseStream chunk frame.
fn chunk(out: &mut Vec<u8>, model_json: &Value) {
    eventstream::bedrock_chunk(out, model_json.to_string().as_bytes());
}

/// One SSE `data:` line in two PayloadParts, split mid-line: SageMaker does
/// not promise that parts end at line ends, so neither does the simulator.
fn sse_part(out: &mut Vec<u8>, line: &Value) {
    let bytes = format!("data:{line}\n\n").into_bytes();
    split_parts(out, &bytes);
}

/// One JSON line in two PayloadParts, split mid-line.
fn jsonl_part(out: &mut Vec<u8>, line: &Value) {
    let mut bytes = line.to_string().into_bytes();
    bytes.push(b'\n');
    split_parts(out, &bytes);
}

fn split_parts(out: &mut Vec<u8>, bytes: &[u8]) {
    let (a, b) = bytes.split_at(bytes.len() / 2);
    eventstream::sagemaker_part(out, a);
    eventstream::sagemaker_part(out, b);
}
