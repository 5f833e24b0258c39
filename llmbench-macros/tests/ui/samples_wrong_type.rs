use llmbench::prelude::*;

#[llm_bench(samples = "100")]
fn short() -> Workload {
    Workload::synthetic()
}

fn main() {}
