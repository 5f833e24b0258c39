//! `[prices."id"]` and the price keys of `[targets.*]` in `llmbench.toml`:
//! their types and the checks [`Config::parse`](super::file::Config::parse)
//! makes. How a target finds its price from them is `cost`'s
//! (`cost/config.rs`), which re-exports the types.

use serde::{Deserialize, Serialize};

use super::file::{Config, ConfigError};

/// `[prices."id"]` in `llmbench.toml`: per-token rates (USD per 1M tokens),
/// a per-hour rate, or `price_model` naming another entry to price as.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceEntry {
    /// USD per 1M prompt tokens (cache reads and writes excluded).
    pub input: Option<f64>,
    /// USD per 1M output tokens (reasoning included).
    pub output: Option<f64>,
    /// USD per 1M prompt tokens read from a cache.
    pub cache_read: Option<f64>,
    /// USD per 1M prompt tokens written to a cache.
    pub cache_write: Option<f64>,
    /// USD per instance-hour (an instance type, or a self-hosted model).
    pub price_per_hour: Option<f64>,
    /// Price this id as another one (a table id, a LiteLLM key, another entry).
    pub price_model: Option<String>,
    /// When the price was checked (`YYYY-MM-DD`), kept with the results.
    pub date: Option<String>,
    /// Where the price comes from, kept with the results.
    pub source: Option<String>,
}

/// `price_tier` of a target: which Bedrock price list applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriceTier {
    /// On-demand (the default).
    #[default]
    OnDemand,
    /// Batch inference: on-demand × the table's batch factor (50%).
    Batch,
}

/// Checks `[prices]` and the price keys of `[targets.*]`; called by
/// [`Config::parse`](super::file::Config::parse).
pub(crate) fn validate(config: &Config) -> Result<(), ConfigError> {
    if let Some(file) = config.defaults.litellm_prices.as_deref()
        && file.as_os_str().is_empty()
    {
        return Err(config.invalid_key("defaults.litellm_prices", "must be a path to a LiteLLM price file"));
    }
    for (id, spanned) in &config.prices {
        let e = spanned.get_ref();
        let at = spanned.span().start;
        let key = |k: &str| format!("{}.{k}", price_key(id));
        let tokens =
            [("input", e.input), ("output", e.output), ("cache_read", e.cache_read), ("cache_write", e.cache_write)];
        for (k, v) in tokens.iter().chain(&[("price_per_hour", e.price_per_hour)]) {
            if let Some(v) = v
                && !(v.is_finite() && *v >= 0.0)
            {
                return Err(config.invalid(at, key(k), "must be a price ≥ 0 (USD per 1M tokens, or per hour)"));
            }
        }
        let has_tokens = tokens.iter().any(|(_, v)| v.is_some());
        let kinds = [has_tokens, e.price_per_hour.is_some(), e.price_model.is_some()];
        match kinds.iter().filter(|k| **k).count() {
            0 => {
                return Err(config.invalid(
                    at,
                    price_key(id),
                    "give input and output (USD per 1M tokens), or price_per_hour, or price_model = \"<id>\"",
                ));
            }
            1 => {}
            _ => {
                return Err(config.invalid(
                    at,
                    price_key(id),
                    "choose one of per-token prices (input/output), price_per_hour or price_model",
                ));
            }
        }
        if has_tokens && (e.input.is_none() || e.output.is_none()) {
            let missing = if e.input.is_none() { "input" } else { "output" };
            return Err(config.invalid(at, key(missing), "required with per-token prices (USD per 1M tokens)"));
        }
        if let Some(alias) = &e.price_model
            && (alias.trim().is_empty() || alias == id)
        {
            return Err(config.invalid(at, key("price_model"), "must name another model id to price this one as"));
        }
        if let Some(date) = &e.date
            && !is_date(date)
        {
            return Err(config.invalid(at, key("date"), format!("{date:?} is not a date (YYYY-MM-DD)")));
        }
    }
    for (name, spanned) in &config.targets {
        let t = spanned.get_ref();
        let at = spanned.span().start;
        let key = |k: &str| format!("targets.{name}.{k}");
        if t.instances == Some(0) {
            return Err(config.invalid(at, key("instances"), "must be at least 1"));
        }
        if let Some(p) = t.price_per_hour
            && !(p.is_finite() && p >= 0.0)
        {
            return Err(config.invalid(at, key("price_per_hour"), "must be a price ≥ 0 (USD per instance-hour)"));
        }
        let hourly = t.instance_type.is_some() || t.price_per_hour.is_some();
        if hourly && t.price_model.is_some() {
            return Err(config.invalid(
                at,
                key("price_model"),
                "a target is billed per token (price_model) or per instance-hour (instance_type/price_per_hour), not both",
            ));
        }
        if hourly && t.price_tier == Some(PriceTier::Batch) {
            return Err(config.invalid(at, key("price_tier"), "batch applies to per-token prices only"));
        }
    }
    Ok(())
}

/// `prices.sim` or `prices."meta-llama/Llama-3.1-8B-Instruct"`.
pub(crate) fn price_key(id: &str) -> String {
    if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        format!("prices.{id}")
    } else {
        format!("prices.{id:?}")
    }
}

/// Whether `s` is a `YYYY-MM-DD` date.
pub(crate) fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10 && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() })
}
