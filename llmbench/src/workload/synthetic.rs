//! Offline synthetic prompt text: plausible English sentences drawn from an
//! embedded vocabulary, sized with the token estimate of
//! [`estimate_tokens`](super::estimate_tokens).

use crate::rng::Rng;

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

/// A prompt of about `tokens` estimated tokens. The first word is drawn
/// from the whole vocabulary, so two prompts rarely share a prefix.
pub(super) fn prompt(rng: &mut Rng, tokens: u32) -> String {
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
