//! Resolving the targets of each provider (OpenAI-compatible, Anthropic,
//! Bedrock, SageMaker) and the simulator's protocols (the built-in `sim-bedrock`,
//! `sim-bedrock-invoke` and `sim-sagemaker`, and `protocol = …` on sim
//! targets). Config values were checked by `config::validate`; what is left
//! is reading the environment and the cargo features this build has.

use std::time::Duration;

use super::file::{Config, ConfigError, SimProtocol, TargetConfig};
use super::{Connection, SimClient, TargetIdentity};
use crate::provider::anthropic::{AnthropicSettings, DEFAULT_BASE_URL};
use crate::provider::openai::OpenAiSettings;
use crate::wire::openai::Endpoint;

/// The simulator protocol of a built-in target name, if it is one.
pub(crate) fn builtin(name: &str) -> Option<SimClient> {
    match name {
        "sim" => Some(SimClient::OpenAi),
        #[cfg(feature = "bedrock")]
        "sim-bedrock" => Some(SimClient::Bedrock(crate::provider::bedrock::Api::Converse)),
        #[cfg(feature = "bedrock")]
        "sim-bedrock-invoke" => {
            Some(SimClient::Bedrock(crate::provider::bedrock::Api::Invoke(crate::provider::bedrock::Family::Anthropic)))
        }
        #[cfg(feature = "sagemaker")]
        "sim-sagemaker" => Some(SimClient::SageMaker(crate::provider::sagemaker::Format::Tgi)),
        _ => None,
    }
}

/// The `endpoint` of a sim target's identity: `sim` for the OpenAI
/// protocol (as before), `sim/<protocol>` for the others.
pub(crate) fn sim_endpoint(client: SimClient) -> String {
    match client {
        SimClient::OpenAi => "sim".into(),
        #[cfg(feature = "bedrock")]
        SimClient::Bedrock(crate::provider::bedrock::Api::Converse) => "sim/bedrock-converse".into(),
        #[cfg(feature = "bedrock")]
        SimClient::Bedrock(crate::provider::bedrock::Api::Invoke(family)) => {
            format!("sim/bedrock-invoke/{}", family.name())
        }
        #[cfg(feature = "sagemaker")]
        SimClient::SageMaker(format) => format!("sim/sagemaker/{}", format.name()),
    }
}

/// The protocol of a configured sim target (`protocol`, `family`, `format`).
#[cfg_attr(all(feature = "bedrock", feature = "sagemaker"), allow(unused_variables))]
pub(crate) fn sim_client(config: &Config, name: &str, t: &TargetConfig, at: usize) -> Result<SimClient, ConfigError> {
    match t.protocol.unwrap_or_default() {
        SimProtocol::Openai => Ok(SimClient::OpenAi),
        #[cfg(feature = "bedrock")]
        SimProtocol::Bedrock => Ok(SimClient::Bedrock(crate::provider::bedrock::Api::Converse)),
        #[cfg(feature = "bedrock")]
        SimProtocol::BedrockInvoke => {
            let family = t.family.unwrap_or(crate::wire::bedrock::Family::Anthropic);
            Ok(SimClient::Bedrock(crate::provider::bedrock::Api::Invoke(family)))
        }
        #[cfg(feature = "sagemaker")]
        SimProtocol::Sagemaker => Ok(SimClient::SageMaker(t.format.unwrap_or(crate::wire::sagemaker::Format::Tgi))),
        #[cfg(not(all(feature = "bedrock", feature = "sagemaker")))]
        other => Err(config.invalid(at, format!("targets.{name}.protocol"), missing_feature(other))),
    }
}

/// The error for a protocol this build was compiled without.
#[cfg(not(all(feature = "bedrock", feature = "sagemaker")))]
fn missing_feature(protocol: SimProtocol) -> String {
    let feature = if protocol == SimProtocol::Sagemaker { "sagemaker" } else { "bedrock" };
    let protocol = protocol.as_str();
    format!("this llmbench was built without the `{feature}` cargo feature (enable it to use {protocol:?})")
}

/// The variable named by `api_key_env`, which must be set.
fn key_from_env(config: &Config, name: &str, t: &TargetConfig, at: usize) -> Result<Option<String>, ConfigError> {
    let Some(var) = &t.api_key_env else { return Ok(None) };
    match std::env::var(var) {
        Ok(key) if !key.is_empty() => Ok(Some(key)),
        _ => Err(config.invalid(
            at,
            format!("targets.{name}.api_key_env"),
            format!("environment variable {var} is not set (export it, or remove api_key_env)"),
        )),
    }
}

/// JSON fields of a TOML table (`extra_body`, `additional_model_request_fields`).
fn json_fields(table: &Option<toml::Table>) -> Option<serde_json::Map<String, serde_json::Value>> {
    match serde_json::to_value(table.as_ref()?) {
        Ok(serde_json::Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// `provider = "sim"`: a simulator this process starts, spoken to in the
/// target's protocol.
pub(crate) fn sim(
    config: &Config,
    name: &str,
    t: &TargetConfig,
    at: usize,
) -> Result<(TargetIdentity, Connection), ConfigError> {
    let client = sim_client(config, name, t, at)?;
    let identity = TargetIdentity {
        name: name.into(),
        provider: "sim".into(),
        model: "sim".into(),
        endpoint: sim_endpoint(client),
    };
    let sim = t.sim.clone().unwrap_or_else(|| config.sim.clone());
    Ok((identity, Connection::Sim { sim, endpoint: t.endpoint, client }))
}

/// `provider = "openai"`: an OpenAI-compatible server.
pub(crate) fn openai(
    config: &Config,
    name: &str,
    t: &TargetConfig,
    at: usize,
    connect_timeout: Duration,
) -> Result<(TargetIdentity, Connection), ConfigError> {
    let api_key = key_from_env(config, name, t, at)?;
    let base_url = t.base_url.clone().unwrap_or_default();
    let model = t.model.clone().unwrap_or_default();
    let route = match t.endpoint {
        Endpoint::Chat => "chat/completions",
        Endpoint::Completions => "completions",
    };
    let identity = TargetIdentity {
        name: name.into(),
        provider: "openai".into(),
        model: model.clone(),
        endpoint: super::endpoint_of(&base_url, route),
    };
    let settings = OpenAiSettings {
        base_url,
        model,
        api_key,
        endpoint: t.endpoint,
        connect_timeout,
        include_usage: t.include_usage.unwrap_or(true),
        send_min_tokens: t.exact_output.unwrap_or(false),
        extra_body: json_fields(&t.extra_body),
    };
    Ok((identity, Connection::OpenAi(settings)))
}

/// `provider = "anthropic"`.
pub(crate) fn anthropic(
    config: &Config,
    name: &str,
    t: &TargetConfig,
    at: usize,
    connect_timeout: Duration,
) -> Result<(TargetIdentity, Connection), ConfigError> {
    let api_key = key_from_env(config, name, t, at)?;
    let base_url = t.base_url.clone().unwrap_or_else(|| DEFAULT_BASE_URL.into());
    let model = t.model.clone().unwrap_or_default();
    let identity = TargetIdentity {
        name: name.into(),
        provider: "anthropic".into(),
        model: model.clone(),
        endpoint: super::endpoint_of(&base_url, "v1/messages"),
    };
    let settings =
        AnthropicSettings { base_url, model, api_key, connect_timeout, extra_body: json_fields(&t.extra_body) };
    Ok((identity, Connection::Anthropic(settings)))
}

/// `provider = "bedrock"`.
#[cfg(feature = "bedrock")]
pub(crate) fn bedrock(
    config: &Config,
    name: &str,
    t: &TargetConfig,
    at: usize,
    connect_timeout: Duration,
) -> Result<(TargetIdentity, Connection), ConfigError> {
    use super::file::BedrockApi;
    use crate::provider::bedrock::{Api, BedrockSettings};
    let bearer_token = key_from_env(config, name, t, at)?;
    let api = match (t.api, t.family) {
        (Some(BedrockApi::Invoke), Some(family)) => Api::Invoke(family),
        _ => Api::Converse,
    };
    let model = t.model.clone().unwrap_or_default();
    let (route, extra) = match api {
        Api::Converse => ("converse-stream", json_fields(&t.additional_model_request_fields)),
        Api::Invoke(_) => ("invoke-with-response-stream", json_fields(&t.extra_body)),
    };
    let identity = TargetIdentity {
        name: name.into(),
        provider: "bedrock".into(),
        model: model.clone(),
        endpoint: format!("{}/model/{model}/{route}", aws_base(t, "bedrock-runtime")),
    };
    let settings = BedrockSettings {
        aws: aws_settings(t, connect_timeout, bearer_token),
        model,
        api,
        latency: t.latency.map(|l| l.as_str().to_owned()),
        service_tier: t.service_tier.map(|tier| tier.as_str().to_owned()),
        extra,
    };
    Ok((identity, Connection::Bedrock(settings)))
}

/// `provider = "sagemaker"`.
#[cfg(feature = "sagemaker")]
pub(crate) fn sagemaker(
    _config: &Config,
    name: &str,
    t: &TargetConfig,
    _at: usize,
    connect_timeout: Duration,
) -> Result<(TargetIdentity, Connection), ConfigError> {
    use crate::provider::sagemaker::{Format, SageMakerSettings};
    let endpoint_name = t.endpoint_name.clone().unwrap_or_default();
    let format = t.format.unwrap_or(Format::Tgi);
    let identity = TargetIdentity {
        name: name.into(),
        provider: "sagemaker".into(),
        model: t.model.clone().or_else(|| t.inference_component.clone()).unwrap_or_else(|| endpoint_name.clone()),
        endpoint: format!("{}/endpoints/{endpoint_name}/invocations-response-stream", aws_base(t, "runtime.sagemaker")),
    };
    let settings = SageMakerSettings {
        aws: aws_settings(t, connect_timeout, None),
        endpoint_name,
        inference_component: t.inference_component.clone(),
        target_variant: t.target_variant.clone(),
        custom_attributes: t.custom_attributes.clone(),
        format,
        model: t.model.clone(),
        extra: json_fields(&t.extra_body),
    };
    Ok((identity, Connection::SageMaker(settings)))
}

/// What a provider needs that this build lacks: a config error.
#[cfg(not(all(feature = "bedrock", feature = "sagemaker")))]
pub(crate) fn unavailable(config: &Config, name: &str, at: usize, provider: &str) -> ConfigError {
    config.invalid(
        at,
        format!("targets.{name}.provider"),
        format!(
            "this llmbench was built without the `{provider}` cargo feature (enable it to use provider = {provider:?})"
        ),
    )
}

#[cfg(feature = "_aws")]
fn aws_settings(
    t: &TargetConfig,
    connect_timeout: Duration,
    bearer_token: Option<String>,
) -> crate::provider::aws::AwsSettings {
    crate::provider::aws::AwsSettings {
        region: t.region.clone(),
        profile: t.profile.clone(),
        endpoint_url: t.endpoint_url.clone(),
        retries: t.retries.unwrap_or(0),
        connect_timeout,
        bearer_token,
        hermetic: false,
    }
}

/// The service's base URL as far as config tells (for the identity only).
#[cfg(feature = "_aws")]
fn aws_base(t: &TargetConfig, service: &str) -> String {
    match (&t.endpoint_url, &t.region) {
        (Some(url), _) => crate::redact::redact_url(url.trim_end_matches('/')).into_owned(),
        (None, Some(region)) => format!("https://{service}.{region}.amazonaws.com"),
        (None, None) => format!("https://{service}.<default region>.amazonaws.com"),
    }
}
