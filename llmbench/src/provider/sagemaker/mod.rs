//! Amazon SageMaker real-time endpoints through `aws-sdk-sagemakerruntime`:
//! `InvokeEndpointWithResponseStream`, with the request body and the line
//! format of the serving container (`format`): TGI, DJL LMI, or
//! OpenAI-compatible chat (vLLM, TGI's Messages API, LMI chat), all in
//! [`crate::wire::sagemaker`]. Facts: docs/providers.md.
//!
//! The stream's `PayloadPart`s carry raw container bytes, which
//! [`PartDecoder`] rebuilds into lines across parts and decodes. The production variant that served each
//! request is recorded.

#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Instant;

use aws_sdk_sagemakerruntime::Client;
use aws_sdk_sagemakerruntime::primitives::Blob;
use aws_sdk_sagemakerruntime::types::ResponseStream;
use serde_json::Value;

use super::aws::{self, AttemptCounter, AwsSettings};
use super::{GenRequest, Progress, Stamp};
use crate::record::{ErrorClass, RequestError, Timeline};
pub(crate) use crate::wire::sagemaker::Format;
use crate::wire::sagemaker::PartDecoder;

aws::impl_receive!(aws_sdk_sagemakerruntime::primitives::event_stream::EventReceiver<T, E>);

/// One SageMaker target.
#[derive(Debug, Clone)]
pub(crate) struct SageMakerSettings {
    /// Region, credentials, endpoint, retries.
    pub aws: AwsSettings,
    /// `endpoint_name`.
    pub endpoint_name: String,
    /// `inference_component`: `X-Amzn-SageMaker-Inference-Component`.
    pub inference_component: Option<String>,
    /// `target_variant`: `X-Amzn-SageMaker-Target-Variant`.
    pub target_variant: Option<String>,
    /// `custom_attributes`: `X-Amzn-SageMaker-Custom-Attributes`.
    pub custom_attributes: Option<String>,
    /// The container's protocol.
    pub format: Format,
    /// The `model` field, for the `openai` format (vLLM may want it).
    pub model: Option<String>,
    /// Fields merged into every request body (into `parameters` for the
    /// `tgi` and `lmi` formats), replacing standard ones.
    pub extra: Option<serde_json::Map<String, Value>>,
}

impl SageMakerSettings {
    /// `endpoint_name` speaking `format`, with no routing headers, model or
    /// extra fields.
    pub(crate) fn new(aws: AwsSettings, endpoint_name: &str, format: Format) -> SageMakerSettings {
        SageMakerSettings {
            aws,
            endpoint_name: endpoint_name.into(),
            inference_component: None,
            target_variant: None,
            custom_attributes: None,
            format,
            model: None,
            extra: None,
        }
    }
}

/// A client for one SageMaker endpoint.
#[derive(Clone)]
pub(crate) struct SageMakerProvider {
    client: Client,
    settings: SageMakerSettings,
    /// The longest line accepted (`max_event_size`).
    max_event_bytes: usize,
}

impl fmt::Debug for SageMakerProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SageMakerProvider").field("settings", &self.settings).finish()
    }
}

impl SageMakerProvider {
    /// Loads the AWS configuration and builds the client.
    pub(crate) async fn new(settings: SageMakerSettings) -> Result<Self, String> {
        let sdk = aws::sdk_config(&settings.aws).await?;
        let client = Client::from_conf(aws_sdk_sagemakerruntime::config::Builder::from(&sdk).build());
        Ok(SageMakerProvider { client, settings, max_event_bytes: crate::wire::DEFAULT_MAX_EVENT_BYTES })
    }

    /// Accepts lines up to `bytes` long (`max_event_size`).
    pub(crate) fn with_max_event_bytes(mut self, bytes: usize) -> Self {
        self.max_event_bytes = bytes;
        self
    }

    /// Sends `req` and records its stream on `tl`.
    pub(crate) async fn send(&self, req: &GenRequest, tl: &mut Timeline) -> Result<(), RequestError> {
        let counter = (self.settings.aws.retries > 0).then(AttemptCounter::default);
        let outcome = self.send_counted(req, tl, counter.as_ref()).await;
        if let Some(counter) = counter {
            tl.set_attempts(counter.get());
        }
        outcome
    }

    async fn send_counted(
        &self,
        req: &GenRequest,
        tl: &mut Timeline,
        counter: Option<&AttemptCounter>,
    ) -> Result<(), RequestError> {
        let s = &self.settings;
        if let Some(why) = s.format.refuses(req) {
            return Err(RequestError::new(crate::record::ErrorClass::Client, why));
        }
        let body = s.format.body(req, s.model.as_deref(), s.extra.as_ref());
        let op = self
            .client
            .invoke_endpoint_with_response_stream()
            .endpoint_name(&s.endpoint_name)
            .content_type("application/json")
            .accept(s.format.accept())
            .body(Blob::new(body))
            .set_inference_component_name(s.inference_component.clone())
            .set_target_variant(s.target_variant.clone())
            .set_custom_attributes(s.custom_attributes.clone());
        let mut op = op.customize();
        if let Some(counter) = counter {
            op = op.interceptor(counter.clone());
        }
        tl.mark_sent(Instant::now());
        let sent = tokio::time::timeout_at(aws::deadline(tl), op.send()).await;
        let at = Instant::now();
        let mut out = match sent {
            Err(_elapsed) => return Err(tl.timeout_error()),
            Ok(Err(e)) => return Err(aws::send_error(e)),
            Ok(Ok(out)) => out,
        };
        tl.mark_headers(at);
        if let Some(id) = aws_sdk_sagemakerruntime::operation::RequestId::request_id(&out) {
            tl.set_response_id(id);
        }
        if let Some(variant) = out.invoked_production_variant() {
            tl.set_variant(variant);
        }
        let mut parts = PartDecoder::new(s.format).with_max_line(self.max_event_bytes);
        let outcome = aws::read_stream(&mut out.body, tl, "", |event, at, tl| {
            let ResponseStream::PayloadPart(part) = event else { return Ok(Progress::More) };
            let Some(bytes) = part.bytes() else { return Ok(Progress::More) };
            parts.on_part(bytes.as_ref(), &mut Stamp { tl, at })
        })
        .await;
        // A close before the end marker: the last line may lack its newline.
        match outcome {
            Err(e) if e.class == ErrorClass::Cut && e.message.is_empty() => {
                let at = Instant::now();
                if parts.finish(&mut Stamp { tl, at })? >= Progress::Complete {
                    tl.mark_end(at);
                    return Ok(());
                }
                Err(RequestError::new(ErrorClass::Cut, format!("stream closed before {}", s.format.end_marker())))
            }
            other => other,
        }
    }
}
