//! Turning a [`Workload`] into requests: validation of what the builder
//! could not report, dataset order and entries, template rendering,
//! prefixes, response checks and parameter-grid settings.

use std::sync::Arc;

use super::dataset::{self, WorkloadError};
use super::{
    CheckFn, DEFAULT_IMAGE_SIZE, DatasetSource, PARAM_KEYS, Response, Source, Workload, image, run_nonce, synthetic,
    tokens,
};
use crate::record::RequestRecord;
use crate::request::{GenRequest, Image, Message, Role};
use crate::rng::Rng;

impl Workload {
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
        if self.tool_result.is_some() {
            if self.tools.is_empty() {
                return Err(WorkloadError::Invalid("tool_result: needs a tool to call (set `tools`)".into()));
            }
            if !self.is_conversation() {
                return Err(WorkloadError::Invalid(
                    "tool_result: feeds results back in a conversation (set `turns` or `sessions`)".into(),
                ));
            }
        }
        if let Source::Sessions { source } = &self.source {
            return source.0.as_ref().as_ref().map(drop).map_err(Clone::clone);
        }
        if let Source::Trace { source } = &self.source {
            return source.0.as_ref().as_ref().map(drop).map_err(Clone::clone);
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
        let n = self.shard_entries(dataset)?;
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
            // A shard sends its own entries only, in the same order.
            order.retain(|&k| self.owns(&dataset.entries[k]));
            order
        });
        let k = order.get((index % order.len().max(1) as u64) as usize).copied()?;
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
        self.check_with_calls(index, text, &[], output_tokens, extra)
    }

    /// [`check_response`](Self::check_response) on a record: its text and
    /// its tool calls.
    pub fn check_record(&self, index: u64, record: &RequestRecord, extra: Option<CheckFn>) -> Result<(), String> {
        let text = record.text.as_deref().unwrap_or("");
        self.check_with_calls(index, text, &record.tool_call_text, record.output_tokens, extra)
    }

    fn check_with_calls(
        &self,
        index: u64,
        text: &str,
        tool_calls: &[crate::record::ToolCallText],
        output_tokens: u64,
        extra: Option<CheckFn>,
    ) -> Result<(), String> {
        let resp =
            Response { text, expected: self.expected(index), output_tokens, index, tool_calls, tools: &self.tools };
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
        let index = self.global_index(index);
        if self.is_conversation() {
            // A single request of a conversation is its session's first turn.
            return self.turn_request(index, &self.script(index), 0, &[], &[]);
        }
        let mut output = self.output_tokens;
        let mut entry_max = None;
        let mut messages = Vec::with_capacity(3);
        let mut requested = None;
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
                requested = Some(tokens);
                if let Some(system) = &self.system {
                    messages.push(Message::new(Role::System, system.clone()));
                }
                let prompt = synthetic::prompt(&mut rng, tokens, &self.tokenizer);
                messages.push(Message::new(Role::User, prompt));
            }
            Source::Prompts { prompts } => {
                if let Some(system) = &self.system {
                    messages.push(Message::new(Role::System, system.clone()));
                }
                let prompt = prompts[(index % prompts.len() as u64) as usize].clone();
                messages.push(Message::new(Role::User, prompt));
            }
            Source::Dataset { .. } => match self.entry(index) {
                Some((entry, source)) => {
                    entry_max = entry.max_tokens;
                    messages = self.entry_messages(entry, source);
                }
                None => messages.push(Message::new(Role::User, String::new())),
            },
            Source::Trace { source } => {
                if let Ok(trace) = source.0.as_ref() {
                    let entry = &trace.entries[(index % trace.entries.len() as u64) as usize];
                    let mut rng = Rng::for_item(self.seed, index);
                    if let Some(system) = &self.system {
                        messages.push(Message::new(Role::System, system.clone()));
                    }
                    let prompt = trace.prompt(entry, self.seed, &mut rng, &self.tokenizer);
                    messages.push(Message::new(Role::User, prompt));
                    (requested, entry_max) = (Some(entry.input), Some(entry.output));
                }
            }
            Source::Conversation { .. } | Source::Sessions { .. } => {}
        }
        let max_tokens =
            entry_max.unwrap_or_else(|| output.sample(&mut Rng::for_item(self.seed ^ 0x7E57_0000, index)).max(1));
        self.assemble(index, messages, requested, max_tokens)
    }

    /// A request of `messages` (user and assistant turns, a system prompt
    /// first if any), with the workload's shared prefix, cache busting,
    /// images, tools and parameters; `index` draws the prefix and the nonce.
    pub(crate) fn assemble(
        &self,
        index: u64,
        mut messages: Vec<Message>,
        mut requested: Option<u32>,
        max_tokens: u32,
    ) -> GenRequest {
        let mut cache_prefix = false;
        if let Some(prefix) = self.shared_prefix {
            // The same text for every sharing request; a prefix of the same
            // length of its own for the others, which no cache can match.
            let shares = Rng::for_item(self.seed ^ 0x5AA2_ED00, index).next_f64() < prefix.share;
            let mut rng =
                if shares { Rng::new(self.seed ^ 0x5AED_F1E5) } else { Rng::for_item(self.seed ^ 0xD0C5, index) };
            let text = synthetic::prompt(&mut rng, prefix.tokens, &self.tokenizer);
            messages.insert(0, Message::new(Role::System, text));
            requested = requested.map(|n| n + prefix.tokens);
            cache_prefix = shares;
        }
        if self.cache_bust
            && let Some(first) = messages.first_mut()
        {
            first.content = format!("[run {:016x} req {index}] {}", run_nonce(), first.content);
        }
        let images = self.image_list();
        let text_tokens: u32 = messages.iter().flat_map(Message::texts).map(|t| self.tokenizer.count(t)).sum();
        let generated = text_tokens + images.iter().map(Image::estimated_tokens).sum::<u32>();
        GenRequest {
            messages,
            max_tokens: Some(max_tokens),
            min_tokens: self.exact_output.then_some(max_tokens),
            ignore_eos: self.exact_output,
            temperature: self.temperature,
            top_p: self.top_p,
            seed: None,
            stop: self.stop.clone(),
            reasoning_effort: self.reasoning_effort,
            thinking_budget: self.thinking_budget,
            tools: self.tools.clone(),
            images: images.to_vec(),
            cache_prefix,
            input_tokens_requested: requested.map(|n| n + images.iter().map(Image::estimated_tokens).sum::<u32>()),
            input_tokens_generated: Some(generated),
        }
    }

    /// The workload's images, drawn once and shared by every request.
    fn image_list(&self) -> Arc<Vec<Image>> {
        let Some(spec) = self.images else { return Arc::default() };
        self.image_data
            .get_or_init(|| {
                let seed = self.seed ^ 0x1A6E;
                Arc::new((0..spec.count).map(|k| image::image(spec.size, seed.wrapping_add(u64::from(k)))).collect())
            })
            .clone()
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
            messages.push(Message::new(Role::System, system));
        }
        match (&t.user, &entry.messages, &entry.prompt) {
            (Some(name), _, _) => messages.push(Message::new(Role::User, render(name).unwrap_or_default())),
            (None, Some(conversation), _) => {
                messages
                    .extend(conversation.iter().filter(|m| !(m.role == Role::System && t.system.is_some())).cloned());
            }
            (None, None, prompt) => messages.push(Message::new(Role::User, prompt.clone().unwrap_or_default())),
        }
        messages
    }

    /// Sets one generation parameter by name, for parameter grids
    /// (`params = { temperature = [0.0, 0.7] }`): `temperature`, `top_p`,
    /// `max_tokens` (or `output_tokens`), `input_tokens`, `seed`,
    /// `exact_output`, `reasoning_effort`, `thinking_budget`, `images` (a
    /// count, 512 pixels unless `image_size` says), `image_size`,
    /// `shared_prefix` (tokens, all requests sharing unless `prefix_share`
    /// says) and `prefix_share`.
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
            "reasoning_effort" => {
                crate::request::ReasoningEffort::parse(v).map_err(|e| format!("param {key}: {e}"))?;
                self.reasoning_effort(v)
            }
            "thinking_budget" => match v.parse::<u32>() {
                Ok(n) if n > 0 => self.thinking_budget(n),
                _ => return Err(bad("a positive integer")),
            },
            "images" => {
                let count = v.parse::<u32>().map_err(|_| bad("a count"))?;
                let size = self.images.map_or(DEFAULT_IMAGE_SIZE, |i| i.size);
                self.images(count, size)
            }
            "image_size" => match v.parse::<u32>() {
                Ok(size) if (1..=image::MAX_IMAGE_SIDE).contains(&size) => {
                    let count = self.images.map_or(1, |i| i.count);
                    self.images(count, size)
                }
                _ => return Err(bad(&format!("a size in pixels from 1 to {}", image::MAX_IMAGE_SIDE))),
            },
            "shared_prefix" => {
                let tokens = v.parse::<u32>().map_err(|_| bad("a token count"))?;
                let share = self.shared_prefix.map_or(1.0, |p| p.share);
                self.shared_prefix(tokens, share)
            }
            "prefix_share" => match v.parse::<f64>() {
                Ok(share) if (0.0..=1.0).contains(&share) => match self.shared_prefix {
                    Some(p) => self.shared_prefix(p.tokens, share),
                    None => return Err(format!("param {key}: needs a shared prefix (shared_prefix)")),
                },
                _ => return Err(bad("a share from 0.0 to 1.0")),
            },
            _ => return Err(format!("unknown param {key:?} (use one of {})", PARAM_KEYS.join(", "))),
        })
    }
}
