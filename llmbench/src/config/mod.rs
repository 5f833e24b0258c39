//! Where to send requests: named targets from `llmbench.toml`, the built-in
//! `sim`, credentials from the environment, and the timeouts that apply.
//!
//! A resolved [`Target`] knows how to build its provider; it never holds a
//! secret in anything that is serialized or printed.

pub mod file;
pub(crate) mod prices;
mod providers;
mod target_keys;

use std::time::Duration;

use serde::Serialize;

use crate::provider::openai::{Endpoint, OpenAiSettings};
use crate::record::Deadlines;
use crate::settings::Settings;
use crate::sim::SimConfig;
use file::{Config, ConfigError, ProviderKind, TargetConfig};

/// Targets that exist without configuration: the simulator, speaking each
/// protocol this build has.
#[cfg(all(feature = "bedrock", feature = "sagemaker"))]
pub const BUILTIN: &[&str] = &["sim", "sim-bedrock", "sim-bedrock-invoke", "sim-sagemaker"];
/// Targets that exist without configuration.
#[cfg(all(feature = "bedrock", not(feature = "sagemaker")))]
pub const BUILTIN: &[&str] = &["sim", "sim-bedrock", "sim-bedrock-invoke"];
/// Targets that exist without configuration.
#[cfg(all(not(feature = "bedrock"), feature = "sagemaker"))]
pub const BUILTIN: &[&str] = &["sim", "sim-sagemaker"];
/// Targets that exist without configuration.
#[cfg(not(any(feature = "bedrock", feature = "sagemaker")))]
pub const BUILTIN: &[&str] = &["sim"];

/// What identifies a target in results: never a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TargetIdentity {
    /// The target's name.
    pub name: String,
    /// `openai`, `anthropic`, `bedrock`, `sagemaker` or `sim`.
    pub provider: String,
    /// The model asked for.
    pub model: String,
    /// The endpoint (`base_url` + route); `sim` for a simulator started per run.
    pub endpoint: String,
}

/// How a resolved target sends requests.
#[derive(Debug, Clone)]
pub(crate) enum Connection {
    /// An OpenAI-compatible server that is already running.
    OpenAi(OpenAiSettings),
    /// A simulator this process starts, then talks to in `client`'s protocol.
    Sim { sim: SimConfig, endpoint: Endpoint, client: SimClient },
    /// The Anthropic Messages API.
    Anthropic(crate::provider::anthropic::AnthropicSettings),
    /// Amazon Bedrock.
    #[cfg(feature = "bedrock")]
    Bedrock(crate::provider::bedrock::BedrockSettings),
    /// An Amazon SageMaker endpoint.
    #[cfg(feature = "sagemaker")]
    SageMaker(crate::provider::sagemaker::SageMakerSettings),
}

/// The protocol a sim target is spoken to in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SimClient {
    /// OpenAI chat or completions (the `endpoint`).
    OpenAi,
    /// Bedrock ConverseStream or InvokeModelWithResponseStream.
    #[cfg(feature = "bedrock")]
    Bedrock(crate::provider::bedrock::Api),
    /// SageMaker InvokeEndpointWithResponseStream with a container format.
    #[cfg(feature = "sagemaker")]
    SageMaker(crate::provider::sagemaker::Format),
}

/// A target ready to run against.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) identity: TargetIdentity,
    pub(crate) connection: Connection,
    pub(crate) deadlines: Deadlines,
    pub(crate) connect_timeout: Duration,
    /// Warm (pooled) or fresh connections (`connections`).
    pub(crate) connections: crate::settings::value::Connections,
    pub(crate) exact_output: bool,
    /// The largest SSE event or SageMaker line accepted (`max_event_size`).
    pub(crate) max_event_bytes: usize,
    /// `tokenizer`: what sizes and counts this target's prompts.
    pub(crate) tokenizer: Option<crate::tokenizer::Tokenizer>,
}

/// The `endpoint` of an identity: `base_url` + `route`, without userinfo or
/// credential query values (crate::redact), since results are shared.
pub(crate) fn endpoint_of(base_url: &str, route: &str) -> String {
    let joined = format!("{}/{route}", base_url.trim_end_matches('/'));
    crate::redact::redact_url(&joined).into_owned()
}

/// Every name that can be asked for: built-ins, then configured ones.
pub(crate) fn known_names(config: &Config) -> Vec<String> {
    BUILTIN.iter().map(|s| s.to_string()).chain(config.targets.keys().cloned()).collect()
}

/// Resolves `name` against `config`, reading credentials from the
/// environment; the deadlines are the benchmark's resolved `settings`.
pub(crate) fn resolve(config: &Config, name: &str, settings: &Settings) -> Result<Target, ConfigError> {
    let deadlines = Deadlines {
        first_content: settings.first_content_timeout,
        total: settings.timeout,
        idle: settings.idle_timeout,
    };
    let connect_timeout = settings.connect_timeout;
    if let Some(client) = providers::builtin(name) {
        let endpoint = providers::sim_endpoint(client);
        return Ok(Target {
            identity: TargetIdentity { name: name.into(), provider: "sim".into(), model: "sim".into(), endpoint },
            connection: Connection::Sim { sim: config.sim.clone(), endpoint: Endpoint::Chat, client },
            deadlines,
            connect_timeout,
            connections: settings.connections,
            exact_output: false,
            max_event_bytes: crate::wire::DEFAULT_MAX_EVENT_BYTES,
            tokenizer: None,
        });
    }
    let Some(spanned) = config.targets.get(name) else {
        return Err(ConfigError::UnknownTarget { name: name.into(), known: known_names(config).join(", ") });
    };
    let t: &TargetConfig = spanned.get_ref();
    let at = spanned.span().start;
    let exact_output = t.exact_output.unwrap_or(false);
    let max_event_bytes = t.max_event_size.as_ref().map_or(crate::wire::DEFAULT_MAX_EVENT_BYTES, |s| s.get().0);
    let tokenizer = match &t.tokenizer {
        Some(path) => {
            let file = match config.path().and_then(std::path::Path::parent) {
                Some(dir) => dir.join(path),
                None => std::path::PathBuf::from(path),
            };
            let tokenizer = crate::tokenizer::Tokenizer::from_file(&file).map_err(|e| {
                config.invalid(at, format!("targets.{name}.tokenizer"), format!("{}: {e}", file.display()))
            })?;
            Some(tokenizer)
        }
        None => None,
    };
    let (identity, connection) = match t.provider {
        ProviderKind::Sim => providers::sim(config, name, t, at)?,
        ProviderKind::Openai => providers::openai(config, name, t, at, connect_timeout)?,
        ProviderKind::Anthropic => providers::anthropic(config, name, t, at, connect_timeout)?,
        #[cfg(feature = "bedrock")]
        ProviderKind::Bedrock => providers::bedrock(config, name, t, at, connect_timeout)?,
        #[cfg(not(feature = "bedrock"))]
        ProviderKind::Bedrock => return Err(providers::unavailable(config, name, at, "bedrock")),
        #[cfg(feature = "sagemaker")]
        ProviderKind::Sagemaker => providers::sagemaker(config, name, t, at, connect_timeout)?,
        #[cfg(not(feature = "sagemaker"))]
        ProviderKind::Sagemaker => return Err(providers::unavailable(config, name, at, "sagemaker")),
    };
    let connections = settings.connections;
    Ok(Target {
        identity,
        connection,
        deadlines,
        connect_timeout,
        connections,
        exact_output,
        max_event_bytes,
        tokenizer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn unknown_targets_list_the_known_ones() {
        let c = Config::parse(
            Path::new("llmbench.toml"),
            "[targets.local]\nprovider = \"openai\"\nbase_url = \"http://h/v1\"\nmodel = \"m\"\n",
        )
        .unwrap();
        let err = resolve(&c, "haiku", &settings(&c, "haiku", &Default::default())).unwrap_err().to_string();
        assert_eq!(err, format!("unknown target \"haiku\" (known: {}, local)", BUILTIN.join(", ")));
    }

    #[test]
    fn missing_api_key_env_is_a_config_error_naming_the_variable() {
        let text = "\n[targets.local]\nprovider = \"openai\"\nbase_url = \"http://h/v1\"\nmodel = \"m\"\napi_key_env = \"LLMBENCH_TEST_SURELY_UNSET\"\n";
        let c = Config::parse(Path::new("llmbench.toml"), text).unwrap();
        let err = resolve(&c, "local", &settings(&c, "local", &Default::default())).unwrap_err().to_string();
        assert!(err.contains("LLMBENCH_TEST_SURELY_UNSET") && err.contains("llmbench.toml:2:"), "{err}");
    }

    /// The settings of `name` from the config alone: `[targets.NAME]` over `[defaults]`.
    fn settings(c: &Config, name: &str, flags: &crate::settings::SettingsLayer) -> Settings {
        use crate::settings::{Layer, Source};
        let target = c.target_layer(name);
        let defaults = c.defaults_layer();
        let mut layers = vec![Layer { source: &Source::Flags, settings: flags }];
        if let Some((source, layer)) = &target {
            layers.push(Layer { source, settings: layer });
        }
        layers.push(Layer { source: &defaults.0, settings: defaults.1 });
        Settings::resolve(&layers, |_, _| Ok(())).unwrap()
    }

    #[test]
    fn identity_has_no_secret_and_timeouts_layer() {
        let text = "[defaults]\ntimeout = \"9s\"\n[targets.local]\nprovider = \"openai\"\nbase_url = \"http://h/v1/\"\nmodel = \"m\"\nfirst_content_timeout = \"3s\"\n";
        let c = Config::parse(Path::new("llmbench.toml"), text).unwrap();
        let none = crate::settings::SettingsLayer::default();
        let t = resolve(&c, "local", &settings(&c, "local", &none)).unwrap();
        assert_eq!(t.identity.endpoint, "http://h/v1/chat/completions");
        assert_eq!(t.deadlines.first_content, Duration::from_secs(3));
        assert_eq!(t.deadlines.total, Duration::from_secs(9));
        let flags: crate::settings::SettingsLayer = toml::from_str("timeout = \"1s\"").unwrap();
        let t = resolve(&c, "local", &settings(&c, "local", &flags)).unwrap();
        assert_eq!(t.deadlines.total, Duration::from_secs(1));
    }

    #[test]
    fn endpoints_keep_no_userinfo_or_credential_parameters() {
        let text = "[targets.local]\nprovider = \"openai\"\nbase_url = \"https://bob:hunter2pw@h:8443/v1?v=1&api_key=k3y-abcdef\"\nmodel = \"m\"\n[targets.claude]\nprovider = \"anthropic\"\nbase_url = \"https://tok-123456@proxy/\"\nmodel = \"m\"\n";
        let c = Config::parse(Path::new("llmbench.toml"), text).unwrap();
        let t = resolve(&c, "local", &settings(&c, "local", &Default::default())).unwrap();
        assert_eq!(t.identity.endpoint, "https://h:8443/v1?v=1&api_key=[REDACTED]");
        let t = resolve(&c, "claude", &settings(&c, "claude", &Default::default())).unwrap();
        assert_eq!(t.identity.endpoint, "https://proxy/v1/messages");
        assert_eq!(endpoint_of("http://h/v1/", "completions"), "http://h/v1/completions");
    }
}
