//! `ConverseStream`: the request from a [`GenRequest`] through the SDK's
//! builders, and its events on the timeline, decoded by
//! [`crate::wire::bedrock::converse`].

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{
    CachePointBlock, CachePointType, ContentBlock, ConversationRole, ImageBlock, ImageFormat, ImageSource,
    InferenceConfiguration, Message, PerformanceConfigLatency, PerformanceConfiguration, ServiceTier, ServiceTierType,
    SystemContentBlock, Tool, ToolConfiguration, ToolInputSchema, ToolSpecification,
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
            Role::User => ConversationRole::User,
            Role::Assistant => ConversationRole::Assistant,
        };
        let mut message = Message::builder().role(role).content(ContentBlock::Text(m.content.clone()));
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
    Ok((system, messages))
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
