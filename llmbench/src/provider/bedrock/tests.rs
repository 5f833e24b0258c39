//! The Bedrock provider through the real SDK client against wiremock
//! (byte-exact streams from [`crate::mock`]) and a paced raw server.

use std::time::{Duration, Instant};

use wiremock::matchers::{header, method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::*;
use crate::mock::{BedrockFamily, HttpError, MockError, MockLlm};
use crate::provider::{Message, Role};
use crate::record::{Deadlines, ErrorClass, Phase, RequestRecord, TokenSource};

const GENEROUS: Deadlines =
    Deadlines { first_content: Duration::from_secs(10), total: Duration::from_secs(20), idle: Duration::from_secs(20) };
const MODEL: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";

fn settings(url: String, api: Api) -> BedrockSettings {
    BedrockSettings {
        aws: AwsSettings {
            endpoint_url: Some(url),
            hermetic: true,
            connect_timeout: Duration::from_secs(2),
            ..AwsSettings::default()
        },
        model: MODEL.into(),
        api,
        latency: None,
        service_tier: None,
        extra: None,
    }
}

fn request() -> GenRequest {
    GenRequest {
        messages: vec![Message::new(Role::System, "Be brief."), Message::new(Role::User, "Say hello.")],
        max_tokens: Some(16),
        temperature: Some(0.5),
        ..GenRequest::default()
    }
}

async fn run(settings: BedrockSettings, deadlines: Deadlines) -> RequestRecord {
    let provider = BedrockProvider::new(settings).await.expect("hermetic settings");
    let mut tl = Timeline::new(Instant::now(), deadlines, 16, true);
    let outcome = provider.send(&request(), &mut tl).await;
    tl.into_record(0, Phase::Measured, outcome.err(), Instant::now(), 0)
}

async fn mocked(mock: MockLlm, api: Api) -> RequestRecord {
    let server = MockServer::start().await;
    mock.mount(&server).await;
    run(settings(server.uri(), api), GENEROUS).await
}

#[tokio::test]
async fn converse_stream_gives_tokens_usage_and_server_latency() {
    let mock = MockLlm::bedrock_converse(MODEL).tokens(["Hello", ",", " world"]).usage(12, 3).server_latency_ms(42);
    let rec = mocked(mock, Api::Converse).await;
    assert_eq!(rec.error, None);
    assert_eq!(rec.text.as_deref(), Some("Hello, world"));
    assert_eq!((rec.chunks, rec.output_tokens, rec.output_source), (3, 3, TokenSource::Usage));
    assert_eq!(rec.input_tokens, Some(12));
    assert_eq!(rec.server_latency_ms, Some(42.0));
    assert_eq!(rec.stop_reason.as_deref(), Some("end_turn"));
    assert!(rec.ttfb_ms.is_some() && rec.ttft_ms.is_some());
    assert_eq!(rec.response_id.as_deref(), Some("00000000-0000-4000-8000-000000000001"));
}

#[tokio::test]
async fn converse_request_carries_messages_system_and_inference_config() {
    let server = MockServer::start().await;
    MockLlm::bedrock_converse(MODEL).expect_max_tokens(16).expect(1).mount(&server).await;
    let mut s = settings(server.uri(), Api::Converse);
    s.latency = Some("optimized".into());
    s.extra = serde_json::json!({"top_k": 5}).as_object().cloned();
    let rec = run(s, GENEROUS).await;
    assert_eq!(rec.error, None);
    let requests = server.received_requests().await.expect("recording");
    let body: Value = serde_json::from_slice(&requests[0].body).expect("JSON body");
    assert_eq!(body["system"][0]["text"], "Be brief.");
    assert_eq!(body["messages"][0]["role"], "user");
    assert_eq!(body["messages"][0]["content"][0]["text"], "Say hello.");
    assert_eq!(body["inferenceConfig"]["maxTokens"], 16);
    assert_eq!(body["inferenceConfig"]["temperature"], 0.5);
    assert_eq!(body["performanceConfig"]["latency"], "optimized");
    assert_eq!(body["additionalModelRequestFields"]["top_k"], 5);
    // SigV4-signed, with the fake credentials of a hermetic client.
    let auth = requests[0].headers.get("authorization").expect("signed").to_str().unwrap();
    assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=llmbench-sim/"), "{auth}");
}

#[tokio::test]
async fn every_invoke_family_gives_tokens_usage_and_invocation_metrics() {
    let families = [
        (BedrockFamily::Anthropic, Family::Anthropic, "end_turn"),
        (BedrockFamily::Meta, Family::Meta, "stop"),
        (BedrockFamily::AmazonNova, Family::AmazonNova, "end_turn"),
        (BedrockFamily::AmazonTitan, Family::AmazonTitan, "FINISH"),
        (BedrockFamily::Mistral, Family::Mistral, "stop"),
        (BedrockFamily::OpenAi, Family::OpenAi, "stop"),
    ];
    for (mock_family, family, stop) in families {
        let mock = MockLlm::bedrock_invoke(MODEL, mock_family)
            .tokens(["Hi", " there", "!"])
            .usage(9, 3)
            .server_latency_ms(225)
            .first_byte_latency_ms(191)
            .expect_max_tokens(16);
        let rec = mocked(mock, Api::Invoke(family)).await;
        assert_eq!(rec.error, None, "{family:?}");
        assert_eq!(rec.text.as_deref(), Some("Hi there!"), "{family:?}");
        assert_eq!((rec.chunks, rec.output_tokens, rec.input_tokens), (3, 3, Some(9)), "{family:?}");
        assert_eq!((rec.server_latency_ms, rec.server_first_byte_ms), (Some(225.0), Some(191.0)), "{family:?}");
        assert_eq!(rec.stop_reason.as_deref(), Some(stop), "{family:?}");
    }
}

#[tokio::test]
async fn invoke_bodies_are_the_families_own() {
    let server = MockServer::start().await;
    for family in [BedrockFamily::Anthropic, BedrockFamily::Meta, BedrockFamily::AmazonTitan] {
        MockLlm::bedrock_invoke(MODEL, family).expect_max_tokens(16).expect(1).mount(&server).await;
    }
    for family in [Family::Anthropic, Family::Meta, Family::AmazonTitan] {
        let rec = run(settings(server.uri(), Api::Invoke(family)), GENEROUS).await;
        assert_eq!(rec.error, None, "{family:?}");
    }
    let requests = server.received_requests().await.expect("recording");
    let bodies: Vec<Value> = requests.iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    assert_eq!(bodies[0]["anthropic_version"], "bedrock-2023-05-31");
    assert_eq!(bodies[0]["system"], "Be brief.");
    assert!(bodies[1]["prompt"].as_str().unwrap().contains("<|start_header_id|>user<|end_header_id|>\n\nSay hello."));
    assert_eq!(bodies[2]["textGenerationConfig"]["maxTokenCount"], 16);
}

#[tokio::test]
async fn http_errors_are_classified_by_error_type() {
    let cases = [
        (HttpError::Throttled, ErrorClass::Throttled, 429),
        (HttpError::NotReady, ErrorClass::NotReady, 429),
        (HttpError::Validation, ErrorClass::Client, 400),
        (HttpError::AccessDenied, ErrorClass::Client, 403),
        (HttpError::Server, ErrorClass::Server, 500),
        (HttpError::ServiceUnavailable, ErrorClass::Server, 503),
        (HttpError::ModelError, ErrorClass::Server, 424),
        (HttpError::QuotaExceeded, ErrorClass::Throttled, 400),
    ];
    for (error, class, status) in cases {
        for api in [Api::Converse, Api::Invoke(Family::Anthropic)] {
            let mock = match api {
                Api::Converse => MockLlm::bedrock_converse(MODEL),
                Api::Invoke(_) => MockLlm::bedrock_invoke(MODEL, BedrockFamily::Anthropic),
            };
            let rec = mocked(mock.http_error(error), api).await;
            let e = rec.error.expect("an error");
            assert_eq!((e.class, e.status), (class, Some(status)), "{error:?} {api:?}: {e}");
            assert!(e.message.contains("mock: injected error"), "{e}");
        }
    }
}

#[tokio::test]
async fn in_stream_exceptions_are_classified_and_keep_earlier_tokens() {
    let cases = [
        (MockError::Throttled, ErrorClass::Throttled),
        (MockError::ModelStream, ErrorClass::ModelStream),
        (MockError::Server, ErrorClass::Server),
        (MockError::ServiceUnavailable, ErrorClass::Server),
        (MockError::Validation, ErrorClass::Client),
        (MockError::ModelTimeout, ErrorClass::Timeout),
        (MockError::Unmodelled, ErrorClass::Server),
    ];
    for (error, class) in cases {
        for api in [Api::Converse, Api::Invoke(Family::Meta)] {
            let mock = match api {
                Api::Converse => MockLlm::bedrock_converse(MODEL),
                Api::Invoke(_) => MockLlm::bedrock_invoke(MODEL, BedrockFamily::Meta),
            };
            let rec = mocked(mock.fail_after(2, error), api).await;
            let e = rec.error.as_ref().expect("an error");
            assert_eq!(e.class, class, "{error:?} {api:?}: {e}");
            assert!(e.message.contains("in stream"), "{e}");
            assert_eq!(rec.text.as_deref(), Some("Hello,"), "{error:?} {api:?}");
        }
    }
}

#[tokio::test]
async fn a_stream_cut_inside_a_frame_or_before_the_end_is_cut() {
    let rec = mocked(MockLlm::bedrock_converse(MODEL).truncate_after(2), Api::Converse).await;
    let e = rec.error.expect("an error");
    assert_eq!(e.class, ErrorClass::Cut, "{e}");
    assert_eq!(rec.chunks, 2);

    // Whole frames, then a clean close without messageStop.
    let mut body = Vec::new();
    crate::wire::eventstream::event(&mut body, "messageStart", "application/json", br#"{"role":"assistant"}"#);
    crate::wire::eventstream::event(
        &mut body,
        "contentBlockDelta",
        "application/json",
        br#"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#,
    );
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, crate::wire::eventstream::CONTENT_TYPE))
        .mount(&server)
        .await;
    let rec = run(settings(server.uri(), Api::Converse), GENEROUS).await;
    let e = rec.error.expect("an error");
    assert_eq!((e.class, e.message.as_str()), (ErrorClass::Cut, "stream closed before messageStop"));
}

#[tokio::test]
async fn a_refused_connection_is_a_server_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    let rec = run(settings(format!("http://127.0.0.1:{port}"), Api::Converse), GENEROUS).await;
    let e = rec.error.expect("an error");
    assert_eq!(e.class, ErrorClass::Server, "{e}");
    assert!(e.message.starts_with("connection failed"), "{e}");
}

#[tokio::test]
async fn retries_are_off_by_default_and_counted_when_on() {
    let server = MockServer::start().await;
    MockLlm::bedrock_converse(MODEL).http_error(HttpError::Throttled).mount(&server).await;
    let rec = run(settings(server.uri(), Api::Converse), GENEROUS).await;
    assert_eq!(rec.error.map(|e| e.class), Some(ErrorClass::Throttled));
    assert_eq!(rec.attempts, None);
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    let server = MockServer::start().await;
    MockLlm::bedrock_converse(MODEL).http_error(HttpError::Throttled).mount(&server).await;
    let mut s = settings(server.uri(), Api::Converse);
    s.aws.retries = 1;
    let rec = run(s, GENEROUS).await;
    assert_eq!(rec.error.map(|e| e.class), Some(ErrorClass::Throttled));
    assert_eq!(rec.attempts, Some(2));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn an_api_key_is_sent_as_a_bearer_token_and_never_printed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("/converse-stream$"))
        .and(header("authorization", "Bearer ABSK-test-key"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(MockLlm::bedrock_converse(MODEL).body(), crate::wire::eventstream::CONTENT_TYPE),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut s = settings(server.uri(), Api::Converse);
    s.aws.bearer_token = Some("ABSK-test-key".into());
    let provider = BedrockProvider::new(s).await.expect("settings");
    assert!(!format!("{provider:?}").contains("ABSK-test-key"));
    let mut tl = Timeline::new(Instant::now(), GENEROUS, 16, true);
    assert_eq!(provider.send(&request(), &mut tl).await, Ok(()));
}

#[tokio::test]
async fn unknown_body_fields_are_ignored() {
    let server = MockServer::start().await;
    MockLlm::bedrock_converse(MODEL).tokens(["a"]).mount(&server).await;
    let rec = run(settings(server.uri(), Api::Converse), GENEROUS).await;
    // The mock pads every delta with Bedrock's random `p` field.
    assert_eq!((rec.error, rec.text.as_deref()), (None, Some("a")));
}

/// Frames split across reads at awkward places, with pauses: the SDK joins
/// them, and each token is stamped when it arrives, not when the body ends.
#[tokio::test]
async fn frames_split_across_reads_are_joined_and_stamped_on_arrival() {
    let body = MockLlm::bedrock_converse(MODEL).tokens(["one", " two", " three"]).usage(5, 3).body();
    // 7-byte pieces; a 150 ms pause before the piece holding the first
    // delta's end, so the first token cannot be seen before it.
    let pieces: Vec<Vec<u8>> = body.chunks(7).map(<[u8]>::to_vec).collect();
    let first_delta_end = {
        let mut buf = &body[..];
        for _ in 0..2 {
            aws_smithy_eventstream::frame::read_message_from(&mut buf).expect("messageStart, then the first delta");
        }
        body.len() - buf.len() - 1
    };
    let pause_at = first_delta_end / 7;
    let parts: Vec<(Duration, Vec<u8>)> = pieces
        .into_iter()
        .enumerate()
        .map(|(i, p)| (if i == pause_at { Duration::from_millis(150) } else { Duration::ZERO }, p))
        .collect();
    let url = paced_server(parts).await;
    let rec = run(settings(url, Api::Converse), GENEROUS).await;
    assert_eq!(rec.error, None);
    assert_eq!(rec.text.as_deref(), Some("one two three"));
    let ttft = rec.ttft_ms.expect("ttft");
    assert!(ttft >= 140.0, "ttft {ttft} ms");
}

/// One connection: answers the first request with `parts` as chunks of an
/// event-stream body, each after its pause, then ends the body.
async fn paced_server(parts: Vec<(Duration, Vec<u8>)>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        socket.set_nodelay(true).expect("nodelay");
        let mut buf = Vec::new();
        let mut chunk = [0; 4096];
        loop {
            let n = socket.read(&mut chunk).await.expect("read");
            buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if buf.len() >= end + 4 + length {
                    break;
                }
            }
            if n == 0 {
                return;
            }
        }
        let head =
            "HTTP/1.1 200 OK\r\ncontent-type: application/vnd.amazon.eventstream\r\ntransfer-encoding: chunked\r\n\r\n";
        socket.write_all(head.as_bytes()).await.expect("write");
        for (pause, part) in parts {
            tokio::time::sleep(pause).await;
            let mut framed = format!("{:x}\r\n", part.len()).into_bytes();
            framed.extend_from_slice(&part);
            framed.extend_from_slice(b"\r\n");
            if socket.write_all(&framed).await.is_err() {
                return;
            }
        }
        let _ = socket.write_all(b"0\r\n\r\n").await;
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn converse_sends_cache_points_image_blocks_tool_config_and_thinking() {
    let server = MockServer::start().await;
    MockLlm::bedrock_converse(MODEL).expect(1).mount(&server).await;
    let provider = BedrockProvider::new(settings(server.uri(), Api::Converse)).await.expect("hermetic settings");
    let req = GenRequest {
        messages: vec![Message::new(Role::System, "Shared handbook."), Message::new(Role::User, "Weather in Paris?")],
        max_tokens: Some(4096),
        thinking_budget: Some(2048),
        tools: vec![crate::request::Tool {
            name: "get_weather".into(),
            description: "Current weather".into(),
            parameters: serde_json::json!({"type": "object", "required": ["city"]}),
        }],
        images: vec![crate::workload::image::image(1, 0)],
        cache_prefix: true,
        ..GenRequest::default()
    };
    let mut tl = Timeline::new(Instant::now(), GENEROUS, 16, false);
    assert_eq!(provider.send(&req, &mut tl).await, Ok(()));
    let requests = server.received_requests().await.expect("recording");
    // Equal as JSON: the SDK holds documents (the schema, the model's own
    // fields) in hash maps, so their key order differs from run to run.
    let body: Value = serde_json::from_slice(&requests[0].body).expect("JSON body");
    let fixture = include_str!("../../../tests/fixtures/requests/bedrock_converse.json");
    assert_eq!(body, serde_json::from_str::<Value>(fixture).unwrap());
}

#[tokio::test]
async fn converse_sends_an_agent_step_as_tool_use_and_tool_result_blocks() {
    let server = MockServer::start().await;
    MockLlm::bedrock_converse(MODEL).expect(1).mount(&server).await;
    let provider = BedrockProvider::new(settings(server.uri(), Api::Converse)).await.expect("hermetic settings");
    let call = |id: &str, city: &str| crate::request::ToolCall {
        id: id.into(),
        name: "get_weather".into(),
        arguments: format!(r#"{{"city": "{city}"}}"#),
    };
    let req = GenRequest {
        messages: vec![
            Message::new(Role::User, "Weather in Paris and Oslo?"),
            Message::assistant("Let me look.", vec![call("tooluse_1", "Paris"), call("tooluse_2", "Oslo")]),
            Message::tool_result("tooluse_1", r#"{"temp_c": 21}"#),
            Message::tool_result("tooluse_2", r#"{"temp_c": 3}"#),
        ],
        max_tokens: Some(256),
        tools: vec![crate::request::Tool {
            name: "get_weather".into(),
            description: "Current weather".into(),
            parameters: serde_json::json!({"type": "object"}),
        }],
        ..GenRequest::default()
    };
    let mut tl = Timeline::new(Instant::now(), GENEROUS, 16, false);
    assert_eq!(provider.send(&req, &mut tl).await, Ok(()));
    let requests = server.received_requests().await.expect("recording");
    let body: Value = serde_json::from_slice(&requests[0].body).expect("JSON body");
    let fixture = include_str!("../../../tests/fixtures/requests/bedrock_converse_agent_step.json");
    assert_eq!(body, serde_json::from_str::<Value>(fixture).unwrap());
}

#[tokio::test]
async fn the_mock_streams_reasoning_tool_use_and_cache_counts_on_converse_and_invoke() {
    for api in [Api::Converse, Api::Invoke(Family::Anthropic)] {
        let base = || match api {
            Api::Converse => MockLlm::bedrock_converse(MODEL),
            _ => MockLlm::bedrock_invoke(MODEL, BedrockFamily::Anthropic),
        };
        let rec = mocked(base().reasoning(["Hm", "m."]).tokens(["Hi"]).usage(10, 3).cache(500, 20), api).await;
        assert_eq!(rec.error, None, "{api:?}");
        assert_eq!(rec.text.as_deref(), Some("Hmm.Hi"), "{api:?}: the reasoning, then the answer");
        assert!(rec.reasoning_tokens.is_some_and(|n| n > 0), "{api:?}: {rec:?}");
        assert_eq!(
            (rec.cache_read_tokens, rec.cache_write_tokens, rec.input_tokens),
            (Some(500), Some(20), Some(10)),
            "{api:?}"
        );
        let rec = mocked(base().tool_call("tooluse_1", "lookup", [r#"{"q":"#, r#" 1}"#]), api).await;
        assert_eq!(rec.error, None, "{api:?}");
        assert_eq!((rec.tool_calls, rec.stop_reason.as_deref()), (1, Some("tool_use")), "{api:?}");
        let made = &rec.tool_call_text[0];
        assert_eq!(
            (made.id.as_str(), made.name.as_str(), made.arguments.as_str()),
            ("tooluse_1", "lookup", r#"{"q": 1}"#),
            "{api:?}"
        );
    }
}
