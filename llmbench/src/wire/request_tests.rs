//! Every protocol's request body for one request that uses every
//! request-level feature — a cached shared prefix, an image, a tool,
//! reasoning — against byte-exact fixtures in `tests/fixtures/requests/`.

use crate::request::{GenRequest, Message, ReasoningEffort, Role, Tool, ToolCall};
use crate::wire::anthropic::{self, Host};
use crate::wire::bedrock::Family;
use crate::wire::openai::{self, BodyOptions, Endpoint};
use crate::wire::sagemaker::Format;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../tests/fixtures/requests/", $name))
    };
}

/// The request: a shared system prefix marked for caching, a question with
/// one 1 × 1 image, a tool, reasoning effort `high` and a thinking budget.
fn request() -> GenRequest {
    GenRequest {
        messages: vec![Message::new(Role::System, "Shared handbook."), Message::new(Role::User, "Weather in Paris?")],
        max_tokens: Some(4096),
        reasoning_effort: Some(ReasoningEffort::High),
        thinking_budget: Some(2048),
        tools: vec![Tool {
            name: "get_weather".into(),
            description: "Current weather".into(),
            parameters: serde_json::json!({"type": "object", "required": ["city"],
                                           "properties": {"city": {"type": "string"}}}),
        }],
        images: vec![crate::workload::image::image(1, 0)],
        cache_prefix: true,
        ..GenRequest::default()
    }
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap() + "\n"
}

#[test]
fn openai_chat_sends_image_url_parts_tools_and_reasoning_effort() {
    let o =
        BodyOptions { model: "m", endpoint: Endpoint::Chat, include_usage: true, send_min_tokens: false, extra: None };
    assert_eq!(text(openai::request_body(o, &request()).unwrap()), fixture!("openai_chat.json"));
}

#[test]
fn anthropic_sends_cache_control_image_blocks_tools_and_thinking() {
    let body = anthropic::messages_body(Host::Direct { model: "claude" }, &request(), None);
    assert_eq!(text(body), fixture!("anthropic.json"));
    let budget_from_effort = GenRequest { thinking_budget: None, ..request() };
    let body: serde_json::Value =
        serde_json::from_slice(&anthropic::messages_body(Host::Bedrock, &budget_from_effort, None)).unwrap();
    assert_eq!(body["thinking"], serde_json::json!({"type": "enabled", "budget_tokens": 16384}));
}

#[test]
fn bedrock_invoke_families_send_their_own_forms() {
    assert_eq!(text(Family::Anthropic.body(&request(), None)), fixture!("bedrock_invoke_anthropic.json"));
    assert_eq!(text(Family::AmazonNova.body(&request(), None)), fixture!("bedrock_invoke_nova.json"));
    assert_eq!(text(Family::OpenAi.body(&request(), None)), fixture!("bedrock_invoke_openai.json"));
    let refused = Family::Meta.refuses(&request()).unwrap();
    assert_eq!(refused, "family meta takes a text prompt and cannot send images (use api = \"converse\")");
    assert_eq!(Family::Meta.refuses(&GenRequest::default()), None);
}

#[test]
fn sagemaker_openai_sends_the_chat_form_and_text_formats_refuse() {
    assert_eq!(text(Format::OpenAi.body(&request(), Some("m"), None)), fixture!("sagemaker_openai.json"));
    let tools_only = GenRequest { images: Vec::new(), ..request() };
    assert!(Format::Tgi.refuses(&tools_only).unwrap().contains("cannot send tools"));
}

/// An agent step: the model called a tool in the reply before, and this
/// request sends its result back.
fn agent_step() -> GenRequest {
    let call = ToolCall { id: "call_1".into(), name: "get_weather".into(), arguments: r#"{"city": "Paris"}"#.into() };
    GenRequest {
        messages: vec![
            Message::new(Role::System, "Shared handbook."),
            Message::new(Role::User, "Weather in Paris?"),
            Message::assistant("", vec![call]),
            Message::tool_result("call_1", r#"{"temp_c": 21}"#),
        ],
        max_tokens: Some(256),
        tools: request().tools,
        ..GenRequest::default()
    }
}

#[test]
fn agent_steps_send_the_calls_and_their_results_in_each_protocols_form() {
    let o =
        BodyOptions { model: "m", endpoint: Endpoint::Chat, include_usage: true, send_min_tokens: false, extra: None };
    assert_eq!(text(openai::request_body(o, &agent_step()).unwrap()), fixture!("openai_agent_step.json"));
    let body = anthropic::messages_body(Host::Direct { model: "claude" }, &agent_step(), None);
    assert_eq!(text(body), fixture!("anthropic_agent_step.json"));
    // Two calls answered in one reply: Anthropic wants both results in one user message.
    let mut two = agent_step();
    let second = ToolCall { id: "call_2".into(), name: "get_weather".into(), arguments: r#"{"city": "Oslo"}"#.into() };
    two.messages[2].tool_calls.push(second);
    two.messages.push(Message::tool_result("call_2", r#"{"temp_c": 3}"#));
    let body: serde_json::Value = serde_json::from_slice(&anthropic::messages_body(Host::Bedrock, &two, None)).unwrap();
    let results = &body["messages"][2];
    assert_eq!((results["role"].as_str(), results["content"].as_array().map(Vec::len)), (Some("user"), Some(2)));
    assert_eq!(results["content"][1]["tool_use_id"], "call_2");
    let nova: serde_json::Value = serde_json::from_slice(&Family::AmazonNova.body(&two, None)).unwrap();
    let expected = serde_json::json!([
        {"role": "user", "content": [{"text": "Weather in Paris?"}]},
        {"role": "assistant", "content": [
            {"toolUse": {"toolUseId": "call_1", "name": "get_weather", "input": {"city": "Paris"}}},
            {"toolUse": {"toolUseId": "call_2", "name": "get_weather", "input": {"city": "Oslo"}}}]},
        {"role": "user", "content": [
            {"toolResult": {"toolUseId": "call_1", "content": [{"text": "{\"temp_c\": 21}"}]}},
            {"toolResult": {"toolUseId": "call_2", "content": [{"text": "{\"temp_c\": 3}"}]}}]}
    ]);
    assert_eq!(nova["messages"], expected);
    let openai_family: serde_json::Value = serde_json::from_slice(&Family::OpenAi.body(&two, None)).unwrap();
    assert_eq!(openai_family["messages"][3]["role"], "tool");
    assert_eq!(openai_family["messages"][2]["tool_calls"][1]["id"], "call_2");
}
