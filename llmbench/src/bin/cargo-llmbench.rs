//! `cargo llmbench`: finds, builds and runs the workspace's llmbench benches.

fn main() {
    std::process::exit(llmbench::cargo_llmbench_main());
}
