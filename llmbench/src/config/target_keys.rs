//! What each key of a `[targets.NAME]` table applies to, and the few rules
//! that relate keys to each other. Values themselves were checked when the
//! file was parsed: `api`, `family`, `format`, `protocol`, `latency` and
//! `service_tier` are enums, so a bad one fails there with the valid list.

use super::file::{Config, ConfigError, EndpointKind, ProviderKind, TargetConfig};
use crate::wire::Protocol;
use crate::wire::bedrock::Api;

use ProviderKind::{Anthropic, Bedrock, Openai, Sagemaker, Sim};

const AWS: &[ProviderKind] = &[Bedrock, Sagemaker];

/// A key, the providers it means something for, and whether a target sets it.
type KeyRule = (&'static str, &'static [ProviderKind], fn(&TargetConfig) -> bool);

/// Every key that belongs to some providers only.
const KEYS: &[KeyRule] = &[
    ("region", AWS, |t| t.region.is_some()),
    ("profile", AWS, |t| t.profile.is_some()),
    ("endpoint_url", AWS, |t| t.endpoint_url.is_some()),
    ("retries", AWS, |t| t.retries.is_some()),
    ("api", &[Bedrock], |t| t.api.is_some()),
    ("family", &[Bedrock, Sim], |t| t.family.is_some()),
    ("latency", &[Bedrock], |t| t.latency.is_some()),
    ("service_tier", &[Bedrock], |t| t.service_tier.is_some()),
    ("additional_model_request_fields", &[Bedrock], |t| t.additional_model_request_fields.is_some()),
    ("endpoint_name", &[Sagemaker], |t| t.endpoint_name.is_some()),
    ("inference_component", &[Sagemaker], |t| t.inference_component.is_some()),
    ("target_variant", &[Sagemaker], |t| t.target_variant.is_some()),
    ("custom_attributes", &[Sagemaker], |t| t.custom_attributes.is_some()),
    ("format", &[Sagemaker, Sim], |t| t.format.is_some()),
    ("protocol", &[Sim], |t| t.protocol.is_some()),
    ("base_url", &[Openai, Anthropic, Sim], |t| t.base_url.is_some()),
    ("endpoint", &[Openai, Sim], |t| t.endpoint != EndpointKind::Chat),
    ("include_usage", &[Openai], |t| t.include_usage.is_some()),
    ("exact_output", &[Openai, Sim, Sagemaker, Anthropic], |t| t.exact_output.is_some()),
    // Bedrock streams are framed and read by the SDK, which has its own limit.
    ("max_event_size", &[Openai, Anthropic, Sagemaker, Sim], |t| t.max_event_size.is_some()),
];

/// Checks the keys of target `name` (whose table starts at byte `at`).
pub(super) fn check(config: &Config, name: &str, t: &TargetConfig, at: usize) -> Result<(), ConfigError> {
    let invalid = |k: &str, message: String| config.invalid(at, format!("targets.{name}.{k}"), message);
    let provider = t.provider.as_str();
    for (key, allowed, is_set) in KEYS {
        if is_set(t) && !allowed.contains(&t.provider) {
            let names: Vec<&str> = allowed.iter().map(|p| p.as_str()).collect();
            let message = format!("not a setting of provider \"{provider}\" (only {})", names.join(", "));
            return Err(invalid(key, message));
        }
    }
    if let Some(url) = &t.endpoint_url
        && let Err(message) = http_url(url)
    {
        return Err(invalid("endpoint_url", message));
    }
    match t.provider {
        Bedrock => bedrock(t).map_err(|(k, m)| invalid(k, m.into())),
        Sagemaker => sagemaker(t).map_err(|(k, m)| invalid(k, m.into())),
        Anthropic => {
            if t.model.is_none() {
                return Err(invalid("model", "required for provider \"anthropic\"".into()));
            }
            match &t.base_url {
                Some(url) => http_url(url).map_err(|message| invalid("base_url", message)),
                None => Ok(()),
            }
        }
        Sim => sim(t).map_err(|(k, m)| invalid(k, m.into())),
        Openai => Ok(()),
    }
}

/// Checks that `url` is an http(s) URL with a host, before anything is sent
/// to it; the error says what was expected.
pub(super) fn http_url(url: &str) -> Result<(), String> {
    const EXAMPLE: &str = "e.g. \"http://127.0.0.1:8000/v1\"";
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!("{url:?} must start with http:// or https:// ({EXAMPLE})"));
    }
    match reqwest::Url::parse(url) {
        Ok(parsed) if parsed.host_str().is_some_and(|h| !h.is_empty()) => Ok(()),
        Ok(_) => Err(format!("{url:?} has no host ({EXAMPLE})")),
        Err(e) => Err(format!("{url:?} is not a valid URL: {e} ({EXAMPLE})")),
    }
}

/// A broken rule: the key to blame and what to do.
type Broken = (&'static str, &'static str);

fn bedrock(t: &TargetConfig) -> Result<(), Broken> {
    if t.model.is_none() {
        return Err(("model", "required for provider \"bedrock\" (a model id, inference profile id or ARN)"));
    }
    let invoke = t.api == Some(Api::Invoke);
    if invoke && t.family.is_none() {
        return Err((
            "family",
            "required with api = \"invoke\" (anthropic, meta, amazon-nova, amazon-titan, mistral or openai)",
        ));
    }
    if !invoke && t.family.is_some() {
        return Err(("family", "only with api = \"invoke\""));
    }
    if invoke && t.additional_model_request_fields.is_some() {
        return Err((
            "additional_model_request_fields",
            "only with api = \"converse\"; use extra_body with api = \"invoke\"",
        ));
    }
    if !invoke && t.extra_body.is_some() {
        return Err((
            "extra_body",
            "only with api = \"invoke\"; use additional_model_request_fields with api = \"converse\"",
        ));
    }
    Ok(())
}

fn sagemaker(t: &TargetConfig) -> Result<(), Broken> {
    if t.endpoint_name.is_none() {
        return Err(("endpoint_name", "required for provider \"sagemaker\""));
    }
    if t.format.is_none() {
        return Err(("format", "required for provider \"sagemaker\" (tgi, lmi or openai: what the container streams)"));
    }
    if t.api_key_env.is_some() {
        return Err(("api_key_env", "SageMaker uses AWS credentials (profile, environment, role)"));
    }
    Ok(())
}

fn sim(t: &TargetConfig) -> Result<(), Broken> {
    let protocol = t.protocol.unwrap_or_default();
    if t.family.is_some() && protocol != Protocol::BedrockInvoke {
        return Err(("family", "only with protocol = \"bedrock-invoke\""));
    }
    if t.format.is_some() && protocol != Protocol::Sagemaker {
        return Err(("format", "only with protocol = \"sagemaker\""));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn error(text: &str) -> String {
        Config::parse(Path::new("llmbench.toml"), text).unwrap_err().to_string()
    }

    #[test]
    fn keys_of_other_providers_are_refused_naming_theirs() {
        let err =
            error("[targets.x]\nprovider = \"openai\"\nbase_url = \"http://h/v1\"\nmodel = \"m\"\nregion = \"r\"\n");
        assert_eq!(
            err,
            "llmbench.toml:1: targets.x.region: not a setting of provider \"openai\" (only bedrock, sagemaker)"
        );
        let err = error("[targets.x]\nprovider = \"bedrock\"\nmodel = \"m\"\nexact_output = true\n");
        assert!(err.contains("targets.x.exact_output: not a setting of provider \"bedrock\""), "{err}");
    }

    #[test]
    fn bad_enum_values_fail_at_parse_with_line_key_and_choices() {
        let err = error("[targets.x]\nprovider = \"bedrock\"\nmodel = \"m\"\napi = \"invoke\"\nfamily = \"llama\"\n");
        assert!(err.starts_with("llmbench.toml:5: targets.x.family: unknown variant `llama`"), "{err}");
        assert!(err.contains("family") && err.contains("unknown variant `llama`"), "{err}");
        assert!(err.contains("`amazon-nova`") && err.contains("`openai`"), "{err}");
        let err = error("[targets.x]\nprovider = \"sim\"\nprotocol = \"grpc\"\n");
        assert!(err.starts_with("llmbench.toml:3: targets.x.protocol:") && err.contains("`bedrock-invoke`"), "{err}");
        for (key, value) in [("latency", "fast"), ("service_tier", "gold"), ("format", "vllm"), ("api", "chat")] {
            let err = error(&format!("[targets.x]\nprovider = \"bedrock\"\n{key} = \"{value}\"\n"));
            assert!(err.starts_with(&format!("llmbench.toml:3: targets.x.{key}: unknown variant `{value}`")), "{err}");
        }
    }

    #[test]
    fn cross_field_rules() {
        let cases = [
            ("provider = \"bedrock\"\nmodel = \"m\"\napi = \"invoke\"\n", "targets.x.family: required with api"),
            (
                "provider = \"bedrock\"\nmodel = \"m\"\nfamily = \"meta\"\n",
                "targets.x.family: only with api = \"invoke\"",
            ),
            ("provider = \"bedrock\"\nmodel = \"m\"\nextra_body = { a = 1 }\n", "targets.x.extra_body: only with api"),
            ("provider = \"bedrock\"\n", "targets.x.model: required for provider \"bedrock\""),
            ("provider = \"sagemaker\"\nformat = \"tgi\"\n", "targets.x.endpoint_name: required"),
            ("provider = \"sagemaker\"\nendpoint_name = \"e\"\n", "targets.x.format: required"),
            ("provider = \"sim\"\nformat = \"tgi\"\n", "targets.x.format: only with protocol = \"sagemaker\""),
            ("provider = \"sim\"\nprotocol = \"bedrock\"\nfamily = \"meta\"\n", "targets.x.family: only with protocol"),
            ("provider = \"anthropic\"\n", "targets.x.model: required for provider \"anthropic\""),
            (
                "provider = \"sagemaker\"\nendpoint_name = \"e\"\nformat = \"lmi\"\nendpoint_url = \"h\"\n",
                "must start with",
            ),
        ];
        for (body, expected) in cases {
            let err = error(&format!("[targets.x]\n{body}"));
            assert!(err.contains(expected), "{body}: {err}");
        }
    }
}
