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

llmbench::main!();
