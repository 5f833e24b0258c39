use llmbench::prelude::*;

#[llm_bench(arrival = "bursty", duration = "1.5m", max_in_flight = 0, params = { temprature = [0.7] })]
fn loaded() -> Workload {
    Workload::synthetic()
}

fn main() {}
