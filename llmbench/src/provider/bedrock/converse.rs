//! `ConverseStream`: the request from a [`GenRequest`] through the SDK's
//! builders, and its events on the timeline, decoded by
//! [`crate::wire::bedrock::converse`].

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{
    CachePointBlock, CachePointType, ContentBlock, ConversationRole, ImageBlock, ImageFormat, ImageSource,
    InferenceConfiguration, Message, PerformanceConfigLatency, PerformanceConfiguration, ServiceTier, ServiceTierType,
    SystemContentBlock, Tool, ToolConfiguration, ToolInputSchema, ToolResultBlock, ToolResultContentBlock,
    ToolSpecification, ToolUseBlock,
};

use super::{BedrockSettings, document, send_timed};
use crate::provider::aws::{self, AttemptCounter};
use crate::provider::{GenRequest, Role, Stamp};
use crate::record::{ErrorClass, RequestError, Timeline};
use crate::wire::bedrock::converse;

pub(super) async fn send(
    client: &Client,
    s: &BedrockSettings,
    req: &GenRequest,
    tl: &mut Timeline,
    counter: Option<&AttemptCounter>,
) -> Result<(), RequestError> {
    let (system, messages) = messages(req)?;
    let tool_config = tool_config(req)?;
    // Thinking goes in the model's own fields; the target's own
    // additional_model_request_fields win.
    let mut fields = serde_json::Map::new();
    if let Some(budget) = req.thinking_budget_tokens() {
        fields.insert("thinking".into(), serde_json::json!({"type": "enabled", "budget_tokens": budget}));
    }
    crate::wire::merge_extra(&mut fields, s.extra.as_ref());
    let inference = InferenceConfiguration::builder()
        .set_max_tokens(req.max_tokens.map(|n| i32::try_from(n).unwrap_or(i32::MAX)))
        .set_temperature(req.temperature)
        .set_top_p(req.top_p)
        .set_stop_sequences((!req.stop.is_empty()).then(|| req.stop.clone()))
        .build();
    let mut op = client
        .converse_stream()
        .model_id(&s.model)
        .set_messages(Some(messages))
        .set_system((!system.is_empty()).then_some(system))
        .set_tool_config(tool_config)
        .inference_config(inference);
    if !fields.is_empty() {
        op = op.additional_model_request_fields(document(&serde_json::Value::Object(fields)));
    }
    if let Some(latency) = &s.latency {
        let config =
            PerformanceConfiguration::builder().latency(PerformanceConfigLatency::from(latency.as_str())).build();
        op = op.performance_config(config);
    }
    if let Some(tier) = &s.service_tier {
        let tier = ServiceTier::builder()
            .r#type(ServiceTierType::from(tier.as_str()))
            .build()
            .map_err(|e| RequestError::new(ErrorClass::Client, format!("cannot build serviceTier: {e}")))?;
        op = op.service_tier(tier);
    }
    let mut op = op.customize();
    if let Some(counter) = counter {
        op = op.interceptor(counter.clone());
    }
    let mut out = send_timed(tl, op.send()).await?;
    let mut decoder = converse::ConverseDecoder::default();
    aws::read_stream(&mut out.stream, tl, "stream closed before messageStop", |event, at, tl| {
        Ok(decoder.on_event(event, &mut Stamp { tl, at }))
    })
    .await
}

/// A request part the SDK's builder refused (a required field missing).
fn build(what: &str, e: &dyn std::fmt::Display) -> RequestError {
    RequestError::new(ErrorClass::Client, format!("cannot build the {what}: {e}"))
}

/// The system blocks (a cache point after the shared prefix) and the
/// conversation, the request's images in their message.
fn messages(req: &GenRequest) -> Result<(Vec<SystemContentBlock>, Vec<Message>), RequestError> {
    let mut system = Vec::new();
    let mut messages = Vec::new();
    let with_images = req.image_message();
    let mut pending_results = Vec::new();
    for (i, m) in req.messages.iter().enumerate() {
        let role = match m.role {
            Role::System => {
                system.push(SystemContentBlock::Text(m.content.clone()));
                // The shared prefix is the first system block: cache up to it.
                if req.cache_prefix && system.len() == 1 {
                    let point = CachePointBlock::builder()
                        .r#type(CachePointType::Default)
                        .build()
                        .map_err(|e| build("cachePoint", &e))?;
                    system.push(SystemContentBlock::CachePoint(point));
                }
                continue;
            }
            // Results of one reply's calls go back together, in one user message.
            Role::Tool => {
                let result = ToolResultBlock::builder()
                    .tool_use_id(m.tool_call_id.clone().unwrap_or_default())
                    .content(ToolResultContentBlock::Text(m.content.clone()))
                    .build()
                    .map_err(|e| build("toolResult", &e))?;
                pending_results.push(ContentBlock::ToolResult(result));
                continue;
            }
            Role::User => ConversationRole::User,
            Role::Assistant => ConversationRole::Assistant,
        };
        flush_results(&mut pending_results, &mut messages)?;
        let text = (!m.content.is_empty() || m.tool_calls.is_empty()).then(|| ContentBlock::Text(m.content.clone()));
        let mut message = Message::builder().role(role).set_content(Some(text.into_iter().collect()));
        for call in &m.tool_calls {
            let block = ToolUseBlock::builder()
                .tool_use_id(&call.id)
                .name(&call.name)
                .input(document(&call.input()))
                .build()
                .map_err(|e| build("toolUse", &e))?;
            message = message.content(ContentBlock::ToolUse(block));
        }
        if with_images == Some(i) {
            for image in &req.images {
                let block = ImageBlock::builder()
                    .format(ImageFormat::Png)
                    .source(ImageSource::Bytes(Blob::new(image.png.to_vec())))
                    .build()
                    .map_err(|e| build("image block", &e))?;
                message = message.content(ContentBlock::Image(block));
            }
        }
        messages.push(message.build().map_err(|e| build("message", &e))?);
    }
    flush_results(&mut pending_results, &mut messages)?;
    Ok((system, messages))
}

/// Sends the tool results gathered so far as one user message.
fn flush_results(results: &mut Vec<ContentBlock>, messages: &mut Vec<Message>) -> Result<(), RequestError> {
    if !results.is_empty() {
        let message = Message::builder().role(ConversationRole::User).set_content(Some(std::mem::take(results)));
        messages.push(message.build().map_err(|e| build("message", &e))?);
    }
    Ok(())
}

/// The request's tools as a `toolConfig`, if it has any.
fn tool_config(req: &GenRequest) -> Result<Option<ToolConfiguration>, RequestError> {
    if req.tools.is_empty() {
        return Ok(None);
    }
    let tools = req
        .tools
        .iter()
        .map(|t| {
            ToolSpecification::builder()
                .name(&t.name)
                .description(&t.description)
                .input_schema(ToolInputSchema::Json(document(&t.parameters)))
                .build()
                .map(Tool::ToolSpec)
                .map_err(|e| build("tool", &e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    ToolConfiguration::builder().set_tools(Some(tools)).build().map(Some).map_err(|e| build("toolConfig", &e))
}
