use llmbench::prelude::*;

#[llm_bench]
async fn short() -> Workload {
    Workload::synthetic()
}

fn main() {}
