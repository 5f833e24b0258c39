use llmbench::prelude::*;

#[llm_bench(ignore = std::env::var("API_KEY"))]
fn short() -> Workload {
    Workload::synthetic()
}

fn main() {}
