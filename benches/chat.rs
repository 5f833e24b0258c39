//! This repository's own benchmarks: realistic chat shapes against the
//! default target (the simulator), run by `cargo llmbench`.

use llmbench::prelude::*;

/// What most users send: a short question, a short answer.
#[llm_bench(samples = 60, warmup = 5, concurrency = [1, 8])]
fn short_questions() -> Workload {
    Workload::synthetic().input_tokens(100..=200).output_tokens(64).temperature(0.7)
}

/// A medium document to summarise.
#[llm_bench(samples = 40, warmup = 4, concurrency = [4])]
fn summarise_document() -> Workload {
    Workload::synthetic()
        .input_tokens(500..=1000)
        .output_tokens(128)
        .system("You summarise documents for busy engineers.")
        .temperature(0.2)
}

/// The prompts a support desk really sends: tickets to triage, code
/// questions and documents to summarise (datasets/support.jsonl rendered
/// through datasets/prompt.j2 and system.j2), arriving as independent users
/// do — Poisson, 8 per second — with every answer checked for content.
#[llm_bench(
    samples = 60,
    warmup = 5,
    rate = "8/s",
    arrival = "poisson",
    check = |resp| !resp.text.trim().is_empty()
)]
fn support_desk() -> Workload {
    Workload::dataset("datasets/support.jsonl")
        .template("datasets/prompt.j2")
        .system_template("datasets/system.j2")
        .output_tokens(128)
        .cache_bust(true)
}

/// Where does the endpoint stop scaling? Concurrency past the simulator's
/// 16 slots: the sweep reports the knee and the most load meeting the SLOs.
#[llm_bench(samples = 40, warmup = 4, sweep = [4, 8, 16, 32], slo = "ttft <= 200ms, tpot <= 20ms, goodput >= 99%")]
fn capacity_sweep() -> Workload {
    Workload::class(LengthClass::Short).output_tokens(32)
}

/// A traffic spike: 4 requests/s, five times that for 2 s, then back —
/// each stage reported on its own row.
#[llm_bench(warmup = 2, stages = "spike:4/s*5:10s", arrival = "constant")]
fn traffic_spike() -> Workload {
    Workload::mix(&llmbench::workload::DEFAULT_MIX).output_tokens(48)
}

llmbench::main!();
