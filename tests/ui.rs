//! Compile-fail tests of `#[llm_bench]`: each `tests/ui/NAME.rs` uses the
//! attribute through llmbench, as a user does, and must fail to build with
//! exactly the errors in `tests/ui/NAME.stderr`, so the messages, the code
//! they point at and the compiler's suggestions are reviewed like code.
//!
//! The cases build as examples of the end-to-end fixture (tests/common), in
//! one `cargo build --keep-going` that links the llmbench the other
//! scenarios already built: no second build of every dependency. Each
//! snapshot lists a case's errors as cargo's JSON messages give them: the
//! message, where it points in the case, and the notes and suggestions under
//! it (their places in llmbench's own sources are left out, so editing
//! llmbench does not churn the snapshots).
//!
//! After changing a message, regenerate with
//! `LLMBENCH_BLESS=1 cargo test --test ui` and read the diff. Compiler
//! messages vary between Rust versions; these are for the toolchain CI uses.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

#[test]
fn compile_errors_point_at_the_mistake() {
    let fx = common::Fixture::new();
    let run =
        common::run(&mut fx.cargo("build", &["--release", "--examples", "--keep-going", "--message-format=json"]));
    assert_eq!(run.code(), Some(101), "every case must fail to build\n{run}");

    let mut actual: BTreeMap<String, String> = BTreeMap::new();
    for line in run.stdout.lines().filter(|l| l.starts_with('{')) {
        let message: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("cargo printed bad JSON: {e}\n{line}"));
        let case = message["target"]["name"].as_str().and_then(|n| n.strip_prefix(common::UI_PREFIX));
        if let (Some(case), "compiler-message", "error") =
            (case, message["reason"].as_str().unwrap_or(""), message["message"]["level"].as_str().unwrap_or(""))
        {
            render(actual.entry(case.to_owned()).or_default(), case, &message["message"]);
        }
    }

    let bless = std::env::var_os("LLMBENCH_BLESS").is_some();
    let mut failures = String::new();
    for case in common::ui_cases() {
        let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui").join(format!("{case}.stderr"));
        let got = actual.remove(&case).unwrap_or_default();
        if bless {
            std::fs::write(&snapshot, &got).unwrap_or_else(|e| panic!("writing {}: {e}", snapshot.display()));
            continue;
        }
        let expected = std::fs::read_to_string(&snapshot).unwrap_or_default();
        if got.is_empty() {
            let _ = writeln!(failures, "tests/ui/{case}.rs built without an error");
        } else if got != expected {
            let _ = writeln!(failures, "tests/ui/{case}.rs: expected\n{expected}\ngot\n{got}");
        }
    }
    assert!(failures.is_empty(), "{failures}(LLMBENCH_BLESS=1 rewrites the snapshots)\n{run}");
}

/// One diagnostic: `error[CODE]: message`, its primary place in the case
/// and label, then each note or help with the replacement it suggests.
fn render(out: &mut String, case: &str, message: &Value) {
    let code = message["code"]["code"].as_str().map(|c| format!("[{c}]")).unwrap_or_default();
    let _ = writeln!(out, "error{code}: {}", text(&message["message"]));
    let spans = message["spans"].as_array().map(Vec::as_slice).unwrap_or_default();
    for span in spans.iter().filter(|s| s["is_primary"] == true) {
        let file = span["file_name"].as_str().unwrap_or_default();
        let place = match file.ends_with(&format!("{}{case}.rs", common::UI_PREFIX)) {
            true => format!("tests/ui/{case}.rs:{}:{}", span["line_start"], span["column_start"]),
            false => "(in llmbench)".to_owned(),
        };
        let _ = match span["label"].is_string() {
            true => writeln!(out, "  --> {place}: {}", text(&span["label"])),
            false => writeln!(out, "  --> {place}"),
        };
    }
    for child in message["children"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let level = child["level"].as_str().unwrap_or("note");
        let _ = write!(out, "  = {level}: {}", text(&child["message"]));
        let spans = child["spans"].as_array().map(Vec::as_slice).unwrap_or_default();
        for replacement in spans.iter().filter_map(|s| s["suggested_replacement"].as_str()) {
            let _ = write!(out, " `{replacement}`");
        }
        out.push('\n');
    }
}

/// A message on one line (some span several, e.g. "expected X\nfound Y").
fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().split_whitespace().collect::<Vec<_>>().join(" ")
}
