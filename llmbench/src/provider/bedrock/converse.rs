//! `ConverseStream`: the request from a [`GenRequest`], and its events on
//! the timeline. Text deltas are answers; reasoning deltas count for `ttft`
//! but not `ttfo`; tool-use input is answer text. Usage, cache tokens and
//! `latencyMs` come from the trailing `metadata` event.

use std::time::Instant;

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::types::{
    ContentBlock, ContentBlockDelta, ConversationRole, ConverseStreamOutput, InferenceConfiguration, Message,
    PerformanceConfigLatency, PerformanceConfiguration, ReasoningContentBlockDelta, ServiceTier, ServiceTierType,
    SystemContentBlock,
};

use super::{BedrockSettings, document, send_timed};
use crate::provider::aws::{self, AttemptCounter};
use crate::provider::{GenRequest, Progress, Role};
use crate::record::{ContentKind, ErrorClass, RequestError, Timeline, Usage};

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
    aws::read_stream(&mut out.stream, tl, "stream closed before messageStop", on_event).await
}

/// One ConverseStream event, received at `at`.
fn on_event(event: ConverseStreamOutput, at: Instant, tl: &mut Timeline) -> Result<Progress, RequestError> {
    match event {
        ConverseStreamOutput::ContentBlockDelta(d) => match d.delta() {
            Some(ContentBlockDelta::Text(text)) => tl.on_content(at, ContentKind::Answer, text),
            Some(ContentBlockDelta::ReasoningContent(ReasoningContentBlockDelta::Text(text))) => {
                tl.on_content(at, ContentKind::Reasoning, text)
            }
            Some(ContentBlockDelta::ToolUse(tool)) => tl.on_content(at, ContentKind::Answer, tool.input()),
            _ => {}
        },
        ConverseStreamOutput::MessageStop(stop) => {
            tl.set_stop_reason(stop.stop_reason().as_str());
            return Ok(Progress::Complete);
        }
        ConverseStreamOutput::Metadata(meta) => {
            if let Some(u) = meta.usage() {
                let count = |n: i32| u64::try_from(n).ok();
                tl.on_usage(Usage {
                    input_tokens: count(u.input_tokens()),
                    output_tokens: count(u.output_tokens()),
                    cache_read_tokens: u.cache_read_input_tokens().and_then(count),
                    cache_write_tokens: u.cache_write_input_tokens().and_then(count),
                });
            }
            if let Some(metrics) = meta.metrics() {
                tl.set_server_latency_ms(metrics.latency_ms() as f64);
            }
            return Ok(Progress::Last);
        }
        // messageStart, contentBlockStart/Stop and events newer than this SDK.
        _ => {}
    }
    Ok(Progress::More)
}
