//! Prices from `llmbench.toml` and how a target finds its price.
//!
//! ```toml
//! [defaults]
//! litellm_prices = "model_prices_and_context_window.json"   # optional
//!
//! [prices."meta-llama/Llama-3.1-8B-Instruct"]   # USD per 1M tokens
//! input = 0.20
//! output = 0.60
//!
//! [prices.sim]                                  # priced as a table entry
//! price_model = "us.anthropic.claude-3-5-haiku-20241022-v1:0"
//!
//! [targets.endpoint]
//! instance_type = "ml.g5.xlarge"                # rate from the table…
//! instances = 2
//! price_per_hour = 1.41                         # …or given here
//! ```
//!
//! Lookup order for an id: `[prices]` (exact id, then without its
//! cross-region prefix), the LiteLLM file, the bundled table.

use std::path::PathBuf;

use super::litellm::{LitellmPrices, LoadError};
use super::table::{PriceTable, split_profile};
use super::{Origin, Price, PriceFrom, TokenRates};
use crate::config::TargetIdentity;
use crate::config::file::{Config, ConfigError};
use crate::config::prices::{PriceTier, price_key};

/// Every price source, ready to price targets.
pub(crate) struct PriceBook<'a> {
    config: &'a Config,
    table: &'static PriceTable,
    litellm: Option<LitellmPrices>,
}

/// A price found for an id, before the target's own keys apply.
enum Found {
    Tokens { rates: TokenRates, scope: Option<&'static str>, origin: Origin },
    Hourly { rate: f64, origin: Origin },
}

/// How deep `price_model` may chain (`a` priced as `b` priced as `c`…).
const MAX_ALIAS_DEPTH: usize = 4;

impl<'a> PriceBook<'a> {
    /// The bundled table, plus the LiteLLM file `config` names (read now,
    /// relative to the config file).
    pub(crate) fn load(config: &'a Config) -> Result<PriceBook<'a>, ConfigError> {
        let table = PriceTable::bundled()
            .map_err(|message| ConfigError::Parse { path: PathBuf::from("llmbench/src/cost/prices.toml"), message })?;
        let litellm = match &config.defaults.litellm_prices {
            Some(file) => {
                let base = config.path().and_then(|p| p.parent()).map(PathBuf::from).unwrap_or_default();
                let path = base.join(file);
                match LitellmPrices::load(&path) {
                    Ok(prices) => Some(prices),
                    Err(LoadError::Read(message)) => return Err(config.invalid_key("defaults.litellm_prices", message)),
                    Err(LoadError::Bad(e)) => return Err(e),
                }
            }
            None => None,
        };
        Ok(PriceBook { config, table, litellm })
    }

    /// The price of target `name` (resolved as `identity`), or `None` when
    /// nothing prices it. A price the user asked for by name
    /// (`price_model`, `instance_type`) that cannot be found is an error.
    pub(crate) fn price_for(&self, name: &str, identity: &TargetIdentity) -> Result<Option<Price>, ConfigError> {
        let config = self.config;
        let spanned = config.targets.get(name);
        let target = spanned.map(|s| s.get_ref());
        let at = spanned.map(|s| s.span().start).unwrap_or(0);
        let key = |k: &str| format!("targets.{name}.{k}");
        let instances = target.and_then(|t| t.instances);
        let tier = target.and_then(|t| t.price_tier).unwrap_or_default();

        if let Some(t) = target.filter(|t| t.instance_type.is_some() || t.price_per_hour.is_some()) {
            let instance_type = t.instance_type.clone();
            let (rate, origin) = match (t.price_per_hour, &instance_type) {
                (Some(rate), _) => (rate, self.config_origin(&key("price_per_hour"), None, None)),
                (None, Some(it)) => match self.hourly(it)? {
                    Some(found) => found,
                    None => {
                        let known: Vec<&str> = self.table.instances.iter().map(|i| i.id.as_str()).collect();
                        return Err(config.invalid(
                            at,
                            key("instance_type"),
                            format!(
                                "no price known for {it:?}: set price_per_hour = … on the target or add [prices.{it:?}] price_per_hour = … (the bundled table knows {})",
                                known.join(", ")
                            ),
                        ));
                    }
                },
                (None, None) => unreachable!("filtered above"),
            };
            return Ok(Some(Price::PerInstanceHour {
                instance_type,
                instances: instances.unwrap_or(1),
                price_per_hour: rate,
                origin,
            }));
        }

        let explicit = target.and_then(|t| t.price_model.clone());
        let model = explicit.clone().unwrap_or_else(|| identity.model.clone());
        match self.lookup(&model, 0)? {
            Some(Found::Tokens { rates, scope, mut origin }) => {
                if instances.is_some() {
                    return Err(config.invalid(at, key("instances"), format!("{model:?} is priced per token; instances applies to per-hour prices")));
                }
                let rates = match tier {
                    PriceTier::OnDemand => rates,
                    PriceTier::Batch => {
                        let b = &self.table.batch;
                        let note = format!("batch: on-demand × {} ({}, {})", b.factor, b.source, b.date);
                        origin.note = Some(match origin.note.take() {
                            Some(n) => format!("{n}; {note}"),
                            None => note,
                        });
                        rates.scaled(b.factor)
                    }
                };
                Ok(Some(Price::PerToken { model, rates, tier, scope: scope.map(str::to_owned), origin }))
            }
            Some(Found::Hourly { rate, origin }) => {
                if tier == PriceTier::Batch {
                    return Err(config.invalid(at, key("price_tier"), format!("{model:?} is priced per hour; batch applies to per-token prices")));
                }
                Ok(Some(Price::PerInstanceHour { instance_type: None, instances: instances.unwrap_or(1), price_per_hour: rate, origin }))
            }
            None if explicit.is_some() => Err(config.invalid(
                at,
                key("price_model"),
                format!("no price known for {model:?}: add [prices.{model:?}] with input/output, or name a model of the bundled table (docs/cost.md)"),
            )),
            None => Ok(None),
        }
    }

    /// The price of `id` from `[prices]`, the LiteLLM file or the table.
    fn lookup(&self, id: &str, depth: usize) -> Result<Option<Found>, ConfigError> {
        let (profile, base) = split_profile(id);
        for candidate in [id, base] {
            let Some(spanned) = self.config.prices.get(candidate) else { continue };
            let e = spanned.get_ref();
            let at = spanned.span().start;
            let entry_key = price_key(candidate);
            if let Some(alias) = &e.price_model {
                if depth >= MAX_ALIAS_DEPTH {
                    return Err(self.config.invalid(
                        at,
                        format!("{entry_key}.price_model"),
                        "price_model chain is too long (is it a loop?)",
                    ));
                }
                return match self.lookup(alias, depth + 1)? {
                    Some(mut found) => {
                        let origin = match &mut found {
                            Found::Tokens { origin, .. } | Found::Hourly { origin, .. } => origin,
                        };
                        let via = format!("priced as {alias} by [{entry_key}]");
                        origin.note = Some(match origin.note.take() {
                            Some(n) => format!("{via}; {n}"),
                            None => via,
                        });
                        Ok(Some(found))
                    }
                    None => Err(self.config.invalid(
                        at,
                        format!("{entry_key}.price_model"),
                        format!("no price known for {alias:?} (name a model of the bundled table, a LiteLLM key or another [prices] entry)"),
                    )),
                };
            }
            let origin = self.config_origin(&entry_key, e.date.clone(), e.source.clone());
            if let Some(rate) = e.price_per_hour {
                return Ok(Some(Found::Hourly { rate, origin }));
            }
            let rates = TokenRates {
                input: e.input.unwrap_or_default(),
                output: e.output.unwrap_or_default(),
                cache_read: e.cache_read,
                cache_write: e.cache_write,
            };
            return Ok(Some(Found::Tokens { rates, scope: None, origin }));
        }
        if let Some(file) = &self.litellm
            && let Some((key, rates)) = file.get(id).or_else(|| file.get(base))
        {
            return Ok(Some(Found::Tokens { rates, scope: None, origin: file.origin(key) }));
        }
        if let Some(m) = self.table.model(id) {
            let (rates, scope) = m.rates(profile);
            let origin = Origin {
                from: PriceFrom::Table,
                entry: m.id.clone(),
                name: Some(m.name.clone()),
                date: Some(m.date.clone()),
                source: self.table.source(&m.source),
                unconfirmed: m.unconfirmed.clone(),
                note: m.note.clone(),
            };
            return Ok(Some(Found::Tokens { rates, scope, origin }));
        }
        Ok(self.hourly(id)?.map(|(rate, origin)| Found::Hourly { rate, origin }))
    }

    /// The hourly rate of an instance type: `[prices]`, then the table.
    fn hourly(&self, instance_type: &str) -> Result<Option<(f64, Origin)>, ConfigError> {
        if let Some(spanned) = self.config.prices.get(instance_type) {
            let e = spanned.get_ref();
            let entry_key = price_key(instance_type);
            return match e.price_per_hour {
                Some(rate) => Ok(Some((rate, self.config_origin(&entry_key, e.date.clone(), e.source.clone())))),
                None => Err(self.config.invalid(
                    spanned.span().start,
                    format!("{entry_key}.price_per_hour"),
                    "an instance type is priced per hour: give price_per_hour",
                )),
            };
        }
        Ok(self.table.instance(instance_type).map(|i| {
            let origin = Origin {
                from: PriceFrom::Table,
                entry: i.id.clone(),
                name: None,
                date: Some(i.date.clone()),
                source: format!("{} Prices for Region {}.", self.table.source(&i.source), i.region),
                unconfirmed: i.unconfirmed.clone(),
                note: i.note.clone(),
            };
            (i.price_per_hour, origin)
        }))
    }

    fn config_origin(&self, entry: &str, date: Option<String>, source: Option<String>) -> Origin {
        let file = self.config.path().map(|p| p.display().to_string()).unwrap_or_else(|| "llmbench.toml".into());
        Origin {
            from: PriceFrom::Config,
            entry: entry.to_owned(),
            name: None,
            date,
            source: source.unwrap_or_else(|| format!("{file} [{entry}]")),
            unconfirmed: None,
            note: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("llmbench.toml"), text)
    }

    fn identity(name: &str, model: &str) -> TargetIdentity {
        TargetIdentity { name: name.into(), provider: "openai".into(), model: model.into(), endpoint: "e".into() }
    }

    fn price(text: &str, name: &str, model: &str) -> Result<Option<Price>, ConfigError> {
        let config = parse(text)?;
        PriceBook::load(&config)?.price_for(name, &identity(name, model))
    }

    const LOCAL: &str = "[targets.local]\nprovider = \"openai\"\nbase_url = \"http://h/v1\"\nmodel = \"m\"\n";

    #[test]
    fn a_target_with_no_known_price_has_none() {
        assert_eq!(price(LOCAL, "local", "meta-llama/Llama-3.1-8B-Instruct").unwrap(), None);
        assert_eq!(price("", "sim", "sim").unwrap(), None);
    }

    #[test]
    fn config_entries_win_and_match_without_the_profile_prefix() {
        let text = format!(
            "{LOCAL}[prices.\"anthropic.claude-3-5-haiku-20241022-v1:0\"]\ninput = 1\noutput = 2\ndate = \"2026-01-01\"\nsource = \"our invoice\"\n"
        );
        let Some(Price::PerToken { rates, origin, tier, .. }) =
            price(&text, "local", "us.anthropic.claude-3-5-haiku-20241022-v1:0").unwrap()
        else {
            panic!("per token")
        };
        assert_eq!((rates.input, rates.output, rates.cache_read), (1.0, 2.0, None));
        assert_eq!(
            (origin.from, origin.source.as_str(), origin.date.as_deref()),
            (PriceFrom::Config, "our invoice", Some("2026-01-01"))
        );
        assert_eq!(tier, PriceTier::OnDemand);
    }

    #[test]
    fn the_table_prices_bedrock_ids_with_global_and_regional_rates() {
        let Some(Price::PerToken { rates, scope, origin, .. }) =
            price(LOCAL, "local", "global.anthropic.claude-haiku-4-5-20251001-v1:0").unwrap()
        else {
            panic!("per token")
        };
        assert_eq!((rates.input, rates.output, scope.as_deref()), (1.00, 5.00, Some("global")));
        assert_eq!((origin.from, origin.date.as_deref()), (PriceFrom::Table, Some("2025-11-20")));
        assert!(origin.source.starts_with("GENAI-AWS: pydantic/genai-prices"), "{}", origin.source);
        let Some(Price::PerToken { rates, scope, .. }) =
            price(LOCAL, "local", "eu.anthropic.claude-haiku-4-5-20251001-v1:0").unwrap()
        else {
            panic!("per token")
        };
        assert_eq!((rates.input, rates.cache_write, scope.as_deref()), (1.10, Some(1.375), Some("regional")));
    }

    #[test]
    fn unconfirmed_table_entries_say_so() {
        let p = price(LOCAL, "local", "anthropic.claude-3-5-sonnet-20241022-v2:0").unwrap().unwrap();
        assert!(p.origin().unconfirmed.as_deref().is_some_and(|r| r.contains("$6/$30")), "{p:?}");
    }

    #[test]
    fn price_model_aliases_and_batch_tier() {
        let text = "[prices.sim]\nprice_model = \"us.anthropic.claude-3-5-haiku-20241022-v1:0\"\n\
                    [targets.bulk]\nprovider = \"openai\"\nbase_url = \"http://h/v1\"\nmodel = \"x\"\nprice_model = \"meta.llama3-1-70b-instruct-v1:0\"\nprice_tier = \"batch\"\n";
        let Some(Price::PerToken { rates, model, origin, .. }) = price(text, "sim", "sim").unwrap() else { panic!() };
        assert_eq!((model.as_str(), rates.input, rates.output), ("sim", 0.80, 4.00));
        assert!(origin.note.as_deref().unwrap().contains("priced as us.anthropic"), "{origin:?}");
        let Some(Price::PerToken { rates, tier, origin, model, .. }) = price(text, "bulk", "x").unwrap() else {
            panic!()
        };
        assert_eq!(
            (model.as_str(), rates.input, rates.output, tier),
            ("meta.llama3-1-70b-instruct-v1:0", 0.36, 0.36, PriceTier::Batch)
        );
        assert!(origin.note.unwrap().contains("batch: on-demand × 0.5"));
    }

    #[test]
    fn instance_billing_from_the_table_config_or_target() {
        let target = |extra: &str| {
            format!("[targets.sm]\nprovider = \"openai\"\nbase_url = \"http://h/v1\"\nmodel = \"m\"\n{extra}")
        };
        let p = price(&target("instance_type = \"ml.g5.xlarge\"\ninstances = 2\n"), "sm", "m").unwrap();
        let Some(Price::PerInstanceHour { instance_type, instances, price_per_hour, origin }) = p else { panic!() };
        assert_eq!((instance_type.as_deref(), instances, price_per_hour), (Some("ml.g5.xlarge"), 2, 1.4084));
        assert!(origin.source.contains("FMBENCH") && origin.source.contains("us-east-1"), "{}", origin.source);

        let p = price(&target("instance_type = \"ml.g6.xlarge\"\nprice_per_hour = 1.0\n"), "sm", "m").unwrap().unwrap();
        assert!(matches!(p, Price::PerInstanceHour { price_per_hour: 1.0, instances: 1, .. }), "{p:?}");

        let text = format!(
            "{}[prices.\"ml.g6.xlarge\"]\nprice_per_hour = 1.2\n",
            target("instance_type = \"ml.g6.xlarge\"\n")
        );
        assert!(matches!(price(&text, "sm", "m").unwrap(), Some(Price::PerInstanceHour { price_per_hour: 1.2, .. })));

        // A self-hosted model priced per hour through [prices].
        let text = format!("{}[prices.m]\nprice_per_hour = 0.5\n", target("instances = 3\n"));
        assert!(matches!(
            price(&text, "sm", "m").unwrap(),
            Some(Price::PerInstanceHour { price_per_hour: 0.5, instances: 3, .. })
        ));
    }

    #[test]
    fn prices_the_user_named_but_nobody_knows_are_errors_naming_file_line_and_key() {
        let target = |extra: &str| {
            format!("\n[targets.sm]\nprovider = \"openai\"\nbase_url = \"http://h/v1\"\nmodel = \"m\"\n{extra}")
        };
        let err = price(&target("instance_type = \"ml.g6.xlarge\"\n"), "sm", "m").unwrap_err().to_string();
        assert!(
            err.starts_with("llmbench.toml:2: targets.sm.instance_type: no price known for \"ml.g6.xlarge\""),
            "{err}"
        );
        assert!(err.contains("ml.g5.xlarge"), "lists what the table knows: {err}");
        let err = price(&target("price_model = \"gpt-9\"\n"), "sm", "m").unwrap_err().to_string();
        assert!(err.starts_with("llmbench.toml:2: targets.sm.price_model: no price known for \"gpt-9\""), "{err}");
        let err = price("[prices.sim]\nprice_model = \"nope\"\n", "sim", "sim").unwrap_err().to_string();
        assert!(err.starts_with("llmbench.toml:1: prices.sim.price_model:"), "{err}");
        let err = price("[prices.a]\nprice_model = \"b\"\n[prices.b]\nprice_model = \"a\"\n", "sim", "a")
            .unwrap_err()
            .to_string();
        assert!(err.contains("too long"), "{err}");
        let err = price(&format!("{}[prices.m]\ninput = 1\noutput = 1\n", target("instances = 2\n")), "sm", "m")
            .unwrap_err()
            .to_string();
        assert!(err.contains("targets.sm.instances") && err.contains("per token"), "{err}");
    }

    #[test]
    fn bad_price_entries_name_file_line_and_key() {
        let err = |text: &str| parse(text).unwrap_err().to_string();
        let e = err("[prices.\"my/model\"]\ninput = 1\n");
        assert_eq!(
            e,
            "llmbench.toml:1: prices.\"my/model\".output: required with per-token prices (USD per 1M tokens)"
        );
        let e = err("\n[prices.m]\ninput = -1\noutput = 1\n");
        assert!(e.starts_with("llmbench.toml:2: prices.m.input: must be a price"), "{e}");
        let e = err("[prices.m]\ninput = 1\noutput = 1\nprice_per_hour = 2\n");
        assert!(e.contains("prices.m:") && e.contains("choose one"), "{e}");
        let e = err("[prices.m]\n");
        assert!(e.contains("prices.m:") && e.contains("give input and output"), "{e}");
        let e = err("[prices.m]\ninput = 1\noutptu = 2\n");
        assert!(e.starts_with("llmbench.toml:3: prices.m.outptu: unknown field"), "{e}");
        let e = err("[prices.m]\ninput = \"cheap\"\noutput = 2\n");
        assert!(e.starts_with("llmbench.toml:2: prices.m.input:"), "{e}");
        let e = err("[prices.m]\ninput = 1\noutput = 2\ndate = \"last week\"\n");
        assert!(e.contains("prices.m.date"), "{e}");
        let e = err("[targets.x]\nprovider = \"sim\"\ninstances = 0\n");
        assert!(e.contains("targets.x.instances: must be at least 1"), "{e}");
        let e = err("[targets.x]\nprovider = \"sim\"\ninstance_type = \"ml.g5.xlarge\"\nprice_model = \"m\"\n");
        assert!(e.contains("targets.x.price_model") && e.contains("not both"), "{e}");
        let e = err("[targets.x]\nprovider = \"sim\"\nprice_per_hour = 1\nprice_tier = \"batch\"\n");
        assert!(e.contains("targets.x.price_tier"), "{e}");
        let e = err("[targets.x]\nprovider = \"sim\"\nprice_tier = \"flex\"\n");
        assert!(e.starts_with("llmbench.toml:3: targets.x.price_tier:") && e.contains("flex"), "{e}");
    }
}
