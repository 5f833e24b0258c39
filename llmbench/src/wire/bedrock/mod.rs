//! Amazon Bedrock's two streaming operations (docs/providers.md):
//! `ConverseStream`, one event shape for every model, and
//! `InvokeModelWithResponseStream`, whose request and chunk JSON are the
//! model family's own. Both stream `application/vnd.amazon.eventstream`
//! frames; Bedrock adds `amazon-bedrock-invocationMetrics` to the last
//! invoke chunk of every family.
//!
//! The enums here are what `llmbench.toml` names (`api`, `family`,
//! `latency`, `service_tier`); they exist in every build so that a config
//! naming Bedrock in a build without the `bedrock` feature still parses
//! and gets the "built without the feature" error.

pub(crate) mod converse;
pub(crate) mod invoke;

use serde::Deserialize;

pub use invoke::Family;

/// Which Bedrock operation a target calls (`api`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Api {
    /// `ConverseStream`: one request and event shape for every model.
    #[default]
    Converse,
    /// `InvokeModelWithResponseStream`, in a model `family`'s own bodies.
    Invoke,
}

/// `performanceConfig.latency` (`latency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Latency {
    /// The default.
    Standard,
    /// Latency-optimized inference, where the model offers it.
    Optimized,
}

impl Latency {
    /// The value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Latency::Standard => "standard",
            Latency::Optimized => "optimized",
        }
    }
}

/// `serviceTier.type` (`service_tier`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceTier {
    /// Served before the default tier, at a higher price.
    Priority,
    /// The standard tier.
    Default,
    /// Cheaper, served when capacity allows.
    Flex,
    /// Provisioned capacity.
    Reserved,
}

impl ServiceTier {
    /// The value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceTier::Priority => "priority",
            ServiceTier::Default => "default",
            ServiceTier::Flex => "flex",
            ServiceTier::Reserved => "reserved",
        }
    }
}

/// The key Bedrock adds to the last invoke chunk of every family.
pub(crate) const METRICS_KEY: &str = "amazon-bedrock-invocationMetrics";
