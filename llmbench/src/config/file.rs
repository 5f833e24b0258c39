//! `llmbench.toml`: targets, simulator settings and run defaults.
//!
//! Parsing is strict: an unknown key, a bad value or a missing environment
//! variable is one error that names the file, the line and the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

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
    pub defaults: Defaults,
    /// Settings of the built-in `sim` target.
    #[serde(default)]
    pub sim: SimConfig,
    /// Named targets.
    #[serde(default)]
    pub targets: BTreeMap<String, toml::Spanned<TargetConfig>>,
    /// `[prices."model-id"]`: prices that override or add to the bundled table.
    #[serde(default)]
    pub prices: BTreeMap<String, toml::Spanned<crate::cost::PriceEntry>>,
    /// Per-benchmark settings (`[benches.NAME]`), overriding the attribute.
    #[serde(default)]
    pub benches: BTreeMap<String, toml::Spanned<super::bench_config::BenchConfig>>,
    #[serde(skip)]
    source: Option<(PathBuf, String)>,
}

/// `[defaults]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Measured requests per concurrency level.
    pub samples: Option<u32>,
    /// Warm-up requests per concurrency level.
    pub warmup: Option<u32>,
    /// Concurrency levels.
    pub concurrency: Option<Vec<u32>>,
    /// Targets to run when neither flags nor the benchmark name any.
    pub targets: Option<Vec<String>>,
    /// Per-request total timeout (`"120s"`).
    pub timeout: Option<String>,
    /// Time allowed until the first content (`"60s"`).
    pub first_content_timeout: Option<String>,
    /// TCP/TLS connect timeout (`"10s"`).
    pub connect_timeout: Option<String>,
    /// A LiteLLM `model_prices_and_context_window.json` to take prices from
    /// (relative to this file; read offline).
    pub litellm_prices: Option<String>,
    /// Open-loop rate(s) (`"20/s"` or a list).
    #[serde(default, deserialize_with = "super::bench_config::joined")]
    pub rate: Option<String>,
    /// Arrival process: `constant`, `poisson` or `gamma:<burstiness>`.
    pub arrival: Option<String>,
    /// Duration of each level (`"30s"`), instead of a request count.
    pub duration: Option<String>,
    /// Grace after a duration-bounded level before requests are cut.
    pub grace: Option<String>,
    /// Stages (`"30s@5/s, 1m@50/s"`, `"spike:10/s*5"`).
    #[serde(default, deserialize_with = "super::bench_config::joined")]
    pub stages: Option<String>,
    /// Sweep (`[1, 2, 4]`, `"auto"`, `"3x:20/s"`).
    #[serde(default, deserialize_with = "super::bench_config::joined")]
    pub sweep: Option<String>,
    /// Cap on requests in flight in open loop.
    pub max_in_flight: Option<u32>,
    /// SLOs (`"ttft <= 500ms, goodput >= 99%"` or a list).
    #[serde(default, deserialize_with = "super::bench_config::joined")]
    pub slo: Option<String>,
    /// Limits checked for every benchmark (`["error_rate<=1%"]`).
    pub limits: Option<Vec<String>>,
}

impl Defaults {
    pub(crate) fn load_keys(&self) -> super::bench_config::LoadKeys<'_> {
        super::bench_config::LoadKeys {
            rate: &self.rate,
            arrival: &self.arrival,
            duration: &self.duration,
            grace: &self.grace,
            stages: &self.stages,
            sweep: &self.sweep,
            slo: &self.slo,
            max_in_flight: self.max_in_flight,
        }
    }
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
    /// Per-request total timeout.
    pub timeout: Option<String>,
    /// Time allowed until the first content.
    pub first_content_timeout: Option<String>,
    /// Connect timeout.
    pub connect_timeout: Option<String>,
    /// Simulator settings, for `provider = "sim"`.
    pub sim: Option<SimConfig>,
    /// Price this target as another model id (a table id, a LiteLLM key, a `[prices]` entry).
    pub price_model: Option<String>,
    /// Per-token price list: `on_demand` (default) or `batch`.
    pub price_tier: Option<crate::cost::PriceTier>,
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
        let mut config: Config = toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: path.to_owned(), message: e.to_string().trim_end().to_owned() })?;
        config.source = Some((path.to_owned(), text.to_owned()));
        config.validate()?;
        Ok(config)
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
        let d = &self.defaults;
        for (key, value) in [
            ("defaults.timeout", &d.timeout),
            ("defaults.first_content_timeout", &d.first_content_timeout),
            ("defaults.connect_timeout", &d.connect_timeout),
        ] {
            if let Some(v) = value {
                crate::units::parse_duration(v).map_err(|m| self.invalid(self.key_offset(key), key, m))?;
            }
        }
        if let Some(levels) = &d.concurrency
            && (levels.is_empty() || levels.contains(&0))
        {
            let key = "defaults.concurrency";
            return Err(self.invalid(self.key_offset(key), key, "must be a non-empty list of levels ≥ 1"));
        }
        if d.samples == Some(0) {
            let key = "defaults.samples";
            return Err(self.invalid(self.key_offset(key), key, "must be at least 1"));
        }
        if let Err((key, message)) = super::bench_config::validate(&d.load_keys()) {
            let key = format!("defaults.{key}");
            return Err(self.invalid(self.key_offset(&key), key, message));
        }
        for (name, spanned) in &self.benches {
            let b = spanned.get_ref();
            let at = spanned.span().start;
            if let Err((key, message)) = super::bench_config::validate(&b.load_keys()) {
                return Err(self.invalid(at, format!("benches.{name}.{key}"), message));
            }
            if let Some(Err(message)) = b.params_text().map(|p| super::bench_config::validate_params(&p)) {
                return Err(self.invalid(at, format!("benches.{name}.params"), message));
            }
            if b.samples == Some(0) || b.concurrency.as_ref().is_some_and(|c| c.is_empty() || c.contains(&0)) {
                return Err(self.invalid(
                    at,
                    format!("benches.{name}"),
                    "samples and concurrency levels must be at least 1",
                ));
            }
            if let Some(Err(m)) = b.timeout.as_deref().map(crate::units::parse_duration) {
                return Err(self.invalid(at, format!("benches.{name}.timeout"), m));
            }
        }
        let bench_limits = self.benches.iter().map(|(name, b)| (format!("benches.{name}.limits"), &b.get_ref().limits));
        for (key, limits) in std::iter::once(("defaults.limits".to_owned(), &d.limits)).chain(bench_limits) {
            for limit in limits.iter().flatten() {
                if let Err(e) = crate::gate::Limit::parse(limit) {
                    return Err(self.invalid(self.key_offset(&key), key, e.to_string()));
                }
            }
        }
        if let Err(e) = self.sim.validate() {
            return Err(self.invalid(self.key_offset("sim"), "sim", e.to_string()));
        }
        for (name, spanned) in &self.targets {
            let t = spanned.get_ref();
            let at = spanned.span().start;
            let key = |k: &str| format!("targets.{name}.{k}");
            if crate::config::BUILTIN.contains(&name.as_str()) {
                return Err(self.invalid(at, format!("targets.{name}"), "this name is built in; choose another"));
            }
            for (k, v) in [
                ("timeout", &t.timeout),
                ("first_content_timeout", &t.first_content_timeout),
                ("connect_timeout", &t.connect_timeout),
            ] {
                if let Some(v) = v {
                    crate::units::parse_duration(v).map_err(|m| self.invalid(at, key(k), m))?;
                }
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
                    if !(url.starts_with("http://") || url.starts_with("https://")) {
                        return Err(self.invalid(
                            at,
                            key("base_url"),
                            format!("{url:?} must start with http:// or https://"),
                        ));
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
        }
        crate::cost::validate(self)
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
        assert_eq!(c.defaults.samples, Some(20));
        assert_eq!(c.targets.len(), 2);
        assert_eq!(c.targets["local"].get_ref().endpoint, EndpointKind::Completions);
    }

    #[test]
    fn unknown_keys_name_file_line_and_key() {
        let err = parse("[defaults]\nsamples = 3\nsampels = 4\n").unwrap_err().to_string();
        assert!(err.contains("llmbench.toml"), "{err}");
        assert!(err.contains("line 3"), "{err}");
        assert!(err.contains("sampels"), "{err}");
    }

    #[test]
    fn invalid_values_name_the_line() {
        let err = parse("[defaults]\n\ntimeout = \"soon\"\n").unwrap_err().to_string();
        assert!(err.starts_with("llmbench.toml:3: defaults.timeout:"), "{err}");
        let err = parse("[targets.x]\nprovider = \"openai\"\nmodel = \"m\"\n").unwrap_err().to_string();
        assert!(err.contains("targets.x.base_url"), "{err}");
        assert!(err.contains(":1:"), "{err}");
        let err = parse("[targets.x]\nprovider = \"bedrockk\"\n").unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains("bedrockk"), "{err}");
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
        assert_eq!(c.defaults.slo.as_deref(), Some("ttft <= 300ms, goodput >= 95%"));
        let b = c.benches["summarise"].get_ref();
        assert_eq!((b.rate.as_deref(), b.sweep.as_deref()), (Some("5/s, 10/s"), Some("1, 2, 4")));
        assert_eq!(b.params_text().unwrap()[1], ("temperature".to_owned(), vec!["0.0".to_owned(), "0.7".to_owned()]));
        let err = parse("[defaults]\nsamples = 3\n\narrival = \"bursty\"\n").unwrap_err().to_string();
        assert!(err.starts_with("llmbench.toml:4: defaults.arrival: unknown arrival"), "{err}");
        let err = parse("\n[benches.x]\nstages = \"30s@5/s, 1m@8\"\n").unwrap_err().to_string();
        assert!(err.starts_with("llmbench.toml:2: benches.x.stages:") && err.contains("mix"), "{err}");
        let err = parse("[benches.x]\nparams = { temprature = [1] }\n").unwrap_err().to_string();
        assert!(err.contains("benches.x.params") && err.contains("unknown param"), "{err}");
        let err = parse("[benches.x]\nrat = \"5/s\"\n").unwrap_err().to_string();
        assert!(err.contains("rat") && err.contains("line 2"), "{err}");
    }

    #[test]
    fn limits_are_checked_at_load() {
        let c = parse("[defaults]\nlimits = [\"error_rate<=1%\"]\n[benches.short]\nlimits = [\"ttft.p90<=500ms\"]\n")
            .unwrap();
        assert_eq!(c.benches["short"].get_ref().limits.as_deref(), Some(&["ttft.p90<=500ms".to_owned()][..]));
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
