//! Builds the client of a resolved target: the provider of its protocol,
//! pointed at its endpoint, or at the simulator this process started for it.
//! Runs on the client runtime: the AWS SDK resolves credentials and region
//! asynchronously, and its connections belong to that runtime.

use super::sim_host::SimHost;
use crate::config::{Connection, SimClient, Target};
use crate::provider::Provider;
use crate::provider::anthropic::AnthropicProvider;
use crate::provider::openai::{OpenAiProvider, OpenAiSettings};

/// The provider for `target`; `sim` is its simulator, for a sim target.
pub(crate) async fn connect(target: &Target, sim: Option<&SimHost>) -> Result<Provider, String> {
    match &target.connection {
        Connection::OpenAi(settings) => {
            let provider = OpenAiProvider::new(settings.clone())?;
            Ok(Provider::OpenAi(provider.with(target.connections, target.max_event_bytes)?))
        }
        Connection::Anthropic(settings) => {
            let provider = AnthropicProvider::new(settings.clone())?;
            Ok(Provider::Anthropic(provider.with(target.connections, target.max_event_bytes)?))
        }
        #[cfg(feature = "bedrock")]
        Connection::Bedrock(settings) => {
            Ok(Provider::Bedrock(crate::provider::bedrock::BedrockProvider::new(settings.clone()).await?))
        }
        #[cfg(feature = "sagemaker")]
        Connection::SageMaker(settings) => {
            let provider = crate::provider::sagemaker::SageMakerProvider::new(settings.clone()).await?;
            Ok(Provider::SageMaker(provider.with_max_event_bytes(target.max_event_bytes)))
        }
        Connection::Sim { endpoint, client, .. } => {
            let host = sim.ok_or("the simulator did not start")?;
            sim_client(target, *client, *endpoint, host).await
        }
    }
}

/// A client for a simulator, in the protocol the target asks for.
async fn sim_client(
    target: &Target,
    client: SimClient,
    endpoint: crate::provider::openai::Endpoint,
    host: &SimHost,
) -> Result<Provider, String> {
    match client {
        SimClient::OpenAi => {
            let settings = OpenAiSettings {
                endpoint,
                connect_timeout: target.connect_timeout,
                send_min_tokens: target.exact_output,
                ..OpenAiSettings::chat(host.base_url(), "sim")
            };
            Ok(Provider::OpenAi(OpenAiProvider::new(settings)?.with(target.connections, target.max_event_bytes)?))
        }
        #[cfg(feature = "bedrock")]
        SimClient::Bedrock(api) => {
            let settings = crate::provider::bedrock::BedrockSettings {
                aws: sim_aws(target, host),
                model: "sim".into(),
                api,
                latency: None,
                service_tier: None,
                extra: None,
            };
            Ok(Provider::Bedrock(crate::provider::bedrock::BedrockProvider::new(settings).await?))
        }
        #[cfg(feature = "sagemaker")]
        SimClient::SageMaker(format) => {
            let settings = crate::provider::sagemaker::SageMakerSettings::new(sim_aws(target, host), "sim", format);
            let provider = crate::provider::sagemaker::SageMakerProvider::new(settings).await?;
            Ok(Provider::SageMaker(provider.with_max_event_bytes(target.max_event_bytes)))
        }
    }
}

/// Fixed settings for the simulator: its URL, fake credentials, no
/// environment reads, retries off.
#[cfg(feature = "_aws")]
fn sim_aws(target: &Target, host: &SimHost) -> crate::provider::aws::AwsSettings {
    crate::provider::aws::AwsSettings {
        endpoint_url: Some(host.url()),
        connect_timeout: target.connect_timeout,
        hermetic: true,
        ..crate::provider::aws::AwsSettings::default()
    }
}
