//! The response bodies of [`MockLlm`](super::MockLlm): byte-exact streams of
//! each protocol, built from its settings.

use serde_json::{Value, json};

use super::{BedrockFamily, MockError, MockLlm, Protocol, SageMakerFormat};
use crate::wire::eventstream;

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

    fn stop(&self, default: &'static str) -> String {
        self.m.stop_reason.clone().unwrap_or_else(|| default.to_owned())
    }

    fn metrics(&self) -> Value {
        let (input, output) = self.usage();
        let mut m = json!({"inputTokenCount": input, "outputTokenCount": output,
                           "invocationLatency": self.m.server_latency_ms.unwrap_or(0)});
        if let Some(first) = self.m.first_byte_latency_ms {
            m["firstByteLatency"] = json!(first);
        }
        m
    }

    fn sse(&mut self, event: Option<&str>, data: &str) {
        if let Some(name) = event {
            self.out.extend_from_slice(format!("event: {name}\n").as_bytes());
        }
        self.out.extend_from_slice(format!("data: {data}\n\n").as_bytes());
    }

    fn converse(&mut self, event: &str, payload: Value) {
        eventstream::event(self.out, event, "application/json", payload.to_string().as_bytes());
    }

    fn chunk(&mut self, payload: Value) {
        eventstream::bedrock_chunk(self.out, payload.to_string().as_bytes());
    }

    /// Container bytes for SageMaker: a line, framed as PayloadParts.
    fn line(&mut self, line: &str) {
        let bytes = match self.m.protocol {
            Protocol::SageMaker(SageMakerFormat::Lmi) => format!("{line}\n"),
            _ => format!("data:{line}\n\n"),
        };
        self.text.extend_from_slice(bytes.as_bytes());
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

    fn openai_chunk(&self, choice: Value, usage: Option<Value>) -> String {
        let mut chunk = json!({"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 0,
                               "model": self.m.model, "choices": [choice]});
        if self.m.protocol == Protocol::OpenAiCompletions {
            chunk["object"] = json!("text_completion");
        }
        if let Some(usage) = usage {
            chunk["choices"] = json!([]);
            chunk["usage"] = usage;
        }
        chunk.to_string()
    }

    fn start(&mut self) {
        let (input, _) = self.usage();
        let model = self.m.model.clone();
        match &self.m.protocol {
            Protocol::OpenAiChat if self.m.role_chunk => {
                let data = self.openai_chunk(
                    json!({"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}),
                    None,
                );
                self.sse(None, &data);
            }
            Protocol::OpenAiChat | Protocol::OpenAiCompletions => {}
            Protocol::Anthropic => {
                let start = json!({"type": "message_start", "message": {"id": "msg_mock", "type": "message",
                    "role": "assistant", "model": model, "content": [], "usage": {"input_tokens": input, "output_tokens": 1}}});
                self.sse(Some("message_start"), &start.to_string());
                let block =
                    json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}});
                self.sse(Some("content_block_start"), &block.to_string());
                self.sse(Some("ping"), r#"{"type":"ping"}"#);
            }
            Protocol::BedrockConverse => self.converse("messageStart", json!({"role": "assistant"})),
            Protocol::BedrockInvoke(BedrockFamily::Anthropic) => {
                self.chunk(json!({"type": "message_start", "message": {"id": "msg_mock", "type": "message",
                    "role": "assistant", "model": model, "content": [], "usage": {"input_tokens": input, "output_tokens": 1}}}));
                self.chunk(
                    json!({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
                );
            }
            Protocol::BedrockInvoke(BedrockFamily::AmazonNova) => {
                self.chunk(json!({"messageStart": {"role": "assistant"}}))
            }
            Protocol::BedrockInvoke(BedrockFamily::OpenAi) if self.m.role_chunk => {
                let data = self.openai_chunk(
                    json!({"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}),
                    None,
                );
                self.chunk(serde_json::from_str(&data).unwrap_or_default());
            }
            Protocol::SageMaker(SageMakerFormat::OpenAi) if self.m.role_chunk => {
                let data = self.openai_chunk(
                    json!({"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}),
                    None,
                );
                self.line(&data);
            }
            Protocol::BedrockInvoke(_) | Protocol::SageMaker(_) => {}
        }
    }

    fn content(&mut self, token: &str) {
        self.sent += 1;
        let (input, _) = self.usage();
        let n = self.sent;
        match &self.m.protocol {
            Protocol::OpenAiChat => {
                let data =
                    self.openai_chunk(json!({"index": 0, "delta": {"content": token}, "finish_reason": null}), None);
                self.sse(None, &data);
            }
            Protocol::OpenAiCompletions => {
                let data = self.openai_chunk(json!({"index": 0, "text": token, "finish_reason": null}), None);
                self.sse(None, &data);
            }
            Protocol::Anthropic => {
                let delta =
                    json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": token}});
                self.sse(Some("content_block_delta"), &delta.to_string());
            }
            Protocol::BedrockConverse => self.converse(
                "contentBlockDelta",
                json!({"contentBlockIndex": 0, "delta": {"text": token}, "p": "abcdefghijklmnop"}),
            ),
            Protocol::BedrockInvoke(family) => {
                let payload = match family {
                    BedrockFamily::Anthropic => {
                        json!({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": token}})
                    }
                    BedrockFamily::Meta => json!({"generation": token, "prompt_token_count": (n == 1).then_some(input),
                                                  "generation_token_count": n, "stop_reason": null}),
                    BedrockFamily::AmazonNova => {
                        json!({"contentBlockDelta": {"delta": {"text": token}, "contentBlockIndex": 0}})
                    }
                    BedrockFamily::AmazonTitan => {
                        json!({"outputText": token, "index": 0, "totalOutputTextTokenCount": n,
                                                         "completionReason": null, "inputTextTokenCount": input})
                    }
                    BedrockFamily::Mistral => json!({"outputs": [{"text": token, "stop_reason": null}]}),
                    BedrockFamily::OpenAi => {
                        serde_json::from_str(&self.openai_chunk(
                            json!({"index": 0, "delta": {"content": token}, "finish_reason": null}),
                            None,
                        ))
                        .unwrap_or_default()
                    }
                };
                let mut payload = payload;
                payload["p"] = json!("abcdefgh");
                self.chunk(payload);
            }
            Protocol::SageMaker(format) => {
                let line = match format {
                    SageMakerFormat::Tgi => {
                        json!({"index": n, "token": {"id": n, "text": token, "logprob": -0.1, "special": false},
                                                   "generated_text": null, "details": null})
                        .to_string()
                    }
                    SageMakerFormat::Lmi => json!({"token": {"id": n, "text": token, "log_prob": -0.1}}).to_string(),
                    SageMakerFormat::LmiBatch => json!({"outputs": [token]}).to_string(),
                    SageMakerFormat::OpenAi => {
                        self.openai_chunk(json!({"index": 0, "delta": {"content": token}, "finish_reason": null}), None)
                    }
                };
                self.line(&line);
            }
        }
    }

    fn tail(&mut self) {
        let (input, output) = self.usage();
        let text: String = self.m.tokens.concat();
        match self.m.protocol.clone() {
            Protocol::OpenAiChat | Protocol::OpenAiCompletions => {
                let finish = self.stop("stop");
                let choice = if self.m.protocol == Protocol::OpenAiChat {
                    json!({"index": 0, "delta": {}, "finish_reason": finish})
                } else {
                    json!({"index": 0, "text": "", "finish_reason": finish})
                };
                let data = self.openai_chunk(choice, None);
                self.sse(None, &data);
                if self.m.usage_chunk {
                    let usage =
                        json!({"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output});
                    let data = self.openai_chunk(Value::Null, Some(usage));
                    self.sse(None, &data);
                }
                self.sse(None, "[DONE]");
            }
            Protocol::Anthropic => {
                self.sse(Some("content_block_stop"), r#"{"type":"content_block_stop","index":0}"#);
                let delta = json!({"type": "message_delta", "delta": {"stop_reason": self.stop("end_turn"), "stop_sequence": null},
                                   "usage": {"output_tokens": output}});
                self.sse(Some("message_delta"), &delta.to_string());
                self.sse(Some("message_stop"), r#"{"type":"message_stop"}"#);
            }
            Protocol::BedrockConverse => {
                self.converse("contentBlockStop", json!({"contentBlockIndex": 0}));
                let stop = self.stop("end_turn");
                self.converse("messageStop", json!({"stopReason": stop}));
                self.converse(
                    "metadata",
                    json!({"usage": {"inputTokens": input, "outputTokens": output, "totalTokens": input + output},
                           "metrics": {"latencyMs": self.m.server_latency_ms.unwrap_or(0)}}),
                );
            }
            Protocol::BedrockInvoke(family) => {
                let metrics = self.metrics();
                let last = match family {
                    BedrockFamily::Anthropic => {
                        self.chunk(json!({"type": "content_block_stop", "index": 0}));
                        let stop = self.stop("end_turn");
                        self.chunk(
                            json!({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": null},
                                          "usage": {"output_tokens": output}}),
                        );
                        json!({"type": "message_stop"})
                    }
                    BedrockFamily::Meta => json!({"generation": "", "prompt_token_count": null,
                                                  "generation_token_count": output, "stop_reason": self.stop("stop")}),
                    BedrockFamily::AmazonNova => {
                        self.chunk(json!({"contentBlockStop": {"contentBlockIndex": 0}}));
                        let stop = self.stop("end_turn");
                        self.chunk(json!({"messageStop": {"stopReason": stop}}));
                        json!({"metadata": {"usage": {"inputTokens": input, "outputTokens": output}}})
                    }
                    BedrockFamily::AmazonTitan => {
                        json!({"outputText": "", "index": 0, "totalOutputTextTokenCount": output,
                                                         "completionReason": self.stop("FINISH"), "inputTextTokenCount": input})
                    }
                    BedrockFamily::Mistral => json!({"outputs": [{"text": "", "stop_reason": self.stop("stop")}]}),
                    BedrockFamily::OpenAi => serde_json::from_str(
                        &self.openai_chunk(json!({"index": 0, "delta": {}, "finish_reason": self.stop("stop")}), None),
                    )
                    .unwrap_or_default(),
                };
                let mut last = last;
                last["amazon-bedrock-invocationMetrics"] = metrics;
                self.chunk(last);
            }
            Protocol::SageMaker(format) => {
                match format {
                    SageMakerFormat::Tgi => {
                        let line = json!({"index": output + 1, "token": {"id": 2, "text": "</s>", "logprob": 0.0, "special": true},
                                          "generated_text": text,
                                          "details": {"finish_reason": self.stop("eos_token"), "generated_tokens": output,
                                                      "seed": null, "input_length": input}});
                        self.line(&line.to_string());
                    }
                    SageMakerFormat::Lmi => {
                        let line = json!({"token": {"id": 2, "text": "", "log_prob": 0.0, "special_token": true},
                                          "generated_text": text,
                                          "details": {"finish_reason": self.stop("eos_token"), "generated_tokens": output,
                                                      "input_length": input}});
                        self.line(&line.to_string());
                    }
                    SageMakerFormat::LmiBatch => {}
                    SageMakerFormat::OpenAi => {
                        let data = self
                            .openai_chunk(json!({"index": 0, "delta": {}, "finish_reason": self.stop("stop")}), None);
                        self.line(&data);
                        if self.m.usage_chunk {
                            let usage = json!({"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output});
                            let data = self.openai_chunk(Value::Null, Some(usage));
                            self.line(&data);
                        }
                        self.line("[DONE]");
                    }
                }
                self.flush_parts(true);
            }
        }
    }

    fn error(&mut self, error: MockError) {
        let message = "mock: injected error";
        match self.m.protocol.clone() {
            Protocol::OpenAiChat | Protocol::OpenAiCompletions => {
                let kind = match error {
                    MockError::Throttled => "rate_limit_error",
                    MockError::Validation => "invalid_request_error",
                    _ => "server_error",
                };
                self.sse(None, &json!({"error": {"message": message, "type": kind, "code": 500}}).to_string());
                self.sse(None, "[DONE]");
            }
            Protocol::Anthropic => {
                let kind = match error {
                    MockError::Throttled => "rate_limit_error",
                    MockError::Validation => "invalid_request_error",
                    MockError::ServiceUnavailable => "overloaded_error",
                    _ => "api_error",
                };
                self.sse(
                    Some("error"),
                    &json!({"type": "error", "error": {"type": kind, "message": message}}).to_string(),
                );
            }
            Protocol::BedrockConverse | Protocol::BedrockInvoke(_) | Protocol::SageMaker(_)
                if error == MockError::Unmodelled =>
            {
                self.flush_parts(true);
                eventstream::error(self.out, "InternalFailure", message);
            }
            Protocol::BedrockConverse | Protocol::BedrockInvoke(_) => {
                let (kind, payload) = match error {
                    MockError::Throttled => ("throttlingException", json!({"message": message})),
                    MockError::ModelStream => (
                        "modelStreamErrorException",
                        json!({"message": message, "originalStatusCode": 500, "originalMessage": "model failed"}),
                    ),
                    MockError::Server | MockError::Unmodelled => {
                        ("internalServerException", json!({"message": message}))
                    }
                    MockError::ServiceUnavailable => ("serviceUnavailableException", json!({"message": message})),
                    MockError::Validation => ("validationException", json!({"message": message})),
                    MockError::ModelTimeout => ("modelTimeoutException", json!({"message": message})),
                };
                eventstream::exception(self.out, kind, payload.to_string().as_bytes());
            }
            Protocol::SageMaker(format) => {
                if format == SageMakerFormat::Lmi && error == MockError::ModelStream {
                    // LMI reports a failed generation in a line, with HTTP 200.
                    let line = json!({"token": {"id": -1, "text": "", "log_prob": -1, "special_token": true},
                                      "generated_text": "", "details": {"finish_reason": "error", "generated_tokens": self.sent}});
                    self.line(&line.to_string());
                    self.flush_parts(true);
                    return;
                }
                self.flush_parts(true);
                let (kind, payload) = match error {
                    MockError::Server | MockError::ServiceUnavailable => {
                        ("InternalStreamFailure", json!({"Message": message}))
                    }
                    _ => ("ModelStreamError", json!({"Message": message, "ErrorCode": "ModelInvocationTimeExceeded"})),
                };
                eventstream::exception(self.out, kind, payload.to_string().as_bytes());
            }
        }
    }
}
