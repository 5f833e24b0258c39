//! `llmbench run` (`cargo llmbench run`): benchmark an endpoint from flags
//! alone, no code and no build. The endpoint flags describe a target as a
//! `[targets.NAME]` table would (and are checked as one), the workload flags
//! are the keys of a `[benches.NAME]` table ([`WorkloadSpec`]), and the rest
//! are the flags of every run (settings, output, baselines, the gate). The
//! benchmark runs in this process through the engine, like one of a
//! benchmark binary, so it writes the same results, report and verdicts,
//! under an id derived from the workload (or `--name`): ad-hoc runs are
//! compared with the previous one and can be gated.

use std::path::Path;

use anyhow::Context;
use clap::{Args, ValueEnum};

use super::build::UsageError;
use crate::config::file::{self, Config, ConfigError};
use crate::engine::{BenchSpec, Invocation};
use crate::exit_code;
use crate::settings::{GateArgs, RunArgs, SettingsLayer, Source};
use crate::workload::WorkloadSpec;

const EXAMPLES: &str = "Examples:
  # An OpenAI-compatible server (vLLM, TGI, SGLang, Ollama, llama.cpp):
  llmbench run --url http://127.0.0.1:8000/v1 --model meta-llama/Llama-3.1-8B-Instruct \\
      --concurrency 1,8,32 --requests 200 --input-tokens 100..200 --output-tokens 256
  # OpenAI itself (the key from $OPENAI_API_KEY), open loop for a minute:
  llmbench run --url https://api.openai.com/v1 --model gpt-4o-mini --rate 2/s --duration 1m
  # Amazon Bedrock (the standard AWS credential chain), Anthropic ($ANTHROPIC_API_KEY):
  llmbench run --provider bedrock --region us-west-2 \\
      --model us.anthropic.claude-3-5-haiku-20241022-v1:0
  llmbench run --provider anthropic --model claude-3-5-haiku-20241022 --slo 'ttft<=800ms'
  # A target of llmbench.toml, prompts from a dataset, a capacity sweep:
  llmbench run --target local --dataset prompts.jsonl --sweep auto
  # The built-in simulator (no endpoint flags); save a baseline, then gate on it:
  llmbench run --input-tokens 500 --save-baseline=main
  llmbench run --input-tokens 500 --baseline main --fail-on-regression --limit 'ttft.p90<=500ms'

The benchmark id is `run-` and a hash of the workload flags (or --name), so the same command is compared with its previous run. Results go to <root>/<id>/<target>/new/, where <root> is $LLMBENCH_HOME, else target/llmbench of the Cargo workspace, else target/llmbench beside llmbench.toml, else under the current directory.";

/// `llmbench run [OPTIONS]`.
#[derive(Debug, Args)]
#[command(after_help = EXAMPLES, mut_arg("filter", |a| a.hide(true)), mut_arg("exact", |a| a.hide(true)))]
pub(crate) struct RunCmd {
    #[command(flatten)]
    endpoint: EndpointArgs,
    #[command(flatten)]
    workload: WorkloadSpec,
    /// The benchmark id, naming its results and baselines (default:
    /// `run-<hash of the workload flags>`).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// Test mode: one request, no measuring (does the endpoint answer?).
    #[arg(long)]
    test: bool,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    settings: SettingsLayer,
    #[command(flatten)]
    gate: GateArgs,
}

/// The protocol of an endpoint given by flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Provider {
    /// An OpenAI-compatible server: vLLM, TGI, SGLang, Ollama, llama.cpp, OpenAI.
    Openai,
    /// The Anthropic Messages API.
    Anthropic,
    /// Amazon Bedrock (ConverseStream).
    Bedrock,
    /// An Amazon SageMaker real-time endpoint.
    Sagemaker,
}

/// `--endpoint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Route {
    /// `/chat/completions`.
    Chat,
    /// `/completions`.
    Completions,
}

/// `--container-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ContainerFormat {
    /// Text Generation Inference.
    Tgi,
    /// Large Model Inference (DJL).
    Lmi,
    /// OpenAI-compatible chunks.
    Openai,
}

/// The endpoint, as the keys of a `[targets.NAME]` table.
#[derive(Debug, Clone, Default, Args)]
struct EndpointArgs {
    /// The endpoint's base URL, version path included
    /// (`http://127.0.0.1:8000/v1`); implies --provider openai.
    #[arg(long, value_name = "URL", help_heading = "Endpoint")]
    url: Option<String>,
    /// The protocol (default openai with --url).
    #[arg(long, value_enum, help_heading = "Endpoint")]
    provider: Option<Provider>,
    /// The model sent in every request (Bedrock: a model or inference-profile id).
    #[arg(long, value_name = "MODEL", help_heading = "Endpoint")]
    model: Option<String>,
    /// The environment variable holding the API key (its name, never the
    /// key); default ANTHROPIC_API_KEY for anthropic, OPENAI_API_KEY for
    /// api.openai.com, none otherwise.
    #[arg(long, value_name = "VAR", help_heading = "Endpoint")]
    api_key_env: Option<String>,
    /// `chat` (default) or `completions`.
    #[arg(long, value_enum, help_heading = "Endpoint")]
    endpoint: Option<Route>,
    /// AWS region (bedrock, sagemaker; default: the SDK's chain).
    #[arg(long, value_name = "REGION", help_heading = "Endpoint")]
    region: Option<String>,
    /// AWS profile (bedrock, sagemaker).
    #[arg(long, value_name = "PROFILE", help_heading = "Endpoint")]
    profile: Option<String>,
    /// Endpoint override (bedrock, sagemaker): a VPC endpoint, a proxy, `llmbench sim`.
    #[arg(long, value_name = "URL", help_heading = "Endpoint")]
    endpoint_url: Option<String>,
    /// The SageMaker endpoint's name.
    #[arg(long, value_name = "NAME", help_heading = "Endpoint")]
    endpoint_name: Option<String>,
    /// What the SageMaker container streams: tgi, lmi or openai.
    #[arg(long, value_enum, help_heading = "Endpoint")]
    container_format: Option<ContainerFormat>,
    /// The target's name in results (default: the model, or the SageMaker endpoint name).
    #[arg(long, value_name = "NAME", help_heading = "Endpoint")]
    target_name: Option<String>,
}

impl EndpointArgs {
    /// The target these flags describe: its name and its table; `None`
    /// when they describe none (then `--target` or the defaults apply).
    fn target(&self) -> Result<Option<(String, toml::Table)>, UsageError> {
        let provider = match (self.provider, &self.url) {
            (Some(p), _) => p,
            (None, Some(_)) => Provider::Openai,
            (None, None) => {
                return match self.first_set() {
                    Some(flag) => Err(UsageError(format!(
                        "{flag} describes an endpoint: give --url (or --provider); to use a target of llmbench.toml, give --target NAME"
                    ))),
                    None => Ok(None),
                };
            }
        };
        let provider_name = value_name(&provider);
        let mut table = toml::Table::new();
        let mut set = |key: &str, value: Option<String>| {
            if let Some(v) = value {
                table.insert(key.to_owned(), toml::Value::String(v));
            }
        };
        set("provider", Some(provider_name.clone()));
        set("base_url", self.url.clone());
        set("model", self.model.clone());
        set("api_key_env", self.api_key_env.clone().or_else(|| default_key_env(provider, self.url.as_deref())));
        set("endpoint", self.endpoint.as_ref().map(value_name));
        set("region", self.region.clone());
        set("profile", self.profile.clone());
        set("endpoint_url", self.endpoint_url.clone());
        set("endpoint_name", self.endpoint_name.clone());
        set("format", self.container_format.as_ref().map(value_name));
        let name = self.target_name.clone().or_else(|| self.model.clone()).or_else(|| self.endpoint_name.clone());
        let name = name.unwrap_or(provider_name);
        if name.trim().is_empty() {
            return Err(UsageError("--target-name: cannot be empty".into()));
        }
        Ok(Some((name, table)))
    }

    /// The first endpoint flag given, for a message about it.
    fn first_set(&self) -> Option<&'static str> {
        [
            ("--model", self.model.is_some()),
            ("--api-key-env", self.api_key_env.is_some()),
            ("--endpoint", self.endpoint.is_some()),
            ("--region", self.region.is_some()),
            ("--profile", self.profile.is_some()),
            ("--endpoint-url", self.endpoint_url.is_some()),
            ("--endpoint-name", self.endpoint_name.is_some()),
            ("--container-format", self.container_format.is_some()),
            ("--target-name", self.target_name.is_some()),
        ]
        .into_iter()
        .find_map(|(flag, on)| on.then_some(flag))
    }
}

/// A value's name as its flag takes it (`completions`, `tgi`).
fn value_name<T: ValueEnum>(value: &T) -> String {
    value.to_possible_value().map(|v| v.get_name().to_owned()).unwrap_or_default()
}

/// The key a provider needs without being told: Anthropic's always, and
/// OpenAI's for api.openai.com only — a key is never sent to a server the
/// user did not name it for.
fn default_key_env(provider: Provider, url: Option<&str>) -> Option<String> {
    let host = url.and_then(|u| reqwest::Url::parse(u).ok()).and_then(|u| u.host_str().map(str::to_owned));
    match provider {
        Provider::Anthropic => Some("ANTHROPIC_API_KEY".into()),
        Provider::Openai if host.as_deref() == Some("api.openai.com") => Some("OPENAI_API_KEY".into()),
        _ => None,
    }
}

/// The flag of a key of a `[targets.NAME]` table or a workload.
fn flag_of(key: &str) -> String {
    match key {
        "base_url" => "--url".into(),
        "format" => "--container-format".into(),
        "prompts" => "--prompt".into(),
        "name" => "--target-name".into(),
        other => format!("--{}", other.replace('_', "-")),
    }
}

/// The id of an ad-hoc run: `--name`, or `run-` and a hash of the workload
/// flags (FNV-1a, stable across versions and machines), so the same
/// command finds its previous run.
fn bench_id(name: Option<&str>, workload: &WorkloadSpec) -> Result<String, UsageError> {
    if let Some(name) = name {
        let name = name.trim();
        if name.is_empty() || name.contains('/') {
            return Err(UsageError(format!("--name {name:?}: give a non-empty name without '/'")));
        }
        return Ok(name.to_owned());
    }
    let canonical = serde_json::to_string(workload).unwrap_or_default();
    let hash = crate::results::fnv1a(canonical.as_bytes());
    Ok(format!("run-{:08x}", (hash >> 32) as u32 ^ hash as u32))
}

/// Runs the subcommand; returns the exit code.
pub(crate) fn run(cmd: &RunCmd) -> anyhow::Result<i32> {
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let Some((invocation, config, spec)) = prepare(cmd, &cwd)? else { return Ok(exit_code::OK) };
    match crate::engine::run(&invocation, &config, vec![spec]) {
        Ok(code) => Ok(code),
        Err(e) => {
            // Messages may quote a server or a file: no escape sequence gets through.
            eprintln!("error: {}", crate::term::safe(&e.to_string()));
            Ok(e.exit_code())
        }
    }
}

/// Everything checked before the engine runs, which sends the first
/// request: the configuration with the flags' target, the benchmark, the
/// invocation. `None` after `--list`.
fn prepare(cmd: &RunCmd, cwd: &Path) -> Result<Option<(Invocation, Config, BenchSpec)>, UsageError> {
    if let Some(filter) = &cmd.run.filter {
        return Err(UsageError(format!("run takes no FILTER ({filter:?}): it runs one benchmark, named by --name")));
    }
    let config_path = file::find(cmd.run.config.as_deref(), &[cwd]).map_err(|e| UsageError(e.to_string()))?;
    let mut config = match &config_path {
        Some(path) => Config::load(path).map_err(|e| UsageError(e.to_string()))?,
        None => Config::default(),
    };
    let mut flags = cmd.settings.clone();
    if let Some(name) = add_target(&cmd.endpoint, &mut config)? {
        hint_about_the_url(cmd.endpoint.url.as_deref(), cmd.endpoint.provider);
        if !flags.targets.contains(&name) {
            flags.targets.push(name);
        }
    }
    // Relative dataset and template paths start here, as a shell's do.
    let workload = cmd.workload.build(cwd).map_err(|e| UsageError(format!("{}: {}", flag_of(e.key), e.message)))?;
    let id = bench_id(cmd.name.as_deref(), &cmd.workload)?;
    if cmd.run.list {
        let line = if cmd.run.terse() { format!("{id}: benchmark") } else { format!("{id}: benchmark (command line)") };
        crate::term::println(&line);
        return Ok(None);
    }
    if cmd.name.is_none() && !cmd.run.quiet {
        eprintln!("benchmark id: {id} (from the workload flags; --name chooses one)");
    }
    let spec = BenchSpec {
        name: id,
        module_path: String::new(),
        file: String::new(),
        line: 0,
        workload,
        check: None,
        layer: SettingsLayer::default(),
        source: Source::Flags,
    };
    let invocation = Invocation {
        run: cmd.run.clone(),
        flags,
        gate: cmd.gate.clone(),
        test_mode: cmd.test,
        under_parent: false,
        results_root: Some(super::root::results_root(cwd, config_path.as_deref())),
        // `llmbench run` is one process; shards are `cargo llmbench --shard`'s.
        shard: Default::default(),
    };
    Ok(Some((invocation, config, spec)))
}

/// Adds the endpoint's target to `config`, checked as a table of the file
/// would be, its API key present; returns its name.
fn add_target(endpoint: &EndpointArgs, config: &mut Config) -> Result<Option<String>, UsageError> {
    let Some((name, table)) = endpoint.target()? else { return Ok(None) };
    config.add_target(&name, table.clone()).map_err(|e| match e {
        // The name came from --model (or --endpoint-name): say so.
        ConfigError::Invalid { key, message, .. } if key.ends_with(".name") && endpoint.target_name.is_none() => {
            UsageError(format!(
                "the target's name {message}: it is taken from the model, choose one with --target-name"
            ))
        }
        other => flag_error(other),
    })?;
    check_credentials(&table, endpoint.api_key_env.is_some())?;
    Ok(Some(name))
}

/// A target's problem as a problem of the flag that set it.
fn flag_error(e: ConfigError) -> UsageError {
    match e {
        ConfigError::Invalid { key, message, .. } => {
            let key = key.rsplit('.').next().unwrap_or(&key);
            UsageError(format!("{}: {message}", flag_of(key)))
        }
        other => UsageError(other.to_string()),
    }
}

/// The API key a target names must be set before anything is sent;
/// `given` is whether --api-key-env named it (else the provider's default).
fn check_credentials(table: &toml::Table, given: bool) -> Result<(), UsageError> {
    let Some(var) = table.get("api_key_env").and_then(toml::Value::as_str) else { return Ok(()) };
    match std::env::var(var) {
        Ok(key) if !key.trim().is_empty() => Ok(()),
        _ if given => Err(UsageError(format!(
            "--api-key-env: environment variable {var} is not set (export it, or name another variable with --api-key-env)"
        ))),
        _ => Err(UsageError(format!(
            "this endpoint needs an API key: export {var}, or name the variable holding it with --api-key-env"
        ))),
    }
}

/// OpenAI-compatible servers serve under `/v1`: a URL without a path is
/// almost always a mistake, but some proxies mount elsewhere, so it is a
/// note, not an error.
fn hint_about_the_url(url: Option<&str>, provider: Option<Provider>) {
    let Some(url) = url.and_then(|u| reqwest::Url::parse(u).ok()) else { return };
    if matches!(provider, None | Some(Provider::Openai)) && url.path().trim_matches('/').is_empty() {
        let with_v1 = format!("{}/v1", url.as_str().trim_end_matches('/'));
        eprintln!(
            "note: requests go to {}/chat/completions; OpenAI-compatible servers usually serve /v1 (--url {})",
            url.as_str().trim_end_matches('/'),
            crate::redact::redact_url(&with_v1)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<RunCmd, String> {
        let mut argv = vec!["run"];
        argv.extend_from_slice(args);
        let args =
            crate::cli::parse("llmbench", argv.iter().map(std::ffi::OsString::from)).map_err(|e| e.to_string())?;
        match args.command {
            Some(crate::cli::LlmbenchCommand::Run(cmd)) => Ok(*cmd),
            other => Err(format!("not run: {other:?}")),
        }
    }

    /// What `run` would do up to the engine: the target added to a config, or the error.
    fn target_of(args: &[&str]) -> Result<(String, Config), String> {
        let cmd = parse(args)?;
        let mut config = Config::default();
        let name = add_target(&cmd.endpoint, &mut config).map_err(|e| e.0)?.ok_or("no target")?;
        Ok((name, config))
    }

    #[test]
    fn the_flags_of_benches_and_of_a_workload_parse() {
        let cmd = parse(&[
            "--url",
            "http://127.0.0.1:8000/v1",
            "--model",
            "m",
            "--concurrency",
            "1,8,32",
            "--requests",
            "200",
            "--input-tokens",
            "100..200",
            "--output-tokens",
            "256",
            "--prompt",
            "a, b",
            "--cache-bust",
            "--save-baseline=main",
            "--limit",
            "ttft.p90<=500ms",
        ])
        .unwrap();
        assert_eq!(cmd.settings.samples.as_ref().map(|s| s.get().0), Some(200), "--requests is --sample-size");
        assert_eq!(cmd.workload.prompts, ["a, b"]);
        assert_eq!(cmd.workload.cache_bust, Some(true));
        assert_eq!(cmd.gate.save_baseline.as_deref(), Some("main"));
        let traffic = parse(&[
            "--reasoning-effort",
            "low",
            "--thinking-budget",
            "1024",
            "--tool",
            r#"{"name": "f", "parameters": {"type": "object"}}"#,
            "--check-tool-call",
            "--images",
            "1",
            "--image-size",
            "32",
            "--shared-prefix",
            "200",
            "--prefix-share",
            "0.5",
            "--tokenizer",
            "tokenizer.json",
        ])
        .unwrap()
        .workload;
        assert_eq!(traffic.reasoning_effort.as_ref().map(|e| *e.get()), Some(crate::request::ReasoningEffort::Low));
        assert_eq!((traffic.thinking_budget, traffic.images, traffic.image_size), (Some(1024), Some(1), Some(32)));
        assert_eq!((traffic.shared_prefix, traffic.prefix_share), (Some(200), Some(0.5)));
        assert_eq!((traffic.tools[0].name.as_str(), traffic.check_tool_call), ("f", Some(true)));
        assert_eq!(traffic.tokenizer.as_deref(), Some(Path::new("tokenizer.json")));
        traffic.check().unwrap();
        let e = parse(&["--reasoning-effort", "extreme"]).unwrap_err();
        assert!(e.contains("unknown reasoning effort"), "{e}");
        let e = parse(&["--tool", r#"{"name": "f"}"#]).unwrap_err();
        assert!(e.contains("--tool") && e.contains("parameters"), "{e}");
        assert!(parse(&["--input-tokens", "0"]).is_err());
        assert!(parse(&["--provider", "nope"]).is_err());
    }

    #[test]
    fn bad_endpoints_are_usage_errors_naming_the_flag() {
        for (args, expected) in [
            (&["--url", "htp:/x", "--model", "m"][..], "--url: \"htp:/x\" must start with http:// or https://"),
            (&["--url", "http://", "--model", "m"], "--url: \"http://\" is not a valid URL"),
            (&["--url", "http://127.0.0.1:8000/v1"], "--model: required for provider \"openai\""),
            (&["--provider", "bedrock"], "--model: required for provider \"bedrock\""),
            (&["--provider", "openai", "--model", "m"], "--url: required for provider \"openai\""),
            (&["--provider", "sagemaker", "--endpoint-name", "e"], "--container-format: required"),
            (
                &["--url", "http://h/v1", "--model", "m", "--region", "us-east-1"],
                "--region: not a setting of provider \"openai\"",
            ),
            (&["--model", "m"], "--model describes an endpoint: give --url"),
            (&["--url", "http://h/v1", "--model", "sim"], "the target's name \"sim\" is already a target: it is taken"),
            (
                &["--url", "http://h/v1", "--model", "x", "--target-name", "sim"],
                "--target-name: \"sim\" is already a target",
            ),
            (
                &["--url", "http://h/v1", "--model", "m", "--api-key-env", "LLMBENCH_TEST_SURELY_UNSET"],
                "--api-key-env: environment variable LLMBENCH_TEST_SURELY_UNSET is not set",
            ),
        ] {
            let e = target_of(args).err().unwrap_or_else(|| panic!("{args:?} was accepted"));
            assert!(e.starts_with(expected), "{args:?}: {e}\n  expected: {expected}");
        }
        if std::env::var_os("ANTHROPIC_API_KEY").is_none() {
            let e = target_of(&["--provider", "anthropic", "--model", "claude"]).unwrap_err();
            assert!(e.contains("needs an API key: export ANTHROPIC_API_KEY"), "{e}");
        }
    }

    #[test]
    fn a_good_endpoint_becomes_a_target_named_after_its_model() {
        let (name, config) =
            target_of(&["--url", "http://127.0.0.1:8000/v1", "--model", "llama", "--endpoint", "completions"]).unwrap();
        assert_eq!(name, "llama");
        let t = config.targets["llama"].get_ref();
        assert_eq!(t.base_url.as_deref(), Some("http://127.0.0.1:8000/v1"));
        assert_eq!(t.api_key_env, None, "no key is sent to a server nobody named one for");
        let (name, _) = target_of(&["--url", "http://h/v1", "--model", "llama", "--target-name", "vllm"]).unwrap();
        assert_eq!(name, "vllm");
        assert_eq!(
            default_key_env(Provider::Openai, Some("https://api.openai.com/v1")).as_deref(),
            Some("OPENAI_API_KEY")
        );
    }

    #[test]
    fn ids_follow_the_workload_not_the_load() {
        let id = |args: &[&str]| {
            let cmd = parse(args).unwrap();
            bench_id(cmd.name.as_deref(), &cmd.workload).unwrap()
        };
        let a = id(&["--input-tokens", "100", "--concurrency", "1"]);
        assert_eq!(a, id(&["--input-tokens", "100", "--concurrency", "8"]));
        assert_ne!(a, id(&["--input-tokens", "101"]));
        assert!(a.starts_with("run-") && a.len() == 12, "{a}");
        assert_eq!(id(&["--name", "smoke"]), "smoke");
        assert!(bench_id(Some("a/b"), &WorkloadSpec::default()).is_err());
    }

    #[test]
    fn an_ad_hoc_run_writes_results_a_report_and_a_baseline_in_process() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("llmbench.toml");
        std::fs::write(&config, "[sim]\nttft = \"1ms\"\nitl = \"1ms\"\n").unwrap();
        let config = config.display().to_string();
        let root = dir.path().join("results");
        let run = |extra: &[&str]| {
            let mut a =
                vec!["--config", &config, "--requests", "3", "--warm-up", "0", "--output-tokens", "4", "--quiet"];
            a.extend_from_slice(extra);
            let cmd = parse(&a).unwrap();
            let (mut invocation, config, spec) = prepare(&cmd, dir.path()).unwrap().unwrap();
            invocation.results_root = Some(root.clone());
            crate::engine::run(&invocation, &config, vec![spec])
        };
        assert_eq!(run(&["--name", "adhoc", "--save-baseline=main"]), Ok(exit_code::OK));
        assert!(root.join("adhoc/sim/new/summary.json").is_file());
        assert!(root.join("adhoc/sim/main/summary.json").is_file());
        assert!(root.join("report/index.html").is_file());
        assert_eq!(run(&["--name", "adhoc", "--baseline", "main", "--fail-on-regression"]), Ok(exit_code::OK));
        let missing = run(&["--name", "adhoc", "--baseline", "nope"]).unwrap_err();
        assert_eq!(missing.exit_code(), exit_code::USAGE, "{missing}");
        assert!(run(&["--limit", "ttft.p50<=0.001ms", "--name", "adhoc"]) == Ok(exit_code::REGRESSION));
    }
}
