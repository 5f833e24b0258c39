//! Tests of the OpenAI provider against wiremock and a paced test server.

use std::borrow::Cow;

use super::*;
use crate::provider::{Message, Role};
use crate::record::{Deadlines, Phase, RequestRecord, TokenSource, ToolCallText};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{body_partial_json, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../../tests/fixtures/openai/", $name))
    };
}

const GENEROUS: Deadlines =
    Deadlines { first_content: Duration::from_secs(10), total: Duration::from_secs(20), idle: Duration::from_secs(20) };

fn request() -> GenRequest {
    GenRequest {
        messages: vec![Message::new(Role::System, "Be brief."), Message::new(Role::User, "Say hello.")],
        max_tokens: Some(16),
        min_tokens: Some(16),
        ignore_eos: true,
        temperature: Some(0.7),
        ..GenRequest::default()
    }
}

/// A server answering POSTs to `route` under `/v1` with `response`.
async fn mock(route: &str, response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST")).and(path(format!("/v1{route}"))).respond_with(response).mount(&server).await;
    server
}

fn sse(body: &[u8]) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "text/event-stream")
}

/// The defaults config/ applies: chat, no key, usage asked for.
fn settings(base_url: String) -> OpenAiSettings {
    OpenAiSettings::chat(base_url, "m")
}

/// Sends `request()` with `settings` and returns the finished record.
/// The runner's end is an hour away, so a request whose stream never
/// marked its end shows an e2e of an hour.
async fn run(settings: OpenAiSettings, deadlines: Deadlines) -> RequestRecord {
    let provider = OpenAiProvider::new(settings).expect("valid settings");
    let mut tl = Timeline::new(Instant::now(), deadlines, 16, true);
    let outcome = provider.send(&request(), &mut tl).await;
    tl.into_record(0, Phase::Measured, outcome.err(), Instant::now() + Duration::from_secs(3600), 0)
}

fn marked_end(rec: &RequestRecord) -> bool {
    rec.e2e_ms < 60_000.0
}

/// Serves `body` on the chat route and runs one request against it.
async fn chat(body: &[u8]) -> RequestRecord {
    let server = mock("/chat/completions", sse(body)).await;
    run(settings(format!("{}/v1", server.uri())), GENEROUS).await
}

fn class(rec: &RequestRecord) -> Option<ErrorClass> {
    rec.error.as_ref().map(|e| e.class)
}

fn assert_hello_world(rec: &RequestRecord) {
    assert_eq!(rec.error, None);
    // The role-only first chunk is not content: two chunks, not three.
    assert_eq!(rec.chunks, 2);
    assert_eq!(rec.text.as_deref(), Some("Hello world"));
    assert!(rec.ttft_ms.is_some() && rec.ttfb_ms.is_some());
    assert_eq!(rec.ttft_ms, rec.ttfo_ms);
    assert_eq!((rec.output_tokens, rec.output_source), (2, TokenSource::Usage));
    assert_eq!((rec.input_tokens, rec.cache_read_tokens), (Some(12), Some(8)));
    assert_eq!(rec.stop_reason.as_deref(), Some("stop"));
    assert_eq!(rec.response_id.as_deref(), Some("chatcmpl-abc123"));
    assert!(marked_end(rec), "[DONE] marks the end");
}

#[tokio::test]
async fn role_chunk_content_usage_chunk_and_done() {
    assert_hello_world(&chat(fixture!("role_first.sse")).await);
}

#[tokio::test]
async fn crlf_line_endings() {
    assert_hello_world(&chat(fixture!("crlf.sse")).await);
}

#[tokio::test]
async fn multi_token_chunks_take_the_count_from_usage() {
    let rec = chat(fixture!("multi_token.sse")).await;
    assert_eq!(rec.error, None);
    assert_eq!(rec.chunks, 2);
    assert_eq!((rec.output_tokens, rec.output_source), (9, TokenSource::Usage));
    assert_eq!(rec.text.as_deref(), Some("The quick brown fox\njumps \"over\" café"));
    assert_eq!(rec.stop_reason.as_deref(), Some("length"));
}

#[tokio::test]
async fn usage_chunk_with_null_or_missing_choices() {
    let rec = chat(fixture!("usage_null_choices.sse")).await;
    assert_eq!(rec.error, None);
    assert_eq!((rec.output_tokens, rec.output_source, rec.input_tokens), (1, TokenSource::Usage, Some(3)));
    let rec = chat(fixture!("usage_no_choices.sse")).await;
    assert_eq!(rec.error, None);
    assert_eq!((rec.input_tokens, rec.cache_read_tokens), (Some(30), Some(24)));
}

#[tokio::test]
async fn missing_done_is_fine_after_finish_reason_and_a_cut_otherwise() {
    let rec = chat(fixture!("no_done_finish.sse")).await;
    assert_eq!(rec.error, None);
    assert_eq!((rec.text.as_deref(), rec.stop_reason.as_deref()), (Some("Hi"), Some("stop")));
    assert!(marked_end(&rec));
    let rec = chat(fixture!("no_done_no_finish.sse")).await;
    assert_eq!(class(&rec), Some(ErrorClass::Cut));
    assert_eq!(rec.text.as_deref(), Some("Hi there"));
}

#[tokio::test]
async fn error_objects_in_the_stream_are_model_stream_errors() {
    // vLLM sends [DONE] after its error: the error still stands.
    let rec = chat(fixture!("vllm_error.sse")).await;
    assert_eq!(class(&rec), Some(ErrorClass::ModelStream));
    assert!(rec.error.as_ref().is_some_and(|e| e.message.contains("KV cache") && e.status.is_none()));
    assert_eq!(rec.text.as_deref(), Some("Hi"));

    let rec = chat(fixture!("tgi_error.sse")).await;
    assert_eq!(class(&rec), Some(ErrorClass::ModelStream));
    assert!(rec.error.as_ref().is_some_and(|e| e.message.contains("Model is overloaded (overloaded)")));

    let rec = chat(fixture!("event_error.sse")).await;
    assert_eq!(class(&rec), Some(ErrorClass::ModelStream));
    assert!(rec.error.as_ref().is_some_and(|e| e.message.contains("Upstream request timed out")));
}

#[tokio::test]
async fn malformed_json_is_a_protocol_error() {
    let rec = chat(fixture!("malformed.sse")).await;
    assert_eq!(class(&rec), Some(ErrorClass::Protocol));
    assert!(rec.error.as_ref().is_some_and(|e| e.message.starts_with("chunk is not valid JSON")));

    let json = ResponseTemplate::new(200).set_body_raw(&br#"{"id":"chatcmpl-1","choices":[]}"#[..], "application/json");
    let server = mock("/chat/completions", json).await;
    let rec = run(settings(format!("{}/v1", server.uri())), GENEROUS).await;
    assert_eq!(class(&rec), Some(ErrorClass::Protocol));
}

#[tokio::test]
async fn a_stream_that_ends_mid_event_is_cut() {
    let rec = chat(fixture!("cut_mid_event.sse")).await;
    assert_eq!(class(&rec), Some(ErrorClass::Cut));
    assert_eq!(rec.text.as_deref(), Some("Hel"));
}

#[tokio::test]
async fn keep_alive_comments_and_other_fields_are_ignored() {
    let rec = chat(fixture!("keepalive.sse")).await;
    assert_eq!(rec.error, None);
    assert_eq!((rec.chunks, rec.text.as_deref()), (2, Some("Still here")));
}

#[tokio::test]
async fn tool_call_arguments_are_answer_content_kept_apart_from_the_text() {
    let rec = chat(fixture!("tool_calls.sse")).await;
    assert_eq!(rec.error, None);
    assert_eq!((rec.chunks, rec.text.as_deref()), (2, Some("")));
    assert_eq!(rec.ttft_ms, rec.ttfo_ms, "arguments are answer content");
    assert_eq!(rec.tool_calls, 1);
    assert_eq!(
        rec.tool_call_text,
        [ToolCallText { id: "call_1".into(), name: "get_weather".into(), arguments: r#"{"city": "Paris"}"#.into() }]
    );
    let (ttftc, done) = (rec.ttftc_ms.expect("ttftc"), rec.tool_call_ms.expect("tool_call"));
    assert!(ttftc <= rec.ttft_ms.unwrap() && done >= rec.ttft_ms.unwrap(), "{ttftc} {done}");
    assert_eq!(rec.stop_reason.as_deref(), Some("tool_calls"));
}

#[tokio::test]
async fn completions_endpoint_sends_a_prompt_and_reads_text() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/completions"))
        .and(body_partial_json(serde_json::json!({ "model": "m", "prompt": "Be brief.\n\nSay hello." })))
        .respond_with(sse(fixture!("completions.sse")))
        .expect(1)
        .mount(&server)
        .await;
    let settings = OpenAiSettings { endpoint: Endpoint::Completions, ..settings(format!("{}/v1/", server.uri())) };
    let rec = run(settings, GENEROUS).await;
    assert_eq!(rec.error, None);
    assert_eq!((rec.chunks, rec.text.as_deref()), (3, Some("Once upon a time")));
    assert_eq!((rec.output_tokens, rec.output_source), (4, TokenSource::Usage));
    assert_eq!(rec.stop_reason.as_deref(), Some("length"));
}

#[tokio::test]
async fn ollama_zero_usage_on_content_chunks_is_not_taken() {
    let ollama = fixture!("ollama_completions.sse");
    let server = mock("/completions", sse(ollama)).await;
    let base = format!("{}/v1", server.uri());
    let rec = run(OpenAiSettings { endpoint: Endpoint::Completions, ..settings(base) }, GENEROUS).await;
    assert_eq!(rec.error, None);
    assert_eq!((rec.output_tokens, rec.input_tokens), (3, Some(26)));

    // Without the final usage chunk the zeros must not pass for a count.
    let needle = br#""choices":[],"#;
    let usage_chunk = ollama.windows(needle.len()).position(|w| w == needle).expect("usage chunk");
    let start = ollama[..usage_chunk].windows(2).rposition(|w| w == b"\n\n").expect("event start") + 2;
    let server = mock("/completions", sse(&ollama[..start])).await;
    let base = format!("{}/v1", server.uri());
    let rec = run(OpenAiSettings { endpoint: Endpoint::Completions, ..settings(base) }, GENEROUS).await;
    assert_eq!(rec.error, None);
    assert_eq!((rec.output_tokens, rec.output_source, rec.input_tokens), (2, TokenSource::Chunks, None));
}

#[tokio::test]
async fn reasoning_before_content_makes_ttft_earlier_than_ttfo() {
    let events = split_events(fixture!("reasoning.sse"));
    let parts = events.into_iter().map(|e| (Duration::from_millis(40), e)).collect();
    let base = paced_server(parts, Some(Duration::ZERO)).await;
    let rec = run(settings(base), GENEROUS).await;
    assert_eq!(rec.error, None);
    assert_eq!((rec.chunks, rec.text.as_deref()), (3, Some("Let me think. Six times seven.42")));
    let (ttft, ttfo) = (rec.ttft_ms.expect("ttft"), rec.ttfo_ms.expect("ttfo"));
    // The role chunk came 40 ms after the headers and is not content;
    // the first reasoning came 40 ms later.
    let headers = rec.queue_ms + rec.ttfb_ms.expect("ttfb");
    assert!(ttft - headers > 60.0, "headers at {headers} ms, ttft {ttft} ms");
    // Two 40 ms pauses separate the first reasoning from the answer.
    assert!(ttfo - ttft > 40.0, "ttft {ttft} ms, ttfo {ttfo} ms");
    assert_eq!(rec.gaps_us.len(), 2);
}

#[tokio::test]
async fn http_errors_are_classified_by_status() {
    let cases = [
        (
            429,
            r#"{"error":{"message":"Rate limit reached","type":"rate_limit_error"}}"#,
            ErrorClass::Throttled,
            "Rate limit reached (rate_limit_error)",
        ),
        (500, "Internal Server Error", ErrorClass::Server, "Internal Server Error"),
        (
            401,
            r#"{"error":{"message":"Incorrect API key provided","type":"invalid_request_error"}}"#,
            ErrorClass::Client,
            "Incorrect API key provided",
        ),
        (
            400,
            r#"{"object":"error","message":"max_tokens is too large","type":"BadRequestError","code":400}"#,
            ErrorClass::Client,
            "max_tokens is too large",
        ),
        (
            503,
            r#"{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}"#,
            ErrorClass::NotReady,
            "Loading model",
        ),
        (503, "", ErrorClass::Server, "service unavailable"),
    ];
    for (status, body, expected, message) in cases {
        let server = mock("/chat/completions", ResponseTemplate::new(status).set_body_string(body)).await;
        let rec = run(settings(format!("{}/v1", server.uri())), GENEROUS).await;
        let error = rec.error.expect("an error");
        assert_eq!((error.class, error.status), (expected, Some(status)), "HTTP {status}");
        assert!(error.message.contains(message), "HTTP {status}: {:?}", error.message);
        assert!(rec.ttfb_ms.is_some());
    }
}

#[tokio::test]
async fn the_body_carries_model_max_tokens_and_include_usage() {
    let server = MockServer::start().await;
    let standard = serde_json::json!({
        "model": "m",
        "stream": true,
        "stream_options": { "include_usage": true },
        "max_tokens": 16,
        "temperature": 0.7,
        "messages": [{ "role": "system", "content": "Be brief." }, { "role": "user", "content": "Say hello." }],
    });
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_partial_json(standard))
        .respond_with(sse(fixture!("role_first.sse")))
        .expect(1)
        .mount(&server)
        .await;
    // extra_body fields are added, and replace standard ones.
    let exact = serde_json::json!({ "min_tokens": 16, "ignore_eos": true, "top_k": 5, "max_tokens": 99 });
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_partial_json(exact))
        .respond_with(sse(fixture!("role_first.sse")))
        .expect(1)
        .mount(&server)
        .await;

    let rec = run(settings(format!("{}/v1", server.uri())), GENEROUS).await;
    assert_eq!(rec.error, None);
    let with_extras = OpenAiSettings {
        send_min_tokens: true,
        extra_body: serde_json::json!({ "top_k": 5, "max_tokens": 99 }).as_object().cloned(),
        ..settings(format!("{}/v1", server.uri()))
    };
    let rec = run(with_extras, GENEROUS).await;
    assert_eq!(rec.error, None);

    let requests = server.received_requests().await.expect("recording on");
    let first: Value = serde_json::from_slice(&requests[0].body).expect("a JSON body");
    assert_eq!(first.get("min_tokens"), None, "vLLM extras are off by default");
    assert_eq!(first.get("ignore_eos"), None);
}

#[tokio::test]
async fn the_key_is_sent_but_never_printed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-test-secret"))
        .respond_with(sse(fixture!("role_first.sse")))
        .expect(1)
        .mount(&server)
        .await;
    let settings =
        OpenAiSettings { api_key: Some("sk-test-secret".into()), ..settings(format!("{}/v1", server.uri())) };
    let provider = OpenAiProvider::new(settings.clone()).expect("valid settings");
    assert!(!format!("{provider:?}").contains("sk-test-secret"));
    assert!(!format!("{settings:?}").contains("sk-test-secret"));
    assert!(format!("{provider:?}").contains("<redacted>"));
    assert_eq!(run(settings, GENEROUS).await.error, None);
}

#[tokio::test]
async fn no_content_before_the_first_content_deadline_is_a_timeout() {
    let slow = sse(fixture!("role_first.sse")).set_delay(Duration::from_millis(800));
    let server = mock("/chat/completions", slow).await;
    let deadlines = Deadlines {
        first_content: Duration::from_millis(100),
        total: Duration::from_secs(5),
        idle: Duration::from_secs(5),
    };
    let started = Instant::now();
    let rec = run(settings(format!("{}/v1", server.uri())), deadlines).await;
    assert_eq!(class(&rec), Some(ErrorClass::Timeout));
    assert!(started.elapsed() < Duration::from_millis(700), "gave up after {:?}", started.elapsed());
}

#[tokio::test]
async fn a_stall_after_content_hits_the_total_deadline() {
    let events = split_events(fixture!("role_first.sse"));
    let parts = vec![(Duration::ZERO, events[1].clone()), (Duration::from_millis(900), events[2].clone())];
    let base = paced_server(parts, Some(Duration::ZERO)).await;
    let deadlines = Deadlines {
        first_content: Duration::from_millis(300),
        total: Duration::from_millis(400),
        idle: Duration::from_millis(400),
    };
    let rec = run(settings(base), deadlines).await;
    assert_eq!(class(&rec), Some(ErrorClass::Timeout));
    assert!(rec.error.as_ref().is_some_and(|e| e.message.contains("not complete")));
    assert_eq!(rec.text.as_deref(), Some("Hello"));
}

#[tokio::test]
async fn a_connection_broken_mid_body_is_cut() {
    let events = split_events(fixture!("role_first.sse"));
    let base = paced_server(vec![(Duration::ZERO, events[1].clone())], None).await;
    let rec = run(settings(base), GENEROUS).await;
    assert_eq!(class(&rec), Some(ErrorClass::Cut));
    assert!(rec.error.as_ref().is_some_and(|e| e.message.starts_with("stream broke")));
    assert_eq!(rec.text.as_deref(), Some("Hello"));
}

#[tokio::test]
async fn after_done_the_connection_is_reused() {
    // The body's end comes 50 ms after [DONE]; unless it is read, the
    // connection cannot go back to the pool, and the paced server
    // refuses a second one.
    let parts = vec![(Duration::ZERO, fixture!("role_first.sse").to_vec())];
    let base = paced_server(parts, Some(Duration::from_millis(50))).await;
    let provider = OpenAiProvider::new(settings(base)).expect("valid settings");
    for attempt in 0..3 {
        let mut tl = Timeline::new(Instant::now(), GENEROUS, 16, false);
        let outcome = provider.send(&request(), &mut tl).await;
        assert_eq!(outcome, Ok(()), "request {attempt}");
    }
}

#[tokio::test]
async fn a_refused_connection_is_a_server_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    let rec = run(settings(format!("http://127.0.0.1:{port}/v1")), GENEROUS).await;
    assert_eq!(class(&rec), Some(ErrorClass::Server));
    assert!(rec.error.as_ref().is_some_and(|e| e.message.starts_with("connection failed")));
    assert_eq!(rec.ttfb_ms, None);
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_connect_timeout_is_a_timeout() {
    // A listener that never accepts, with its backlog filled: Linux then
    // drops further SYNs, so the next connect hangs until it times out.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind("127.0.0.1:0".parse().expect("address")).expect("bind");
    let listener = socket.listen(0).expect("listen");
    let addr = listener.local_addr().expect("address");
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let connect = tokio::net::TcpStream::connect(addr);
        if let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_millis(100), connect).await {
            fillers.push(stream);
        }
    }
    let settings =
        OpenAiSettings { connect_timeout: Duration::from_millis(200), ..settings(format!("http://{addr}/v1")) };
    let rec = run(settings, GENEROUS).await;
    assert_eq!(class(&rec), Some(ErrorClass::Timeout), "{:?}", rec.error);
    assert!(rec.error.as_ref().is_some_and(|e| e.message.starts_with("connect timed out")));
    drop(listener);
}

#[test]
fn bad_settings_are_refused() {
    assert!(OpenAiProvider::new(settings("localhost:8000/v1".into())).is_err());
    let key = OpenAiSettings { api_key: Some("bad\nkey".into()), ..settings("http://h/v1".into()) };
    let error = OpenAiProvider::new(key).expect_err("a newline cannot go in a header");
    assert!(!error.contains("bad"));
}

#[test]
fn plain_tokens_are_borrowed_and_only_the_first_choice_is_read() {
    let data = br#"{"id":"x","choices":[{"delta":{"content":"tok"}},{"delta":{"content":"other"}}]}"#;
    let chunk: Chunk<'_> = serde_json::from_slice(data).expect("valid chunk");
    let content = chunk.choices.0.and_then(|c| c.delta).and_then(|d| d.content).expect("content");
    assert!(matches!(content.0, Cow::Borrowed("tok")));
    let escaped: Chunk<'_> = serde_json::from_slice(br#"{"choices":[{"text":"a\nb"}]}"#).expect("valid chunk");
    assert_eq!(escaped.choices.0.and_then(|c| c.text).map(|t| t.0.into_owned()).as_deref(), Some("a\nb"));
}

/// The events of an SSE fixture, each with its blank line.
fn split_events(fixture: &[u8]) -> Vec<Vec<u8>> {
    let mut events = Vec::new();
    let mut rest = fixture;
    while let Some(end) = rest.windows(2).position(|w| w == b"\n\n") {
        events.push(rest[..end + 2].to_vec());
        rest = &rest[end + 2..];
    }
    events
}

/// An HTTP/1.1 server for one connection: it answers each request with
/// `parts` as chunks of a `text/event-stream` body, each after its
/// pause, then ends the body after the pause `end`, or drops the
/// connection mid-body when `end` is `None`.
/// A second connection is refused. wiremock writes a body at once, so it
/// can neither pace nor break one. Returns the base URL.
async fn paced_server(parts: Vec<(Duration, Vec<u8>)>, end: Option<Duration>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        drop(listener);
        socket.set_nodelay(true).expect("nodelay");
        while read_request(&mut socket).await {
            let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";
            socket.write_all(head.as_bytes()).await.expect("write");
            for (pause, part) in &parts {
                tokio::time::sleep(*pause).await;
                let mut chunk = format!("{:x}\r\n", part.len()).into_bytes();
                chunk.extend_from_slice(part);
                chunk.extend_from_slice(b"\r\n");
                if socket.write_all(&chunk).await.is_err() {
                    return; // the client gave up (a timeout test)
                }
            }
            let Some(pause) = end else { return };
            tokio::time::sleep(pause).await;
            if socket.write_all(b"0\r\n\r\n").await.is_err() {
                return;
            }
        }
    });
    format!("http://{addr}/v1")
}

/// Reads one request (head and `content-length` body) off `socket`;
/// false when the client closed the connection instead.
async fn read_request(socket: &mut tokio::net::TcpStream) -> bool {
    let mut buf = Vec::new();
    let mut chunk = [0; 4096];
    loop {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
        let Some(head_end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if buf.len() >= head_end + 4 + length {
            return true;
        }
    }
}

#[tokio::test]
async fn reasoning_tokens_and_cached_tokens_come_from_usage() {
    let rec = chat(fixture!("reasoning_usage.sse")).await;
    assert_eq!(rec.error, None);
    assert_eq!((rec.output_tokens, rec.reasoning_tokens, rec.answer_tokens()), (25, Some(24), 1));
    assert_eq!(rec.reasoning_source, Some(TokenSource::Usage));
    assert_eq!((rec.prompt_tokens, rec.cache_read_tokens, rec.cache_hit()), (Some(1040), Some(1024), Some(true)));
    assert!(rec.thinking_ms().is_some());
}

/// Sends `request()` `n` times in turn through one provider.
async fn in_turn(provider: &OpenAiProvider, n: usize) -> Vec<RequestRecord> {
    let mut out = Vec::new();
    for i in 0..n {
        let mut tl = Timeline::new(Instant::now(), GENEROUS, 16, false);
        let outcome = provider.send(&request(), &mut tl).await;
        out.push(tl.into_record(i as u64, Phase::Measured, outcome.err(), Instant::now(), 0));
    }
    out
}

#[tokio::test]
async fn warm_connections_are_opened_once_and_fresh_ones_every_time() {
    let server = mock("/chat/completions", sse(fixture!("role_first.sse"))).await;
    let warm = OpenAiProvider::new(settings(format!("{}/v1", server.uri()))).unwrap();
    let records = in_turn(&warm, 3).await;
    assert!(records.iter().all(RequestRecord::is_ok), "{records:?}");
    let new: Vec<Option<bool>> = records.iter().map(|r| r.new_connection).collect();
    assert_eq!(new, [Some(true), Some(false), Some(false)], "the first request opens the pooled connection");
    assert!(records[0].connect_ms.is_some_and(|ms| (0.0..5_000.0).contains(&ms)), "{:?}", records[0].connect_ms);
    assert_eq!(records[1].connect_ms, None);

    let fresh = OpenAiProvider::new(settings(format!("{}/v1", server.uri())))
        .unwrap()
        .with(Connections::Fresh, crate::wire::DEFAULT_MAX_EVENT_BYTES)
        .unwrap();
    let records = in_turn(&fresh, 3).await;
    assert!(records.iter().all(|r| r.new_connection == Some(true) && r.connect_ms.is_some()), "{records:?}");
}

#[tokio::test]
async fn the_mock_streams_reasoning_a_tool_call_and_cached_tokens() {
    use crate::mock::MockLlm;
    let mock = MockLlm::openai_chat("m").reasoning(["Let me", " think."]).tokens(["Hi", "!"]).usage(40, 4).cache(32, 0);
    let rec = chat(&mock.body()).await;
    assert_eq!(rec.error, None);
    // The captured text is every delta in order: the reasoning, then the answer.
    assert_eq!(rec.text.as_deref(), Some("Let me think.Hi!"));
    assert_eq!((rec.reasoning_tokens, rec.reasoning_source), (Some(3), Some(TokenSource::Estimate)), "{rec:?}");
    assert_eq!((rec.cache_read_tokens, rec.cache_write_tokens), (Some(32), None), "OpenAI reports reads only");
    let call = MockLlm::openai_chat("m").tool_call("call_9", "get_weather", [r#"{"city""#, r#": "Oslo"}"#]);
    let rec = chat(&call.body()).await;
    assert_eq!((rec.tool_calls, rec.stop_reason.as_deref()), (1, Some("tool_calls")));
    let expected =
        ToolCallText { id: "call_9".into(), name: "get_weather".into(), arguments: r#"{"city": "Oslo"}"#.into() };
    assert_eq!(rec.tool_call_text, [expected]);
}
