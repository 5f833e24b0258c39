use llmbench::prelude::*;

#[llm_bench(sample = 100)]
fn short() -> Workload {
    Workload::synthetic()
}

fn main() {}
