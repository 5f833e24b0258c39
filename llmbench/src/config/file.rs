//! `llmbench.toml`: targets, simulator settings and run defaults.
//!
//! Parsing is strict: an unknown key, a bad value or a missing environment
//! variable is one error that names the file, the line and the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::settings::value::{PositiveTime, Spec};
use crate::settings::{SettingsLayer, Source};
use crate::sim::SimConfig;
pub use crate::wire::Protocol as SimProtocol;
pub use crate::wire::bedrock::{
    Api as BedrockApi, Family as BedrockFamily, Latency as BedrockLatency, ServiceTier as BedrockServiceTier,
};
pub use crate::wire::openai::Endpoint as EndpointKind;
pub use crate::wire::sagemaker::Format as ContainerFormat;

/// The file name looked for in the workspace.
pub const CONFIG_FILE: &str = "llmbench.toml";

/// A configuration error: always names the file, and the line when known.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not match the schema.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The TOML parser's message, with line, column and key.
        message: String,
    },
    /// A value is well-formed but not acceptable.
    #[error("{path}:{line}: {key}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the offending table or key.
        line: usize,
        /// The dotted key.
        key: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A target name that is neither built in nor configured.
    #[error("unknown target {name:?} (known: {known})")]
    UnknownTarget {
        /// The name asked for.
        name: String,
        /// The names that exist, comma-separated.
        known: String,
    },
}

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Defaults for every benchmark; the attribute and flags override them.
    #[serde(default)]
    pub defaults: SettingsLayer,
    /// Settings of the built-in `sim` target.
    #[serde(default)]
    pub sim: SimConfig,
    /// Named targets.
    #[serde(default)]
    pub targets: BTreeMap<String, toml::Spanned<TargetConfig>>,
    /// `[prices."model-id"]`: prices that override or add to the bundled table.
    #[serde(default)]
    pub prices: BTreeMap<String, toml::Spanned<super::prices::PriceEntry>>,
    /// `[benches.NAME]`: settings overriding a benchmark's attribute, and
    /// with workload keys a benchmark of its own.
    #[serde(skip)]
    pub benches: BTreeMap<String, toml::Spanned<BenchTable>>,
    /// The `[benches.NAME]` tables as written: each key is read on its own
    /// (settings or workload), so an error names its line.
    #[serde(default, rename = "benches")]
    raw_benches: BTreeMap<String, toml::Spanned<toml::Table>>,
    #[serde(skip)]
    source: Option<(PathBuf, String)>,
}

/// `[benches.NAME]`: the same settings keys as `#[llm_bench]` and
/// `[defaults]`, plus the keys of a workload ([`crate::workload::WorkloadSpec`]).
/// A table with workload keys declares a benchmark run beside the
/// `#[llm_bench]` ones; one without them overrides the settings of the
/// `#[llm_bench]` benchmark of that name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BenchTable {
    /// The settings, at the `[benches.NAME]` precedence.
    pub settings: SettingsLayer,
    /// What the benchmark sends, when the table declares one.
    pub workload: Option<crate::workload::WorkloadSpec>,
}

/// Which protocol a target speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// An OpenAI-compatible server (vLLM, TGI, Ollama, llama.cpp, OpenAI…).
    Openai,
    /// The built-in simulator, with its own settings.
    Sim,
    /// Amazon Bedrock (`api = "converse"` or `"invoke"`); cargo feature `bedrock`.
    Bedrock,
    /// An Amazon SageMaker real-time endpoint; cargo feature `sagemaker`.
    Sagemaker,
    /// The Anthropic Messages API.
    Anthropic,
}

impl ProviderKind {
    /// The config name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Openai => "openai",
            ProviderKind::Sim => "sim",
            ProviderKind::Bedrock => "bedrock",
            ProviderKind::Sagemaker => "sagemaker",
            ProviderKind::Anthropic => "anthropic",
        }
    }
}

/// `[targets.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// The protocol.
    pub provider: ProviderKind,
    /// Base URL including the version path, e.g. `http://127.0.0.1:8000/v1`.
    pub base_url: Option<String>,
    /// The model name sent in each request.
    pub model: Option<String>,
    /// The environment variable holding the API key (never the key itself).
    pub api_key_env: Option<String>,
    /// `chat` (default) or `completions`.
    #[serde(default)]
    pub endpoint: EndpointKind,
    /// Ask for a final usage chunk (`stream_options.include_usage`); default true.
    pub include_usage: Option<bool>,
    /// Also send `min_tokens`/`ignore_eos` so servers generate the full target length.
    pub exact_output: Option<bool>,
    /// JSON fields merged into every request body.
    pub extra_body: Option<toml::Table>,
    /// A Hugging Face `tokenizer.json` (relative to this file) that sizes and
    /// counts the prompts sent to this target, for exact lengths of its model.
    pub tokenizer: Option<String>,
    /// Per-request total timeout.
    pub timeout: Option<Spec<PositiveTime>>,
    /// Time allowed until the first content.
    pub first_content_timeout: Option<Spec<PositiveTime>>,
    /// Connect timeout.
    pub connect_timeout: Option<Spec<PositiveTime>>,
    /// Longest wait between content chunks.
    pub idle_timeout: Option<Spec<PositiveTime>>,
    /// The largest SSE event or SageMaker line accepted (default 8 MiB).
    pub max_event_size: Option<Spec<crate::settings::value::Size>>,
    /// Simulator settings, for `provider = "sim"`.
    pub sim: Option<SimConfig>,
    /// Price this target as another model id (a table id, a LiteLLM key, a `[prices]` entry).
    pub price_model: Option<String>,
    /// Per-token price list: `on_demand` (default) or `batch`.
    pub price_tier: Option<super::prices::PriceTier>,
    /// Billed per instance-hour as this instance type (e.g. `"ml.g5.xlarge"`).
    pub instance_type: Option<String>,
    /// Instances behind the endpoint, for per-instance-hour billing (default 1).
    pub instances: Option<u32>,
    /// USD per instance-hour, overriding the table's rate for `instance_type`.
    pub price_per_hour: Option<f64>,
    /// For `provider = "sim"`: the protocol it speaks, `openai` (default),
    /// `bedrock` (ConverseStream), `bedrock-invoke` or `sagemaker`.
    pub protocol: Option<SimProtocol>,
    /// AWS region (`bedrock`, `sagemaker`); default: the SDK's chain.
    pub region: Option<String>,
    /// AWS profile (`bedrock`, `sagemaker`); default: `AWS_PROFILE` or `default`.
    pub profile: Option<String>,
    /// Endpoint override (`bedrock`, `sagemaker`), e.g. a VPC endpoint or a local simulator.
    pub endpoint_url: Option<String>,
    /// SDK retries (`bedrock`, `sagemaker`); default 0: a benchmark sees every throttle.
    pub retries: Option<u32>,
    /// Bedrock operation: `converse` (default) or `invoke`.
    pub api: Option<BedrockApi>,
    /// Bedrock invoke model family: `anthropic`, `meta`, `amazon-nova`, `amazon-titan`, `mistral`, `openai`.
    pub family: Option<BedrockFamily>,
    /// Bedrock `performanceConfig.latency`: `standard` or `optimized`.
    pub latency: Option<BedrockLatency>,
    /// Bedrock `serviceTier`: `priority`, `default`, `flex` or `reserved`.
    pub service_tier: Option<BedrockServiceTier>,
    /// Bedrock converse `additionalModelRequestFields`.
    pub additional_model_request_fields: Option<toml::Table>,
    /// SageMaker endpoint name.
    pub endpoint_name: Option<String>,
    /// SageMaker inference component name.
    pub inference_component: Option<String>,
    /// SageMaker production variant to target.
    pub target_variant: Option<String>,
    /// SageMaker custom attributes header.
    pub custom_attributes: Option<String>,
    /// SageMaker container format: `tgi`, `lmi` or `openai`.
    pub format: Option<ContainerFormat>,
}

impl Config {
    /// Reads and validates `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Config::parse(path, &text)
    }

    /// Parses `text` as if read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
        config.source = Some((path.to_owned(), text.to_owned()));
        let raw = std::mem::take(&mut config.raw_benches);
        for (name, table) in &raw {
            let bench = config.bench_table(name, table)?;
            config.benches.insert(name.clone(), toml::Spanned::new(table.span(), bench));
        }
        config.validate()?;
        Ok(config)
    }

    /// Reads `[benches.NAME]` key by key: a settings key by the grammar of
    /// `[defaults]`, a workload key by the workload's; an unknown or bad
    /// one is an error naming its line.
    fn bench_table(&self, name: &str, table: &toml::Spanned<toml::Table>) -> Result<BenchTable, ConfigError> {
        use crate::workload::{WORKLOAD_KEYS, WorkloadSpec};
        let at = table.span().start;
        let mut settings = serde_json::Map::new();
        let mut workload = toml::Table::new();
        for (key, value) in table.get_ref() {
            let error =
                |message: String| self.invalid(self.key_in_table(at, key), format!("benches.{name}.{key}"), message);
            let one = toml::Table::from_iter([(key.clone(), value.clone())]);
            if WORKLOAD_KEYS.contains(&key.as_str()) {
                one.try_into::<WorkloadSpec>().map_err(|e| error(e.message().trim_end().to_owned()))?;
                workload.insert(key.clone(), value.clone());
            } else if crate::settings::KEYS.contains(&key.as_str()) {
                let layer: SettingsLayer = one.try_into().map_err(|e| error(e.message().trim_end().to_owned()))?;
                settings.extend(layer.to_map());
            } else {
                let quoted = |keys: &[&str]| keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
                return Err(error(format!(
                    "unknown field `{key}`, expected one of {} (settings), or {} (a workload)",
                    quoted(crate::settings::KEYS),
                    quoted(WORKLOAD_KEYS)
                )));
            }
        }
        let whole = |message: String| self.invalid(at, format!("benches.{name}"), message);
        let settings = SettingsLayer::from_map(settings).map_err(whole)?;
        let workload: Option<WorkloadSpec> = if workload.is_empty() {
            None
        } else {
            let spec: WorkloadSpec = workload.try_into().map_err(|e| whole(e.message().trim_end().to_owned()))?;
            if let Err(e) = spec.check() {
                return Err(self.invalid(self.key_in_table(at, e.key), format!("benches.{name}.{}", e.key), e.message));
            }
            Some(spec)
        };
        Ok(BenchTable { settings, workload })
    }

    /// The byte offset of the line setting `key` in the table whose header
    /// starts at `table_start` (the header itself when not found).
    fn key_in_table(&self, table_start: usize, key: &str) -> usize {
        let Some((_, text)) = &self.source else { return table_start };
        let start = table_start.min(text.len());
        let mut offset = start;
        for (i, line) in text[start..].split_inclusive('\n').enumerate() {
            let t = line.trim();
            if i > 0 && t.starts_with('[') {
                break;
            }
            if i > 0 && t.split('=').next().map(|k| k.trim().trim_matches('"')) == Some(key) {
                return offset;
            }
            offset += line.len();
        }
        table_start
    }

    /// The benchmarks `[benches.NAME]` tables declare (those with workload
    /// keys), by name.
    pub(crate) fn declared_benches(&self) -> impl Iterator<Item = (&str, &crate::workload::WorkloadSpec)> {
        self.benches.iter().filter_map(|(name, t)| t.get_ref().workload.as_ref().map(|w| (name.as_str(), w)))
    }

    /// An error about `key` of `[benches.NAME]`, naming its line.
    pub(crate) fn bench_key_error(&self, name: &str, key: &str, message: impl Into<String>) -> ConfigError {
        let at = self.benches.get(name).map_or(0, |t| t.span().start);
        self.invalid(self.key_in_table(at, key), format!("benches.{name}.{key}"), message)
    }

    /// The line of `[benches.NAME]`'s header (0 without a file).
    pub(crate) fn bench_line(&self, name: &str) -> usize {
        match (&self.source, self.benches.get(name)) {
            (Some((_, text)), Some(t)) => line_of(text, t.span().start),
            _ => 0,
        }
    }

    /// The file this configuration was read from, if any.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.source.as_ref().map(|(path, _)| path.as_path())
    }

    /// An [`ConfigError::Invalid`] for the line that sets `dotted`.
    pub(crate) fn invalid_key(&self, dotted: &str, message: impl Into<String>) -> ConfigError {
        self.invalid(self.key_offset(dotted), dotted, message)
    }

    pub(crate) fn invalid(&self, span_start: usize, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
        let (path, line) = match &self.source {
            Some((path, text)) => (path.clone(), line_of(text, span_start)),
            None => (PathBuf::from(CONFIG_FILE), 0),
        };
        ConfigError::Invalid { path, line, key: key.into(), message: message.into() }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let grids = std::iter::once(("defaults".to_owned(), self.key_offset("defaults"), &self.defaults)).chain(
            self.benches.iter().map(|(name, s)| (format!("benches.{name}"), s.span().start, &s.get_ref().settings)),
        );
        for (table, at, layer) in grids {
            for (key, values) in layer.params.iter().flat_map(|g| &g.0) {
                for value in values {
                    if let Err(e) = crate::workload::Workload::synthetic().with_param(key, &value.0) {
                        return Err(self.invalid(at, format!("{table}.params"), e));
                    }
                }
            }
        }
        for (name, spanned) in &self.benches {
            if spanned.get_ref().settings.litellm_prices.is_some() {
                let key = format!("benches.{name}.litellm_prices");
                return Err(self.invalid(
                    spanned.span().start,
                    key,
                    "only in [defaults]: prices apply to every benchmark",
                ));
            }
        }
        if let Err(e) = self.sim.validate() {
            return Err(self.invalid(self.key_offset("sim"), "sim", e.to_string()));
        }
        for (name, spanned) in &self.targets {
            self.validate_target(name, spanned.get_ref(), spanned.span().start)?;
        }
        super::prices::validate(self)
    }

    /// Checks target `name`, whose table starts at byte `at`.
    fn validate_target(&self, name: &str, t: &TargetConfig, at: usize) -> Result<(), ConfigError> {
        let key = |k: &str| format!("targets.{name}.{k}");
        if crate::config::BUILTIN.contains(&name) {
            return Err(self.invalid(at, format!("targets.{name}"), "this name is built in; choose another"));
        }
        super::target_keys::check(self, name, t, at)?;
        match t.provider {
            ProviderKind::Bedrock | ProviderKind::Sagemaker | ProviderKind::Anthropic => {}
            ProviderKind::Openai => {
                let Some(url) = &t.base_url else {
                    return Err(self.invalid(
                        at,
                        key("base_url"),
                        "required for provider \"openai\" (e.g. \"http://127.0.0.1:8000/v1\")",
                    ));
                };
                if let Err(message) = super::target_keys::http_url(url) {
                    return Err(self.invalid(at, key("base_url"), message));
                }
                if t.model.is_none() {
                    return Err(self.invalid(at, key("model"), "required for provider \"openai\""));
                }
                if t.sim.is_some() {
                    return Err(self.invalid(at, key("sim"), "only for provider \"sim\""));
                }
            }
            ProviderKind::Sim => {
                if let Some(Err(e)) = t.sim.as_ref().map(SimConfig::validate) {
                    return Err(self.invalid(at, key("sim"), e.to_string()));
                }
                if t.base_url.is_some() || t.api_key_env.is_some() {
                    return Err(self.invalid(
                        at,
                        key("base_url"),
                        "a sim target starts its own server; remove base_url/api_key_env",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Adds a target described by flags rather than a table (`llmbench run
    /// --url …`), checked as a table of the file would be; errors name the
    /// key (`targets.NAME.model`) for the caller to map to its flag.
    pub(crate) fn add_target(&mut self, name: &str, table: toml::Table) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            path: PathBuf::new(),
            line: 0,
            key: format!("targets.{name}.{key}"),
            message,
        };
        if crate::config::BUILTIN.contains(&name) || self.targets.contains_key(name) {
            return Err(invalid("name", format!("{name:?} is already a target")));
        }
        let t: TargetConfig = table.try_into().map_err(|e| invalid("provider", e.message().trim_end().to_owned()))?;
        let checked = self.validate_target(name, &t, 0).map_err(|e| match e {
            ConfigError::Invalid { key, message, .. } => {
                ConfigError::Invalid { path: PathBuf::new(), line: 0, key, message }
            }
            other => other,
        });
        checked?;
        self.targets.insert(name.to_owned(), toml::Spanned::new(0..0, t));
        Ok(())
    }

    /// `[defaults]` as a settings layer, and where it is.
    pub(crate) fn defaults_layer(&self) -> (Source, &SettingsLayer) {
        (self.source_of("defaults", self.key_offset("defaults")), &self.defaults)
    }

    /// `[benches.NAME]` as a settings layer, if the file has one.
    pub(crate) fn bench_layer(&self, name: &str) -> Option<(Source, &SettingsLayer)> {
        let spanned = self.benches.get(name)?;
        Some((self.source_of(&format!("benches.{name}"), spanned.span().start), &spanned.get_ref().settings))
    }

    /// The settings of `[targets.NAME]` (its timeouts), if configured.
    pub(crate) fn target_layer(&self, name: &str) -> Option<(Source, SettingsLayer)> {
        let spanned = self.targets.get(name)?;
        let t = spanned.get_ref();
        let layer = SettingsLayer {
            timeout: t.timeout.clone(),
            first_content_timeout: t.first_content_timeout.clone(),
            connect_timeout: t.connect_timeout.clone(),
            idle_timeout: t.idle_timeout.clone(),
            ..SettingsLayer::default()
        };
        Some((self.source_of(&format!("targets.{name}"), spanned.span().start), layer))
    }

    fn source_of(&self, table: &str, offset: usize) -> Source {
        let (path, line) = match &self.source {
            Some((path, text)) => (path.clone(), line_of(text, offset)),
            None => (PathBuf::from(CONFIG_FILE), 0),
        };
        Source::Config { path, table: table.to_owned(), line }
    }

    /// Byte offset of the first line that sets `dotted` (table header or
    /// key), for error messages about values that parsed but are invalid.
    fn key_offset(&self, dotted: &str) -> usize {
        let Some((_, text)) = &self.source else { return 0 };
        if !dotted.contains('.') {
            let header = format!("[{dotted}]");
            let mut offset = 0;
            for line in text.split_inclusive('\n') {
                if line.trim() == header {
                    return offset;
                }
                offset += line.len();
            }
            return 0;
        }
        let (table, key) = dotted.rsplit_once('.').unwrap_or(("", dotted));
        let mut in_table = table.is_empty();
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let t = line.trim();
            if t.starts_with('[') {
                in_table = t.trim_matches(|c| c == '[' || c == ']').trim() == table;
            } else if in_table && t.split('=').next().map(str::trim) == Some(key) {
                return offset;
            }
            offset += line.len();
        }
        0
    }
}

/// A TOML or schema error as `file:line: table.key: message`, like every
/// other configuration error.
fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let message = e.message().trim_end().to_owned();
    let Some(span) = e.span() else { return ConfigError::Parse { path: path.to_owned(), message } };
    let line = line_of(text, span.start);
    ConfigError::Invalid { path: path.to_owned(), line, key: key_at(text, span.start), message }
}

/// The dotted key whose value (or name) is at byte `offset`: the table
/// header above it, then the key on its line.
fn key_at(text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next().unwrap_or("");
    let key = line.split('=').next().filter(|_| line.contains('=')).map(str::trim).unwrap_or("");
    let table = before[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && !l.starts_with("[["))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_owned());
    match (table, key) {
        (Some(t), "") => t,
        (Some(t), k) => format!("{t}.{k}"),
        (None, k) => k.to_owned(),
    }
}

/// The 1-based line holding byte `offset` of `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Finds `llmbench.toml`: `explicit` if given (it must exist), else the
/// first one found walking up from each of `starts`.
pub fn find(explicit: Option<&Path>, starts: &[&Path]) -> Result<Option<PathBuf>, ConfigError> {
    if let Some(path) = explicit {
        if !path.is_file() {
            return Err(ConfigError::Read {
                path: path.to_owned(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
        return Ok(Some(path.to_owned()));
    }
    for start in starts {
        for dir in start.ancestors() {
            let candidate = dir.join(CONFIG_FILE);
            if candidate.is_file() {
                return Ok(Some(candidate));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("llmbench.toml"), text)
    }

    #[test]
    fn a_full_file_parses() {
        let c = parse(
            r#"
[defaults]
samples = 20
concurrency = [1, 4]
timeout = "60s"

[sim]
ttft = "10ms"
itl = "2ms"

[targets.local]
provider = "openai"
base_url = "http://127.0.0.1:8000/v1"
model = "llama"
api_key_env = "LOCAL_KEY"
endpoint = "completions"

[targets.fast]
provider = "sim"
sim = { ttft = "1ms", itl = "1ms" }
"#,
        )
        .unwrap();
        assert_eq!(c.defaults.samples.as_ref().map(|s| s.get().0), Some(20));
        assert_eq!(c.targets.len(), 2);
        assert_eq!(c.targets["local"].get_ref().endpoint, EndpointKind::Completions);
    }

    #[test]
    fn unknown_keys_name_file_line_and_key() {
        let err = parse("[defaults]\nsamples = 3\nsampels = 4\n").unwrap_err().to_string();
        assert!(
            err.starts_with("llmbench.toml:3: defaults.sampels: unknown field `sampels`, expected one of `samples`"),
            "{err}"
        );
    }

    #[test]
    fn invalid_values_name_the_line() {
        let err = parse("[defaults]\n\ntimeout = \"soon\"\n").unwrap_err().to_string();
        assert!(err.starts_with("llmbench.toml:3: defaults.timeout:"), "{err}");
        let err = parse("[targets.x]\nprovider = \"openai\"\nmodel = \"m\"\n").unwrap_err().to_string();
        assert!(err.contains("targets.x.base_url"), "{err}");
        assert!(err.contains(":1:"), "{err}");
        let err = parse("[targets.x]\nprovider = \"bedrockk\"\n").unwrap_err().to_string();
        assert!(err.starts_with("llmbench.toml:2: targets.x.provider: unknown variant `bedrockk`"), "{err}");
        let err = parse("[targets.sim]\nprovider = \"sim\"\n").unwrap_err().to_string();
        assert!(err.contains("built in"), "{err}");
        let err = parse("[defaults]\n[sim]\nerror_rate = 2.0\n").unwrap_err().to_string();
        assert!(err.starts_with("llmbench.toml:2: sim:") && err.contains("error_rate"), "{err}");
        let err = parse("[targets.s]\nprovider = \"sim\"\nsim = { chunk_tokens = 0 }\n").unwrap_err().to_string();
        assert!(err.contains("targets.s.sim") && err.contains("chunk_tokens"), "{err}");
    }

    #[test]
    fn load_keys_parse_and_bad_ones_name_line_and_key() {
        let c = parse(
            "[defaults]\narrival = \"gamma:0.5\"\nslo = [\"ttft <= 300ms\", \"goodput >= 95%\"]\n\n[benches.summarise]\nrate = [\"5/s\", \"10/s\"]\nsweep = [1, 2, 4]\nduration = \"30s\"\nparams = { temperature = [0.0, 0.7], max_tokens = [256] }\n",
        )
        .unwrap();
        assert_eq!(c.defaults.slo.as_ref().map(Spec::text), Some("ttft <= 300ms, goodput >= 95%"));
        let b = &c.benches["summarise"].get_ref().settings;
        assert_eq!(
            (b.rate.as_ref().map(Spec::text), b.sweep.as_ref().map(Spec::text)),
            (Some("5/s, 10/s"), Some("1, 2, 4"))
        );
        let grid = &b.params.as_ref().unwrap().0;
        assert_eq!((grid[0].0.as_str(), grid[0].1.len(), grid[0].1[0].0.as_str()), ("temperature", 2, "0.0"));
        let err = parse("[defaults]\nsamples = 3\n\narrival = \"bursty\"\n").unwrap_err().to_string();
        assert!(err.starts_with("llmbench.toml:4: defaults.arrival: unknown arrival"), "{err}");
        let err = parse("\n[benches.x]\nstages = \"30s@5/s, 1m@8\"\n").unwrap_err().to_string();
        assert!(err.starts_with("llmbench.toml:3: benches.x.stages:") && err.contains("mix"), "{err}");
        let err = parse("[benches.x]\nparams = { temprature = [1] }\n").unwrap_err().to_string();
        assert!(err.contains("benches.x.params") && err.contains("unknown param"), "{err}");
        let err = parse("[benches.x]\nrat = \"5/s\"\n").unwrap_err().to_string();
        assert!(err.starts_with("llmbench.toml:2: benches.x.rat: unknown field"), "{err}");
    }

    #[test]
    fn limits_are_checked_at_load() {
        let c = parse("[defaults]\nlimits = [\"error_rate<=1%\"]\n[benches.short]\nlimits = [\"ttft.p90<=500ms\"]\n")
            .unwrap();
        assert_eq!(c.benches["short"].get_ref().settings.limits[0].text(), "ttft.p90<=500ms");
        let err =
            parse("[defaults]\nsamples = 3\n\n[benches.short]\nlimits = [\"ttft<=5ms\"]\n").unwrap_err().to_string();
        assert!(err.starts_with("llmbench.toml:5: benches.short.limits: invalid limit \"ttft<=5ms\""), "{err}");
        let err = parse("[defaults]\nlimits = [\"x\"]\n").unwrap_err().to_string();
        assert!(err.starts_with("llmbench.toml:2: defaults.limits:"), "{err}");
        assert!(parse("[benches.short]\nlimitz = []\n").unwrap_err().to_string().contains("limitz"));
    }

    #[test]
    fn find_walks_up() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b");
        std::fs::create_dir_all(&nested).unwrap();
        assert_eq!(find(None, &[&nested]).unwrap(), None);
        std::fs::write(dir.path().join(CONFIG_FILE), "").unwrap();
        assert_eq!(find(None, &[&nested]).unwrap(), Some(dir.path().join(CONFIG_FILE)));
        assert!(find(Some(&dir.path().join("missing.toml")), &[]).is_err());
    }
}
