//! Import of a LiteLLM `model_prices_and_context_window.json` the user
//! provides (`[defaults] litellm_prices = "path"`). Read offline, never
//! downloaded.
//!
//! Only entries with both `input_cost_per_token` and `output_cost_per_token`
//! are taken (chat and completion models); image, audio and embedding
//! entries are skipped. LiteLLM prices are USD per token; llmbench keeps
//! USD per 1M tokens. Cache prices come from `cache_read_input_token_cost`
//! and `cache_creation_input_token_cost`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Origin, PriceFrom, TokenRates};
use crate::config::file::ConfigError;

/// Why a LiteLLM file could not be used.
#[derive(Debug)]
pub(crate) enum LoadError {
    /// The file could not be read (reported against the config key naming it).
    Read(String),
    /// The file is not a LiteLLM price file, or an entry is malformed.
    Bad(ConfigError),
}

/// The token prices of a LiteLLM file.
#[derive(Debug)]
pub(crate) struct LitellmPrices {
    path: PathBuf,
    /// The file's modification date (`YYYY-MM-DD`), as the prices' date.
    date: Option<String>,
    models: BTreeMap<String, TokenRates>,
}

/// The key LiteLLM uses to document its own schema, with zero prices.
const SAMPLE_SPEC: &str = "sample_spec";

impl LitellmPrices {
    /// Reads and parses `path`.
    pub(crate) fn load(path: &Path) -> Result<LitellmPrices, LoadError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| LoadError::Read(format!("cannot read {}: {e}", path.display())))?;
        let date =
            std::fs::metadata(path).and_then(|m| m.modified()).ok().map(|t| crate::units::rfc3339(t)[..10].to_owned());
        let models = parse(path, &text).map_err(LoadError::Bad)?;
        Ok(LitellmPrices { path: path.to_owned(), date, models })
    }

    /// The rates of `id`, with the key they were found under.
    pub(crate) fn get(&self, id: &str) -> Option<(&str, TokenRates)> {
        self.models.get_key_value(id).map(|(k, r)| (k.as_str(), *r))
    }

    /// The provenance of entry `key`.
    pub(crate) fn origin(&self, key: &str) -> Origin {
        let modified = self.date.as_deref().map(|d| format!(", modified {d}")).unwrap_or_default();
        Origin {
            from: PriceFrom::Litellm,
            entry: key.to_owned(),
            name: None,
            date: self.date.clone(),
            source: format!("LiteLLM price file {}{modified}", self.path.display()),
            unconfirmed: None,
            note: None,
        }
    }
}

/// The token-priced entries of a LiteLLM file's text.
fn parse(path: &Path, text: &str) -> Result<BTreeMap<String, TokenRates>, ConfigError> {
    let root: serde_json::Map<String, Value> = serde_json::from_str(text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: format!("not a LiteLLM price file (a JSON object of models): {e}"),
    })?;
    let mut models = BTreeMap::new();
    for (id, entry) in &root {
        let Some(entry) = entry.as_object().filter(|_| id != SAMPLE_SPEC) else { continue };
        let per_1m = |field: &str| -> Result<Option<f64>, ConfigError> {
            match entry.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => match v.as_f64() {
                    Some(p) if p.is_finite() && p >= 0.0 => Ok(Some(p * 1e6)),
                    _ => Err(ConfigError::Invalid {
                        path: path.to_owned(),
                        line: line_of_key(text, id),
                        key: format!("{id:?}.{field}"),
                        message: format!("must be a price ≥ 0 in USD per token, not {v}"),
                    }),
                },
            }
        };
        let (Some(input), Some(output)) = (per_1m("input_cost_per_token")?, per_1m("output_cost_per_token")?) else {
            continue;
        };
        let cache_read = per_1m("cache_read_input_token_cost")?;
        let cache_write = per_1m("cache_creation_input_token_cost")?;
        models.insert(id.clone(), TokenRates { input, output, cache_read, cache_write });
    }
    Ok(models)
}

/// The 1-based line where `"key":` first appears (0 when not found).
fn line_of_key(text: &str, key: &str) -> usize {
    let needle = format!("{key:?}");
    text.find(&needle).map(|at| text[..at].matches('\n').count() + 1).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
    "sample_spec": { "input_cost_per_token": 0.0, "output_cost_per_token": 0.0, "mode": "one of: chat, …" },
    "us.anthropic.claude-3-5-haiku-20241022-v1:0": {
        "input_cost_per_token": 8e-07,
        "output_cost_per_token": 4e-06,
        "cache_read_input_token_cost": 8e-08,
        "cache_creation_input_token_cost": 1e-06,
        "litellm_provider": "bedrock",
        "mode": "chat"
    },
    "amazon.nova-canvas-v1:0": { "output_cost_per_image": 0.06, "mode": "image_generation" },
    "my-model": { "input_cost_per_token": 1e-07, "output_cost_per_token": 2e-07 }
}"#;

    #[test]
    fn token_priced_entries_are_taken_in_usd_per_million() {
        let models = parse(Path::new("p.json"), SAMPLE).unwrap();
        assert_eq!(models.keys().collect::<Vec<_>>(), ["my-model", "us.anthropic.claude-3-5-haiku-20241022-v1:0"]);
        let haiku = models["us.anthropic.claude-3-5-haiku-20241022-v1:0"];
        assert!((haiku.input - 0.8).abs() < 1e-9 && (haiku.output - 4.0).abs() < 1e-9);
        assert!((haiku.cache_read.unwrap() - 0.08).abs() < 1e-9 && (haiku.cache_write.unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(models["my-model"].cache_read, None);
    }

    #[test]
    fn bad_files_are_errors_naming_the_file_and_the_key() {
        let err = parse(Path::new("p.json"), "{ \"a\": 1,, }").unwrap_err().to_string();
        assert!(err.starts_with("p.json: not a LiteLLM price file") && err.contains("line 1"), "{err}");
        let bad =
            "{\n  \"ok\": {},\n  \"m\": { \"input_cost_per_token\": \"cheap\", \"output_cost_per_token\": 1e-6 }\n}";
        let err = parse(Path::new("p.json"), bad).unwrap_err().to_string();
        assert_eq!(err, "p.json:3: \"m\".input_cost_per_token: must be a price ≥ 0 in USD per token, not \"cheap\"");
    }

    #[test]
    fn load_reads_a_file_and_dates_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prices.json");
        std::fs::write(&path, SAMPLE).unwrap();
        let prices = LitellmPrices::load(&path).unwrap();
        let (key, _) = prices.get("my-model").unwrap();
        let origin = prices.origin(key);
        assert_eq!(origin.from, PriceFrom::Litellm);
        assert!(origin.date.as_deref().is_some_and(|d| d.len() == 10), "{origin:?}");
        assert!(
            matches!(LitellmPrices::load(&dir.path().join("missing.json")), Err(LoadError::Read(m)) if m.contains("missing.json"))
        );
    }
}
