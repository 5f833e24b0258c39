//! What to send: prompts and generation parameters.
//!
//! A [`Workload`] is a recipe, built in a benchmark function, that turns a
//! request index into a [`GenRequest`] deterministically (same seed, same
//! prompts). It knows nothing of where requests go or when.

mod synthetic;

use std::ops::{Range, RangeInclusive};

use serde::Serialize;

use crate::provider::{GenRequest, Message, Role};
use crate::rng::Rng;

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

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
enum Source {
    /// Generated offline text of a given token length.
    Synthetic { input_tokens: TokenRange },
    /// A fixed list of prompts, used in turn.
    Prompts { prompts: Vec<String> },
}

/// A prompt workload: what each request of a benchmark sends.
///
/// ```
/// use llmbench::Workload;
/// let w = Workload::synthetic().input_tokens(100..=200).output_tokens(200).temperature(0.7);
/// # let _ = w;
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Workload {
    source: Source,
    output_tokens: u32,
    exact_output: bool,
    system: Option<String>,
    temperature: Option<f32>,
    top_p: Option<f32>,
    seed: u64,
    stop: Vec<String>,
}

/// The default output-token target (`max_tokens`).
pub const DEFAULT_OUTPUT_TOKENS: u32 = 128;
/// The default input length of a synthetic prompt.
pub const DEFAULT_INPUT_TOKENS: TokenRange = TokenRange { min: 100, max: 200 };

impl Workload {
    fn new(source: Source) -> Self {
        Workload {
            source,
            output_tokens: DEFAULT_OUTPUT_TOKENS,
            exact_output: false,
            system: None,
            temperature: None,
            top_p: None,
            seed: 0,
            stop: Vec::new(),
        }
    }

    /// Synthetic prompts, generated offline from a seed, 100–200 tokens by
    /// default. Every prompt differs from its first words on, so provider
    /// prompt caches do not flatter TTFT.
    pub fn synthetic() -> Self {
        Workload::new(Source::Synthetic { input_tokens: DEFAULT_INPUT_TOKENS })
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

    /// The input length of synthetic prompts: a fixed count (`150`) or a
    /// range (`100..=200`), drawn uniformly per request. Ignored for fixed
    /// prompt lists.
    pub fn input_tokens(mut self, tokens: impl Into<TokenRange>) -> Self {
        if let Source::Synthetic { input_tokens } = &mut self.source {
            *input_tokens = tokens.into();
        }
        self
    }

    /// The output-token target: sent as `max_tokens`.
    pub fn output_tokens(mut self, tokens: u32) -> Self {
        self.output_tokens = tokens.max(1);
        self
    }

    /// Also ask the server to generate exactly the target length
    /// (`min_tokens` and `ignore_eos`, honoured by vLLM and some others), so
    /// TPOT and throughput compare like with like. Off by default.
    pub fn exact_output(mut self, exact: bool) -> Self {
        self.exact_output = exact;
        self
    }

    /// A system prompt sent before every user prompt.
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

    /// The seed of prompt generation (default 0). Same seed, same prompts.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
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

    /// The output-token target.
    pub fn max_output_tokens(&self) -> u32 {
        self.output_tokens
    }

    /// The request with index `index`: deterministic for a given seed.
    pub fn request(&self, index: u64) -> GenRequest {
        let mut messages = Vec::with_capacity(2);
        if let Some(system) = &self.system {
            messages.push(Message { role: Role::System, content: system.clone() });
        }
        let prompt = match &self.source {
            Source::Synthetic { input_tokens } => {
                let mut rng = Rng::for_item(self.seed, index);
                let tokens = rng.range_u64(input_tokens.min.into(), input_tokens.max.into());
                synthetic::prompt(&mut rng, tokens as u32)
            }
            Source::Prompts { prompts } => prompts[(index % prompts.len() as u64) as usize].clone(),
        };
        messages.push(Message { role: Role::User, content: prompt });
        GenRequest {
            messages,
            max_tokens: Some(self.output_tokens),
            min_tokens: self.exact_output.then_some(self.output_tokens),
            ignore_eos: self.exact_output,
            temperature: self.temperature,
            top_p: self.top_p,
            seed: None,
            stop: self.stop.clone(),
        }
    }

    /// The workload as JSON, for results files and fingerprints.
    pub(crate) fn describe(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
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
}
