use llmbench::llm_bench as bench;
use llmbench::prelude::*;

#[llm_bench(samples = 10)]
#[llm_bench(samples = 20)]
fn short() -> Workload {
    Workload::synthetic()
}

// Under another name the attribute cannot be recognised; the generated
// guard constant still catches it.
#[llm_bench]
#[bench]
fn long() -> Workload {
    Workload::synthetic()
}

fn main() {}
