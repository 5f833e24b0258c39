//! The Anthropic provider (reqwest, SSE) against wiremock.

use std::time::{Duration, Instant};

use wiremock::matchers::{header, method};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::anthropic::{AnthropicProvider, AnthropicSettings};
use super::{GenRequest, Message, Role};
use crate::mock::{HttpError, MockError, MockLlm};
use crate::record::{Deadlines, ErrorClass, Phase, RequestRecord, Timeline, TokenSource};

const GENEROUS: Deadlines =
    Deadlines { first_content: Duration::from_secs(10), total: Duration::from_secs(20), idle: Duration::from_secs(20) };

fn settings(base_url: String) -> AnthropicSettings {
    AnthropicSettings {
        base_url,
        model: "claude-haiku".into(),
        api_key: Some("sk-ant-test".into()),
        connect_timeout: Duration::from_secs(2),
        extra_body: None,
    }
}

async fn mocked(mock: MockLlm) -> RequestRecord {
    let server = MockServer::start().await;
    mock.mount(&server).await;
    let provider = AnthropicProvider::new(settings(server.uri())).expect("settings");
    let req = GenRequest {
        messages: vec![Message::new(Role::System, "Be brief."), Message::new(Role::User, "Hi")],
        max_tokens: Some(16),
        ..GenRequest::default()
    };
    let mut tl = Timeline::new(Instant::now(), GENEROUS, 16, true);
    let outcome = provider.send(&req, &mut tl).await;
    tl.into_record(0, Phase::Measured, outcome.err(), Instant::now(), 0)
}

#[tokio::test]
async fn messages_stream_gives_tokens_usage_and_stop_reason() {
    let rec =
        mocked(MockLlm::anthropic("claude-haiku").tokens(["Hi", " there"]).usage(11, 2).expect_max_tokens(16)).await;
    assert_eq!(rec.error, None);
    assert_eq!(rec.text.as_deref(), Some("Hi there"));
    assert_eq!((rec.output_tokens, rec.output_source, rec.input_tokens), (2, TokenSource::Usage, Some(11)));
    assert_eq!(rec.stop_reason.as_deref(), Some("end_turn"));
    assert_eq!(rec.response_id.as_deref(), Some("msg_mock"));
}

#[tokio::test]
async fn the_key_and_version_are_sent_but_the_key_never_printed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("x-api-key", "sk-ant-test"))
        .and(header("anthropic-version", super::anthropic::ANTHROPIC_VERSION))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(MockLlm::anthropic("claude-haiku").body(), "text/event-stream"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let provider = AnthropicProvider::new(settings(server.uri())).expect("settings");
    assert!(!format!("{provider:?}").contains("sk-ant-test"));
    let mut tl = Timeline::new(Instant::now(), GENEROUS, 16, false);
    let req = GenRequest { messages: vec![Message::new(Role::User, "Hi")], ..GenRequest::default() };
    assert_eq!(provider.send(&req, &mut tl).await, Ok(()));
}

#[tokio::test]
async fn errors_are_classified() {
    for (error, class, status) in [
        (HttpError::Throttled, ErrorClass::Throttled, 429),
        (HttpError::ServiceUnavailable, ErrorClass::Server, 529),
        (HttpError::Validation, ErrorClass::Client, 400),
    ] {
        let rec = mocked(MockLlm::anthropic("claude-haiku").http_error(error)).await;
        let e = rec.error.expect("an error");
        assert_eq!((e.class, e.status), (class, Some(status)), "{error:?}: {e}");
    }
    let rec = mocked(MockLlm::anthropic("claude-haiku").fail_after(1, MockError::ServiceUnavailable)).await;
    let e = rec.error.expect("an error");
    assert_eq!(e.class, ErrorClass::ModelStream);
    assert!(e.message.contains("overloaded_error"), "{e}");
    let rec = mocked(MockLlm::anthropic("claude-haiku").truncate_after(1)).await;
    assert_eq!(rec.error.map(|e| e.class), Some(ErrorClass::Cut));
}

#[tokio::test]
async fn the_openai_provider_reads_the_openai_mock() {
    use super::openai::{OpenAiProvider, OpenAiSettings};
    let server = MockServer::start().await;
    MockLlm::openai_chat("m").tokens(["a", "b"]).usage(4, 2).mount(&server).await;
    let provider = OpenAiProvider::new(OpenAiSettings::chat(format!("{}/v1", server.uri()), "m")).expect("settings");
    let mut tl = Timeline::new(Instant::now(), GENEROUS, 16, true);
    let req = GenRequest { messages: vec![Message::new(Role::User, "Hi")], ..GenRequest::default() };
    let outcome = provider.send(&req, &mut tl).await;
    let rec = tl.into_record(0, Phase::Measured, outcome.err(), Instant::now(), 0);
    assert_eq!((rec.error, rec.text.as_deref(), rec.output_tokens, rec.input_tokens), (None, Some("ab"), 2, Some(4)));
}

#[tokio::test]
async fn thinking_text_and_tool_use_blocks_are_told_apart() {
    let server = MockServer::start().await;
    let body = include_bytes!("../../tests/fixtures/anthropic/thinking_tool_use.sse");
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(&body[..], "text/event-stream"))
        .mount(&server)
        .await;
    let provider = AnthropicProvider::new(settings(server.uri())).expect("settings");
    let mut tl = Timeline::new(Instant::now(), GENEROUS, 16, true);
    let req = GenRequest { messages: vec![Message::new(Role::User, "Hi")], ..GenRequest::default() };
    let outcome = provider.send(&req, &mut tl).await;
    let rec = tl.into_record(0, Phase::Measured, outcome.err(), Instant::now(), 0);
    assert_eq!(rec.error, None);
    assert_eq!(rec.text.as_deref(), Some("The user wants the weather in Paris.Checking."));
    assert_eq!(rec.tool_calls, 1);
    assert_eq!(rec.tool_call_text[0].name, "get_weather");
    assert_eq!(rec.tool_call_text[0].arguments, r#"{"city": "Paris"}"#);
    assert!(rec.ttftc_ms.is_some() && rec.tool_call_ms.is_some());
    // Anthropic reports no reasoning count: estimated from the text's share.
    assert_eq!(rec.reasoning_source, Some(TokenSource::Estimate));
    let reasoning = rec.reasoning_tokens.unwrap();
    assert!((20..40).contains(&reasoning), "{reasoning} of 40");
    // input_tokens leaves the cache out: the prompt was 12 + 2048.
    assert_eq!((rec.prompt_tokens, rec.cache_hit()), (Some(2060), Some(true)));
    assert_eq!(rec.stop_reason.as_deref(), Some("tool_use"));
}

#[tokio::test]
async fn the_mock_streams_thinking_a_tool_use_block_and_cache_counts() {
    let mock = MockLlm::anthropic("claude-haiku").reasoning(["Hm", "m."]).tokens(["Hi"]).usage(10, 3).cache(500, 20);
    let rec = mocked(mock).await;
    assert_eq!(rec.error, None);
    assert_eq!(rec.text.as_deref(), Some("Hmm.Hi"), "the thinking, then the answer");
    assert!(rec.reasoning_tokens.is_some_and(|n| n > 0), "{rec:?}");
    assert_eq!((rec.cache_read_tokens, rec.cache_write_tokens, rec.prompt_tokens), (Some(500), Some(20), Some(530)));
    let call = MockLlm::anthropic("claude-haiku").tool_call("toolu_1", "lookup", [r#"{"q":"#, r#" 1}"#]);
    let rec = mocked(call).await;
    assert_eq!(rec.error, None);
    assert_eq!((rec.tool_calls, rec.stop_reason.as_deref()), (1, Some("tool_use")));
    assert!(rec.tool_call_ms.is_some(), "the block's stop completes the call");
    let made = &rec.tool_call_text[0];
    assert_eq!((made.id.as_str(), made.name.as_str(), made.arguments.as_str()), ("toolu_1", "lookup", r#"{"q": 1}"#));
}
