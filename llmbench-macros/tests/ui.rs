//! Compile-fail tests of `#[llm_bench]`: each `tests/ui/*.rs` uses the
//! attribute through llmbench, as a user does, and must fail to build with
//! exactly the errors in its `.stderr` snapshot, so the messages and the code
//! they point at are reviewed like code.
//!
//! Regenerate the snapshots after changing a message with
//! `TRYBUILD=overwrite cargo test -p llmbench-macros --test ui`, then read
//! the diff. Compiler messages vary between Rust versions; these snapshots
//! are for the toolchain CI pins.

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.compile_fail("tests/ui/*.rs");
}
