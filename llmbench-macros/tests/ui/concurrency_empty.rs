use llmbench::prelude::*;

#[llm_bench(concurrency = [])]
fn short() -> Workload {
    Workload::synthetic()
}

fn main() {}
