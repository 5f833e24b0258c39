//! What the simulator makes of real traffic's request fields, whatever the
//! protocol: a prefix cache (prompts cut into blocks whose hashes chain, so
//! a block matches only with everything before it; cached tokens shorten
//! prefill and are reported in usage), reasoning (a share of the output
//! streamed as reasoning before the answer) and tool calls (arguments drawn
//! from the first tool's schema, streamed in pieces).

use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

use serde_json::{Map, Value};

/// Bytes of prompt text per cache block (about 64 tokens of English).
pub(crate) const BLOCK_BYTES: usize = 256;
/// Blocks the cache holds; the oldest go first.
const MAX_BLOCKS: usize = 1 << 20;
/// Characters of tool-call arguments per streamed piece (one token each).
const ARGUMENT_PIECE: usize = 4;

/// The prompt of a request as the cache sees it: its block hashes (each
/// chained to the ones before) and its length in bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct PromptBlocks {
    pub(crate) hashes: Vec<u64>,
    pub(crate) bytes: usize,
    /// Blocks up to this many may be written to the cache (a protocol with
    /// explicit cache points caches only up to the last one).
    pub(crate) cacheable: usize,
    /// The bytes after the last whole block, for [`with_answer`](Self::with_answer).
    tail: Vec<u8>,
}

impl PromptBlocks {
    /// The blocks of `text`; all of them cacheable unless `cache_upto`
    /// (bytes) says where the last cache point is.
    pub(crate) fn of(text: &str, cache_upto: Option<usize>) -> PromptBlocks {
        let mut blocks = PromptBlocks { hashes: Vec::with_capacity(text.len() / BLOCK_BYTES), ..Default::default() };
        blocks.push(text.as_bytes());
        blocks.cacheable = cache_upto.map_or(blocks.hashes.len(), |b| (b / BLOCK_BYTES).min(blocks.hashes.len()));
        blocks
    }

    /// The prompt and then the answer to it, as the next turn of a chat
    /// sends them back (`chat_text`'s form of an assistant message): what
    /// a server that caches generated tokens too has cached after answering.
    pub(crate) fn with_answer(&self, answer: &str) -> PromptBlocks {
        let mut blocks = self.clone();
        for part in [&b"assistant:"[..], answer.as_bytes(), b"\n"] {
            blocks.push(part);
        }
        blocks.cacheable = blocks.hashes.len();
        blocks
    }

    fn push(&mut self, mut more: &[u8]) {
        self.bytes += more.len();
        while !more.is_empty() {
            let take = (BLOCK_BYTES - self.tail.len()).min(more.len());
            self.tail.extend_from_slice(&more[..take]);
            more = &more[take..];
            if self.tail.len() == BLOCK_BYTES {
                let mut h = std::hash::DefaultHasher::new();
                self.hashes.last().copied().unwrap_or(0).hash(&mut h);
                self.tail.as_slice().hash(&mut h);
                self.hashes.push(h.finish());
                self.tail.clear();
            }
        }
    }
}

/// The simulator's prefix cache, shared by every connection.
#[derive(Debug, Default)]
pub(crate) struct PrefixCache {
    inner: Mutex<(HashSet<u64>, VecDeque<u64>)>,
}

/// What the cache did for one request, in tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CacheUse {
    /// Prompt tokens read from the cache.
    pub(crate) read: u32,
    /// Prompt tokens written to it.
    pub(crate) written: u32,
}

impl PrefixCache {
    /// Looks `prompt` up (the leading blocks already cached are read) and
    /// caches its cacheable blocks; `prompt_tokens` is split between the
    /// two by bytes.
    pub(crate) fn serve(&self, prompt: &PromptBlocks, prompt_tokens: u32) -> CacheUse {
        let mut guard = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (set, order) = &mut *guard;
        let hit = prompt.hashes.iter().take_while(|h| set.contains(h)).count();
        let written = remember(set, order, &prompt.hashes[hit.min(prompt.cacheable)..prompt.cacheable]);
        let tokens = |blocks: usize| {
            let share = (blocks * BLOCK_BYTES) as f64 / prompt.bytes.max(1) as f64;
            ((f64::from(prompt_tokens) * share).floor() as u32).min(prompt_tokens)
        };
        CacheUse { read: tokens(hit), written: tokens(written) }
    }
}

impl PrefixCache {
    /// Caches the cacheable blocks of `prompt` (e.g. a prompt and the
    /// answer generated for it), counting nothing.
    pub(crate) fn insert(&self, prompt: &PromptBlocks) {
        let mut guard = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (set, order) = &mut *guard;
        remember(set, order, &prompt.hashes[..prompt.cacheable]);
    }
}

/// Adds the blocks not cached yet, evicting the oldest past
/// [`MAX_BLOCKS`]; how many were new.
fn remember(set: &mut HashSet<u64>, order: &mut VecDeque<u64>, hashes: &[u64]) -> usize {
    let mut written = 0;
    for &h in hashes {
        if set.insert(h) {
            written += 1;
            order.push_back(h);
        }
    }
    while order.len() > MAX_BLOCKS {
        if let Some(old) = order.pop_front() {
            set.remove(&old);
        }
    }
    written
}

/// A chat request's text as the cache sees it: each message's role and
/// text in order (images and other parts left out), and the byte offset
/// after the last part marked as a cache point (Anthropic `cache_control`,
/// Bedrock `cachePoint`), if any.
pub(crate) fn chat_text(system: Option<&Value>, messages: &[Value]) -> (String, Option<usize>) {
    let mut text = String::new();
    let mut cache_point = None;
    if let Some(system) = system {
        text.push_str("system:");
        push_content(&mut text, system, &mut cache_point);
        text.push('\n');
    }
    for m in messages {
        text.push_str(m.get("role").and_then(Value::as_str).unwrap_or(""));
        text.push(':');
        if let Some(content) = m.get("content") {
            push_content(&mut text, content, &mut cache_point);
        }
        text.push('\n');
    }
    (text, cache_point)
}

fn push_content(text: &mut String, content: &Value, cache_point: &mut Option<usize>) {
    match content {
        Value::String(s) => text.push_str(s),
        Value::Array(parts) => {
            for part in parts {
                if let Some(s) = part.get("text").and_then(Value::as_str) {
                    text.push_str(s);
                }
                if part.get("cache_control").is_some() || part.get("cachePoint").is_some() {
                    *cache_point = Some(text.len());
                }
            }
        }
        _ => {}
    }
}

/// How much of an answer is reasoning: half of it (at least one token
/// when there are two), capped by a thinking budget when one was given.
pub(crate) fn reasoning_tokens(output_tokens: u32, budget: Option<u32>) -> u32 {
    let half = output_tokens / 2;
    budget.map_or(half, |b| half.min(b))
}

/// A tool call the simulated model makes: the first declared tool, with
/// arguments drawn from its schema, cut into streamed pieces.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ToolPlan {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) pieces: Vec<String>,
}

impl ToolPlan {
    /// The call to `name` with arguments for `schema`, for response `n`.
    pub(crate) fn new(name: &str, schema: &Value, n: u64) -> ToolPlan {
        let args = arguments(schema).to_string();
        let chars: Vec<char> = args.chars().collect();
        let pieces = chars.chunks(ARGUMENT_PIECE).map(|c| c.iter().collect()).collect();
        ToolPlan { id: format!("call_sim_{n}"), name: name.to_owned(), pieces }
    }

    /// The arguments, whole.
    #[cfg(test)]
    pub(crate) fn arguments(&self) -> String {
        self.pieces.concat()
    }
}

/// Arguments that satisfy a JSON Schema's common keywords: each required
/// property (every property when none is required) with a value of its
/// type, its first `enum` value or its `const`.
pub(crate) fn arguments(schema: &Value) -> Value {
    if let Some(c) = schema.get("const") {
        return c.clone();
    }
    if let Some(first) = schema.get("enum").and_then(Value::as_array).and_then(|e| e.first()) {
        return first.clone();
    }
    match schema.get("type").and_then(Value::as_str).unwrap_or("object") {
        "string" => Value::from("sim"),
        "integer" => Value::from(schema.get("minimum").and_then(Value::as_i64).unwrap_or(1)),
        "number" => Value::from(schema.get("minimum").and_then(Value::as_f64).unwrap_or(1.5)),
        "boolean" => Value::Bool(true),
        "array" => Value::Array(Vec::new()),
        "null" => Value::Null,
        _ => {
            let props = schema.get("properties").and_then(Value::as_object);
            let required: Vec<&str> = match schema.get("required").and_then(Value::as_array) {
                Some(r) => r.iter().filter_map(Value::as_str).collect(),
                None => props.map(|p| p.keys().map(String::as_str).collect()).unwrap_or_default(),
            };
            let mut out = Map::new();
            for key in required {
                let sub = props.and_then(|p| p.get(key)).cloned().unwrap_or(Value::Null);
                out.insert(key.to_owned(), arguments(&sub));
            }
            Value::Object(out)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_shared_prefix_is_read_back_and_a_changed_one_is_not() {
        let cache = PrefixCache::default();
        let doc = "x".repeat(BLOCK_BYTES * 4);
        let a = PromptBlocks::of(&format!("{doc}question one"), None);
        let b = PromptBlocks::of(&format!("{doc}question two, longer"), None);
        assert_eq!(
            cache.serve(&a, 1000),
            CacheUse { read: 0, written: 1000 * 4 * BLOCK_BYTES as u32 / a.bytes as u32 }
        );
        let use_b = cache.serve(&b, 500);
        assert_eq!(use_b.read, (500.0 * (4 * BLOCK_BYTES) as f64 / b.bytes as f64).floor() as u32);
        assert_eq!(use_b.written, 0, "nothing new past the shared blocks fills a whole block");
        let other = PromptBlocks::of(&format!("y{doc}"), None);
        assert_eq!(cache.serve(&other, 100).read, 0, "a different first block matches nothing after it");
        let pointed = PromptBlocks::of(&"z".repeat(BLOCK_BYTES * 3), Some(BLOCK_BYTES + 10));
        assert_eq!(pointed.cacheable, 1, "only up to the cache point");
    }

    #[test]
    fn an_answer_is_cached_for_the_turn_that_sends_it_back() {
        let cache = PrefixCache::default();
        let user = json!({"role": "user", "content": "q ".repeat(300)});
        let answer = " the answer".repeat(60);
        let (first, _) = chat_text(None, std::slice::from_ref(&user));
        let first = PromptBlocks::of(&first, None);
        // The streaming of blocks matches hashing the whole text at once.
        assert_eq!(
            first.with_answer(&answer).hashes,
            PromptBlocks::of(&format!("{}assistant:{answer}\n", chat_text(None, std::slice::from_ref(&user)).0), None)
                .hashes
        );
        cache.serve(&first, 150);
        let next = [user, json!({"role": "assistant", "content": answer}), json!({"role": "user", "content": "more"})];
        let (text, _) = chat_text(None, &next);
        let next = PromptBlocks::of(&text, None);
        let without = PrefixCache::default();
        without.serve(&first, 150);
        let before = without.serve(&next, 400).read;
        cache.insert(&first.with_answer(&answer));
        let after = cache.serve(&next, 400).read;
        assert!(after > before + 100, "the answer's blocks hit too: {before} → {after} of 400 tokens");
        // Every whole block of the prompt and answer hits, not the last, partial one.
        let answered = first.with_answer(&answer).hashes.len();
        assert_eq!(after, (400.0 * (answered * BLOCK_BYTES) as f64 / next.bytes as f64).floor() as u32);
    }

    #[test]
    fn cache_points_and_arguments() {
        let (text, point) = chat_text(
            Some(&json!([{"type": "text", "text": "sys", "cache_control": {"type": "ephemeral"}}])),
            &[json!({"role": "user", "content": "hi"})],
        );
        assert_eq!(text, "system:sys\nuser:hi\n");
        assert_eq!(point, Some("system:sys".len()));
        let schema = json!({"type": "object", "required": ["city", "days"],
            "properties": {"city": {"type": "string"}, "days": {"type": "integer", "minimum": 2}, "x": {}}});
        assert_eq!(arguments(&schema), json!({"city": "sim", "days": 2}));
        let plan = ToolPlan::new("get_weather", &schema, 7);
        assert_eq!(plan.arguments(), r#"{"city":"sim","days":2}"#);
        assert!(plan.pieces.iter().all(|p| p.chars().count() <= ARGUMENT_PIECE));
        assert_eq!((reasoning_tokens(10, None), reasoning_tokens(10, Some(3)), reasoning_tokens(1, None)), (5, 3, 0));
    }
}
