use llmbench::prelude::*;

// A check returns bool or Result<(), impl Display>, nothing else.
#[llm_bench(check = |resp| resp.text.len())]
fn checked() -> Workload {
    Workload::synthetic()
}

fn main() {}
