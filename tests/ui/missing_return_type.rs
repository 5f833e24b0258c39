use llmbench::prelude::*;

#[llm_bench]
fn short() {
    let _ = Workload::synthetic();
}

fn main() {}
