//! Price table and cost figures (docs/metrics.md "Cost").
//!
//! A target is billed one of three ways:
//!
//! - **per token**: server-reported usage × USD per 1M tokens (input, output,
//!   cache read, cache write; reasoning tokens are output tokens);
//! - **per instance-hour**: the measured window × instances × USD per hour
//!   (SageMaker real-time endpoints, self-hosted servers);
//! - **none**: no price is known, and every cost figure is absent — never zero.
//!
//! Prices come from `llmbench.toml` (`[prices."id"]`, target keys), then an
//! optional LiteLLM price file the user provides, then the table bundled
//! with the crate (`prices.toml`, each entry with its date and source).
//! See `docs/cost.md`.
//!
//! This module turns request records and a level's window into money. It
//! knows nothing of providers beyond how their usage counts prompt tokens,
//! and nothing of how load was shaped.

mod compute;
mod config;
mod litellm;
mod projection;
mod table;

use serde::{Deserialize, Serialize};

pub use crate::config::prices::{PriceEntry, PriceTier};
pub use crate::stats::level_cost::{BilledTokens, LevelCost, Projection};
pub(crate) use compute::{CostTally, level_cost};
pub(crate) use config::PriceBook;
pub use projection::{HOURS_PER_MONTH, Volume};

/// USD per 1M tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TokenRates {
    /// Prompt tokens not read from or written to a cache.
    pub input: f64,
    /// Generated tokens, reasoning included.
    pub output: f64,
    /// Prompt tokens read from a cache; absent when the source has no price.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cache_read: Option<f64>,
    /// Prompt tokens written to a cache; absent when the source has no price.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cache_write: Option<f64>,
}

impl TokenRates {
    fn scaled(self, factor: f64) -> TokenRates {
        TokenRates {
            input: self.input * factor,
            output: self.output * factor,
            cache_read: self.cache_read.map(|p| p * factor),
            cache_write: self.cache_write.map(|p| p * factor),
        }
    }
}

/// Where a price came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceFrom {
    /// The table bundled with llmbench.
    Table,
    /// `llmbench.toml`: a `[prices]` entry or the target's `price_per_hour`.
    Config,
    /// The LiteLLM price file named by `[defaults] litellm_prices`.
    Litellm,
}

/// The provenance of a price: which entry, from where, as of when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Origin {
    /// Table, config or LiteLLM file.
    pub from: PriceFrom,
    /// The entry's id (a model id, id prefix, instance type or config key).
    pub entry: String,
    /// The model's name, for table entries (`Claude 3.5 Haiku`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<String>,
    /// When the source last checked the price (`YYYY-MM-DD`), when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub date: Option<String>,
    /// What the source is.
    pub source: String,
    /// Why the price is not confirmed, for entries the table flags.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unconfirmed: Option<String>,
    /// Anything else a reader should know (conflicting sources, tiers not applied).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
}

/// What a run was priced at: `price` in `summary.json`. A run with no known
/// price has no `price` and no cost figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "billing", rename_all = "snake_case")]
pub enum Price {
    /// Billed per token, from server-reported usage.
    PerToken {
        /// The id looked up: the target's `price_model`, else its model.
        model: String,
        /// The rates applied (after the tier's discount), USD per 1M tokens.
        rates: TokenRates,
        /// On-demand or batch.
        tier: PriceTier,
        /// `global` or `regional`, where the entry prices them apart.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        scope: Option<String>,
        /// Where the rates came from.
        origin: Origin,
    },
    /// Billed per instance-hour over the measured window.
    PerInstanceHour {
        /// The instance type, when one was named.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        instance_type: Option<String>,
        /// How many instances serve the endpoint.
        instances: u32,
        /// USD per instance-hour.
        price_per_hour: f64,
        /// Where the rate came from.
        origin: Origin,
    },
}

impl Price {
    /// Where the price came from.
    pub fn origin(&self) -> &Origin {
        match self {
            Price::PerToken { origin, .. } | Price::PerInstanceHour { origin, .. } => origin,
        }
    }
}
