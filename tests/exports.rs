//! `--export` and `--history` end to end, on the fixture workspace of
//! `common/`: bad values stop `cargo llmbench` before it builds anything;
//! `cargo llmbench` writes one set of exports and one history line per
//! benchmark × target for the whole run (its benchmark binaries none, even
//! when they inherit `LLMBENCH_HISTORY`); a benchmark binary run alone
//! (`cargo bench -- --export …`) writes its own.

mod common;

use std::path::Path;

use common::{Fixture, read_json, read_jsonl};
use llmbench::exit_code;

/// The history files under `dir` and how many lines each holds.
fn history_lines(dir: &Path) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for bench in std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()) {
        for file in std::fs::read_dir(&bench).unwrap().map(|e| e.unwrap().path()) {
            let name = file.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            out.push((name, read_jsonl(&file).len()));
        }
    }
    out.sort();
    out
}

#[test]
fn bad_exports_exit_2_before_anything_is_built() {
    let fx = Fixture::new();
    let home = fx.scratch_path("results");
    let not_a_dir = fx.scratch_file("file", "x").join("e.jsonl");
    let cases = [
        (format!("csv={}", fx.scratch_path("x.csv").display()), "unknown export format \"csv\""),
        (format!("emf={}", not_a_dir.display()), "cannot write --export emf="),
    ];
    for (export, message) in cases {
        let run = common::run(fx.cargo_llmbench(&["--export", &export]).env("LLMBENCH_HOME", &home));
        run.assert_code(exit_code::USAGE).assert_no_panic().assert_stderr_contains(message);
        // cargo's "Finished `bench` profile" would mean the build ran.
        assert!(!run.stderr.contains("Finished"), "the benches were built\n{run}");
        assert!(!home.exists(), "results were written\n{run}");
    }
}

#[test]
fn cargo_llmbench_exports_the_whole_run_and_a_binary_alone_its_own() {
    let fx = Fixture::new();
    let home = fx.scratch_path("results");
    let history = fx.scratch_path("history");
    let args = ["--target", "sim", "--target", "sim2", "--sample-size", "5", "--warm-up", "1", "--quiet"];
    let exports = ["--export", "bmf=out/bmf.json", "--export", "openmetrics=out/metrics.prom"];
    // The history through the variable, which the binaries inherit too.
    let mut cmd = fx.cargo_llmbench(&[&args[..], &exports].concat());
    cmd.env("LLMBENCH_HOME", &home).env("LLMBENCH_HISTORY", &history);
    let run = common::run(&mut cmd);
    run.assert_code(exit_code::OK).assert_no_panic();

    // One file for both benchmarks × both targets × every level, relative to the working directory.
    let bmf = read_json(&fx.scratch_path("out/bmf.json"));
    let mut names: Vec<&String> = bmf.as_object().unwrap().keys().collect();
    names.sort();
    let expected = [
        "other/sim/c=1",
        "other/sim2/c=1",
        "short_questions/sim/c=1",
        "short_questions/sim/c=4",
        "short_questions/sim2/c=1",
        "short_questions/sim2/c=4",
    ];
    assert_eq!(names, expected, "{run}");
    let metrics = std::fs::read_to_string(fx.scratch_path("out/metrics.prom")).unwrap();
    assert!(metrics.ends_with("# EOF\n"));
    assert!(metrics.contains("gen_ai_server_time_to_first_token_seconds_bucket{bench=\"other\",target=\"sim2\""));

    // One line per benchmark × target: cargo llmbench appended, its binaries did not.
    let one_each: Vec<(String, usize)> = ["other/sim", "other/sim2", "short_questions/sim", "short_questions/sim2"]
        .iter()
        .map(|s| (format!("{s}.jsonl"), 1))
        .collect();
    assert_eq!(history_lines(&history), one_each, "{run}");
    let trends = home.join("report/trends");
    assert_eq!(std::fs::read_dir(&trends).map(Iterator::count).unwrap_or(0), 4, "trend pages in {}", trends.display());

    // A benchmark binary run alone writes its own exports and history.
    let bmf_alone = fx.scratch_path("alone/bmf.json");
    let flags = ["other", "--exact", "--sample-size", "5", "--quiet", "--noplot", "--export"];
    let export = format!("bmf={}", bmf_alone.display());
    let mut cmd =
        fx.cargo("bench", &[&["--bench", "chat", "--"][..], &flags, &[export.as_str(), "--history"]].concat());
    cmd.arg(&history).env("LLMBENCH_HOME", fx.scratch_path("alone-results"));
    let alone = common::run(&mut cmd);
    alone.assert_code(exit_code::OK).assert_no_panic();
    let bmf = read_json(&bmf_alone);
    assert_eq!(bmf.as_object().unwrap().keys().collect::<Vec<_>>(), ["other/sim/c=1"], "{alone}");
    assert_eq!(read_jsonl(&history.join("other/sim.jsonl")).len(), 2, "{alone}");
}
