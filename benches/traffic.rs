//! Real traffic against the simulator with a prefix cache (`sim-cache` in
//! llmbench.toml): multi-turn conversations, an agent calling a tool, a
//! shared system prompt and a production-shaped trace replayed at its own
//! timestamps. Each runs in a
//! few seconds; `cargo llmbench traffic` is not needed — filter by name,
//! e.g. `cargo llmbench conversation`.

use llmbench::prelude::*;

/// Support chats of 2–5 turns: each turn sends the whole conversation so
/// far with the replies the server gave, so TTFT grows with the history
/// (the per-turn line shows it), and the prefix cache serves the part of
/// the history the previous turn already sent. Four sessions in flight;
/// samples count sessions.
#[llm_bench(samples = 12, warmup = 2, concurrency = [4], targets = ["sim-cache"])]
fn conversation() -> Workload {
    Workload::conversation(2..=5)
        .input_tokens(60..=120)
        .output_tokens(32)
        .think_time(Delay::Exponential { mean: std::time::Duration::from_millis(80) })
}

/// The same chats from a file of sessions (datasets/sessions.jsonl), at
/// four sessions a second, open loop.
#[llm_bench(samples = 8, warmup = 1, rate = "4/s", targets = ["sim-cache"])]
fn support_sessions() -> Workload {
    Workload::sessions("datasets/sessions.jsonl").output_tokens(40).think_time(Delay::ms(50))
}

/// A 2,000-token system prompt shared by 90% of the requests: the level's
/// prompt-cache line gives the hit ratio and the TTFT of hits and misses.
#[llm_bench(samples = 40, warmup = 4, concurrency = [4], targets = ["sim-cache"])]
fn prefix_cache() -> Workload {
    Workload::synthetic().input_tokens(60..=100).output_tokens(24).shared_prefix(2000, 0.9)
}

/// An agent: three user turns, each answered by a call to a tool whose
/// canned result goes back before the model answers in text. The level's
/// `agent steps` line gives the TTFT after a tool result.
#[llm_bench(samples = 8, warmup = 1, concurrency = [4], targets = ["sim-cache"])]
fn agent_session() -> Workload {
    let schema = r#"{"type": "object", "required": ["order_id"], "properties": {"order_id": {"type": "string"}}}"#;
    Workload::conversation(3)
        .input_tokens(40..=80)
        .output_tokens(32)
        .tool("order_status", "Looks up an order", schema)
        .tool_result(r#"{"status": "shipped", "eta_days": 2}"#)
        .think_time(Delay::ms(50))
}

/// A Mooncake-shaped trace (datasets/traces/mooncake_sample.jsonl: 48
/// requests over 5 s, three shared prompt prefixes) replayed at twice its
/// speed, open loop from each request's traced instant.
#[llm_bench(samples = 44, warmup = 4, replay_speed = "2x", targets = ["sim-cache"])]
fn trace_replay() -> Workload {
    Workload::trace("datasets/traces/mooncake_sample.jsonl")
}

llmbench::main!();
