//! Testing your own Bedrock client code offline with `llmbench::mock`.
//!
//! `ask` below stands for code in your application: it streams a Bedrock
//! ConverseStream answer and returns the text and the billed output tokens.
//! In your crate this `main` would be a few `#[tokio::test]`s; here it runs
//! as an example and prints what it checked:
//!
//! ```text
//! cargo run --example mock_in_tests
//! ```
//!
//! Your Cargo.toml needs, under `[dev-dependencies]`:
//! `llmbench = { version = "0.1", features = ["mock"] }`, `wiremock = "0.6"`,
//! `tokio` and `aws-sdk-bedrockruntime`.

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_bedrockruntime::types::{ContentBlock, ContentBlockDelta, ConversationRole, ConverseStreamOutput, Message};
use llmbench::mock::{HttpError, MockError, MockLlm};
use wiremock::MockServer;

const MODEL: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";

/// What your application keeps of an answer.
#[derive(Debug, Default)]
struct Answer {
    text: String,
    output_tokens: i32,
    /// Prompt tokens the model's prompt cache served (billed at a discount).
    cache_read_tokens: i32,
    /// Why the model stopped (`end_turn`, `tool_use`, …).
    stop_reason: String,
}

/// Your application's code: the full answer, its output tokens, the cache
/// hits and why it stopped.
async fn ask(client: &Client, prompt: &str) -> Result<Answer, String> {
    let message = Message::builder()
        .role(ConversationRole::User)
        .content(ContentBlock::Text(prompt.into()))
        .build()
        .map_err(|e| e.to_string())?;
    let mut out = client
        .converse_stream()
        .model_id(MODEL)
        .messages(message)
        .send()
        .await
        .map_err(|e| format!("request failed: {}", e.into_service_error()))?;
    let mut answer = Answer::default();
    loop {
        match out.stream.recv().await {
            Ok(Some(ConverseStreamOutput::ContentBlockDelta(d))) => {
                if let Some(ContentBlockDelta::Text(t)) = d.delta() {
                    answer.text.push_str(t);
                }
            }
            Ok(Some(ConverseStreamOutput::MessageStop(s))) => answer.stop_reason = s.stop_reason().as_str().to_owned(),
            Ok(Some(ConverseStreamOutput::Metadata(m))) => {
                if let Some(u) = m.usage() {
                    answer.output_tokens = u.output_tokens();
                    answer.cache_read_tokens = u.cache_read_input_tokens().unwrap_or(0);
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => return Ok(answer),
            Err(e) => return Err(format!("stream failed: {}", e.into_service_error())),
        }
    }
}

/// A client for the mock: its URL, fake credentials, no retries. (The
/// plain-HTTP client is set because this workspace builds the SDK without
/// its default HTTPS client; with the SDK's defaults, leave it out.)
fn client(server: &MockServer) -> Client {
    let config = aws_sdk_bedrockruntime::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .endpoint_url(server.uri())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .retry_config(aws_sdk_bedrockruntime::config::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(config)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // The happy path: tokens and usage as Bedrock streams them.
    let server = MockServer::start().await;
    MockLlm::bedrock_converse(MODEL).tokens(["Hello", ",", " world"]).usage(12, 3).mount(&server).await;
    let answer = ask(&client(&server), "Say hello").await.expect("an answer");
    assert_eq!((answer.text.as_str(), answer.output_tokens), ("Hello, world", 3));
    println!("ok: streamed answer {:?}, {} output tokens", answer.text, answer.output_tokens);

    // A prompt-cache hit: does your code read the discounted tokens?
    let server = MockServer::start().await;
    MockLlm::bedrock_converse(MODEL).usage(12, 3).cache(2048, 0).mount(&server).await;
    let answer = ask(&client(&server), "Say hello").await.expect("an answer");
    assert_eq!(answer.cache_read_tokens, 2048);
    println!("ok: {} prompt tokens read from the cache", answer.cache_read_tokens);

    // The model calls a tool instead of answering: does your code notice?
    let server = MockServer::start().await;
    let arguments = [r#"{"city":"#, r#" "Paris"}"#];
    MockLlm::bedrock_converse(MODEL).tool_call("tooluse_1", "get_weather", arguments).mount(&server).await;
    let answer = ask(&client(&server), "Weather in Paris?").await.expect("an answer");
    assert_eq!((answer.text.as_str(), answer.stop_reason.as_str()), ("", "tool_use"));
    println!("ok: a tool call, stop reason {:?}", answer.stop_reason);

    // Throttling before the stream: does your code report it?
    let server = MockServer::start().await;
    MockLlm::bedrock_converse(MODEL).http_error(HttpError::Throttled).mount(&server).await;
    let error = ask(&client(&server), "Say hello").await.expect_err("throttled");
    assert!(error.contains("ThrottlingException"), "{error}");
    println!("ok: HTTP 429 surfaced as {error:?}");

    // A model error after two tokens: the partial answer must not pass for a whole one.
    let server = MockServer::start().await;
    MockLlm::bedrock_converse(MODEL).fail_after(2, MockError::ModelStream).mount(&server).await;
    let error = ask(&client(&server), "Say hello").await.expect_err("failed mid-stream");
    assert!(error.contains("ModelStreamError"), "{error}");
    println!("ok: mid-stream model error surfaced as {error:?}");
}
