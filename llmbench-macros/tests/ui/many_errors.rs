use llmbench::prelude::*;

// Every mistake is reported at once, and `short` still exists for the rest
// of the file: `main` below compiles.
#[llm_bench(samples = 0, warmup = -1, concurrency = [1, 0, 1], targets = [local], timeout = 0)]
async fn short<T>() -> Workload {
    Workload::synthetic()
}

fn main() {
    let _ = short::<u8>();
}
