//! `llmbench`: the same program as `cargo llmbench`, as a plain command
//! (`llmbench run --url …`, `llmbench init`, `llmbench sim`).

fn main() {
    std::process::exit(llmbench::cargo_llmbench_main());
}
