//! End-to-end tests of the simulator over real loopback sockets, with a
//! tiny HTTP/1.1 client that stamps each SSE event when its bytes are read.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

/// No test waits longer than this for one read.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// One HTTP response as the test client saw it.
#[derive(Debug)]
struct Reply {
    status: u16,
    /// Status line and headers, lowercased.
    head: String,
    /// The whole body, chunked framing removed.
    body: Vec<u8>,
    /// SSE payloads (after `data: `), stamped when the read that
    /// completed them returned.
    events: Vec<(Instant, String)>,
    /// The body ended properly (final empty chunk, or content-length met).
    complete: bool,
}

impl Reply {
    /// The JSON events, `[DONE]` left out.
    fn json_events(&self) -> Vec<Value> {
        let events = self.events.iter().filter(|(_, e)| e != "[DONE]");
        events.map(|(_, e)| serde_json::from_str(e).unwrap()).collect()
    }

    /// Stamps of the events that carry output text.
    fn content_times(&self) -> Vec<Instant> {
        let texts = self.events.iter().filter(|(_, e)| e != "[DONE]");
        let content = texts.filter(|(_, e)| {
            let v: Value = serde_json::from_str(e).unwrap();
            let choice = &v["choices"][0];
            choice["delta"]["content"].as_str().or(choice["text"].as_str()).is_some_and(|t| !t.is_empty())
        });
        content.map(|(t, _)| *t).collect()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

async fn send(stream: &mut TcpStream, method: &str, path: &str, body: &str) {
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: sim\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
}

/// Reads one response; a closed connection ends it with `complete: false`.
async fn read_reply(stream: &mut TcpStream) -> Reply {
    let mut raw = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut read = async |stream: &mut TcpStream, raw: &mut Vec<u8>| {
        let n = tokio::time::timeout(READ_TIMEOUT, stream.read(&mut buf)).await.expect("read timed out");
        let n = n.unwrap_or(0);
        raw.extend_from_slice(&buf[..n]);
        (n, Instant::now())
    };
    let head_end = loop {
        if let Some(i) = find(&raw, b"\r\n\r\n") {
            break i + 4;
        }
        assert!(read(stream, &mut raw).await.0 > 0, "connection closed before the headers");
    };
    let head = String::from_utf8(raw.drain(..head_end).collect()).unwrap().to_ascii_lowercase();
    let status = head[9..12].parse().unwrap();
    let mut reply = Reply { status, head, body: Vec::new(), events: Vec::new(), complete: false };
    if let Some(line) = reply.head.lines().find(|l| l.starts_with("content-length:")) {
        let len: usize = line["content-length:".len()..].trim().parse().unwrap();
        while raw.len() < len {
            if read(stream, &mut raw).await.0 == 0 {
                return reply;
            }
        }
        reply.body = raw;
        reply.complete = true;
        return reply;
    }
    assert!(reply.head.contains("transfer-encoding: chunked"), "{}", reply.head);
    let (mut stamp, mut scanned) = (Instant::now(), 0);
    loop {
        // Unframe every complete chunk, then split off every complete event.
        while let Some(line_end) = find(&raw, b"\r\n") {
            let size = usize::from_str_radix(std::str::from_utf8(&raw[..line_end]).unwrap(), 16).unwrap();
            if raw.len() < line_end + 2 + size + 2 {
                break;
            }
            reply.body.extend_from_slice(&raw[line_end + 2..line_end + 2 + size]);
            raw.drain(..line_end + 2 + size + 2);
            reply.complete = size == 0;
        }
        while let Some(end) = find(&reply.body[scanned..], b"\n\n") {
            let event = std::str::from_utf8(&reply.body[scanned..scanned + end]).unwrap();
            let data = event.strip_prefix("data: ").expect(event);
            reply.events.push((stamp, data.to_owned()));
            scanned += end + 2;
        }
        if reply.complete {
            return reply;
        }
        let (n, at) = read(stream, &mut raw).await;
        if n == 0 {
            return reply;
        }
        stamp = at;
    }
}

/// One request on a fresh connection.
async fn call(addr: SocketAddr, method: &str, path: &str, body: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    send(&mut stream, method, path, body).await;
    read_reply(&mut stream).await
}

async fn chat(addr: SocketAddr, body: Value) -> Reply {
    call(addr, "POST", "/v1/chat/completions", &body.to_string()).await
}

fn fast() -> SimConfig {
    SimConfig { ttft: Delay::ZERO, itl: Delay::ZERO, ..SimConfig::default() }
}

fn count_tokens(text: &str) -> usize {
    text.matches(' ').count()
}

#[tokio::test]
async fn chat_stream_has_the_openai_shape() {
    let server = SimServer::start(SimConfig { chunk_tokens: 3, ..fast() }).await.unwrap();
    let request = json!({
        "model": "m\"x", "messages": [{"role": "user", "content": "a prompt of 28 characters..."}],
        "max_tokens": 10, "stream": true, "stream_options": {"include_usage": true},
    });
    let reply = chat(server.addr(), request).await;
    assert_eq!(reply.status, 200);
    assert!(reply.head.contains("content-type: text/event-stream"), "{}", reply.head);
    assert!(reply.complete);
    assert_eq!(reply.events.last().unwrap().1, "[DONE]");
    let events = reply.json_events();
    assert_eq!(events.len(), 1 + 4 + 1 + 1, "{events:#?}");
    for event in &events {
        assert_eq!(event["id"], events[0]["id"]);
        assert_eq!(event["object"], "chat.completion.chunk");
        assert_eq!(event["model"], "m\"x");
        assert!(event["created"].as_u64().unwrap() > 1_700_000_000);
    }
    assert!(events[0]["id"].as_str().unwrap().starts_with("chatcmpl-sim-"));
    assert_eq!(
        events[0]["choices"],
        json!([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": null}])
    );
    let texts: Vec<&str> = events[1..5].iter().map(|e| e["choices"][0]["delta"]["content"].as_str().unwrap()).collect();
    let sizes: Vec<usize> = texts.iter().map(|t| count_tokens(t)).collect();
    assert_eq!(sizes, [3, 3, 3, 1]);
    assert!(events[1..5].iter().all(|e| e["choices"][0]["finish_reason"].is_null()));
    assert_eq!(events[5]["choices"], json!([{"index": 0, "delta": {}, "finish_reason": "length"}]));
    assert_eq!(events[6]["choices"], json!([]));
    assert_eq!(events[6]["usage"], json!({"prompt_tokens": 7, "completion_tokens": 10, "total_tokens": 17}));
}

#[tokio::test]
async fn completions_stream_and_lengths() {
    let server = SimServer::start(SimConfig { output_tokens: Some(5), ..fast() }).await.unwrap();
    let body = json!({"model": "m", "prompt": "hi", "max_tokens": 50, "stream": true});
    let reply = call(server.addr(), "POST", "/v1/completions", &body.to_string()).await;
    let events = reply.json_events();
    // No role chunk on completions; 5 content chunks; finish; no usage.
    assert_eq!(events.len(), 6, "{events:#?}");
    assert!(events.iter().all(|e| e["object"] == "text_completion"));
    assert!(events[0]["id"].as_str().unwrap().starts_with("cmpl-sim-"));
    assert!(events[..5].iter().all(|e| count_tokens(e["choices"][0]["text"].as_str().unwrap()) == 1));
    // The config's length is under the request's limit: the model "stopped".
    assert_eq!(events[5]["choices"], json!([{"index": 0, "text": "", "finish_reason": "stop"}]));
    assert_eq!(reply.events.last().unwrap().1, "[DONE]");
    // A fixed length never exceeds the request's limit.
    let body = json!({"prompt": "hi", "max_tokens": 2, "stream": true});
    let reply = call(server.addr(), "POST", "/v1/completions", &body.to_string()).await;
    assert_eq!(reply.content_times().len(), 2);
    assert_eq!(reply.json_events()[2]["choices"][0]["finish_reason"], "length");

    let server = SimServer::start(fast()).await.unwrap();
    let reply = chat(server.addr(), json!({"messages": [], "stream": true})).await;
    assert_eq!(reply.content_times().len(), 128, "default length");
    let reply = chat(server.addr(), json!({"messages": [], "stream": true, "max_completion_tokens": 3})).await;
    assert_eq!(reply.content_times().len(), 3);
}

#[tokio::test]
async fn non_streamed_answer() {
    let server = SimServer::start(fast()).await.unwrap();
    let reply = chat(
        server.addr(),
        json!({"model": "m", "messages": [{"role": "user", "content": "abcdefgh"}], "max_tokens": 6}),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert!(reply.head.contains("content-type: application/json"));
    let body = reply.json();
    assert_eq!(body["object"], "chat.completion");
    assert_eq!(count_tokens(body["choices"][0]["message"]["content"].as_str().unwrap()), 6);
    assert_eq!(body["choices"][0]["finish_reason"], "length");
    // The prompt counted by the workloads' default tokenizer.
    let prompt = crate::tokenizer::Tokenizer::default().count("abcdefgh");
    assert_eq!(body["usage"], json!({"prompt_tokens": prompt, "completion_tokens": 6, "total_tokens": prompt + 6}));
    let reply = call(server.addr(), "POST", "/v1/completions", r#"{"prompt":"x","max_tokens":2}"#).await;
    assert_eq!(count_tokens(reply.json()["choices"][0]["text"].as_str().unwrap()), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_makes_requests_queue() {
    // One slot; a generation takes 40 + 5 × 10 = 90 ms.
    let config = SimConfig { ttft: Delay::ms(40), itl: Delay::ms(10), capacity: Some(1), ..SimConfig::default() };
    let server = SimServer::start(config).await.unwrap();
    let request = json!({"messages": [], "max_tokens": 6, "stream": true});
    let (a, b) = tokio::join!(chat(server.addr(), request.clone()), chat(server.addr(), request));
    let (a, b) = (a.content_times(), b.content_times());
    let (first, second) = if a[0] < b[0] { (a, b) } else { (b, a) };
    assert!(second[0] > first[5], "the second request generated while the first held the slot");
    // Without the slot both would start together; with it the second waits
    // ~90 ms (less when the client read the first one late on a busy machine).
    let lag = second[0] - first[0];
    assert!(lag >= Duration::from_millis(60), "second started only {lag:?} after the first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_hanging_up_frees_its_slot() {
    // One slot; a whole generation would take 100 × 10 ms = 1 s.
    let config = SimConfig { ttft: Delay::ZERO, itl: Delay::ms(10), capacity: Some(1), record_flushes: true, ..fast() };
    let server = SimServer::start(config).await.unwrap();
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    send(&mut stream, "POST", "/v1/chat/completions", r#"{"messages":[],"max_tokens":100,"stream":true}"#).await;
    let mut buf = [0u8; 4096];
    assert!(stream.read(&mut buf).await.unwrap() > 0);
    let hung_up = Instant::now();
    drop(stream);
    let reply = chat(server.addr(), json!({"messages": [], "max_tokens": 2, "stream": true})).await;
    let waited = reply.content_times()[0] - hung_up;
    assert!(waited < Duration::from_millis(500), "the slot was freed only after {waited:?}");
    // The cut-short stream still left its (partial) flush record.
    let flushes = server.flushes();
    assert_eq!(flushes.len(), 2);
    assert!((1..100).contains(&flushes[0].chunk_times.len()), "{}", flushes[0].chunk_times.len());
}

#[tokio::test]
async fn throttled_and_server_errors() {
    for (error, status, kind) in
        [(SimError::Throttled, 429, "rate_limit_error"), (SimError::Server, 500, "server_error")]
    {
        let server = SimServer::start(SimConfig { error_rate: 1.0, error, ..fast() }).await.unwrap();
        let reply = chat(server.addr(), json!({"messages": [], "stream": true})).await;
        assert_eq!(reply.status, status);
        assert_eq!(reply.json()["error"]["type"], kind);
        assert_eq!(reply.json()["error"]["code"], status);
    }
}

#[tokio::test]
async fn model_stream_error_and_cut() {
    let server = SimServer::start(SimConfig { error_rate: 1.0, error: SimError::ModelStream, ..fast() }).await.unwrap();
    let reply = chat(server.addr(), json!({"messages": [], "max_tokens": 10, "stream": true})).await;
    assert_eq!(reply.status, 200);
    assert!(reply.complete, "a model error ends the stream properly");
    assert_eq!(reply.content_times().len(), 5);
    let events = reply.json_events();
    assert_eq!(
        events.last().unwrap()["error"],
        json!({"message": "sim: model failed", "type": "server_error", "code": 500})
    );
    assert_eq!(reply.events.last().unwrap().1, "[DONE]");
    // Not streamed: a 500 instead.
    let reply = chat(server.addr(), json!({"messages": [], "max_tokens": 10})).await;
    assert_eq!(reply.status, 500);

    let server = SimServer::start(SimConfig { error_rate: 1.0, error: SimError::Cut, ..fast() }).await.unwrap();
    let reply = chat(server.addr(), json!({"messages": [], "max_tokens": 10, "stream": true})).await;
    assert_eq!(reply.status, 200);
    assert!(!reply.complete, "a cut stream has no end");
    assert_eq!(reply.content_times().len(), 5, "the chunks before the cut arrive");
    assert!(reply.events.iter().all(|(_, e)| e != "[DONE]"));
    // Not streamed: the connection closes with no answer at all.
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    send(&mut stream, "POST", "/v1/chat/completions", r#"{"messages":[]}"#).await;
    let mut buf = [0u8; 64];
    assert_eq!(stream.read(&mut buf).await.unwrap_or(0), 0);
}

#[tokio::test]
async fn seeded_errors_and_text_repeat() {
    let config = SimConfig { error_rate: 0.5, error: SimError::Server, seed: 99, ..fast() };
    let mut runs = Vec::new();
    // `created` is the wall-clock second; it may tick between the two runs.
    let created = regex::Regex::new(r#""created":\d+"#).unwrap();
    for _ in 0..2 {
        let server = SimServer::start(config.clone()).await.unwrap();
        let mut outcomes = Vec::new();
        for _ in 0..20 {
            let reply = chat(server.addr(), json!({"messages": [], "max_tokens": 4})).await;
            let body = String::from_utf8(reply.body).unwrap();
            let body = created.replace_all(&body, "\"created\":0").into_owned();
            outcomes.push((reply.status, body));
        }
        runs.push(outcomes);
    }
    assert_eq!(runs[0], runs[1]);
    let failed = runs[0].iter().filter(|(status, _)| *status == 500).count();
    assert!((3..=17).contains(&failed), "{failed} of 20 failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pacing_is_accurate() {
    let (ttft, itl, chunks) = (30.0, 10.0, 20);
    let config = SimConfig { ttft: Delay::ms(30), itl: Delay::ms(10), record_flushes: true, ..SimConfig::default() };
    let server = SimServer::start(config).await.unwrap();
    let sent = Instant::now();
    let reply = chat(server.addr(), json!({"messages": [], "max_tokens": chunks, "stream": true})).await;
    let flushes = server.flushes();
    assert!(server.flushes().is_empty(), "taking the log empties it");
    assert_eq!(flushes.len(), 1);
    assert_eq!(flushes[0].response_id, reply.json_events()[0]["id"].as_str().unwrap());
    let times = &flushes[0].chunk_times;
    assert_eq!(times.len(), chunks as usize);

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let gaps: Vec<f64> = times.windows(2).map(|w| ms(w[1] - w[0])).collect();
    let mean_gap = gaps.iter().sum::<f64>() / gaps.len() as f64;
    let span = ms(times[times.len() - 1] - times[0]);
    let first = ms(times[0] - sent);
    let client = reply.content_times();
    let client_span = ms(client[client.len() - 1] - client[0]);
    let worst = gaps.iter().map(|g| (g - itl).abs()).fold(0.0, f64::max);
    println!(
        "sim pacing: first chunk {first:.2} ms (ttft {ttft}), mean gap {mean_gap:.3} ms (itl {itl}), \
         worst gap error {worst:.2} ms, span {span:.2} ms (expected {}), client span {client_span:.2} ms",
        itl * (chunks - 1) as f64
    );
    // Generous: this runs on loaded 2-core CI machines.
    assert!((mean_gap - itl).abs() <= 2.0, "mean gap {mean_gap} ms");
    assert!((span - itl * (chunks - 1) as f64).abs() <= 25.0, "span {span} ms");
    assert!(first >= ttft && first <= ttft + 25.0, "first chunk after {first} ms");
    assert!((client_span - span).abs() <= 25.0, "client saw {client_span} ms");
}

#[tokio::test]
async fn bad_requests_get_openai_errors() {
    let server = SimServer::start(fast()).await.unwrap();
    let mut stream = TcpStream::connect(server.addr()).await.unwrap();
    // All on one keep-alive connection: an error never closes it.
    let cases = [
        ("POST", "/v1/embeddings", "{}", 404, "no route for POST /v1/embeddings"),
        ("GET", "/v1/chat/completions", "", 405, "GET is not allowed"),
        ("POST", "/v1/chat/completions", "{not json", 400, "invalid request body"),
        ("POST", "/v1/completions", r#"{"messages":[]}"#, 400, "`prompt` is required"),
    ];
    for (method, path, body, status, message) in cases {
        send(&mut stream, method, path, body).await;
        let reply = read_reply(&mut stream).await;
        assert_eq!(reply.status, status, "{method} {path}");
        let error = &reply.json()["error"];
        assert!(error["message"].as_str().unwrap().contains(message), "{error}");
        assert_eq!(error["type"], "invalid_request_error");
    }
    send(&mut stream, "GET", "/v1/models", "").await;
    assert_eq!(read_reply(&mut stream).await.json()["data"][0]["id"], "sim");
    send(&mut stream, "POST", "/v1/chat/completions", r#"{"messages":[],"max_tokens":2,"stream":true}"#).await;
    assert_eq!(read_reply(&mut stream).await.content_times().len(), 2);
}

#[tokio::test]
async fn shutdown_closes_the_port_and_cuts_streams() {
    let server = SimServer::start(SimConfig { ttft: Delay::ZERO, ..SimConfig::default() }).await.unwrap();
    let addr = server.addr();
    assert_eq!(server.base_url(), format!("http://{addr}/v1"));
    // A long stream in flight: 1000 × 15 ms.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    send(&mut stream, "POST", "/v1/chat/completions", r#"{"messages":[],"max_tokens":1000,"stream":true}"#).await;
    let mut buf = [0u8; 4096];
    assert!(stream.read(&mut buf).await.unwrap() > 0);
    server.shutdown().await;
    let err = TcpStream::connect(addr).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    let drained = async { while stream.read(&mut buf).await.is_ok_and(|n| n > 0) {} };
    tokio::time::timeout(Duration::from_secs(1), drained).await.expect("the stream was closed");

    // Dropping works too, a moment later.
    let server = SimServer::start(fast()).await.unwrap();
    let addr = server.addr();
    drop(server);
    let mut closed = false;
    for _ in 0..100 {
        if TcpStream::connect(addr).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(closed, "port still open after drop");
}

/// The ingest ceiling the simulator allows: zero delays, many streams.
/// Run with `cargo test --release -p llmbench --lib sim::tests::throughput -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check; run in release on an idle machine"]
async fn throughput() {
    let server = SimServer::start(fast()).await.unwrap();
    let (streams, tokens) = (8, 100_000u32);
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..streams {
        let addr = server.addr();
        tasks.spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let body = format!(r#"{{"messages":[],"max_tokens":{tokens},"stream":true}}"#);
            let request = format!(
                "POST /v1/chat/completions HTTP/1.1\r\nhost: sim\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            // Count event ends only: the client must not be the bottleneck.
            let (mut buf, mut events, mut last) = (vec![0u8; 256 * 1024], 0u64, 0u8);
            loop {
                let n = stream.read(&mut buf).await.unwrap();
                if n == 0 {
                    break events;
                }
                for &b in &buf[..n] {
                    events += u64::from(b == b'\n' && last == b'\n');
                    last = b;
                }
            }
        });
    }
    let mut events = 0;
    while let Some(n) = tasks.join_next().await {
        events += n.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!("sim throughput: {events} events in {secs:.2} s = {:.0} chunks/s", events as f64 / secs);
    // role + content + tail (finish and [DONE]) per stream.
    assert_eq!(events, streams * (u64::from(tokens) + 3));
}

/// Pacing with many streams at once, as the flush log and the client see it.
/// Run like `throughput`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check; run in release on an idle machine"]
async fn pacing_under_load() {
    let (streams, tokens, itl) = (256, 100, 5.0);
    let config = SimConfig { ttft: Delay::ms(50), itl: Delay::ms(5), record_flushes: true, ..SimConfig::default() };
    let server = SimServer::start(config).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..streams {
        let addr = server.addr();
        let body = json!({"messages": [], "max_tokens": tokens, "stream": true});
        tasks.spawn(async move { chat(addr, body).await.content_times() });
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let gap_errors =
        |times: &[Instant]| -> Vec<f64> { times.windows(2).map(|w| (ms(w[1] - w[0]) - itl).abs()).collect::<Vec<_>>() };
    let mut client = Vec::new();
    while let Some(times) = tasks.join_next().await {
        client.extend(gap_errors(&times.unwrap()));
    }
    let flushes = server.flushes();
    assert_eq!(flushes.len(), streams);
    let mut spans = Vec::new();
    let mut server_side = Vec::new();
    for record in &flushes {
        server_side.extend(gap_errors(&record.chunk_times));
        spans.push(ms(record.chunk_times[record.chunk_times.len() - 1] - record.chunk_times[0]));
    }
    let summary = |name: &str, mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q) as usize];
        println!(
            "{name}: |gap − {itl} ms| p50 {:.2} p99 {:.2} p99.9 {:.2} max {:.2} ms (n = {})",
            at(0.5),
            at(0.99),
            at(0.999),
            at(1.0),
            v.len()
        );
    };
    summary("server flushes", server_side);
    summary("client reads", client);
    spans.sort_by(f64::total_cmp);
    println!("first→last span p50 {:.2} ms (expected {})", spans[spans.len() / 2], itl * (tokens - 1) as f64);
}
