use llmbench::prelude::*;

#[llm_bench]
fn short() -> String {
    "what is rust?".to_owned()
}

fn main() {}
