use llmbench::prelude::*;

#[llm_bench(samples = 0)]
fn short() -> Workload {
    Workload::synthetic()
}

fn main() {}
