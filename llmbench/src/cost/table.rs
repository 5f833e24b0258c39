//! The bundled price table (`prices.toml`, embedded at build time) and the
//! id rules every price source shares: Bedrock cross-region profile
//! prefixes, ARNs, global vs regional rates.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::Deserialize;

use super::TokenRates;
use crate::config::prices::is_date;

/// The table's text, as shipped.
pub(crate) const BUNDLED: &str = include_str!("prices.toml");

/// Bedrock cross-region inference profile prefixes (`us.anthropic…`).
pub(crate) const PROFILES: [&str; 7] = ["us", "eu", "apac", "jp", "au", "us-gov", "global"];

/// The parsed table.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PriceTable {
    /// Source key → what the source is.
    pub(crate) sources: BTreeMap<String, String>,
    /// Bedrock batch inference.
    pub(crate) batch: BatchEntry,
    /// Per-token prices by model id.
    pub(crate) models: Vec<ModelEntry>,
    /// Per-hour prices by instance type.
    pub(crate) instances: Vec<InstanceEntry>,
}

/// `[batch]`: on-demand rates × `factor`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BatchEntry {
    pub(crate) factor: f64,
    pub(crate) date: String,
    pub(crate) source: String,
}

/// One `[[models]]` entry. Rates are USD per 1M tokens; the entry's own
/// rates are the regional (or only) ones.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ModelEntry {
    pub(crate) id: String,
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) prefix: bool,
    pub(crate) input: f64,
    pub(crate) output: f64,
    pub(crate) cache_read: Option<f64>,
    pub(crate) cache_write: Option<f64>,
    /// Rates of the `global.` profile, where Bedrock prices it apart.
    pub(crate) global: Option<GlobalRates>,
    pub(crate) date: String,
    pub(crate) source: String,
    pub(crate) note: Option<String>,
    pub(crate) unconfirmed: Option<String>,
}

/// `global = { … }` of a model entry.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GlobalRates {
    pub(crate) input: f64,
    pub(crate) output: f64,
    pub(crate) cache_read: Option<f64>,
    pub(crate) cache_write: Option<f64>,
}

/// One `[[instances]]` entry, USD per instance-hour.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InstanceEntry {
    pub(crate) id: String,
    pub(crate) price_per_hour: f64,
    pub(crate) region: String,
    pub(crate) date: String,
    pub(crate) source: String,
    pub(crate) note: Option<String>,
    pub(crate) unconfirmed: Option<String>,
}

impl ModelEntry {
    /// The rates for a call through `profile` (`Some("global")` picks the
    /// global rates where the entry has them), and whether they are the
    /// `"global"` or `"regional"` ones when the entry distinguishes.
    pub(crate) fn rates(&self, profile: Option<&str>) -> (TokenRates, Option<&'static str>) {
        let regional = TokenRates {
            input: self.input,
            output: self.output,
            cache_read: self.cache_read,
            cache_write: self.cache_write,
        };
        match (&self.global, profile) {
            (Some(g), Some("global")) => (
                TokenRates { input: g.input, output: g.output, cache_read: g.cache_read, cache_write: g.cache_write },
                Some("global"),
            ),
            (Some(_), _) => (regional, Some("regional")),
            (None, _) => (regional, None),
        }
    }
}

impl PriceTable {
    /// The bundled table, parsed once.
    pub(crate) fn bundled() -> Result<&'static PriceTable, String> {
        static TABLE: OnceLock<Result<PriceTable, String>> = OnceLock::new();
        TABLE.get_or_init(|| PriceTable::parse(BUNDLED)).as_ref().map_err(Clone::clone)
    }

    /// Parses and checks a table in the bundled format.
    pub(crate) fn parse(text: &str) -> Result<PriceTable, String> {
        let table: PriceTable = toml::from_str(text).map_err(|e| format!("bundled price table: {e}"))?;
        table.check()?;
        Ok(table)
    }

    /// Every entry has a known source, a `YYYY-MM-DD` date, sane prices and
    /// a unique id.
    fn check(&self) -> Result<(), String> {
        let mut seen = std::collections::BTreeSet::new();
        let entries = self
            .models
            .iter()
            .map(|m| (m.id.as_str(), m.date.as_str(), m.source.as_str(), vec![m.input, m.output]))
            .chain(
                self.instances
                    .iter()
                    .map(|i| (i.id.as_str(), i.date.as_str(), i.source.as_str(), vec![i.price_per_hour])),
            )
            .chain(std::iter::once((
                "batch",
                self.batch.date.as_str(),
                self.batch.source.as_str(),
                vec![self.batch.factor],
            )));
        for (id, date, source, prices) in entries {
            if !seen.insert(id) {
                return Err(format!("bundled price table: {id:?} appears twice"));
            }
            if !is_date(date) {
                return Err(format!("bundled price table: {id:?}: date {date:?} is not YYYY-MM-DD"));
            }
            if !self.sources.contains_key(source) {
                return Err(format!("bundled price table: {id:?}: unknown source {source:?}"));
            }
            if prices.iter().any(|p| !p.is_finite() || *p <= 0.0) {
                return Err(format!("bundled price table: {id:?}: prices must be positive"));
            }
        }
        Ok(())
    }

    /// The model entry for `id`: exact, then without a profile prefix, then
    /// the longest `prefix` entry it starts with.
    pub(crate) fn model(&self, id: &str) -> Option<&ModelEntry> {
        let (_, base) = split_profile(id);
        let exact = |key: &str| self.models.iter().find(|m| !m.prefix && m.id == key);
        exact(id)
            .or_else(|| exact(base))
            .or_else(|| self.models.iter().filter(|m| m.prefix && base.starts_with(&m.id)).max_by_key(|m| m.id.len()))
    }

    /// The instance entry for `instance_type`.
    pub(crate) fn instance(&self, instance_type: &str) -> Option<&InstanceEntry> {
        self.instances.iter().find(|i| i.id == instance_type)
    }

    /// The full description of a source key.
    pub(crate) fn source(&self, key: &str) -> String {
        match self.sources.get(key) {
            Some(text) => format!("{key}: {text}"),
            None => key.to_owned(),
        }
    }
}

/// Splits a Bedrock model id into its cross-region profile prefix and the
/// base model id. An ARN (`arn:aws:bedrock:…:inference-profile/us.anthropic…`)
/// is reduced to its last path segment first.
pub(crate) fn split_profile(id: &str) -> (Option<&str>, &str) {
    let id = if id.starts_with("arn:") { id.rsplit('/').next().unwrap_or(id) } else { id };
    match id.split_once('.') {
        Some((prefix, rest)) if PROFILES.contains(&prefix) && rest.contains('.') => (Some(prefix), rest),
        _ => (None, id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_table_parses_and_every_entry_has_a_date_and_a_source() {
        let t = PriceTable::bundled().expect("bundled table");
        assert!(
            t.models.len() >= 20 && t.instances.len() >= 7,
            "{} models, {} instances",
            t.models.len(),
            t.instances.len()
        );
        for m in &t.models {
            assert!(is_date(&m.date) && t.sources.contains_key(&m.source), "{}", m.id);
            assert!(!m.name.is_empty(), "{}", m.id);
            if let Some(reason) = &m.unconfirmed {
                assert!(reason.len() > 20, "{}: an unconfirmed entry says why", m.id);
            }
            if let Some(g) = &m.global {
                // Regional is the dearer one (10% higher) wherever the two differ.
                assert!(m.input > g.input && m.output > g.output, "{}", m.id);
            }
        }
        for i in &t.instances {
            assert!(is_date(&i.date) && t.sources.contains_key(&i.source) && i.id.starts_with("ml."), "{}", i.id);
        }
        assert_eq!(t.batch.factor, 0.5);
    }

    #[test]
    fn the_docs_list_every_entry_at_its_price() {
        let docs = include_str!("../../../docs/cost.md");
        let t = PriceTable::bundled().unwrap();
        for m in &t.models {
            let row = docs
                .lines()
                .find(|l| l.starts_with(&format!("| `{}`", m.id)))
                .unwrap_or_else(|| panic!("{} missing", m.id));
            assert!(row.contains(&format!("| {} |", m.date)) && row.contains(&format!(" {} ", m.input)), "{row}");
        }
        for i in &t.instances {
            let row = docs
                .lines()
                .find(|l| l.starts_with(&format!("| `{}`", i.id)))
                .unwrap_or_else(|| panic!("{} missing", i.id));
            assert!(row.contains(&format!("| {} |", i.price_per_hour)), "{row}");
        }
    }

    #[test]
    fn unconfirmed_instances_are_left_out() {
        let t = PriceTable::bundled().unwrap();
        for id in ["ml.t3.medium", "ml.m5.large", "ml.g6.xlarge"] {
            assert!(t.instance(id).is_none(), "{id}");
        }
        assert_eq!(t.instance("ml.g5.xlarge").map(|i| i.price_per_hour), Some(1.4084));
    }

    #[test]
    fn profiles_and_arns() {
        assert_eq!(
            split_profile("us.anthropic.claude-3-5-haiku-20241022-v1:0"),
            (Some("us"), "anthropic.claude-3-5-haiku-20241022-v1:0")
        );
        assert_eq!(
            split_profile("us-gov.meta.llama3-1-8b-instruct-v1:0"),
            (Some("us-gov"), "meta.llama3-1-8b-instruct-v1:0")
        );
        assert_eq!(
            split_profile("anthropic.claude-3-opus-20240229-v1:0"),
            (None, "anthropic.claude-3-opus-20240229-v1:0")
        );
        assert_eq!(
            split_profile(
                "arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0"
            ),
            (Some("global"), "anthropic.claude-sonnet-4-5-20250929-v1:0")
        );
        // A model literally named "us.something" without a further dot is not a profile.
        assert_eq!(split_profile("eu.model"), (None, "eu.model"));
    }

    #[test]
    fn global_and_regional_rates() {
        let t = PriceTable::bundled().unwrap();
        let sonnet = t.model("global.anthropic.claude-sonnet-4-5-20250929-v1:0").unwrap();
        assert_eq!(sonnet.rates(Some("global")).0.input, 3.00);
        assert_eq!(sonnet.rates(Some("global")).1, Some("global"));
        assert_eq!(sonnet.rates(Some("eu")).0.output, 16.50);
        assert_eq!(
            sonnet.rates(None),
            (
                TokenRates { input: 3.30, output: 16.50, cache_read: Some(0.33), cache_write: Some(4.125) },
                Some("regional")
            )
        );
        let haiku = t.model("us.anthropic.claude-3-5-haiku-20241022-v1:0").unwrap();
        assert_eq!(
            haiku.rates(Some("us")),
            (TokenRates { input: 0.80, output: 4.00, cache_read: Some(0.08), cache_write: Some(1.00) }, None)
        );
    }

    #[test]
    fn prefix_entries_match_dated_ids_and_the_longest_wins() {
        let t = PriceTable::bundled().unwrap();
        assert_eq!(
            t.model("us.anthropic.claude-opus-4-5-20251101-v1:0").map(|m| m.name.as_str()),
            Some("Claude Opus 4.5")
        );
        assert_eq!(t.model("anthropic.claude-opus-4-6-v1").map(|m| m.name.as_str()), Some("Claude Opus 4.6"));
        assert_eq!(t.model("anthropic.claude-opus-4-20250514-v1:0").map(|m| m.name.as_str()), Some("Claude Opus 4"));
        assert!(t.model("anthropic.claude-opus-5").is_none());
        assert!(t.model("meta-llama/Llama-3.1-8B-Instruct").is_none());
        assert!(t.model("sim").is_none());
    }

    #[test]
    fn a_broken_table_is_refused_with_the_entry_named() {
        let table = |batch_source: &str, date: &str| {
            format!(
                "models = []\n[sources]\nX = \"x\"\n[batch]\nfactor = 0.5\ndate = \"2026-01-01\"\nsource = \"{batch_source}\"\n\
                 [[instances]]\nid = \"ml.a\"\nprice_per_hour = 1.0\nregion = \"r\"\ndate = \"{date}\"\nsource = \"X\"\n"
            )
        };
        assert!(PriceTable::parse(&table("X", "2026-01-02")).is_ok());
        let err = PriceTable::parse(&table("X", "soon")).unwrap_err();
        assert!(err.contains("ml.a") && err.contains("date"), "{err}");
        let err = PriceTable::parse(&table("Y", "2026-01-02")).unwrap_err();
        assert!(err.contains("batch") && err.contains("\"Y\""), "{err}");
    }
}
