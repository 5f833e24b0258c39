//! A workload as data. [`WorkloadSpec`] is what a `[benches.NAME]` table of
//! llmbench.toml and the flags of `llmbench run` say about what to send: one
//! schema with two views (serde keys and clap flags), as `SettingsLayer` is
//! for settings, so a key and its flag cannot drift. [`WorkloadSpec::build`]
//! turns it into the same [`Workload`] a benchmark function returns.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{LengthClass, Tokens, Workload, dataset, image};
use crate::request::ReasoningEffort;
use crate::settings::value::{self, Grammar, MAX_CONCURRENCY, Spec};
use crate::tokenizer::Tokenizer;

/// The most tokens a length accepts: beyond it a typo is likelier than intent.
const MAX_TOKENS: u32 = MAX_CONCURRENCY;

/// What a benchmark sends, as keys of llmbench.toml or flags of `llmbench
/// run`. Unset keys keep the builder's defaults ([`Workload::synthetic`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Synthetic prompts of this many tokens: `150`, `100..=200`, `100..200`
    /// (end excluded, as in Rust) or `normal(800, 150)` (default 100..=200).
    #[arg(long, value_name = "TOKENS", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_tokens: Option<Spec<Tokens>>,
    /// The output target, sent as `max_tokens`: `256`, `200..=300`,
    /// `normal(256, 32)` (default 128).
    #[arg(long, value_name = "TOKENS", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_tokens: Option<Spec<Tokens>>,
    /// Synthetic prompts of a length class: `short` (100–200 → 128),
    /// `medium` (500–1000 → 256) or `long` (2000–4000 → 512).
    #[arg(long, value_name = "CLASS", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub class: Option<Spec<LengthClass>>,
    /// A weighted mix of length classes: `short:6,medium:3,long:1`, or `default`.
    #[arg(long, value_name = "MIX", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mix: Option<Spec<Mix>>,
    /// A fixed prompt (repeatable; sent in turn).
    #[arg(long = "prompt", value_name = "TEXT", help_heading = "Workload")]
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "value::one_or_many")]
    pub prompts: Vec<String>,
    /// Prompts from a JSONL file (`{"prompt": …}` or `{"messages": […]}` per line).
    #[arg(long, value_name = "PATH", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dataset: Option<PathBuf>,
    /// A synthetic conversation: turns per session (`4`, `2..=5`); each turn
    /// sends the history with the actual replies; `input_tokens` sizes the
    /// user turns (docs/load.md "Conversations").
    #[arg(long, value_name = "TURNS", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turns: Option<Spec<Tokens>>,
    /// Conversations: the pause between a reply and the next turn: `2s`,
    /// `uniform(1s..3s)`, `normal(2s, 500ms)` or `exponential(2s)` (default none).
    #[arg(long, value_name = "DELAY", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub think_time: Option<Spec<crate::delay::Delay>>,
    /// Conversations from a JSONL file of sessions (`{"session": …, "turns": […]}`).
    #[arg(long, value_name = "PATH", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sessions: Option<PathBuf>,
    /// Replays a trace (Mooncake JSONL, BurstGPT CSV, Azure CSV, generic JSONL)
    /// at its own timestamps (docs/load.md "Trace replay").
    #[arg(long, value_name = "PATH", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<PathBuf>,
    /// A minijinja template rendering each dataset entry's user prompt.
    #[arg(long, value_name = "PATH", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<PathBuf>,
    /// A minijinja template rendering each dataset entry's system prompt.
    #[arg(long, value_name = "PATH", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_template: Option<PathBuf>,
    /// Dataset entries in a seeded random order (default true) or in file order.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shuffle: Option<bool>,
    /// Start the dataset again when a run needs more requests than it has (default true).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle: Option<bool>,
    /// A system prompt before every user prompt.
    #[arg(long, value_name = "TEXT", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Sampling temperature.
    #[arg(long, value_name = "X", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Nucleus sampling `top_p`.
    #[arg(long, value_name = "X", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    /// The seed of prompt generation and dataset order (default 0).
    #[arg(long, value_name = "N", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// A stop sequence (repeatable).
    #[arg(long, value_name = "TEXT", help_heading = "Workload")]
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "value::one_or_many")]
    pub stop: Vec<String>,
    /// Also ask for exactly the output target (`min_tokens`, `ignore_eos`).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exact_output: Option<bool>,
    /// Start every request with a unique prefix, so prompt caches cannot flatter TTFT.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_bust: Option<bool>,
    /// Start requests with a system prompt of this many synthetic tokens that
    /// they have in common (a share of them: --prefix-share), to measure what
    /// a prompt cache saves.
    #[arg(long, value_name = "TOKENS", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shared_prefix: Option<u32>,
    /// The share of requests (0 to 1) that send the same shared prefix; the
    /// others send one of the same length of their own (default 1).
    #[arg(long, value_name = "SHARE", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefix_share: Option<f64>,
    /// Ask reasoning models to think this hard: `minimal`, `low`, `medium` or
    /// `high` (Anthropic and Bedrock: a thinking budget of 1024 to 16384 tokens).
    #[arg(long, value_name = "EFFORT", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<Spec<ReasoningEffort>>,
    /// Extended thinking with this budget of tokens (Anthropic and Bedrock
    /// `budget_tokens`; the APIs want at least 1024 and less than the output target).
    #[arg(long, value_name = "TOKENS", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thinking_budget: Option<u32>,
    /// A tool the model may call (repeatable), as JSON:
    /// `{"name": "get_weather", "description": "…", "parameters": {JSON Schema}}`;
    /// in llmbench.toml a list of tables with those keys.
    #[arg(long = "tool", value_name = "JSON", help_heading = "Workload")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<ToolSpec>,
    /// Agent sessions: in a conversation, answer each tool call with this
    /// result and send the conversation again, until the model answers in
    /// text (docs/load.md "Agent sessions").
    #[arg(long, value_name = "TEXT", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_result: Option<String>,
    /// Send this many PNG images (drawn offline from the seed) with every request.
    #[arg(long, value_name = "N", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<u32>,
    /// The images' side in pixels, square (default 512).
    #[arg(long, value_name = "PIXELS", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_size: Option<u32>,
    /// A Hugging Face `tokenizer.json` that sizes synthetic prompts and counts
    /// prompts (default o200k_base; a target's `tokenizer` wins over it).
    #[arg(long, value_name = "PATH", help_heading = "Workload")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<PathBuf>,
    /// Check that every response contains this text (repeatable).
    #[arg(long, value_name = "TEXT", help_heading = "Checks")]
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "value::one_or_many")]
    pub check_contains: Vec<String>,
    /// Check that every response matches this regular expression (repeatable).
    #[arg(long, value_name = "REGEX", help_heading = "Checks")]
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "value::one_or_many")]
    pub check_regex: Vec<String>,
    /// Check that every response is valid JSON.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", help_heading = "Checks")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_json: Option<bool>,
    /// Check that every response is JSON matching this schema (JSON text;
    /// in llmbench.toml also an inline table).
    #[arg(long, value_name = "JSON", help_heading = "Checks")]
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "json_text")]
    pub check_json_schema: Option<String>,
    /// Check that every response contains the dataset entry's `expected`.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", help_heading = "Checks")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_expected: Option<bool>,
    /// Check that every response called a declared tool with arguments
    /// matching its schema.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true", help_heading = "Checks")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_tool_call: Option<bool>,
}

/// A tool declaration: `{ name, description, parameters }`, the parameters
/// a JSON Schema object (in TOML a table or JSON text; as a flag, the whole
/// declaration is JSON text).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolSpec {
    /// The function's name.
    pub name: String,
    /// What it does, for the model.
    #[serde(default)]
    pub description: String,
    /// The JSON Schema of its arguments.
    #[serde(deserialize_with = "json_value")]
    pub parameters: serde_json::Value,
}

impl std::str::FromStr for ToolSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<ToolSpec, String> {
        serde_json::from_str(text)
            .map_err(|e| format!("{e} (expected {{\"name\": …, \"description\": …, \"parameters\": {{JSON Schema}}}})"))
    }
}

/// Every key of [`WorkloadSpec`], in declaration order.
pub const WORKLOAD_KEYS: &[&str] = &[
    "input_tokens",
    "output_tokens",
    "class",
    "mix",
    "prompts",
    "dataset",
    "turns",
    "think_time",
    "sessions",
    "trace",
    "template",
    "system_template",
    "shuffle",
    "cycle",
    "system",
    "temperature",
    "top_p",
    "seed",
    "stop",
    "exact_output",
    "cache_bust",
    "shared_prefix",
    "prefix_share",
    "reasoning_effort",
    "thinking_budget",
    "tools",
    "tool_result",
    "images",
    "image_size",
    "tokenizer",
    "check_contains",
    "check_regex",
    "check_json",
    "check_json_schema",
    "check_expected",
    "check_tool_call",
];

/// A key of a [`WorkloadSpec`] that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The key (`check_regex`); its flag is the same with dashes.
    pub key: &'static str,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// A workload key's value that does not fit, as the error of a check.
fn invalid(key: &'static str, message: &str) -> Result<(), SpecError> {
    Err(SpecError { key, message: message.to_owned() })
}

impl WorkloadSpec {
    /// Checks what can be checked without reading files: one prompt source,
    /// keys that fit it, patterns and schemas that parse, sane parameters.
    pub fn check(&self) -> Result<(), SpecError> {
        self.check_source()?;
        self.check_sampling()?;
        self.check_traffic()?;
        self.check_checks()
    }

    /// One prompt source, and only the keys that fit it.
    fn check_source(&self) -> Result<(), SpecError> {
        let err = invalid;
        let sources = [
            ("prompts", !self.prompts.is_empty()),
            ("dataset", self.dataset.is_some()),
            ("class", self.class.is_some()),
            ("mix", self.mix.is_some()),
            ("turns", self.turns.is_some()),
            ("sessions", self.sessions.is_some()),
            ("trace", self.trace.is_some()),
        ];
        let mut set = sources.iter().filter(|(_, on)| *on).map(|(k, _)| *k);
        if let (Some(first), Some(second)) = (set.next(), set.next()) {
            return Err(SpecError {
                key: second,
                message: format!(
                    "give one prompt source (prompts, dataset, class, mix, turns, sessions or trace); {first} is set too"
                ),
            });
        }
        let from_file = self.dataset.is_some() || self.sessions.is_some() || self.trace.is_some();
        if self.input_tokens.is_some() && (from_file || !self.prompts.is_empty()) {
            return err("input_tokens", "applies to synthetic prompts only (remove it, or the prompts/dataset)");
        }
        if self.input_tokens.is_some() && self.mix.is_some() {
            return err("input_tokens", "a mix draws input lengths from its classes (remove one of them)");
        }
        if self.dataset.is_none() {
            let dataset_only = [
                ("template", self.template.is_some()),
                ("system_template", self.system_template.is_some()),
                ("shuffle", self.shuffle.is_some()),
                ("cycle", self.cycle.is_some()),
                ("check_expected", self.check_expected == Some(true)),
            ];
            if let Some((key, _)) = dataset_only.iter().find(|(_, on)| *on) {
                return err(key, "needs a dataset (set `dataset`)");
            }
        }
        Ok(())
    }

    /// Sampling parameters, the shared prefix and the thinking budget.
    fn check_sampling(&self) -> Result<(), SpecError> {
        let err = invalid;
        if let Some(t) = self.temperature
            && !(t.is_finite() && t >= 0.0)
        {
            return err("temperature", "must be a number ≥ 0");
        }
        if let Some(p) = self.top_p
            && !(p.is_finite() && p > 0.0 && p <= 1.0)
        {
            return err("top_p", "must be a number in (0, 1]");
        }
        if self.shared_prefix.is_some_and(|n| n > MAX_TOKENS) {
            return err("shared_prefix", &format!("at most {MAX_TOKENS} tokens"));
        }
        if let Some(share) = self.prefix_share {
            if !(share.is_finite() && (0.0..=1.0).contains(&share)) {
                return err("prefix_share", "must be a share from 0.0 to 1.0");
            }
            if self.shared_prefix.is_none_or(|n| n == 0) {
                return err("prefix_share", "needs a shared prefix (set `shared_prefix`)");
            }
        }
        if let Some(n) = self.thinking_budget
            && !(1..=MAX_TOKENS).contains(&n)
        {
            return err("thinking_budget", &format!("must be from 1 to {MAX_TOKENS} tokens"));
        }
        Ok(())
    }

    /// Tools (named once each, schemas that are objects) and images.
    fn check_traffic(&self) -> Result<(), SpecError> {
        let err = invalid;
        let mut names = Vec::new();
        for tool in &self.tools {
            if tool.name.trim().is_empty() {
                return err("tools", "a tool needs a name");
            }
            if names.contains(&tool.name.as_str()) {
                return err("tools", &format!("the tool {:?} is declared twice", tool.name));
            }
            names.push(&tool.name);
            if !tool.parameters.is_object() {
                return err("tools", &format!("tool {}: the parameters schema must be a JSON object", tool.name));
            }
        }
        if self.check_tool_call == Some(true) && self.tools.is_empty() {
            return err("check_tool_call", "needs a tool to call (set `tools`)");
        }
        if self.think_time.is_some() && self.turns.is_none() && self.sessions.is_none() {
            return err("think_time", "is the pause between turns of a conversation (set `turns` or `sessions`)");
        }
        if self.tool_result.is_some() && self.tools.is_empty() {
            return err("tool_result", "needs a tool to call (set `tools`)");
        }
        if self.tool_result.is_some() && self.turns.is_none() && self.sessions.is_none() {
            return err("tool_result", "feeds results back in a conversation (set `turns` or `sessions`)");
        }
        if let Some(size) = self.image_size {
            if !(1..=image::MAX_IMAGE_SIDE).contains(&size) {
                return err("image_size", &format!("must be from 1 to {} pixels", image::MAX_IMAGE_SIDE));
            }
            if self.images.is_none_or(|n| n == 0) {
                return err("image_size", "needs images (set `images`)");
            }
        }
        Ok(())
    }

    /// Response checks that parse, and a system prompt that says something.
    fn check_checks(&self) -> Result<(), SpecError> {
        let err = invalid;
        for pattern in &self.check_regex {
            if let Err(e) = regex::Regex::new(pattern) {
                return err("check_regex", &format!("invalid regular expression {pattern:?}: {e}"));
            }
        }
        if let Some(schema) = &self.check_json_schema
            && let Err(e) = serde_json::from_str::<serde_json::Value>(schema)
        {
            return err("check_json_schema", &format!("not valid JSON: {e}"));
        }
        if self.system.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return err("system", "cannot be empty (remove it for no system prompt)");
        }
        Ok(())
    }

    /// The workload; relative paths (dataset, templates) start at `base`.
    /// Files are read here; a dataset's bad line is reported, naming the
    /// file and line as written, when the run is planned.
    pub fn build(&self, base: &Path) -> Result<Workload, SpecError> {
        self.check()?;
        let under_base = |p: &Path| if p.is_relative() { base.join(p) } else { p.to_owned() };
        let mut w = self.source(&under_base)?;
        for (system, path) in [(false, &self.template), (true, &self.system_template)] {
            if let Some(path) = path {
                let key = if system { "system_template" } else { "template" };
                let source = dataset::read(&under_base(path)).map_err(|e| SpecError { key, message: e.to_string() })?;
                w = w.add_template(system, &path.display().to_string(), Ok(source));
            }
        }
        if let Some(t) = &self.input_tokens {
            w = w.input_tokens(*t.get());
        }
        if let Some(t) = &self.output_tokens {
            w = w.output_tokens(*t.get());
        }
        if let Some(on) = self.shuffle {
            w = w.shuffle(on);
        }
        if let Some(on) = self.cycle {
            w = w.cycle(on);
        }
        if let Some(system) = &self.system {
            w = w.system(system.clone());
        }
        if let Some(t) = self.temperature {
            w = w.temperature(t);
        }
        if let Some(p) = self.top_p {
            w = w.top_p(p);
        }
        if let Some(seed) = self.seed {
            w = w.seed(seed);
        }
        if !self.stop.is_empty() {
            w = w.stop(self.stop.iter().cloned());
        }
        if let Some(on) = self.exact_output {
            w = w.exact_output(on);
        }
        if let Some(on) = self.cache_bust {
            w = w.cache_bust(on);
        }
        if let Some(n) = self.shared_prefix {
            w = w.shared_prefix(n, self.prefix_share.unwrap_or(1.0));
        }
        if let Some(effort) = &self.reasoning_effort {
            w = w.reasoning_effort(effort.get().as_str());
        }
        if let Some(n) = self.thinking_budget {
            w = w.thinking_budget(n);
        }
        for tool in &self.tools {
            w = w.tool(&tool.name, &tool.description, &tool.parameters.to_string());
        }
        if let Some(think) = &self.think_time {
            w = w.think_time(*think.get());
        }
        if let Some(result) = &self.tool_result {
            w = w.tool_result(result.clone());
        }
        if let Some(count) = self.images {
            w = w.images(count, self.image_size.unwrap_or(super::DEFAULT_IMAGE_SIZE));
        }
        if let Some(path) = &self.tokenizer {
            let tokenizer = Tokenizer::from_file(&under_base(path))
                .map_err(|e| SpecError { key: "tokenizer", message: format!("{}: {e}", path.display()) })?;
            w = w.tokenizer(tokenizer);
        }
        Ok(self.with_checks(w))
    }

    /// The workload of the spec's prompt source (the dataset read here).
    fn source(&self, under_base: &dyn Fn(&Path) -> std::path::PathBuf) -> Result<Workload, SpecError> {
        Ok(if let Some(path) = &self.dataset {
            let name = path.display().to_string();
            let text =
                dataset::read(&under_base(path)).map_err(|e| SpecError { key: "dataset", message: e.to_string() })?;
            Workload::from_dataset(dataset::Dataset::parse(&name, &text))
        } else if !self.prompts.is_empty() {
            Workload::prompts(self.prompts.iter().cloned())
        } else if let Some(class) = &self.class {
            Workload::class(*class.get())
        } else if let Some(mix) = &self.mix {
            Workload::mix(&mix.get().0)
        } else if let Some(turns) = &self.turns {
            Workload::conversation(*turns.get())
        } else if let Some(path) = &self.sessions {
            Workload::sessions(under_base(path))
        } else if let Some(path) = &self.trace {
            Workload::trace(under_base(path))
        } else {
            Workload::synthetic()
        })
    }

    /// `w` with the spec's response checks.
    fn with_checks(&self, mut w: Workload) -> Workload {
        for needle in &self.check_contains {
            w = w.check_contains(needle.clone());
        }
        for pattern in &self.check_regex {
            w = w.check_regex(pattern);
        }
        if self.check_json == Some(true) {
            w = w.check_json();
        }
        if let Some(schema) = &self.check_json_schema {
            w = w.check_json_schema(schema);
        }
        if self.check_expected == Some(true) {
            w = w.check_expected();
        }
        if self.check_tool_call == Some(true) {
            w = w.check_tool_call();
        }
        w
    }
}

/// `check_json_schema`: JSON text, or (in TOML) the schema as a table.
fn json_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Some(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(text) => text,
        other => other.to_string(),
    }))
}

/// A tool's `parameters`: a table (TOML), an object (JSON), or JSON text.
fn json_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<serde_json::Value, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(text) => serde_json::from_str(&text)
            .map_err(|e| serde::de::Error::custom(format!("the parameters schema is not JSON: {e}"))),
        other => Ok(other),
    }
}

impl Grammar for ReasoningEffort {
    fn parse(text: &str) -> Result<ReasoningEffort, String> {
        ReasoningEffort::parse(text)
    }
}

/// Token counts as written: `150`, `100..200` (end excluded, as in Rust),
/// `100..=200`, `normal(800, 150)`.
impl Grammar for Tokens {
    fn parse(text: &str) -> Result<Tokens, String> {
        let t = text.trim();
        let count = |s: &str| -> Result<u32, String> {
            match s.trim().parse::<u32>() {
                Ok(0) => Err(format!("{t:?}: token counts must be at least 1")),
                Ok(n) if n > MAX_TOKENS => {
                    Err(format!("{t:?}: {n} is more than the {MAX_TOKENS} tokens llmbench accepts"))
                }
                Ok(n) => Ok(n),
                Err(_) => Err(format!(
                    "{t:?} is not a token count (expected e.g. 150, 100..=200, 100..200 or normal(800, 150))"
                )),
            }
        };
        if let Some(args) = t.strip_prefix("normal(").and_then(|r| r.strip_suffix(')')) {
            let Some((mean, stddev)) = args.split_once(',') else {
                return Err(format!("{t:?}: write normal(MEAN, STDDEV), e.g. normal(800, 150)"));
            };
            let stddev =
                stddev.trim().parse::<u32>().map_err(|_| format!("{t:?}: the stddev is not a whole number"))?;
            return Ok(Tokens::normal(count(mean)?, stddev.min(MAX_TOKENS)));
        }
        if let Some((a, b)) = t.split_once("..") {
            let (inclusive, b) = match b.strip_prefix('=') {
                Some(b) => (true, b),
                None => (false, b),
            };
            let (min, end) = (count(a)?, count(b)?);
            let max = if inclusive { end } else { end - 1 };
            if max < min {
                return Err(format!("{t:?} is an empty range"));
            }
            return Ok(Tokens::from(min..=max));
        }
        count(t).map(Tokens::Fixed)
    }
}

impl Grammar for LengthClass {
    fn parse(text: &str) -> Result<LengthClass, String> {
        LengthClass::parse(text)
    }
}

/// A weighted mix of length classes (`short:6, medium:3, long:1`, or
/// `default` for [`super::DEFAULT_MIX`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix(pub Vec<(LengthClass, u32)>);

impl Grammar for Mix {
    fn parse(text: &str) -> Result<Mix, String> {
        if text.trim() == "default" {
            return Ok(Mix(super::DEFAULT_MIX.to_vec()));
        }
        let mut mix: Vec<(LengthClass, u32)> = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Some((class, weight)) = part.split_once(':') else {
                return Err(format!("{part:?}: write CLASS:WEIGHT, e.g. short:6,medium:3,long:1"));
            };
            let class = LengthClass::parse(class)?;
            let weight = match weight.trim().parse::<u32>() {
                Ok(w) if (1..=MAX_TOKENS).contains(&w) => w,
                _ => return Err(format!("{part:?}: the weight must be a whole number ≥ 1")),
            };
            if mix.iter().any(|(c, _)| *c == class) {
                return Err(format!("{part:?}: the class is listed twice"));
            }
            mix.push((class, weight));
        }
        if mix.is_empty() {
            return Err("the mix is empty (e.g. short:6,medium:3,long:1, or default)".into());
        }
        Ok(Mix(mix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Check;

    fn spec(toml_text: &str) -> WorkloadSpec {
        toml::from_str(toml_text).unwrap_or_else(|e| panic!("{toml_text}: {e}"))
    }

    #[test]
    fn keys_name_every_field() {
        let e = toml::from_str::<WorkloadSpec>("no_such_key = 1").unwrap_err().to_string();
        let listed: Vec<&str> = e.split('`').skip(3).step_by(2).collect();
        assert_eq!(listed, WORKLOAD_KEYS, "{e}");
    }

    #[test]
    fn token_grammar() {
        let p = |t: &str| <Tokens as Grammar>::parse(t);
        assert_eq!(p("150"), Ok(Tokens::Fixed(150)));
        assert_eq!(p("100..=200"), Ok(Tokens::Uniform { min: 100, max: 200 }));
        assert_eq!(p("100..200"), Ok(Tokens::Uniform { min: 100, max: 199 }), "Rust's range: end excluded");
        assert_eq!(p(" 5..6 "), Ok(Tokens::Fixed(5)));
        assert_eq!(p("normal(800, 150)"), Ok(Tokens::normal(800, 150)));
        for bad in ["0", "-1", "x", "200..100", "5..5", "normal(800)", "normal(0, 1)", "1..=9999999999", ""] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn think_time_and_agent_tool_results_are_keys_of_conversations() {
        let tool = "tools = [{ name = \"get_weather\", parameters = { type = \"object\" } }]\n";
        let agent = spec(&format!("turns = 3\nthink_time = \"exponential(2s)\"\n{tool}tool_result = \"sunny\"\n"));
        let built = agent.build(Path::new(".")).unwrap();
        let by_hand = Workload::conversation(3)
            .think_time(crate::delay::Delay::Exponential { mean: std::time::Duration::from_secs(2) })
            .tool("get_weather", "", r#"{"type": "object"}"#)
            .tool_result("sunny");
        assert_eq!(built, by_hand);
        let cases = [
            ("think_time = \"2s\"\n".to_owned(), "think_time", "conversation"),
            ("turns = 2\nthink_time = \"uniform(3s..1s)\"\n".to_owned(), "think_time", "greater than max"),
            ("turns = 2\ntool_result = \"x\"\n".to_owned(), "tool_result", "needs a tool"),
            (format!("{tool}tool_result = \"x\"\n"), "tool_result", "conversation"),
        ];
        for (text, key, says) in cases {
            let e = match toml::from_str::<WorkloadSpec>(&text) {
                Ok(s) => s.check().unwrap_err(),
                Err(e) => SpecError { key: "think_time", message: e.to_string() },
            };
            assert_eq!(e.key, key, "{text}: {}", e.message);
            assert!(e.message.contains(says), "{text}: {}", e.message);
        }
    }

    #[test]
    fn conversations_and_traces_are_sources_of_their_own() {
        let base = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../benches"));
        let chat = spec("turns = \"2..=4\"\ninput_tokens = 60\n").build(base).unwrap();
        assert_eq!(chat.describe(), Workload::conversation(2..=4).input_tokens(60).describe());
        let trace = spec("trace = \"datasets/traces/mooncake_sample.jsonl\"\n").build(base).unwrap();
        assert!(trace.trace_len().is_some_and(|n| n > 0), "the trace is read from under the base");
        let sessions = spec("sessions = \"datasets/sessions.jsonl\"\n").build(base).unwrap();
        assert!(sessions.is_conversation());
        let both = spec("trace = \"t.jsonl\"\nturns = 3\n").check().unwrap_err();
        assert_eq!(both.key, "trace", "{}", both.message);
        let lengths = spec("sessions = \"s.jsonl\"\ninput_tokens = 50\n").check().unwrap_err();
        assert_eq!(lengths.key, "input_tokens");
    }

    #[test]
    fn a_spec_builds_what_the_builder_would() {
        let s = spec(
            "input_tokens = \"100..=200\"\noutput_tokens = 64\ntemperature = 0.7\nseed = 3\nsystem = \"be brief\"\ncheck_contains = \"ok\"\ncheck_regex = [\"\\\\w+\"]\ncheck_json_schema = { type = \"object\" }\n",
        );
        let built = s.build(Path::new(".")).unwrap();
        let by_hand = Workload::synthetic()
            .input_tokens(100..=200)
            .output_tokens(64)
            .temperature(0.7)
            .seed(3)
            .system("be brief")
            .check_contains("ok")
            .check_regex(r"\w+")
            .check_json_schema(r#"{"type":"object"}"#);
        assert_eq!(built, by_hand);
        assert!(matches!(built.checks.last(), Some(Check::JsonSchema { .. })));
        let class = spec("class = \"medium\"\n").build(Path::new(".")).unwrap();
        assert_eq!(class, Workload::class(LengthClass::Medium));
        let mix = spec("mix = \"short:6, long:1\"\noutput_tokens = 32\n").build(Path::new(".")).unwrap();
        assert_eq!(mix, Workload::mix(&[(LengthClass::Short, 6), (LengthClass::Long, 1)]).output_tokens(32));
        let prompts = spec("prompts = [\"a\", \"b\"]\n").build(Path::new(".")).unwrap();
        assert_eq!(prompts, Workload::prompts(["a", "b"]));
    }

    #[test]
    fn traffic_keys_build_what_the_builder_would() {
        let s = spec(concat!(
            "shared_prefix = 500\nprefix_share = 0.25\nreasoning_effort = \"high\"\nthinking_budget = 2048\n",
            "images = 2\nimage_size = 64\ncheck_tool_call = true\n",
            "tools = [{ name = \"get_weather\", description = \"Weather\", parameters = { type = \"object\", ",
            "properties = { city = { type = \"string\" } }, required = [\"city\"] } }]\n",
        ));
        let schema = r#"{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"#;
        let by_hand = Workload::synthetic()
            .shared_prefix(500, 0.25)
            .reasoning_effort("high")
            .thinking_budget(2048)
            .tool("get_weather", "Weather", schema)
            .images(2, 64)
            .check_tool_call();
        let built = s.build(Path::new(".")).unwrap();
        assert_eq!(built, by_hand);
        built.validate(Some(2)).unwrap();
        let r = built.request(0);
        assert_eq!((r.images.len(), r.images[0].width), (2, 64));
        assert_eq!((r.reasoning_effort, r.thinking_budget), (Some(ReasoningEffort::High), Some(2048)));
        assert_eq!(r.tools.len(), 1);
        assert!(matches!(built.checks.last(), Some(Check::ToolCall)));
        // Defaults: every request shares the prefix; 512-pixel images.
        let defaults = spec("shared_prefix = 100\nimages = 1\n").build(Path::new(".")).unwrap();
        assert_eq!(defaults, Workload::synthetic().shared_prefix(100, 1.0).images(1, 512));
        // The parameters schema may also be JSON text, and the flag's JSON is the same declaration.
        let text = spec(concat!(
            "[[tools]]\nname = \"get_weather\"\ndescription = \"Weather\"\n",
            "parameters = '{\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}}, \"required\": [\"city\"]}'\n",
        ));
        assert_eq!(text.tools, s.tools);
        let flag: ToolSpec = r#"{"name": "get_weather", "description": "Weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}"#
            .parse()
            .unwrap();
        assert_eq!(flag, s.tools[0]);
        assert!(r#"{"name": "x"}"#.parse::<ToolSpec>().unwrap_err().contains("parameters"));
    }

    #[test]
    fn a_tokenizer_file_starts_at_the_base_and_a_bad_one_names_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let e = spec("tokenizer = \"tok/tokenizer.json\"\n").build(dir.path()).unwrap_err();
        assert_eq!(e.key, "tokenizer");
        assert!(e.message.starts_with("tok/tokenizer.json: "), "{e}");
        std::fs::create_dir(dir.path().join("tok")).unwrap();
        std::fs::write(dir.path().join("tok/tokenizer.json"), "not json").unwrap();
        let e = spec("tokenizer = \"tok/tokenizer.json\"\n").build(dir.path()).unwrap_err();
        assert_eq!(e.key, "tokenizer", "{e}");
    }

    #[test]
    fn datasets_and_templates_start_at_the_base_but_keep_their_names() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/q.jsonl"), "{\"q\": \"hi\", \"expected\": \"hello\"}\n").unwrap();
        std::fs::write(dir.path().join("data/p.j2"), "Answer: {{ q }}").unwrap();
        let s = spec("dataset = \"data/q.jsonl\"\ntemplate = \"data/p.j2\"\nshuffle = false\ncheck_expected = true\n");
        let w = s.build(dir.path()).unwrap();
        w.validate(Some(3)).unwrap();
        assert_eq!(w.request(0).messages[0].content, "Answer: hi");
        let described = w.describe().to_string();
        assert!(described.contains("\"file\":\"data/q.jsonl\""), "the name as written: {described}");
        assert!(!described.contains(&dir.path().display().to_string()), "{described}");
        let e = spec("dataset = \"missing.jsonl\"\n").build(dir.path()).unwrap_err();
        assert_eq!(e.key, "dataset");
        assert!(e.message.contains("missing.jsonl"), "{e}");
    }

    #[test]
    fn bad_combinations_name_the_key() {
        for (text, key) in [
            ("prompts = [\"a\"]\ndataset = \"d.jsonl\"\n", "dataset"),
            ("class = \"short\"\nmix = \"default\"\n", "mix"),
            ("dataset = \"d.jsonl\"\ninput_tokens = 5\n", "input_tokens"),
            ("template = \"p.j2\"\n", "template"),
            ("check_expected = true\n", "check_expected"),
            ("check_regex = \"(\"\n", "check_regex"),
            ("check_json_schema = \"{\"\n", "check_json_schema"),
            ("temperature = -1.0\n", "temperature"),
            ("top_p = 0\n", "top_p"),
            ("prefix_share = 0.5\n", "prefix_share"),
            ("shared_prefix = 10\nprefix_share = 1.5\n", "prefix_share"),
            ("image_size = 64\n", "image_size"),
            ("images = 1\nimage_size = 0\n", "image_size"),
            ("images = 1\nimage_size = 5000\n", "image_size"),
            ("thinking_budget = 0\n", "thinking_budget"),
            ("check_tool_call = true\n", "check_tool_call"),
            ("tools = [{ name = \"f\", parameters = \"[1]\" }]\n", "tools"),
            ("tools = [{ name = \"\", parameters = {} }]\n", "tools"),
            ("tools = [{ name = \"f\", parameters = {} }, { name = \"f\", parameters = {} }]\n", "tools"),
        ] {
            let e = spec(text).check().unwrap_err();
            assert_eq!(e.key, key, "{text}: {e}");
        }
        assert!(toml::from_str::<WorkloadSpec>("mix = \"huge:1\"\n").is_err());
        assert!(toml::from_str::<WorkloadSpec>("class = \"tiny\"\n").is_err());
        let e = toml::from_str::<WorkloadSpec>("reasoning_effort = \"extreme\"\n").unwrap_err().to_string();
        assert!(e.contains("unknown reasoning effort \"extreme\""), "{e}");
        let e = toml::from_str::<WorkloadSpec>("tools = [{ name = \"f\", parameters = \"{\" }]\n").unwrap_err();
        assert!(e.to_string().contains("the parameters schema is not JSON"), "{e}");
        assert!(toml::from_str::<WorkloadSpec>("tools = [{ name = \"f\", parameters = {}, kind = 1 }]\n").is_err());
        assert_eq!(spec(""), WorkloadSpec::default());
    }
}
