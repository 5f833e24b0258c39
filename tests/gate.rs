//! The regression gate end to end, as a user runs it: the fixture workspace
//! of `common/` driven by the real `cargo llmbench` against the simulator on
//! 127.0.0.1, and the exit codes, files and messages of every gate path —
//! baselines saved, compared, missing, incomparable; limits passed and
//! failed; a real regression caught; `compare`; Markdown, JUnit, the GitHub
//! step summary and NDJSON events.
//!
//! One scenario, in order: each step builds on the files the previous wrote.

mod common;

use common::{Fixture, read_json};
use llmbench::exit_code;
use serde_json::Value;

/// The fixture's `short_questions` at concurrency 1 and 4, with enough
/// samples for verdicts (the gate judges from 30 requests) and a tenth of
/// the default bootstrap resamples: the fixture is built unoptimised
/// (tests/common), where 10,000 take seconds a comparison, and the verdicts
/// here are far from the edge. The CI gate (.ci/run) uses the default.
const SHORT: [&str; 8] =
    ["short_questions", "--exact", "--sample-size", "40", "--quiet", "--no-report", "--nresamples", "1000"];

/// The fixture's simulator with its first token 60% later (5 ms → 8 ms).
const SLOWER: &str = "[sim]\nttft = \"8ms\"\nitl = \"1ms\"\n";

#[test]
fn the_gate_end_to_end() {
    let fx = Fixture::new();
    let baselines = fx.scratch_path("baselines");
    let dir = baselines.to_str().unwrap();
    let home = fx.target_dir.join("llmbench");
    let run = |extra: &[&str]| common::run(&mut fx.cargo_llmbench(&[&SHORT[..], extra].concat()));

    // A strict baseline that does not exist: exit 2 before any request, saying how to make one.
    run(&["--baseline-dir", dir, "--baseline", "main"])
        .assert_built_nothing()
        .assert_code(exit_code::USAGE)
        .assert_stderr_contains("baseline \"main\" not found")
        .assert_stderr_contains("--save-baseline=main");

    // Save a baseline in a committed-style directory.
    run(&["--baseline-dir", dir, "--save-baseline=main"]).assert_code(exit_code::OK);
    for file in ["summary.json", "requests.jsonl"] {
        let path = baselines.join("short_questions/sim/main").join(file);
        assert!(path.is_file(), "{} was not written", path.display());
    }
    let records = std::fs::read_to_string(baselines.join("short_questions/sim/main/requests.jsonl")).unwrap();
    assert!(records.contains("\"level\":1"), "each record names its level row");

    // The same endpoint again: limits pass, with Markdown on stdout, JUnit
    // and the GitHub step summary. (No --fail-on-regression here: the
    // simulator's ITL tail really moves on a loaded machine.)
    let junit = fx.scratch_path("junit.xml");
    let step_summary = fx.scratch_path("step-summary.md");
    let mut cmd = fx.cargo_llmbench(&SHORT);
    cmd.args(["--baseline-dir", dir, "--baseline", "main", "--limit", "ttft.p50<=1s", "--limit", "ttft.p50=+50%"])
        .args(["--format", "md", "--junit", junit.to_str().unwrap()])
        .env("GITHUB_STEP_SUMMARY", &step_summary);
    let same = common::run(&mut cmd);
    same.assert_code(exit_code::OK);
    assert!(same.stdout.starts_with("## llmbench"), "Markdown on stdout\n{same}");
    for needle in ["### short\\_questions · sim", "| c=1 | ttft.p50 |", "| c=4 | ttft.p50 |", "Baseline: `main`"] {
        same.assert_stdout_contains(needle);
    }
    assert!(!same.stdout.contains("TTFT ms p50"), "tables go to stderr with --format md\n{same}");
    let summary = std::fs::read_to_string(&step_summary).expect("the step summary was appended");
    assert!(summary.contains("### short\\_questions · sim"), "{summary}");
    let xml = std::fs::read_to_string(&junit).expect("JUnit written");
    for needle in ["<testsuite name=\"short_questions · sim\"", "c=4 ttft.p50", "limit ttft.p50&lt;=1s"] {
        assert!(xml.contains(needle), "JUnit lacks {needle:?}:\n{xml}");
    }
    let change = home.join("short_questions/sim/change");
    let comparison = read_json(&change.join("comparison.json"));
    assert_eq!(comparison["baseline"]["name"], "main");
    assert_eq!(comparison["levels"][1]["level"], "c=4");
    assert_eq!(read_json(&change.join("limits.json"))["limits"].as_array().map(Vec::len), Some(4));

    // A failed absolute limit: exit 3, naming the limit, the value and the baseline.
    run(&["--baseline-dir", dir, "--baseline", "main", "--limit", "ttft.p50<=1ms"])
        .assert_code(exit_code::REGRESSION)
        .assert_stdout_contains("LIMIT FAILED at c=1: ttft.p50<=1ms: measured ")
        .assert_stdout_contains(" ms (baseline ");

    // The endpoint gets 60% slower to first token: regressed, exit 3 only when asked.
    let slower = fx.scratch_file("slower.toml", SLOWER);
    let slower = slower.to_str().unwrap();
    let events = run(&["--config", slower, "--baseline-dir", dir, "--baseline", "main", "--message-format", "json"]);
    events.assert_code(exit_code::OK);
    let events: Vec<Value> = events.stdout.lines().map(|l| serde_json::from_str(l).expect("NDJSON")).collect();
    let reasons: Vec<&str> = events.iter().map(|e| e["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["bench-started", "progress", "progress", "result", "comparison", "outcome", "finished"]);
    assert!(events.iter().all(|e| e["schema"] == "llmbench-event" && e["version"] == 1));
    assert_eq!(events[1]["level"], "c=1");
    let ttft = &events[4]["comparison"]["levels"][0]["metrics"][0];
    assert_eq!((ttft["metric"].as_str(), ttft["kind"].as_str()), (Some("ttft.p50"), Some("regressed")), "{ttft}");

    // Re-analyse that run without sending a request, now failing on it.
    run(&["--baseline-dir", dir, "--baseline", "main", "--load-baseline", "new"])
        .assert_code(exit_code::OK)
        .assert_stdout_contains("REGRESSED");
    run(&["--baseline-dir", dir, "--baseline", "main", "--load-baseline", "new", "--fail-on-regression"])
        .assert_code(exit_code::REGRESSION)
        .assert_stdout_contains("REGRESSED");

    // compare: two saved runs, no requests.
    let compare = |old: &str, new: &str| {
        let args = [old, new, "--baseline-dir", dir, "--fail-on-regression", "--nresamples", "1000"];
        common::run(&mut fx.cargo_llmbench_compare(&args))
    };
    compare("main", "new").assert_code(exit_code::REGRESSION);
    compare("main", "main").assert_code(exit_code::OK);

    // Different load settings: refused with the differences, unless forced.
    let other_load = ["--baseline-dir", dir, "--baseline", "main", "--concurrency", "2"];
    run(&other_load)
        .assert_code(exit_code::USAGE)
        .assert_stderr_contains("refusing to compare short_questions · sim")
        .assert_stderr_contains("settings.concurrency: [1,4] → [2]");
    run(&[&other_load[..], &["--force-compare"]].concat()).assert_code(exit_code::OK).assert_no_panic();

    // --discard-baseline writes nothing.
    let new_summary = home.join("short_questions/sim/new/summary.json");
    let before = std::fs::metadata(&new_summary).unwrap().modified().unwrap();
    let quick = ["short_questions", "--exact", "--sample-size", "5", "--quiet", "--no-report", "--discard-baseline"];
    common::run(&mut fx.cargo_llmbench(&quick)).assert_code(exit_code::OK);
    assert_eq!(before, std::fs::metadata(&new_summary).unwrap().modified().unwrap());
}
