//! `ConverseStream`: the request from a [`GenRequest`] through the SDK's
//! builders, and its events on the timeline, decoded by
//! [`crate::wire::bedrock::converse`].

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ConversationRole, InferenceConfiguration, Message, PerformanceConfigLatency,
    PerformanceConfiguration, ServiceTier, ServiceTierType, SystemContentBlock,
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
    let mut system = Vec::new();
    let mut messages = Vec::new();
    for m in &req.messages {
        let role = match m.role {
            Role::System => {
                system.push(SystemContentBlock::Text(m.content.clone()));
                continue;
            }
            Role::User => ConversationRole::User,
            Role::Assistant => ConversationRole::Assistant,
        };
        let message = Message::builder()
            .role(role)
            .content(ContentBlock::Text(m.content.clone()))
            .build()
            .map_err(|e| RequestError::new(ErrorClass::Client, format!("cannot build the message: {e}")))?;
        messages.push(message);
    }
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
        .inference_config(inference);
    if let Some(extra) = &s.extra {
        op = op.additional_model_request_fields(document(&serde_json::Value::Object(extra.clone())));
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
    aws::read_stream(&mut out.stream, tl, "stream closed before messageStop", |event, at, tl| {
        Ok(converse::on_event(event, &mut Stamp { tl, at }))
    })
    .await
}
