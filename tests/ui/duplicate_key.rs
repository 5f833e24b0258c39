use llmbench::prelude::*;

#[llm_bench(samples = 10, warmup = 1, samples = 20)]
fn short() -> Workload {
    Workload::synthetic()
}

fn main() {}
