use llmbench::prelude::*;

#[llm_bench(samples = 10)]
struct Short {
    workload: Workload,
}

fn main() {}
