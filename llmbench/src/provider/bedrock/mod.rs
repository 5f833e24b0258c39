//! Amazon Bedrock through `aws-sdk-bedrockruntime`: `ConverseStream`
//! (`api = "converse"`, the default) and `InvokeModelWithResponseStream`
//! (`api = "invoke"`, with the model family's own request and chunk bodies,
//! in [`crate::wire::bedrock`]). Facts: docs/providers.md.
//!
//! Every request sets `maxTokens`: Bedrock reserves quota for it at request
//! start, and an unset one reserves the model's maximum.

mod converse;
mod invoke;
#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Instant;

use aws_sdk_bedrockruntime::Client;
use aws_sdk_bedrockruntime::config::Token;
use aws_smithy_runtime_api::client::auth::AuthSchemeId;
use serde_json::Value;

use super::GenRequest;
use super::aws::{self, AttemptCounter, AwsSettings};
use crate::record::{RequestError, Timeline};

pub(crate) use crate::wire::bedrock::Family;

aws::impl_receive!(aws_sdk_bedrockruntime::primitives::event_stream::EventReceiver<T, E>);

/// Which Bedrock operation to call: config's `api`, resolved with the
/// `family` an invoke needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    /// `ConverseStream`: one request and event shape for every model.
    Converse,
    /// `InvokeModelWithResponseStream` with a family's native bodies.
    Invoke(Family),
}

/// One Bedrock target.
#[derive(Debug, Clone)]
pub(crate) struct BedrockSettings {
    /// Region, credentials, endpoint, retries.
    pub aws: AwsSettings,
    /// Model id, inference profile id or ARN.
    pub model: String,
    /// The operation.
    pub api: Api,
    /// `performanceConfig.latency`: `standard` or `optimized`.
    pub latency: Option<String>,
    /// `serviceTier.type`: `priority`, `default`, `flex`, `reserved`.
    pub service_tier: Option<String>,
    /// Converse: `additionalModelRequestFields`. Invoke: fields merged into
    /// the family's body, replacing standard ones of the same name.
    pub extra: Option<serde_json::Map<String, Value>>,
}

/// A client for one Bedrock target; clones share the connection pool.
#[derive(Clone)]
pub(crate) struct BedrockProvider {
    client: Client,
    settings: BedrockSettings,
}

impl fmt::Debug for BedrockProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BedrockProvider").field("settings", &self.settings).finish()
    }
}

impl BedrockProvider {
    /// Loads the AWS configuration (credentials, region) and builds the
    /// client. Fails with a message fit for the user when either is missing.
    pub(crate) async fn new(settings: BedrockSettings) -> Result<Self, String> {
        let sdk = aws::sdk_config(&settings.aws).await?;
        let mut config = aws_sdk_bedrockruntime::config::Builder::from(&sdk);
        if let Some(token) = &settings.aws.bearer_token {
            config = config
                .bearer_token(Token::new(token.clone(), None))
                .auth_scheme_preference([AuthSchemeId::from("httpBearerAuth")]);
        }
        Ok(BedrockProvider { client: Client::from_conf(config.build()), settings })
    }

    /// Sends `req` and records its stream on `tl`.
    pub(crate) async fn send(&self, req: &GenRequest, tl: &mut Timeline) -> Result<(), RequestError> {
        let counter = (self.settings.aws.retries > 0).then(AttemptCounter::default);
        let outcome = match self.settings.api {
            Api::Converse => converse::send(&self.client, &self.settings, req, tl, counter.as_ref()).await,
            Api::Invoke(family) => invoke::send(&self.client, &self.settings, family, req, tl, counter.as_ref()).await,
        };
        if let Some(counter) = counter {
            tl.set_attempts(counter.get());
        }
        outcome
    }
}

/// Sends the operation's future, stamping `sent` before and `headers` when
/// it returns (the SDK returns once the response headers are in). The
/// service's request id becomes the response id, to find the request in
/// AWS logs.
async fn send_timed<O: aws_sdk_bedrockruntime::operation::RequestId, E>(
    tl: &mut Timeline,
    send: impl Future<
        Output = Result<
            O,
            aws_smithy_runtime_api::client::result::SdkError<E, aws_sdk_bedrockruntime::config::http::HttpResponse>,
        >,
    >,
) -> Result<O, RequestError>
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    tl.mark_sent(Instant::now());
    let sent = tokio::time::timeout_at(aws::deadline(tl), send).await;
    let at = Instant::now();
    match sent {
        Err(_elapsed) => Err(tl.timeout_error()),
        Ok(Err(e)) => Err(aws::send_error(e)),
        Ok(Ok(output)) => {
            tl.mark_headers(at);
            if let Some(id) = output.request_id() {
                tl.set_response_id(id);
            }
            Ok(output)
        }
    }
}

/// A JSON value as a smithy `Document` (for `additionalModelRequestFields`).
fn document(value: &Value) -> aws_smithy_types::Document {
    use aws_smithy_types::{Document, Number};
    match value {
        Value::Null => Document::Null,
        Value::Bool(b) => Document::Bool(*b),
        Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
            (Some(u), _, _) => Document::Number(Number::PosInt(u)),
            (None, Some(i), _) => Document::Number(Number::NegInt(i)),
            (None, None, f) => Document::Number(Number::Float(f.unwrap_or(0.0))),
        },
        Value::String(s) => Document::String(s.clone()),
        Value::Array(items) => Document::Array(items.iter().map(document).collect()),
        Value::Object(map) => Document::Object(map.iter().map(|(k, v)| (k.clone(), document(v))).collect()),
    }
}
