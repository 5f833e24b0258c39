use llmbench::prelude::*;

#[llm_bench(timeout = "30h")]
fn short() -> Workload {
    Workload::synthetic()
}

fn main() {}
