//! What to send: prompts and generation parameters.
//!
//! A [`Workload`] is a recipe, built in a benchmark function, that turns a
//! request index into a [`GenRequest`] deterministically (same seed, same
//! prompts): synthetic text of a token-length distribution or class,
//! fixed prompts, or a JSONL dataset rendered through minijinja templates;
//! plus generation parameters, cache busting or a shared prefix, and
//! response checks. It knows nothing of where requests go or when.

mod check;
mod dataset;
mod synthetic;
mod tokens;

use std::ops::{Range, RangeInclusive};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use serde::Serialize;

use crate::provider::{GenRequest, Message, Role};
use crate::rng::Rng;
pub use check::{Check, CheckFn, CheckOutcome, Response};
pub use dataset::WorkloadError;
pub(crate) use dataset::set_base_dir;
use dataset::{Dataset, Templates};
pub use tokens::{DEFAULT_MIX, LengthClass, Tokens};

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
#[derive(Debug, Clone)]
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
#[derive(Debug, Clone)]
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

#[derive(Debug, Clone, Serialize)]
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
    shared_prefix: Option<u32>,
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
            checks: Vec::new(),
            output_explicit: false,
            problems: Vec::new(),
            order: OnceLock::new(),
        }
    }

    /// Synthetic prompts, generated offline from a seed, 100–200 tokens by
    /// default. Every prompt differs from its first words on, so provider
    /// prompt caches do not flatter TTFT.
    pub fn synthetic() -> Self {
        Workload::new(Source::Synthetic { input_tokens: DEFAULT_INPUT_TOKENS.into(), mix: None })
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
        if let Source::Synthetic { input_tokens, mix } = &mut self.source {
            *input_tokens = tokens.into();
            *mix = None;
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

    /// Starts every user prompt with the same synthetic text of about
    /// `tokens` tokens, to measure what a prompt cache saves (compare with
    /// and without). Cache busting, if also on, goes before it.
    pub fn shared_prefix(mut self, tokens: u32) -> Self {
        self.shared_prefix = (tokens > 0).then_some(tokens);
        self
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

    /// Reports what the builder could not: an unreadable dataset or
    /// template, a bad line, an entry with nothing to send, a template that
    /// does not render for some entry, an invalid check — and, for a
    /// dataset that does not cycle, a run of `needed` requests that is
    /// longer than the dataset. Every entry is rendered once, so no error
    /// can surface mid-run.
    pub fn validate(&self, needed: Option<u64>) -> Result<(), WorkloadError> {
        if let Some(problem) = self.problems.first() {
            return Err(WorkloadError::Invalid(problem.clone()));
        }
        let Source::Dataset { source } = &self.source else { return Ok(()) };
        let dataset = source.dataset.as_ref().map_err(Clone::clone)?;
        if let Some(e) = source.template_errors.first() {
            return Err(e.clone());
        }
        for entry in &dataset.entries {
            let t = &source.templates;
            if t.user.is_none() && entry.prompt.is_none() && entry.messages.is_none() {
                return Err(WorkloadError::Dataset {
                    path: dataset.name.clone(),
                    line: entry.line,
                    message: "the entry has no `prompt` or `messages` (add one, or set a template that renders it)"
                        .into(),
                });
            }
            for name in [&t.user, &t.system].into_iter().flatten() {
                t.render(name, entry, &dataset.name)?;
            }
        }
        let n = dataset.entries.len() as u64;
        match needed {
            Some(needed) if !source.cycle && needed > n => Err(WorkloadError::Invalid(format!(
                "{}: the dataset has {n} entries but the run needs {needed} requests (use .cycle(true) or ask for fewer)",
                dataset.name
            ))),
            _ => Ok(()),
        }
    }

    fn entry(&self, index: u64) -> Option<(&dataset::Entry, &DatasetSource)> {
        let Source::Dataset { source } = &self.source else { return None };
        let dataset = source.dataset.as_ref().ok()?;
        let n = dataset.entries.len();
        let order = self.order.get_or_init(|| {
            let mut order: Vec<usize> = (0..n).collect();
            if source.shuffle {
                // Fisher–Yates with the workload's seed.
                let mut rng = Rng::new(self.seed ^ 0xD5A7_A5E7);
                for i in (1..n).rev() {
                    order.swap(i, rng.range_u64(0, i as u64) as usize);
                }
            }
            order
        });
        let k = order.get((index % n.max(1) as u64) as usize).copied()?;
        Some((&dataset.entries[k], source))
    }

    /// The dataset entry's `expected` for request `index`, if any.
    pub fn expected(&self, index: u64) -> Option<&str> {
        self.entry(index).and_then(|(e, _)| e.expected.as_deref())
    }

    /// Runs the workload's checks, then `extra` (the attribute's `check`),
    /// on the response to request `index`; the first failure wins.
    pub fn check_response(
        &self,
        index: u64,
        text: &str,
        output_tokens: u64,
        extra: Option<CheckFn>,
    ) -> Result<(), String> {
        let resp = Response { text, expected: self.expected(index), output_tokens, index };
        for check in &self.checks {
            check.apply(&resp)?;
        }
        match extra {
            Some(f) => f(&resp),
            None => Ok(()),
        }
    }

    /// The request with index `index`: deterministic for a given seed
    /// (except for the run nonce of [`cache_bust`](Self::cache_bust)).
    /// Call [`validate`](Self::validate) first for a dataset workload.
    pub fn request(&self, index: u64) -> GenRequest {
        let mut output = self.output_tokens;
        let mut entry_max = None;
        let mut messages = Vec::with_capacity(3);
        match &self.source {
            Source::Synthetic { input_tokens, mix } => {
                let mut rng = Rng::for_item(self.seed, index);
                let input = match mix {
                    Some(mix) => {
                        let class = tokens::pick(mix, &mut rng);
                        if !self.output_explicit {
                            output = class.output();
                        }
                        class.input()
                    }
                    None => *input_tokens,
                };
                let tokens = input.sample(&mut rng);
                if let Some(system) = &self.system {
                    messages.push(Message { role: Role::System, content: system.clone() });
                }
                messages.push(Message { role: Role::User, content: synthetic::prompt(&mut rng, tokens) });
            }
            Source::Prompts { prompts } => {
                if let Some(system) = &self.system {
                    messages.push(Message { role: Role::System, content: system.clone() });
                }
                let prompt = prompts[(index % prompts.len() as u64) as usize].clone();
                messages.push(Message { role: Role::User, content: prompt });
            }
            Source::Dataset { .. } => match self.entry(index) {
                Some((entry, source)) => {
                    entry_max = entry.max_tokens;
                    messages = self.entry_messages(entry, source);
                }
                None => messages.push(Message { role: Role::User, content: String::new() }),
            },
        }
        if let Some(tokens) = self.shared_prefix
            && let Some(user) = messages.iter_mut().find(|m| m.role == Role::User)
        {
            let mut rng = Rng::new(self.seed ^ 0x5AED_F1E5);
            user.content = format!("{}\n\n{}", synthetic::prompt(&mut rng, tokens), user.content);
        }
        if self.cache_bust
            && let Some(first) = messages.first_mut()
        {
            first.content = format!("[run {:016x} req {index}] {}", run_nonce(), first.content);
        }
        let max_tokens =
            entry_max.unwrap_or_else(|| output.sample(&mut Rng::for_item(self.seed ^ 0x7E57_0000, index)).max(1));
        GenRequest {
            messages,
            max_tokens: Some(max_tokens),
            min_tokens: self.exact_output.then_some(max_tokens),
            ignore_eos: self.exact_output,
            temperature: self.temperature,
            top_p: self.top_p,
            seed: None,
            stop: self.stop.clone(),
        }
    }

    fn entry_messages(&self, entry: &dataset::Entry, source: &DatasetSource) -> Vec<Message> {
        let t = &source.templates;
        let render =
            |name: &String| t.render(name, entry, source.dataset.as_ref().map(|d| d.name.as_str()).unwrap_or(""));
        let system = match &t.system {
            Some(name) => render(name).ok(),
            None => entry.system.clone().or_else(|| self.system.clone()),
        };
        let mut messages = Vec::with_capacity(3);
        let has_own_system = entry.messages.as_ref().is_some_and(|m| m.iter().any(|m| m.role == Role::System));
        if let Some(system) = system.filter(|_| !has_own_system || t.system.is_some()) {
            messages.push(Message { role: Role::System, content: system });
        }
        match (&t.user, &entry.messages, &entry.prompt) {
            (Some(name), _, _) => {
                messages.push(Message { role: Role::User, content: render(name).unwrap_or_default() })
            }
            (None, Some(conversation), _) => {
                messages
                    .extend(conversation.iter().filter(|m| !(m.role == Role::System && t.system.is_some())).cloned());
            }
            (None, None, prompt) => {
                messages.push(Message { role: Role::User, content: prompt.clone().unwrap_or_default() })
            }
        }
        messages
    }

    /// Sets one generation parameter by name, for parameter grids
    /// (`params = { temperature = [0.0, 0.7] }`): `temperature`, `top_p`,
    /// `max_tokens` (or `output_tokens`), `input_tokens`, `seed`,
    /// `exact_output`.
    pub fn with_param(self, key: &str, value: &str) -> Result<Workload, String> {
        let v = value.trim();
        let bad = |what: &str| format!("param {key} = {v:?}: expected {what}");
        Ok(match key {
            "temperature" => self.temperature(v.parse().map_err(|_| bad("a number"))?),
            "top_p" => self.top_p(v.parse().map_err(|_| bad("a number"))?),
            "max_tokens" | "output_tokens" => {
                self.output_tokens(v.parse::<u32>().map_err(|_| bad("a positive integer"))?)
            }
            "input_tokens" => self.input_tokens(v.parse::<u32>().map_err(|_| bad("a positive integer"))?),
            "seed" => self.seed(v.parse().map_err(|_| bad("an integer"))?),
            "exact_output" => self.exact_output(v.parse().map_err(|_| bad("true or false"))?),
            _ => return Err(format!("unknown param {key:?} (use one of {})", PARAM_KEYS.join(", "))),
        })
    }

    /// The workload as JSON, for results files and fingerprints.
    pub(crate) fn describe(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// The generation parameters a parameter grid can vary.
pub const PARAM_KEYS: [&str; 7] =
    ["temperature", "top_p", "max_tokens", "output_tokens", "input_tokens", "seed", "exact_output"];

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
/// non-empty text. Server-reported usage is the figure of record; this is
/// only used where a server reports none.
pub fn estimate_tokens(text: &str) -> u32 {
    let chars = text.chars().count() as u32;
    if chars == 0 { 0 } else { chars.div_ceil(4) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_prompts_are_deterministic_varied_and_sized() {
        let w = Workload::synthetic().input_tokens(100..=200).output_tokens(64).seed(3);
        let a = w.request(0);
        assert_eq!(a, w.request(0), "same seed and index give the same request");
        let b = w.request(1);
        let (pa, pb) = (&a.messages[0].content, &b.messages[0].content);
        assert_ne!(pa, pb);
        // Different from the first word on, so prefix caches cannot match.
        assert_ne!(pa.split(' ').next(), pb.split(' ').next());
        for i in 0..50 {
            let n = estimate_tokens(&w.request(i).messages[0].content);
            assert!((95..=210).contains(&n), "request {i}: {n} tokens");
        }
        assert_eq!(a.max_tokens, Some(64));
        assert_eq!(a.min_tokens, None);
        let other_seed = Workload::synthetic().seed(4).request(0);
        assert_ne!(other_seed.messages[0].content, Workload::synthetic().seed(3).request(0).messages[0].content);
    }

    #[test]
    fn fixed_prompts_cycle_and_system_comes_first() {
        let w = Workload::prompts(["a", "b"]).system("be brief").exact_output(true).output_tokens(10);
        let r = w.request(3);
        assert_eq!(r.messages.len(), 2);
        assert_eq!(r.messages[0].role, Role::System);
        assert_eq!(r.messages[1].content, "b");
        assert_eq!((r.min_tokens, r.ignore_eos), (Some(10), true));
    }

    #[test]
    fn token_ranges() {
        assert_eq!(TokenRange::from(5), TokenRange { min: 5, max: 5 });
        assert_eq!(TokenRange::from(5..10), TokenRange { min: 5, max: 9 });
        let (hi, lo) = (10, 5);
        assert_eq!(TokenRange::from(hi..=lo), TokenRange { min: 5, max: 10 });
        assert_eq!(estimate_tokens(""), 0);
        assert_eq!(estimate_tokens("abcde"), 2);
    }

    const SUPPORT: &str = r#"{"ticket": {"id": 1, "body": "I was charged twice"}, "expected": "refund", "max_tokens": 50}
{"ticket": {"id": 2, "body": "cannot log in"}}
{"ticket": {"id": 3, "body": "where is my order"}}
"#;

    #[test]
    fn datasets_render_through_templates_in_seeded_order() {
        let w = Workload::dataset_str("support.jsonl", SUPPORT)
            .template_str("user.j2", "Ticket #{{ ticket.id }}: {{ ticket.body }}")
            .system_template_str("system.j2", "You answer ticket {{ ticket.id }}.")
            .output_tokens(300);
        w.validate(Some(10)).unwrap();
        let seen: std::collections::BTreeSet<String> =
            (0..3).map(|i| w.request(i).messages[1].content.clone()).collect();
        assert_eq!(seen.len(), 3, "each entry once per cycle: {seen:?}");
        assert_eq!(w.request(0), w.request(3), "cycled");
        let r = (0..3).map(|i| w.request(i)).find(|r| r.messages[1].content.contains("#1")).unwrap();
        assert_eq!(r.messages[0], Message { role: Role::System, content: "You answer ticket 1.".into() });
        assert_eq!(r.max_tokens, Some(50), "the entry's max_tokens wins");
        let i = (0..3).find(|&i| w.request(i).messages[1].content.contains("#1")).unwrap();
        assert_eq!(w.expected(i), Some("refund"));
        assert!(w.check_response(i, "we will refund you", 4, None).is_ok());
        let in_order =
            Workload::dataset_str("support.jsonl", SUPPORT).shuffle(false).template_str("u", "{{ ticket.id }}");
        assert_eq!(in_order.request(1).messages[0].content, "2");
        assert_ne!(
            (0..3).map(|i| w.clone().seed(1).request(i).messages[1].content.clone()).collect::<Vec<_>>(),
            (0..3).map(|i| w.clone().seed(2).request(i).messages[1].content.clone()).collect::<Vec<_>>(),
            "another seed, another order"
        );
    }

    #[test]
    fn dataset_problems_are_reported_by_validate() {
        let err = Workload::dataset_str("s.jsonl", SUPPORT).validate(None).unwrap_err().to_string();
        assert_eq!(
            err,
            "s.jsonl:1: the entry has no `prompt` or `messages` (add one, or set a template that renders it)"
        );
        let err = Workload::dataset_str("s.jsonl", SUPPORT)
            .template_str("t.j2", "{{ ticket.title }}")
            .validate(None)
            .unwrap_err();
        assert!(err.to_string().starts_with("t.j2:1: undefined value"), "{err}");
        assert!(err.to_string().contains("s.jsonl:1"), "{err}");
        let err = Workload::dataset_str("s.jsonl", SUPPORT)
            .template_str("t.j2", "{{ ticket.body }}")
            .cycle(false)
            .validate(Some(4));
        assert!(err.unwrap_err().to_string().contains("has 3 entries but the run needs 4"));
        let err = Workload::dataset("no/such/file.jsonl").validate(None).unwrap_err().to_string();
        assert!(err.starts_with("cannot read no/such/file.jsonl"), "{err}");
        assert!(Workload::synthetic().check_regex("(").validate(None).unwrap_err().to_string().contains("check_regex"));
    }

    #[test]
    fn classes_mix_cache_bust_shared_prefix_and_params() {
        let long = Workload::class(LengthClass::Long).request(0);
        let n = estimate_tokens(&long.messages[0].content);
        assert!((1900..=4100).contains(&n), "{n}");
        assert_eq!(long.max_tokens, Some(512));
        let mixed = Workload::mix(&DEFAULT_MIX);
        let outputs: Vec<u32> = (0..200).map(|i| mixed.request(i).max_tokens.unwrap()).collect();
        assert!(outputs.contains(&128) && outputs.contains(&256) && outputs.contains(&512));
        assert_eq!(
            Workload::mix(&DEFAULT_MIX).output_tokens(48).request(3).max_tokens,
            Some(48),
            "explicit output wins"
        );
        let busted = Workload::prompts(["same"]).system("sys").cache_bust(true);
        let (a, b) = (busted.request(0), busted.request(1));
        assert!(a.messages[0].content.starts_with("[run ") && a.messages[0].content.ends_with("req 0] sys"));
        assert_ne!(a.messages[0].content, b.messages[0].content);
        let shared = Workload::synthetic().shared_prefix(50);
        let (a, b) = (shared.request(0), shared.request(1));
        let prefix = |r: &GenRequest| r.messages[0].content.split("\n\n").next().unwrap().to_owned();
        assert_eq!(prefix(&a), prefix(&b));
        assert_ne!(a.messages[0].content, b.messages[0].content);
        let w =
            Workload::synthetic().with_param("temperature", "0.7").unwrap().with_param("max_tokens", "1024").unwrap();
        let r = w.request(0);
        assert_eq!((r.temperature, r.max_tokens), (Some(0.7), Some(1024)));
        assert!(Workload::synthetic().with_param("temprature", "1").unwrap_err().contains("unknown param"));
        assert!(Workload::synthetic().with_param("top_p", "high").unwrap_err().contains("a number"));
        let normal = Workload::synthetic().output_tokens(Tokens::normal(100, 10));
        assert!((0..50).all(|i| (60..=140).contains(&normal.request(i).max_tokens.unwrap())));
    }
}
