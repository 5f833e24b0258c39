//! The metric dictionary of docs/metrics.md, as the report prints it: each
//! metric's definition and the names it carries in other tools.

use serde::Serialize;

/// One metric's definition.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Definition {
    /// The JSON key.
    pub(crate) key: &'static str,
    /// The name shown in tables.
    pub(crate) name: &'static str,
    /// What it measures.
    pub(crate) definition: &'static str,
    /// What other tools call it (empty when they agree).
    pub(crate) aliases: &'static str,
}

/// The metrics the report shows, in the order it shows them.
pub(crate) const DEFINITIONS: &[Definition] = &[
    Definition {
        key: "ttft",
        name: "TTFT",
        definition: "first_content − scheduled: from when the request was due to the first chunk with non-empty output content (role-only chunks do not count)",
        aliases: "TTFT everywhere; vLLM's chat benchmark counts the role-only chunk, llmbench does not",
    },
    Definition {
        key: "ttfo",
        name: "TTFO",
        definition: "first_answer − scheduled: like TTFT but the first non-reasoning content (differs only for reasoning models)",
        aliases: "aiperf/guidellm TTFO",
    },
    Definition {
        key: "thinking",
        name: "Thinking",
        definition: "first_answer − first_content: time a reasoning model spent reasoning before its first answer token (TTFO − TTFT)",
        aliases: "",
    },
    Definition {
        key: "reasoning_tokens",
        name: "Reasoning tokens",
        definition: "output tokens spent reasoning: usage completion_tokens_details.reasoning_tokens, else the output count split by the reasoning share of the streamed text (reasoning_source \"estimate\"); answer_tokens are the rest",
        aliases: "OpenAI reasoning_tokens; Anthropic and Bedrock bill thinking as output tokens without a count",
    },
    Definition {
        key: "ttftc",
        name: "TTFTC",
        definition: "first_tool_call − scheduled: until the first tool-call delta (the one naming the tool); tool_call: until the first call's arguments are complete",
        aliases: "",
    },
    Definition {
        key: "cache_hit_ratio",
        name: "Cache hit ratio",
        definition: "Σ cache-read prompt tokens / Σ prompt tokens (cached or not) over ok requests; TTFT is also split by requests that read from the cache and those that did not",
        aliases: "OpenAI cached_tokens, Anthropic cache_read_input_tokens, Bedrock cacheReadInputTokens",
    },
    Definition {
        key: "input_tokens_requested",
        name: "Input tokens requested",
        definition: "the prompt length the workload asked for; input_tokens_generated: the prompt sent, by the local tokenizer (images estimated at w·h/750); input_tokens: what the server counted — a level warns when two differ by more than 5%",
        aliases: "",
    },
    Definition {
        key: "ttfb",
        name: "TTFB",
        definition: "headers − sent: until the response status and headers arrived",
        aliases: "aiperf \"waiting\", llm-load-test tt_ack",
    },
    Definition {
        key: "queue",
        name: "queue",
        definition: "sent − scheduled: the client's own lag (≈0 in a healthy closed-loop run)",
        aliases: "vLLM client_queue_time, guidellm scheduler delay",
    },
    Definition {
        key: "tpot",
        name: "TPOT",
        definition: "(last_content − first_content) / (output_tokens − 1), per request with ≥ 2 output tokens",
        aliases: "vLLM/SGLang/LLMeter TPOT; aiperf \"ITL\"; guidellm \"ITL\"",
    },
    Definition {
        key: "ntpot",
        name: "NTPOT",
        definition: "e2e / output_tokens: latency per output token, TTFT included",
        aliases: "guidellm \"TPOT\", llm-load-test TPOT, inference-perf NTPOT",
    },
    Definition {
        key: "itl",
        name: "ITL",
        definition: "every gap between successive content chunks, pooled over requests",
        aliases: "vLLM ITL, aiperf ICL (inter-chunk latency)",
    },
    Definition {
        key: "e2e",
        name: "E2E",
        definition: "end − scheduled: from when the request was due to the last byte of the stream",
        aliases: "E2E latency, request latency; vLLM e2el (which stops at the last token chunk)",
    },
    Definition {
        key: "decode_tps",
        name: "decode speed",
        definition: "(output_tokens − 1) / (last_content − first_content): one request's output speed, tokens/s",
        aliases: "",
    },
    Definition {
        key: "output_tok_per_s",
        name: "output tok/s",
        definition: "Σ output tokens of ok requests / measured window (first measured scheduled → last measured end)",
        aliases: "output throughput",
    },
    Definition {
        key: "req_per_s",
        name: "req/s",
        definition: "ok requests / measured window",
        aliases: "request throughput",
    },
    Definition {
        key: "error_rate",
        name: "error rate",
        definition: "failed / attempted measured requests",
        aliases: "",
    },
    Definition {
        key: "goodput",
        name: "goodput",
        definition: "requests meeting every SLO / attempted (a failure is never good)",
        aliases: "",
    },
    Definition {
        key: "output_tokens",
        name: "output tokens",
        definition: "server-reported usage when present, else a local tokenizer, else the count of content chunks; the source is recorded",
        aliases: "",
    },
    Definition {
        key: "cold_start",
        name: "cold start",
        definition: "the very first request of a run, reported apart and never mixed into the samples",
        aliases: "",
    },
    Definition {
        key: "in_flight",
        name: "in flight",
        definition: "requests actually in flight over the window (time-weighted mean and max) beside the concurrency asked for",
        aliases: "",
    },
    Definition {
        key: "cost_per_ok_request",
        name: "cost / ok request",
        definition: "total cost / ok requests: failures still cost money; this is the number to budget on",
        aliases: "",
    },
];
