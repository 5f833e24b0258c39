//! Offline synthetic prompt text: plausible English sentences drawn from an
//! embedded vocabulary, sized to a token count as the workload's
//! [`Tokenizer`] counts it (or, without one, at four characters a token).

use crate::rng::Rng;
use crate::tokenizer::Tokenizer;

const WORDS: &[&str] = &[
    "system",
    "customer",
    "request",
    "latency",
    "model",
    "answer",
    "question",
    "report",
    "service",
    "account",
    "order",
    "delivery",
    "invoice",
    "support",
    "ticket",
    "engineer",
    "deploy",
    "release",
    "review",
    "change",
    "database",
    "query",
    "index",
    "cache",
    "memory",
    "network",
    "server",
    "client",
    "token",
    "stream",
    "error",
    "timeout",
    "retry",
    "budget",
    "cost",
    "price",
    "region",
    "endpoint",
    "user",
    "team",
    "product",
    "feature",
    "design",
    "document",
    "summary",
    "detail",
    "example",
    "result",
    "value",
    "number",
    "table",
    "column",
    "row",
    "record",
    "event",
    "message",
    "queue",
    "batch",
    "window",
    "metric",
    "alert",
    "incident",
    "policy",
    "rule",
    "contract",
    "payment",
    "refund",
    "shipping",
    "warehouse",
    "supplier",
    "schedule",
    "meeting",
    "project",
    "milestone",
    "risk",
    "plan",
    "goal",
    "quarter",
    "revenue",
    "growth",
    "market",
    "launch",
    "partner",
    "legal",
    "privacy",
    "security",
    "access",
    "password",
    "login",
    "profile",
    "setting",
    "option",
    "version",
    "update",
    "quickly",
    "carefully",
    "recently",
    "usually",
    "often",
    "rarely",
    "clearly",
    "nearly",
    "mostly",
    "again",
    "new",
    "old",
    "large",
    "small",
    "slow",
    "fast",
    "simple",
    "complex",
    "early",
    "late",
    "open",
    "closed",
    "the",
    "a",
    "this",
    "that",
    "every",
    "some",
    "each",
    "our",
    "their",
    "its",
    "with",
    "without",
    "after",
    "before",
    "during",
    "under",
    "over",
    "between",
    "about",
    "against",
    "for",
    "from",
    "into",
    "through",
    "checks",
    "returns",
    "sends",
    "keeps",
    "moves",
    "builds",
    "reads",
    "writes",
    "fails",
    "waits",
    "starts",
    "stops",
    "needs",
    "shows",
    "explains",
    "expects",
    "improves",
    "reduces",
    "handles",
    "tracks",
    "compares",
];

const INSTRUCTIONS: &[&str] = &[
    "Summarise the text above in a few sentences.",
    "Answer the question implied by the text above.",
    "List the main points of the text above.",
    "Explain the text above to a new colleague.",
    "Suggest next steps based on the text above.",
];

/// A prompt of `tokens` tokens by `tokenizer` (the closest it gets, at most
/// a token or two off). The first word is drawn from the whole vocabulary,
/// so two prompts rarely share a prefix.
pub(crate) fn prompt(rng: &mut Rng, tokens: u32, tokenizer: &Tokenizer) -> String {
    if tokenizer.is_estimate() {
        return heuristic_prompt(rng, tokens);
    }
    let instruction = INSTRUCTIONS[rng.range_u64(0, INSTRUCTIONS.len() as u64 - 1) as usize];
    let overhead = tokenizer.count(instruction) + 1;
    // (word, ends its sentence), drawn in order: the same seed always
    // draws the same words, however many rounds the sizing takes.
    let mut words: Vec<(&'static str, bool)> = Vec::new();
    let mut want = tokens.saturating_sub(overhead) as usize;
    let mut sentence_len = 0;
    let mut best: Option<(u32, String)> = None;
    for _ in 0..12 {
        while words.len() < want {
            let word = WORDS[rng.range_u64(0, WORDS.len() as u64 - 1) as usize];
            sentence_len += 1;
            let ends = sentence_len >= 6 && rng.range_u64(0, 5) == 0;
            if ends {
                sentence_len = 0;
            }
            words.push((word, ends));
        }
        words.truncate(want);
        let text = render(&words, instruction);
        let n = tokenizer.count(&text);
        let off = n.abs_diff(tokens);
        if best.as_ref().is_none_or(|(b, _)| off < *b) {
            best = Some((off, text));
        }
        if off == 0 || (n > tokens && words.is_empty()) {
            break;
        }
        // Most words are one token: move by the difference.
        let next = (want as i64 + i64::from(tokens) - i64::from(n)).max(0) as usize;
        if next == want {
            break;
        }
        want = next;
    }
    best.map(|(_, text)| text).unwrap_or_else(|| instruction.to_owned())
}

/// `words` as sentences (capitalised, each ending with a full stop), then
/// the instruction.
fn render(words: &[(&str, bool)], instruction: &str) -> String {
    let mut out = String::with_capacity(words.len() * 8 + instruction.len() + 2);
    let mut start = true;
    for (i, &(word, ends)) in words.iter().enumerate() {
        if !out.is_empty() {
            out.push(' ');
        }
        if start {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        } else {
            out.push_str(word);
        }
        start = ends;
        if ends || i + 1 == words.len() {
            out.push('.');
        }
    }
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(instruction);
    out
}

/// A prompt of about `tokens` tokens at four characters a token: how
/// prompts were sized before a tokenizer was built in (docs/load.md
/// measures how far off that was).
pub(crate) fn heuristic_prompt(rng: &mut Rng, tokens: u32) -> String {
    let instruction = INSTRUCTIONS[rng.range_u64(0, INSTRUCTIONS.len() as u64 - 1) as usize];
    let target_chars = (tokens as usize * 4).saturating_sub(instruction.len() + 1);
    let mut out = String::with_capacity(target_chars + instruction.len() + 16);
    let mut sentence_len = 0;
    while out.len() < target_chars {
        let word = WORDS[rng.range_u64(0, WORDS.len() as u64 - 1) as usize];
        if sentence_len == 0 {
            if !out.is_empty() {
                out.push(' ');
            }
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
        } else {
            out.push(' ');
            out.push_str(word);
        }
        sentence_len += 1;
        if sentence_len >= 6 && rng.range_u64(0, 5) == 0 {
            out.push('.');
            sentence_len = 0;
        }
    }
    if sentence_len > 0 {
        out.push('.');
    }
    if !out.is_empty() {
        out.push(' ');
    }
    out.push_str(instruction);
    out
}
