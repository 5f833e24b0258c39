use llmbench::prelude::*;

#[llm_bench(limits = [ttft_p50, "ttft.p50 5%"])]
fn short() -> Workload {
    Workload::synthetic()
}

fn main() {}
