//! `InvokeModelWithResponseStream`: the family's body in, the family's
//! chunks out (decoded by [`ChunkDecoder`]).

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::primitives::Blob;
use aws_sdk_bedrockruntime::types::{PerformanceConfigLatency, ResponseStream, ServiceTierType};

use super::{BedrockSettings, send_timed};
use crate::provider::aws::{self, AttemptCounter};
use crate::provider::{GenRequest, Progress, Stamp};
use crate::record::{RequestError, Timeline};
use crate::wire::bedrock::invoke::{ChunkDecoder, Family};

pub(super) async fn send(
    client: &Client,
    s: &BedrockSettings,
    family: Family,
    req: &GenRequest,
    tl: &mut Timeline,
    counter: Option<&AttemptCounter>,
) -> Result<(), RequestError> {
    if let Some(why) = family.refuses(req) {
        return Err(RequestError::new(crate::record::ErrorClass::Client, why));
    }
    let body = family.body(req, s.extra.as_ref());
    let mut op = client
        .invoke_model_with_response_stream()
        .model_id(&s.model)
        .content_type("application/json")
        .accept("application/json")
        .body(Blob::new(body));
    if let Some(latency) = &s.latency {
        op = op.performance_config_latency(PerformanceConfigLatency::from(latency.as_str()));
    }
    if let Some(tier) = &s.service_tier {
        op = op.service_tier(ServiceTierType::from(tier.as_str()));
    }
    let mut op = op.customize();
    if let Some(counter) = counter {
        op = op.interceptor(counter.clone());
    }
    let mut out = send_timed(tl, op.send()).await?;
    let mut decoder = ChunkDecoder::new(family);
    aws::read_stream(&mut out.body, tl, "stream closed before the model's stop", |event, at, tl| match event {
        ResponseStream::Chunk(part) => match part.bytes() {
            Some(bytes) => decoder.on_chunk(bytes.as_ref(), &mut Stamp { tl, at }),
            None => Ok(Progress::More),
        },
        _ => Ok(Progress::More),
    })
    .await
}
