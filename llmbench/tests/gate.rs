//! The regression gate end to end, as a user runs it: a fixture workspace in
//! a temporary directory, `cargo llmbench` against the built-in simulator,
//! and the exit codes, files and messages of every gate path — baselines
//! saved, compared, missing, incomparable; limits passed and failed; a real
//! regression caught; `compare`; Markdown, JUnit and JSON output.
//!
//! The fixture builds in release mode into `target/tmp/gate-fixture-target`
//! (kept between runs, so only the first run pays for the dependencies), with
//! this repository's Cargo.lock and `CARGO_NET_OFFLINE`: it never reaches the
//! network. Everything runs against the simulator on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BENCH: &str = r#"
use llmbench::prelude::*;

/// A short question.
#[llm_bench(samples = 30, warmup = 2, limits = ["error_rate<=1%"])]
fn short() -> Workload {
    Workload::synthetic().input_tokens(20).output_tokens(8)
}

llmbench::main!();
"#;

const BAD_BENCH: &str = r#"
use llmbench::prelude::*;

#[llm_bench(limits = ["ttft<=5ms"])]
fn malformed() -> Workload {
    Workload::synthetic().output_tokens(2)
}

llmbench::main!();
"#;

fn config(ttft_ms: u32) -> String {
    format!("[defaults]\ntimeout = \"10s\"\n\n[sim]\nttft = \"{ttft_ms}ms\"\nitl = \"10ms\"\n")
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    target: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_owned();
        let llmbench = Path::new(env!("CARGO_MANIFEST_DIR"));
        let manifest = format!(
            "[package]\nname = \"gate-fixture\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\nllmbench = {{ path = {:?} }}\n\n\
             [[bench]]\nname = \"good\"\nharness = false\n\n[[bench]]\nname = \"bad\"\nharness = false\n\n\
             [profile.release]\ndebug = false\n\n[workspace]\n",
            llmbench.display().to_string()
        );
        std::fs::write(root.join("Cargo.toml"), manifest).unwrap();
        std::fs::copy(llmbench.join("../Cargo.lock"), root.join("Cargo.lock")).unwrap();
        std::fs::create_dir_all(root.join("benches")).unwrap();
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(root.join("src/lib.rs"), "").unwrap();
        std::fs::write(root.join("benches/good.rs"), BENCH).unwrap();
        std::fs::write(root.join("benches/bad.rs"), BAD_BENCH).unwrap();
        std::fs::write(root.join("llmbench.toml"), config(100)).unwrap();
        let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("gate-fixture-target");
        Fixture { _dir: dir, root, target }
    }

    fn cargo_llmbench(&self, args: &[&str]) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_cargo-llmbench"))
            .arg("llmbench")
            .args(args)
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", &self.target)
            .env("LLMBENCH_HOME", self.root.join("results"))
            .env("CARGO_NET_OFFLINE", "true")
            .env_remove("GITHUB_STEP_SUMMARY")
            .env_remove("LLMBENCH_BASELINE_DIR")
            .output()
            .expect("cargo-llmbench runs");
        eprintln!(
            "$ cargo llmbench {}\n-> {:?}\n--- stdout\n{}--- stderr\n{}",
            args.join(" "),
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[test]
fn the_gate_end_to_end() {
    let f = Fixture::new();
    let baselines = f.root.join("baselines");
    let dir = baselines.to_str().unwrap();
    let good = ["--bench", "good", "--quiet"];
    let run = |extra: &[&str]| f.cargo_llmbench(&[&good[..], extra].concat());

    // A malformed limit in the attribute: exit 2 before any request, naming it.
    let out = f.cargo_llmbench(&["--bench", "bad"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(
        text(&out).contains("#[llm_bench] limits of malformed") && text(&out).contains("invalid limit \"ttft<=5ms\"")
    );

    // A strict baseline that does not exist: exit 2, saying how to make one.
    let out = run(&["--baseline-dir", dir, "--baseline", "main"]);
    assert_eq!(code(&out), 2);
    assert!(text(&out).contains("baseline \"main\" not found") && text(&out).contains("--save-baseline=main"));

    // Save a baseline in a committed-style directory (the FILTER still works).
    let out = run(&["short", "--baseline-dir", dir, "--save-baseline=main"]);
    assert_eq!(code(&out), 0);
    for file in ["summary.json", "requests.jsonl"] {
        assert!(baselines.join("short/sim/main").join(file).is_file(), "{file}");
    }
    assert!(f.root.join("results/short/sim/new/summary.json").is_file());

    // Same endpoint again: limits pass; Markdown and JUnit. (No
    // --fail-on-regression here: on a loaded machine the simulator's ITL tail
    // really moves between runs, and the gate would rightly say so.)
    let junit = f.root.join("junit.xml");
    let out = run(&[
        "--baseline-dir",
        dir,
        "--baseline",
        "main",
        "--limit",
        "ttft.p50<=1s",
        "--limit",
        "ttft.p50=+20%",
        "--format",
        "md",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(md.starts_with("## llmbench"), "{md}");
    assert!(
        md.contains("### short · sim") && md.contains("| 1 | ttft.p50 |") && md.contains("Baseline: `main`"),
        "{md}"
    );
    assert!(!md.contains("Summary of"), "tables go to stderr with --format md");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("<testsuite name=\"short · sim\"")
            && xml.contains("c=1 ttft.p50")
            && xml.contains("limit ttft.p50&lt;=1s"),
        "{xml}"
    );
    assert!(f.root.join("results/short/sim/change/comparison.json").is_file());

    // A failed absolute limit: exit 3, naming the limit, the value and the baseline.
    let out = run(&["--baseline-dir", dir, "--baseline", "main", "--limit", "ttft.p50<=1ms"]);
    assert_eq!(code(&out), 3);
    assert!(text(&out).contains("LIMIT FAILED at c=1: ttft.p50<=1ms: measured 10"), "{}", text(&out));
    assert!(text(&out).contains("(baseline 10"), "{}", text(&out));

    // The endpoint gets 50% slower to first token: regressed, exit 3 only when asked.
    std::fs::write(f.root.join("llmbench.toml"), config(150)).unwrap();
    let out = run(&["--baseline-dir", dir, "--baseline", "main", "--message-format", "json"]);
    assert_eq!(code(&out), 0, "without --fail-on-regression a regression is reported, not fatal");
    let events: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).expect("NDJSON")).collect();
    let reasons: Vec<&str> = events.iter().map(|e| e["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons, ["bench-started", "progress", "result", "comparison", "limits", "finished"]);
    assert!(events.iter().all(|e| e["schema"] == "llmbench-event" && e["version"] == 1));
    let ttft = events[3]["comparison"]["levels"][0]["metrics"][0].clone();
    assert_eq!((ttft["metric"].as_str(), ttft["kind"].as_str()), (Some("ttft.p50"), Some("regressed")), "{ttft}");
    // Re-analyse that run without sending a request, now failing on it.
    let out = run(&["--baseline-dir", dir, "--baseline", "main", "--load-baseline", "new", "--fail-on-regression"]);
    assert_eq!(code(&out), 3);
    assert!(text(&out).contains("ttft.p50") && text(&out).contains("REGRESSED"), "{}", text(&out));

    // compare: two saved runs, no requests.
    let out = f.cargo_llmbench(&["compare", "main", "new", "--baseline-dir", dir, "--fail-on-regression"]);
    assert_eq!(code(&out), 3, "{}", text(&out));
    let out = f.cargo_llmbench(&["compare", "main", "main", "--baseline-dir", dir, "--fail-on-regression"]);
    assert_eq!(code(&out), 0, "{}", text(&out));

    // Different load settings: refused with the differences, unless forced.
    let out = run(&["--baseline-dir", dir, "--baseline", "main", "--concurrency", "2", "--sample-size", "10"]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out).contains("refusing to compare short · sim")
            && text(&out).contains("settings.concurrency: [1] → [2]")
    );
    let out = run(&[
        "--baseline-dir",
        dir,
        "--baseline",
        "main",
        "--concurrency",
        "2",
        "--sample-size",
        "10",
        "--force-compare",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out));

    // --discard-baseline writes nothing.
    let before = std::fs::metadata(f.root.join("results/short/sim/new/summary.json")).unwrap().modified().unwrap();
    let out = run(&["--discard-baseline", "--sample-size", "5"]);
    assert_eq!(code(&out), 0);
    let after = std::fs::metadata(f.root.join("results/short/sim/new/summary.json")).unwrap().modified().unwrap();
    assert_eq!(before, after);
}
