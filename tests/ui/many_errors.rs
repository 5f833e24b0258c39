use llmbench::prelude::*;

// Every mistake is reported at once, and `short` still exists for the rest
// of the file: `main` below compiles. (Values are checked by llmbench's
// grammar when the binary starts: `samples = 0` is an error naming this
// file, line and key, exit code 2.)
#[llm_bench(samples = N, warmup, concurrency = [1, two], targets = [local], samples = 3)]
async fn short<T>() -> Workload {
    Workload::synthetic()
}

fn main() {
    let _ = short::<u8>();
}
