//! The simulator's AWS protocols, on the same server, delays, capacity and
//! error settings as its OpenAI one:
//!
//! - `POST /model/{id}/converse-stream` — Bedrock ConverseStream;
//! - `POST /model/{id}/invoke-with-response-stream` — Bedrock
//!   InvokeModelWithResponseStream, in the model family its body is written
//!   for (Anthropic, Meta, Nova, Titan, Mistral or OpenAI-style);
//! - `POST /endpoints/{name}/invocations-response-stream` — SageMaker, in
//!   the container format the body and `Accept` ask for (TGI, LMI, OpenAI).
//!
//! Responses are `application/vnd.amazon.eventstream` frames, paced like the
//! OpenAI stream. Failures look as each service makes them: Bedrock
//! throttles with HTTP 429 `ThrottlingException`, SageMaker with HTTP 400;
//! mid-stream errors are exception frames; a `cut` stream ends inside a
//! frame. The last events carry server-side metrics (`latencyMs`,
//! `amazon-bedrock-invocationMetrics`), measured from when the request was
//! read, so capacity queueing shows in them as on a real service.
//! Signatures are not checked.

mod body;
mod wire;

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::Value;
use tokio::time::Instant;

use super::server::{DEFAULT_MAX_TOKENS, MAX_REQUEST_BYTES, Shared, content_tokens, draws, prefill};
use super::stream::{MidStream, Schedule, SimBody, StreamCut};
use super::traffic::{PromptBlocks, ToolPlan, chat_text, reasoning_tokens};
use super::{SimConfig, SimError};
use crate::wire::bedrock::converse;
pub(crate) use body::FramedBody;
use wire::{Family, Format, Proto, Wire, WireSpec};

/// Which AWS operation a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    Converse,
    Invoke,
    SageMaker,
}

impl Route {
    fn service(self) -> Service {
        match self {
            Route::Converse | Route::Invoke => Service::Bedrock,
            Route::SageMaker => Service::SageMaker,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Service {
    Bedrock,
    SageMaker,
}

/// The AWS route of `request`, if it has one (any method: a wrong one gets
/// the service's own error).
pub(crate) fn route(request: &Request<Incoming>) -> Option<Route> {
    let path = request.uri().path();
    let mut parts = path.trim_start_matches('/').split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("model"), Some(_), Some("converse-stream"), None) => Some(Route::Converse),
        (Some("model"), Some(_), Some("invoke-with-response-stream"), None) => Some(Route::Invoke),
        (Some("endpoints"), Some(_), Some("invocations-response-stream"), None) => Some(Route::SageMaker),
        _ => None,
    }
}

/// Serves one AWS request.
pub(crate) async fn handle(
    route: Route,
    request: Request<Incoming>,
    shared: &Shared,
) -> Result<Response<SimBody>, StreamCut> {
    let service = route.service();
    if request.method() != Method::POST {
        return Ok(aws_error(service, StatusCode::METHOD_NOT_ALLOWED, "ValidationException", "sim: use POST"));
    }
    let accepted = Instant::now();
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let accept = header("x-amzn-sagemaker-accept");
    let variant = header("x-amzn-sagemaker-target-variant").unwrap_or_else(|| "AllTraffic".into());
    let model = request.uri().path().split('/').nth(2).unwrap_or("sim").to_owned();
    let body = match Limited::new(request.into_body(), MAX_REQUEST_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(aws_error(
                service,
                StatusCode::BAD_REQUEST,
                "ValidationException",
                "sim: unreadable request body",
            ));
        }
    };
    let parsed = match parse(route, &body, accept.as_deref()) {
        Ok(parsed) => parsed,
        Err(message) => return Ok(aws_error(service, StatusCode::BAD_REQUEST, "ValidationException", &message)),
    };
    let config: &SimConfig = &shared.config;
    let n = shared.requests.fetch_add(1, Ordering::Relaxed) + 1;
    let (failure, timing, words) = draws(config, n);
    let failure = match failure {
        None => None,
        Some(SimError::Throttled) => return Ok(throttled(service)),
        Some(SimError::Server) => {
            let code = if service == Service::Bedrock { "InternalServerException" } else { "InternalFailure" };
            return Ok(aws_error(service, StatusCode::INTERNAL_SERVER_ERROR, code, "sim: internal server error"));
        }
        Some(SimError::ModelStream) => Some(MidStream::ModelError),
        Some(SimError::Cut) => Some(MidStream::Cut),
    };
    let output_tokens = match (config.output_tokens, parsed.max_tokens) {
        (Some(fixed), Some(limit)) => fixed.min(limit),
        (fixed, limit) => fixed.or(limit).unwrap_or(DEFAULT_MAX_TOKENS),
    };
    let permit = match &shared.slots {
        Some(slots) => Arc::clone(slots).acquire_owned().await.ok(),
        None => None,
    };
    let (first_token, cache) = prefill(shared, &parsed.blocks, parsed.prompt_tokens, n);
    let reasoning_tokens = parsed.thinking.map_or(0, |budget| reasoning_tokens(output_tokens, budget));
    let tool = parsed.tool.as_ref().map(|(name, schema)| {
        let id = if parsed.proto == Proto::Converse { format!("tooluse_sim_{n}") } else { format!("toolu_sim_{n}") };
        ToolPlan { id, ..ToolPlan::new(name, schema, n) }
    });
    // A tool call is the answer: one token per argument piece.
    let output_tokens = tool.as_ref().map_or(output_tokens, |t| reasoning_tokens + t.pieces.len() as u32);
    let spec = WireSpec {
        id: format!("sim-{n}"),
        model,
        prompt_tokens: parsed.prompt_tokens,
        output_tokens,
        length_limited: tool.is_none() && parsed.max_tokens == Some(output_tokens),
        cache,
        reasoning_tokens,
        tool,
    };
    let schedule = Schedule::start(first_token, &config.ttft, config.itl, timing);
    let wire = Wire::new(parsed.proto, spec);
    let body = FramedBody::new(wire, output_tokens, config.chunk_tokens, failure, schedule, words, permit, accepted);
    let mut response = Response::new(SimBody::Framed(Box::new(body)));
    stream_headers(response.headers_mut(), parsed.proto, n, &variant);
    Ok(response)
}

/// The headers of a streamed response, as each service sends them.
fn stream_headers(headers: &mut hyper::HeaderMap, proto: Proto, n: u64, variant: &str) {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(crate::wire::eventstream::CONTENT_TYPE));
    headers.insert(HeaderName::from_static("x-amzn-requestid"), request_id(n));
    match proto {
        Proto::Converse => {}
        Proto::Invoke(_) => {
            headers.insert(
                HeaderName::from_static("x-amzn-bedrock-content-type"),
                HeaderValue::from_static("application/json"),
            );
        }
        Proto::SageMaker(format) => {
            headers.insert(
                HeaderName::from_static("x-amzn-sagemaker-content-type"),
                HeaderValue::from_static(format.accept()),
            );
            if let Ok(value) = HeaderValue::from_str(variant) {
                headers.insert(HeaderName::from_static("x-amzn-invoked-production-variant"), value);
            }
        }
    }
}

fn request_id(n: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("00000000-0000-4000-8000-{n:012}")).unwrap_or(HeaderValue::from_static("sim"))
}

/// What the simulator acts on in an AWS request.
#[derive(Debug, Clone, PartialEq)]
struct Parsed {
    proto: Proto,
    prompt_tokens: u32,
    max_tokens: Option<u32>,
    /// The prompt as the prefix cache sees it (cache points included).
    blocks: PromptBlocks,
    /// Extended thinking was asked for (with its budget, if one was
    /// given): the answer starts with reasoning.
    thinking: Option<Option<u32>>,
    /// The first declared tool (name, input schema): the answer is a call
    /// to it, unless the last message gives a tool's result.
    tool: Option<(String, Value)>,
}

/// Thinking and the tool to call, where the protocol has them: Converse's
/// `additionalModelRequestFields.thinking` and `toolConfig`, the Anthropic
/// family's `thinking` and `tools`.
fn thinking_and_tool(proto: Proto, v: &Value) -> (Option<Option<u32>>, Option<(String, Value)>) {
    let (thinking, spec, schema, result) = match proto {
        Proto::Converse => (
            &v["additionalModelRequestFields"]["thinking"],
            &v["toolConfig"]["tools"][0]["toolSpec"],
            "/inputSchema/json",
            "toolResult",
        ),
        Proto::Invoke(Family::Anthropic) => (&v["thinking"], &v["tools"][0], "/input_schema", "tool_result"),
        _ => return (None, None),
    };
    let budget = |t: &Value| t["budget_tokens"].as_u64().map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    let thinking = thinking.is_object().then(|| budget(thinking));
    let last = v["messages"].as_array().and_then(|m| m.last());
    let mut blocks = last.and_then(|m| m["content"].as_array()).into_iter().flatten();
    let answers_a_tool = blocks.any(|b| b.get(result).is_some() || b["type"] == result);
    let tool = spec["name"]
        .as_str()
        .filter(|_| !answers_a_tool)
        .map(|name| (name.to_owned(), spec.pointer(schema).cloned().unwrap_or(Value::Null)));
    (thinking, tool)
}

/// Reads a request body: the protocol variant it is written for, its
/// prompt length (by the workloads' default tokenizer) and its output limit.
fn parse(route: Route, body: &[u8], accept: Option<&str>) -> Result<Parsed, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("sim: the body is not JSON: {e}"))?;
    let (proto, max_tokens) = match route {
        Route::Converse => {
            if v.get("messages").is_none() {
                return Err("sim: `messages` is required".into());
            }
            (Proto::Converse, converse::max_tokens(&v))
        }
        Route::Invoke => {
            let family = Family::detect(&v).ok_or("sim: cannot tell the model family from the body")?;
            (Proto::Invoke(family), family.max_tokens(&v))
        }
        Route::SageMaker => {
            let format =
                Format::detect(&v, accept).ok_or("sim: expected `inputs` (TGI, LMI) or `messages` (OpenAI chat)")?;
            (Proto::SageMaker(format), format.max_tokens(&v))
        }
    };
    let max_tokens = max_tokens.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    if max_tokens == Some(0) {
        return Err("sim: the output limit must be at least 1".into());
    }
    let chars: u64 = ["messages", "system", "prompt", "inputText", "inputs"]
        .iter()
        .filter_map(|key| v.get(*key))
        .map(prompt_tokens)
        .sum();
    let blocks = match v.get("messages").and_then(Value::as_array) {
        Some(messages) => {
            let (text, cache_point) = chat_text(v.get("system"), messages);
            PromptBlocks::of(&text, cache_point)
        }
        None => {
            let text = ["prompt", "inputText", "inputs"].iter().find_map(|key| v.get(*key).and_then(Value::as_str));
            PromptBlocks::of(text.unwrap_or_default(), None)
        }
    };
    let (thinking, tool) = thinking_and_tool(proto, &v);
    let prompt_tokens = u32::try_from(chars).unwrap_or(u32::MAX).max(1);
    Ok(Parsed { proto, prompt_tokens, max_tokens, blocks, thinking, tool })
}

/// Prompt tokens in a message list, content blocks (images and tool calls
/// and results included) or text.
fn prompt_tokens(value: &Value) -> u64 {
    match value {
        Value::Array(items) => items.iter().map(prompt_tokens).sum(),
        Value::Object(m) if m.contains_key("image") || m.contains_key("source") => content_tokens(value),
        Value::Object(m) => {
            // Converse wraps a call or a result in a key of its own.
            if let Some(inner) = m.get("toolUse").or_else(|| m.get("toolResult")) {
                return prompt_tokens(inner);
            }
            // A call (Converse `toolUse`, Anthropic `tool_use`): its name and arguments.
            let call = m.get("input").map_or(0, |input| {
                content_tokens(&Value::String(input.to_string())) + m.get("name").map_or(0, content_tokens)
            });
            m.get("content").or_else(|| m.get("text")).map_or(0, prompt_tokens) + call
        }
        other => content_tokens(other),
    }
}

/// Throttling as each service signals it: Bedrock HTTP 429, SageMaker HTTP
/// 400 with a null message.
fn throttled(service: Service) -> Response<SimBody> {
    match service {
        Service::Bedrock => aws_error(
            service,
            StatusCode::TOO_MANY_REQUESTS,
            "ThrottlingException",
            "Too many requests, please wait before trying again.",
        ),
        Service::SageMaker => {
            error_response(StatusCode::BAD_REQUEST, "ThrottlingException", br#"{"message":null}"#.to_vec())
        }
    }
}

/// An AWS JSON error: the type in `x-amzn-errortype`, `{"message": …}` (or
/// `Message` for SageMaker) in the body.
fn aws_error(service: Service, status: StatusCode, code: &str, message: &str) -> Response<SimBody> {
    let key = if service == Service::SageMaker { "Message" } else { "message" };
    let body = serde_json::json!({ key: message }).to_string().into_bytes();
    let code = match service {
        Service::Bedrock => format!("{code}:http://internal.amazon.com/coral/com.amazon.bedrock/"),
        Service::SageMaker => code.to_owned(),
    };
    error_response(status, &code, body)
}

fn error_response(status: StatusCode, code: &str, body: Vec<u8>) -> Response<SimBody> {
    let mut response = Response::new(SimBody::Full(Some(Bytes::from(body))));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Ok(value) = HeaderValue::from_str(code) {
        headers.insert(HeaderName::from_static("x-amzn-errortype"), value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_say_which_variant_they_are() {
        type Case<'a> = (Route, &'a str, Option<&'a str>, Proto, Option<u32>);
        let cases: [Case<'_>; 9] = [
            (
                Route::Converse,
                r#"{"messages":[{"role":"user","content":[{"text":"abcdefgh"}]}],"inferenceConfig":{"maxTokens":5}}"#,
                None,
                Proto::Converse,
                Some(5),
            ),
            (
                Route::Invoke,
                r#"{"anthropic_version":"bedrock-2023-05-31","max_tokens":7,"messages":[]}"#,
                None,
                Proto::Invoke(Family::Anthropic),
                Some(7),
            ),
            (Route::Invoke, r#"{"prompt":"x","max_gen_len":3}"#, None, Proto::Invoke(Family::Meta), Some(3)),
            (
                Route::Invoke,
                r#"{"schemaVersion":"messages-v1","messages":[],"inferenceConfig":{"maxTokens":4}}"#,
                None,
                Proto::Invoke(Family::AmazonNova),
                Some(4),
            ),
            (
                Route::Invoke,
                r#"{"inputText":"x","textGenerationConfig":{"maxTokenCount":6}}"#,
                None,
                Proto::Invoke(Family::AmazonTitan),
                Some(6),
            ),
            (
                Route::Invoke,
                r#"{"prompt":"<s>[INST] x [/INST]","max_tokens":2}"#,
                None,
                Proto::Invoke(Family::Mistral),
                Some(2),
            ),
            (Route::Invoke, r#"{"messages":[],"max_tokens":8}"#, None, Proto::Invoke(Family::OpenAi), Some(8)),
            (
                Route::SageMaker,
                r#"{"inputs":"x","parameters":{"max_new_tokens":9}}"#,
                Some("application/jsonlines"),
                Proto::SageMaker(Format::Lmi),
                Some(9),
            ),
            (
                Route::SageMaker,
                r#"{"inputs":"x","parameters":{"max_new_tokens":9}}"#,
                Some("text/event-stream"),
                Proto::SageMaker(Format::Tgi),
                Some(9),
            ),
        ];
        for (route, body, accept, proto, max) in cases {
            let parsed = parse(route, body.as_bytes(), accept).unwrap();
            assert_eq!((parsed.proto, parsed.max_tokens), (proto, max), "{body}");
        }
        let converse = parse(Route::Converse, cases[0].1.as_bytes(), None).unwrap();
        assert_eq!(converse.prompt_tokens, crate::tokenizer::Tokenizer::default().count("abcdefgh"));
        assert!(parse(Route::Invoke, b"{}", None).unwrap_err().contains("family"));
        assert!(parse(Route::SageMaker, b"[", None).unwrap_err().contains("not JSON"));
    }
}
