//! Every protocol's request body for one request that uses every
//! request-level feature — a cached shared prefix, an image, a tool,
//! reasoning — against byte-exact fixtures in `tests/fixtures/requests/`.

use crate::request::{GenRequest, Message, ReasoningEffort, Role, Tool};
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
        messages: vec![
            Message { role: Role::System, content: "Shared handbook.".into() },
            Message { role: Role::User, content: "Weather in Paris?".into() },
        ],
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
