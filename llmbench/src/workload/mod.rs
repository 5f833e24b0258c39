//! What to send: prompts and generation parameters.
//!
//! A [`Workload`] is a recipe, built in a benchmark function, that turns a
//! request index into a [`GenRequest`](crate::GenRequest) deterministically (same seed, same
//! prompts): synthetic text of a token-length distribution or class,
//! fixed prompts, or a JSONL dataset rendered through minijinja templates;
//! plus generation parameters, cache busting or a shared prefix, and
//! response checks. It knows nothing of where requests go or when.

mod check;
mod conversation;
mod dataset;
pub(crate) mod image;
mod requests;
mod shard;
mod spec;
pub(crate) mod synthetic;
mod tokens;
mod trace;

use std::ops::{Range, RangeInclusive};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use serde::Serialize;

use crate::request::{Image, ReasoningEffort, Tool};
use crate::rng::Rng;
use crate::tokenizer::Tokenizer;
pub use check::{Check, CheckFn, CheckOutcome, Response};
pub use conversation::MAX_TOOL_STEPS;
pub use dataset::WorkloadError;
pub(crate) use dataset::set_base_dir;
use dataset::{Dataset, Templates};
pub(crate) use spec::{WORKLOAD_KEYS, WorkloadSpec};
pub use tokens::{DEFAULT_MIX, LengthClass, Tokens};
pub use trace::TraceFormat;

/// A range of token counts, inclusive at both ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TokenRange {
    /// Fewest tokens.
    pub min: u32,
    /// Most tokens.
    pub max: u32,
}

impl From<u32> for TokenRange {
    fn from(n: u32) -> Self {
        TokenRange { min: n, max: n }
    }
}

impl From<RangeInclusive<u32>> for TokenRange {
    fn from(r: RangeInclusive<u32>) -> Self {
        let (a, b) = r.into_inner();
        TokenRange { min: a.min(b), max: a.max(b) }
    }
}

impl From<Range<u32>> for TokenRange {
    fn from(r: Range<u32>) -> Self {
        TokenRange { min: r.start, max: r.end.saturating_sub(1).max(r.start) }
    }
}

/// A dataset source: parsed when the workload is built, errors kept for
/// [`Workload::validate`] to report (a builder cannot return them).
#[derive(Debug, Clone, PartialEq)]
struct DatasetSource {
    dataset: Result<Dataset, WorkloadError>,
    shuffle: bool,
    cycle: bool,
    templates: Templates,
    template_errors: Vec<WorkloadError>,
}

impl Serialize for DatasetSource {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Dataset", 6)?;
        st.serialize_field("file", &self.dataset.as_ref().map(|d| d.name.as_str()).unwrap_or(""))?;
        st.serialize_field("entries", &self.dataset.as_ref().map(|d| d.entries.len()).unwrap_or(0))?;
        st.serialize_field("shuffle", &self.shuffle)?;
        st.serialize_field("cycle", &self.cycle)?;
        st.serialize_field("template", &self.templates.user)?;
        st.serialize_field("system_template", &self.templates.system)?;
        st.end()
    }
}

/// A shared dataset source (a workload is cloned per target and level).
#[derive(Debug, Clone, PartialEq)]
struct DatasetRef(Arc<DatasetSource>);

impl Serialize for DatasetRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl std::ops::Deref for DatasetRef {
    type Target = DatasetSource;
    fn deref(&self) -> &DatasetSource {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
enum Source {
    /// Generated offline text of a given token length.
    Synthetic {
        input_tokens: Tokens,
        #[serde(skip_serializing_if = "Option::is_none")]
        mix: Option<Vec<(LengthClass, u32)>>,
    },
    /// A fixed list of prompts, used in turn.
    Prompts { prompts: Vec<String> },
    /// A JSONL dataset.
    Dataset {
        #[serde(flatten)]
        source: DatasetRef,
    },
    /// Multi-turn sessions of synthetic user turns.
    Conversation { turns: Tokens, input_tokens: Tokens },
    /// Multi-turn sessions from a JSONL file of sessions.
    Sessions {
        #[serde(flatten)]
        source: conversation::SessionsRef,
    },
    /// A production trace, replayed at its own timestamps.
    Trace {
        #[serde(flatten)]
        source: trace::TraceRef,
    },
}

/// A system prompt shared by a share of the requests
/// ([`Workload::shared_prefix`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SharedPrefix {
    /// Its length in tokens.
    pub tokens: u32,
    /// The share of requests that send the same prefix, 0 to 1; the others
    /// send one of the same length of their own.
    pub share: f64,
}

/// The image side when only a count is given (`params = { images = [1, 4] }`,
/// `images = 2` in llmbench.toml, `--images 2`).
pub(crate) const DEFAULT_IMAGE_SIZE: u32 = 512;

/// Images sent with every request ([`Workload::images`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImageSpec {
    /// Images per request.
    pub count: u32,
    /// Their side, in pixels (square).
    pub size: u32,
}

/// A prompt workload: what each request of a benchmark sends.
///
/// ```
/// use llmbench::Workload;
/// let w = Workload::synthetic().input_tokens(100..=200).output_tokens(200).temperature(0.7);
/// # let _ = w;
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct Workload {
    source: Source,
    output_tokens: Tokens,
    exact_output: bool,
    system: Option<String>,
    temperature: Option<f32>,
    top_p: Option<f32>,
    seed: u64,
    stop: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    cache_bust: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    shared_prefix: Option<SharedPrefix>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reasoning_effort: Option<ReasoningEffort>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thinking_budget: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    images: Option<ImageSpec>,
    /// Conversations: the pause between a reply and the next turn.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "display")]
    think_time: Option<crate::delay::Delay>,
    /// Agent sessions: what every tool call gets back as its result.
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_result: Option<String>,
    /// What sizes synthetic prompts and counts every prompt.
    tokenizer: Tokenizer,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checks: Vec<Check>,
    /// `output_tokens` was set: it wins over a length mix's per-class targets.
    #[serde(skip)]
    output_explicit: bool,
    /// Builder inputs that were invalid, reported by `validate`.
    #[serde(skip)]
    problems: Vec<String>,
    /// The dataset order for `seed`, computed on first use.
    #[serde(skip)]
    order: OnceLock<Vec<usize>>,
    /// The images, drawn on first use and shared by every request.
    #[serde(skip)]
    image_data: OnceLock<Arc<Vec<Image>>>,
    /// The shard whose part of the requests this sends (`--shard`); not
    /// part of the description, which every shard of a run shares.
    #[serde(skip)]
    shard: Option<crate::settings::Shard>,
}

/// Two workloads are equal when they send the same requests: same source
/// (dataset entries and template sources included), parameters and checks.
impl PartialEq for Workload {
    fn eq(&self, other: &Workload) -> bool {
        self.source == other.source
            && self.output_tokens == other.output_tokens
            && self.output_explicit == other.output_explicit
            && self.exact_output == other.exact_output
            && self.system == other.system
            && self.temperature == other.temperature
            && self.top_p == other.top_p
            && self.seed == other.seed
            && self.stop == other.stop
            && self.cache_bust == other.cache_bust
            && self.shared_prefix == other.shared_prefix
            && self.reasoning_effort == other.reasoning_effort
            && self.thinking_budget == other.thinking_budget
            && self.tools == other.tools
            && self.images == other.images
            && self.think_time == other.think_time
            && self.tool_result == other.tool_result
            && self.tokenizer == other.tokenizer
            && self.problems == other.problems
            && self.shard == other.shard
            && self.describe()["checks"] == other.describe()["checks"]
    }
}

/// The default output-token target (`max_tokens`).
pub const DEFAULT_OUTPUT_TOKENS: u32 = 128;
/// The default input length of a synthetic prompt.
pub const DEFAULT_INPUT_TOKENS: TokenRange = TokenRange { min: 100, max: 200 };

impl Workload {
    fn new(source: Source) -> Self {
        Workload {
            source,
            output_tokens: Tokens::Fixed(DEFAULT_OUTPUT_TOKENS),
            exact_output: false,
            system: None,
            temperature: None,
            top_p: None,
            seed: 0,
            stop: Vec::new(),
            cache_bust: false,
            shared_prefix: None,
            reasoning_effort: None,
            thinking_budget: None,
            tools: Vec::new(),
            images: None,
            think_time: None,
            tool_result: None,
            tokenizer: Tokenizer::default(),
            checks: Vec::new(),
            output_explicit: false,
            problems: Vec::new(),
            order: OnceLock::new(),
            image_data: OnceLock::new(),
            shard: None,
        }
    }

    /// Synthetic prompts, generated offline from a seed, 100–200 tokens by
    /// default. Every prompt differs from its first words on, so provider
    /// prompt caches do not flatter TTFT.
    pub fn synthetic() -> Self {
        Workload::new(Source::Synthetic { input_tokens: DEFAULT_INPUT_TOKENS.into(), mix: None })
    }

    /// Conversations: sessions of `turns` user turns each (a count, a range
    /// or a [`Tokens`] distribution, drawn per session), each turn a
    /// synthetic prompt of [`input_tokens`](Self::input_tokens) tokens
    /// (100–200 by default), sent with the whole history so far — the
    /// earlier turns and the replies the server actually gave. Pauses
    /// between turns come from [`think_time`](Self::think_time). Closed
    /// loops count sessions in flight, open loops schedule session starts;
    /// `samples` and `warmup` count sessions (docs/load.md "Conversations").
    pub fn conversation(turns: impl Into<Tokens>) -> Self {
        Workload::new(Source::Conversation { turns: turns.into(), input_tokens: DEFAULT_INPUT_TOKENS.into() })
    }

    /// Conversations from a JSONL file of sessions, one per line:
    /// `{"session": "a", "turns": ["first", {"content": "second", "max_tokens": 64}]}`
    /// (optional `system`). Sessions are used in file order, cycled. A
    /// relative path starts at the benchmark package's root; a bad line is
    /// reported before any request is sent, naming the file, line and key.
    pub fn sessions(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        let name = path.display().to_string();
        let file = dataset::read(path).and_then(|text| conversation::SessionsFile::parse(&name, &text));
        Workload::new(Source::Sessions { source: conversation::SessionsRef(Arc::new(file)) })
    }

    /// Like [`sessions`](Self::sessions), from text; `name` is used in errors.
    pub fn sessions_str(name: &str, jsonl: &str) -> Self {
        let file = conversation::SessionsFile::parse(name, jsonl);
        Workload::new(Source::Sessions { source: conversation::SessionsRef(Arc::new(file)) })
    }

    /// Replays a production-shaped trace open-loop at its own timestamps
    /// (scaled by `replay_speed`: `"2x"`, or a mean rate `"20/s"`), with
    /// prompts and output targets of the traced lengths and shared prompt
    /// blocks where the trace has them (`hash_ids`). Mooncake JSONL,
    /// BurstGPT CSV, the Azure LLM inference trace CSV and a generic JSONL
    /// (docs/load.md "Trace replay"). A relative path starts at the
    /// benchmark package's root; a malformed line is an error naming the
    /// file, line and key, before any request is sent.
    pub fn trace(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        let name = path.display().to_string();
        let parsed = dataset::read(path).and_then(|text| trace::Trace::parse(&name, &text));
        Workload::new(Source::Trace { source: trace::TraceRef(Arc::new(parsed)) })
    }

    /// Like [`trace`](Self::trace), from text; `name` is used in errors
    /// (and a name ending in `.csv` is read as CSV).
    pub fn trace_str(name: &str, text: &str) -> Self {
        Workload::new(Source::Trace { source: trace::TraceRef(Arc::new(trace::Trace::parse(name, text))) })
    }

    /// Whether requests replay a trace.
    pub fn is_trace(&self) -> bool {
        matches!(self.source, Source::Trace { .. })
    }

    /// A trace's requests (`None` for other workloads or a trace that
    /// did not parse).
    pub fn trace_len(&self) -> Option<usize> {
        self.trace_data().map(|t| t.entries.len())
    }

    fn trace_data(&self) -> Option<&trace::Trace> {
        match &self.source {
            Source::Trace { source } => source.0.as_ref().as_ref().ok(),
            _ => None,
        }
    }

    /// When each of the first `n` requests of a trace is due, with its
    /// clock scaled by `speed`; empty for other workloads.
    pub(crate) fn trace_offsets(&self, n: u64, speed: crate::settings::ReplaySpeed) -> Vec<std::time::Duration> {
        let Some(t) = self.trace_data() else { return Vec::new() };
        let factor = speed.factor(t.mean_rate());
        (0..n).map(|i| t.offset(i, factor)).collect()
    }

    /// Synthetic prompts of a length class: its input length and its
    /// output target (`short`: 100–200 → 128, `medium`: 500–1000 → 256,
    /// `long`: 2000–4000 → 512).
    pub fn class(class: LengthClass) -> Self {
        let mut w = Workload::new(Source::Synthetic { input_tokens: class.input(), mix: None });
        w.output_tokens = class.output();
        w
    }

    /// Synthetic prompts drawn from a weighted mix of length classes, each
    /// request with its class's input and output lengths; e.g.
    /// [`DEFAULT_MIX`] (60 % short, 30 % medium, 10 % long).
    pub fn mix(mix: &[(LengthClass, u32)]) -> Self {
        let mix = if mix.is_empty() { DEFAULT_MIX.to_vec() } else { mix.to_vec() };
        Workload::new(Source::Synthetic { input_tokens: mix[0].0.input(), mix: Some(mix) })
    }

    /// A fixed list of prompts, sent in turn (request `i` gets prompt
    /// `i % len`). An empty list falls back to one synthetic prompt length.
    pub fn prompts<I, S>(prompts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let prompts: Vec<String> = prompts.into_iter().map(Into::into).collect();
        if prompts.is_empty() {
            return Workload::synthetic();
        }
        Workload::new(Source::Prompts { prompts })
    }

    /// Prompts from a JSONL file (see the module docs of `dataset` in the
    /// README: `{"prompt": …}` or `{"messages": […]}`, optional `system`,
    /// `max_tokens`, `expected`, any fields for templates). A relative path
    /// starts at the benchmark package's root. Entries are shuffled with
    /// the workload's seed and cycled; see [`shuffle`](Self::shuffle) and
    /// [`cycle`](Self::cycle). A file that cannot be read or a bad line is
    /// reported before any request is sent, naming the file and the line.
    pub fn dataset(path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        let name = path.display().to_string();
        let dataset = dataset::read(path).and_then(|text| Dataset::parse(&name, &text));
        Workload::from_dataset(dataset)
    }

    /// Like [`dataset`](Self::dataset), from text (e.g. `include_str!`);
    /// `name` is used in error messages.
    pub fn dataset_str(name: &str, jsonl: &str) -> Self {
        Workload::from_dataset(Dataset::parse(name, jsonl))
    }

    fn from_dataset(dataset: Result<Dataset, WorkloadError>) -> Self {
        let source = DatasetSource {
            dataset,
            shuffle: true,
            cycle: true,
            templates: Templates::new(),
            template_errors: Vec::new(),
        };
        Workload::new(Source::Dataset { source: DatasetRef(Arc::new(source)) })
    }

    fn dataset_mut(&mut self) -> Option<&mut DatasetSource> {
        match &mut self.source {
            // A workload is built once per benchmark, before it is cloned;
            // if a clone shares it, the change applies to a private copy.
            Source::Dataset { source } => Some(Arc::make_mut(&mut source.0)),
            _ => None,
        }
    }

    /// Dataset entries in a seeded random order (the default) or in file
    /// order. Ignored for other sources.
    pub fn shuffle(mut self, shuffle: bool) -> Self {
        if let Some(d) = self.dataset_mut() {
            d.shuffle = shuffle;
        }
        self
    }

    /// Start again from the first entry when a run needs more requests than
    /// the dataset has (the default); with `false`, such a run is refused
    /// before it starts. Ignored for other sources.
    pub fn cycle(mut self, cycle: bool) -> Self {
        if let Some(d) = self.dataset_mut() {
            d.cycle = cycle;
        }
        self
    }

    /// Renders each dataset entry's user prompt with this minijinja
    /// template file (the entry's fields are the context). Ignored for
    /// other sources.
    pub fn template(self, path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        let name = path.display().to_string();
        let source = dataset::read(path);
        self.add_template(false, &name, source)
    }

    /// Like [`template`](Self::template), from text; `name` is used in errors.
    pub fn template_str(self, name: &str, source: &str) -> Self {
        self.add_template(false, name, Ok(source.to_owned()))
    }

    /// Renders each dataset entry's system prompt with this template file.
    pub fn system_template(self, path: impl AsRef<Path>) -> Self {
        let path = path.as_ref();
        let name = path.display().to_string();
        let source = dataset::read(path);
        self.add_template(true, &name, source)
    }

    /// Like [`system_template`](Self::system_template), from text.
    pub fn system_template_str(self, name: &str, source: &str) -> Self {
        self.add_template(true, name, Ok(source.to_owned()))
    }

    fn add_template(mut self, system: bool, name: &str, source: Result<String, WorkloadError>) -> Self {
        let Some(d) = self.dataset_mut() else { return self };
        match source.and_then(|s| d.templates.add(name, s)) {
            Ok(()) if system => d.templates.system = Some(name.to_owned()),
            Ok(()) => d.templates.user = Some(name.to_owned()),
            Err(e) => d.template_errors.push(e),
        }
        self
    }

    /// The input length of synthetic prompts: a fixed count (`150`), a
    /// range (`100..=200`, uniform) or a [`Tokens`] distribution
    /// (`Tokens::normal(800, 150)`), drawn per request. Ignored for other
    /// sources.
    pub fn input_tokens(mut self, tokens: impl Into<Tokens>) -> Self {
        match &mut self.source {
            Source::Synthetic { input_tokens, mix } => {
                *input_tokens = tokens.into();
                *mix = None;
            }
            // A conversation's user turns.
            Source::Conversation { input_tokens, .. } => *input_tokens = tokens.into(),
            _ => {}
        }
        self
    }

    /// The output-token target, sent as `max_tokens`: a count, a range or
    /// a [`Tokens`] distribution, drawn per request. A dataset entry's own
    /// `max_tokens` wins.
    pub fn output_tokens(mut self, tokens: impl Into<Tokens>) -> Self {
        let tokens = tokens.into();
        self.output_tokens = if tokens.max() == 0 { Tokens::Fixed(1) } else { tokens };
        self.output_explicit = true;
        self
    }

    /// Also ask the server to generate exactly the target length
    /// (`min_tokens` and `ignore_eos`, honoured by vLLM and some others), so
    /// TPOT and throughput compare like with like. Off by default.
    pub fn exact_output(mut self, exact: bool) -> Self {
        self.exact_output = exact;
        self
    }

    /// A system prompt sent before every user prompt (a dataset entry's own
    /// `system` wins).
    pub fn system(mut self, prompt: impl Into<String>) -> Self {
        self.system = Some(prompt.into());
        self
    }

    /// Sampling temperature.
    pub fn temperature(mut self, t: f32) -> Self {
        self.temperature = Some(t);
        self
    }

    /// Nucleus sampling `top_p`.
    pub fn top_p(mut self, p: f32) -> Self {
        self.top_p = Some(p);
        self
    }

    /// The seed of prompt generation and dataset order (default 0). Same
    /// seed, same prompts.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self.order = OnceLock::new();
        self
    }

    /// Stop sequences.
    pub fn stop<I, S>(mut self, stop: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.stop = stop.into_iter().map(Into::into).collect();
        self
    }

    /// Starts every request with a prefix unique to the request and to the
    /// run (`[run 5f3a… req 17]`), so provider-side prompt caches cannot
    /// flatter TTFT — with datasets and fixed prompts, which repeat, and
    /// across runs. It goes before everything, system prompt included.
    pub fn cache_bust(mut self, on: bool) -> Self {
        self.cache_bust = on;
        self
    }

    /// Starts requests with a system prompt of `tokens` synthetic tokens
    /// (a long instruction or a document) that a `share` of them (0 to 1)
    /// have in common — the others send one of the same length of their own
    /// — to measure what a prompt cache saves: compare `share` 1.0 with
    /// 0.0, or with [`cache_bust`](Self::cache_bust), which goes before it.
    /// Where a protocol has cache controls, the shared prefix ends with a
    /// cache point (Anthropic `cache_control`, Bedrock Converse
    /// `cachePoint`); OpenAI-compatible servers cache prefixes themselves.
    pub fn shared_prefix(mut self, tokens: u32, share: f64) -> Self {
        if !(0.0..=1.0).contains(&share) {
            self.problems.push(format!("shared_prefix: share {share} is outside 0.0..=1.0"));
        }
        self.shared_prefix = (tokens > 0).then_some(SharedPrefix { tokens, share: share.clamp(0.0, 1.0) });
        self
    }

    /// Asks reasoning models to think this hard: `minimal`, `low`, `medium`
    /// or `high` (OpenAI-compatible `reasoning_effort`; Anthropic and
    /// Bedrock take it as a thinking budget of 1024, 1024, 4096 or 16384
    /// tokens unless [`thinking_budget`](Self::thinking_budget) is set). An
    /// unknown value is reported by [`validate`](Self::validate).
    pub fn reasoning_effort(mut self, effort: &str) -> Self {
        match ReasoningEffort::parse(effort) {
            Ok(e) => self.reasoning_effort = Some(e),
            Err(e) => self.problems.push(format!("reasoning_effort: {e}")),
        }
        self
    }

    /// Turns on extended thinking with this budget of tokens (Anthropic and
    /// Bedrock `thinking.budget_tokens`; the APIs want at least 1024 and
    /// less than `max_tokens`).
    pub fn thinking_budget(mut self, tokens: u32) -> Self {
        if tokens == 0 {
            self.problems.push("thinking_budget: must be at least 1 token".into());
        }
        self.thinking_budget = (tokens > 0).then_some(tokens);
        self
    }

    /// Declares a tool the model may call: a function `name`, what it does,
    /// and the JSON Schema of its arguments (JSON text; invalid JSON or a
    /// schema that is not an object is reported by
    /// [`validate`](Self::validate)). Sent as OpenAI `tools`, Anthropic
    /// `tools` or Bedrock Converse `toolConfig`; the record gets `ttftc`
    /// and `tool_call`, and [`check_tool_call`](Self::check_tool_call)
    /// checks the arguments.
    pub fn tool(mut self, name: &str, description: &str, parameters: &str) -> Self {
        match serde_json::from_str::<serde_json::Value>(parameters) {
            Ok(schema) if schema.is_object() => {
                self.tools.push(Tool { name: name.to_owned(), description: description.to_owned(), parameters: schema })
            }
            Ok(_) => self.problems.push(format!("tool {name}: the parameters schema must be a JSON object")),
            Err(e) => self.problems.push(format!("tool {name}: the parameters schema is not JSON: {e}")),
        }
        self
    }

    /// Sends `count` PNG images of `size` × `size` pixels with every
    /// request, after the user's text (OpenAI `image_url` data URIs,
    /// Anthropic and Bedrock image blocks). They are drawn offline from the
    /// seed, the same for every request. A size of 0 is reported by
    /// [`validate`](Self::validate).
    pub fn images(mut self, count: u32, size: u32) -> Self {
        if size == 0 {
            self.problems.push("image_size: must be at least 1 pixel".into());
        } else if size > image::MAX_IMAGE_SIDE {
            self.problems.push(format!("image_size: {size} is over the limit of {} pixels", image::MAX_IMAGE_SIDE));
        }
        self.images = (count > 0).then_some(ImageSpec { count, size: size.clamp(1, image::MAX_IMAGE_SIDE) });
        self.image_data = OnceLock::new();
        self
    }

    /// Sizes synthetic prompts and counts prompts with `tokenizer` instead
    /// of the default (`o200k_base`). A target's `tokenizer` key sets this
    /// for its requests.
    pub fn tokenizer(mut self, tokenizer: Tokenizer) -> Self {
        self.tokenizer = tokenizer;
        self
    }

    /// Checks that the response called one of the declared tools with
    /// arguments that are JSON matching its schema (the subset of
    /// [`Check`]).
    pub fn check_tool_call(self) -> Self {
        self.check(Check::ToolCall)
    }

    /// Adds a response check (see [`Check`]); failed checks are class
    /// `check`. Turns on output capture for the benchmark.
    pub fn check(mut self, check: Check) -> Self {
        self.checks.push(check);
        self
    }

    /// Checks that responses contain `needle`.
    pub fn check_contains(self, needle: impl Into<String>) -> Self {
        self.check(Check::Contains { needle: needle.into() })
    }

    /// Checks that responses match a regular expression. An invalid
    /// pattern is reported by [`validate`](Self::validate).
    pub fn check_regex(mut self, pattern: &str) -> Self {
        match regex::Regex::new(pattern) {
            Ok(pattern) => self.check(Check::Regex { pattern }),
            Err(e) => {
                self.problems.push(format!("invalid check_regex pattern {pattern:?}: {e}"));
                self
            }
        }
    }

    /// Checks that responses are valid JSON.
    pub fn check_json(self) -> Self {
        self.check(Check::Json)
    }

    /// Checks that responses are JSON matching `schema` (a subset of JSON
    /// Schema, see [`Check`]). `schema` is JSON text; invalid JSON is
    /// reported by [`validate`](Self::validate).
    pub fn check_json_schema(mut self, schema: &str) -> Self {
        match serde_json::from_str(schema) {
            Ok(schema) => self.check(Check::JsonSchema { schema }),
            Err(e) => {
                self.problems.push(format!("invalid check_json_schema schema: {e}"));
                self
            }
        }
    }

    /// Checks that responses contain the dataset entry's `expected`.
    pub fn check_expected(self) -> Self {
        self.check(Check::Expected)
    }

    /// The largest output-token target a request can get.
    pub fn max_output_tokens(&self) -> u32 {
        let entries = match &self.source {
            Source::Dataset { source } => {
                source.dataset.as_ref().ok().and_then(|d| d.entries.iter().filter_map(|e| e.max_tokens).max())
            }
            _ => None,
        };
        let mix = match &self.source {
            Source::Synthetic { mix: Some(mix), .. } if !self.output_explicit => {
                mix.iter().map(|(c, _)| c.output().max()).max()
            }
            _ => None,
        };
        self.output_tokens.max().max(entries.unwrap_or(0)).max(mix.unwrap_or(0))
    }

    /// Whether responses are checked (so their text must be captured).
    pub fn has_checks(&self) -> bool {
        !self.checks.is_empty()
    }

    /// The tools the model may call.
    pub fn declared_tools(&self) -> &[Tool] {
        &self.tools
    }

    /// Whether prompts come from a dataset.
    pub fn is_dataset(&self) -> bool {
        matches!(self.source, Source::Dataset { .. })
    }

    /// The dataset size, for a dataset workload.
    pub fn dataset_len(&self) -> Option<usize> {
        match &self.source {
            Source::Dataset { source } => source.dataset.as_ref().ok().map(|d| d.entries.len()),
            _ => None,
        }
    }

    /// The workload as JSON, for results files and fingerprints.
    pub(crate) fn describe(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// The generation parameters a parameter grid can vary.
pub const PARAM_KEYS: [&str; 13] = [
    "temperature",
    "top_p",
    "max_tokens",
    "output_tokens",
    "input_tokens",
    "seed",
    "exact_output",
    "reasoning_effort",
    "thinking_budget",
    "images",
    "image_size",
    "shared_prefix",
    "prefix_share",
];

/// Serializes a value by its `Display` (a think time as `exponential(1s)`).
fn display<T: std::fmt::Display, S: serde::Serializer>(value: &Option<T>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(v) => s.collect_str(v),
        None => s.serialize_none(),
    }
}

/// A number unique to this process run, for cache busting.
fn run_nonce() -> u64 {
    static NONCE: OnceLock<u64> = OnceLock::new();
    *NONCE.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Rng::new(nanos ^ u64::from(std::process::id()).rotate_left(32)).next_u64()
    })
}

/// Estimates the token count of `text` without a tokenizer: one token per
/// four characters of English, OpenAI's rule of thumb, and never zero for
/// non-empty text. Server-reported usage is the figure of record.
pub fn estimate_tokens(text: &str) -> u32 {
    crate::tokenizer::estimate(text)
}

#[cfg(test)]
mod tests;
