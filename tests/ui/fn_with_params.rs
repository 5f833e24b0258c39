use llmbench::prelude::*;

#[llm_bench]
fn short(tokens: u32) -> Workload {
    Workload::synthetic().output_tokens(tokens)
}

fn main() {}
