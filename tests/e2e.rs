//! End to end, the way a user meets llmbench: a workspace with
//! `benches/chat.rs` (`harness = false`) and an `llmbench.toml`, driven by the
//! real `cargo llmbench`, `cargo bench` and `cargo test`, then the files they
//! wrote read back. Offline: every target is a simulator on 127.0.0.1 (or a
//! closed port). The harness is in `common/`.

mod common;

use std::path::Path;

use common::{Fixture, dir_names, read_json, read_jsonl, remove_dir};
use llmbench::exit_code;
use serde_json::Value;

/// The built-in simulator's TTFT when `llmbench.toml` is not read.
const DEFAULT_SIM_TTFT_MS: f64 = 80.0;

/// A number at `pointer` in `json`, or a panic naming what is missing.
#[track_caller]
fn number(json: &Value, pointer: &str, file: &Path) -> f64 {
    json.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{}: {pointer} is not a number: {:?}", file.display(), json.pointer(pointer)))
}

/// How many lines of the combined summary (after its title) start with `prefix`.
fn summary_rows(stdout: &str, title: &str, prefix: &str) -> usize {
    stdout.split_once(title).map_or(0, |(_, table)| table.lines().filter(|l| l.starts_with(prefix)).count())
}

#[test]
fn bench_mode_writes_results_and_prints_tables() {
    let fx = Fixture::new();
    // cargo llmbench's default results root: LLMBENCH_HOME = <target-dir>/llmbench.
    let home = fx.target_dir.join("llmbench");
    remove_dir(&home.join("short_questions"));
    remove_dir(&home.join("other"));

    let run = common::run(&mut fx.cargo_llmbench(&[]));
    run.assert_code(exit_code::OK)
        .assert_stdout_contains("short_questions · sim")
        .assert_stdout_contains("other · sim")
        .assert_stdout_contains("TTFT ms p50/p90/p99")
        .assert_stdout_contains("Summary of 2 benchmark runs")
        .assert_stderr_contains("Running chat")
        .assert_built_nothing();

    let dir = home.join("short_questions").join("sim").join("new");
    let summary_path = dir.join("summary.json");
    assert!(summary_path.is_file(), "{} was not written\n{run}", summary_path.display());
    let json = read_json(&summary_path);
    let text = std::fs::read_to_string(&summary_path).expect("summary.json was just read");
    assert_eq!(json["format_version"], llmbench::results::FORMAT_VERSION, "{text}");
    assert_eq!(json["target"]["name"], "sim", "{text}");
    assert_eq!(json["settings"]["samples"], 12, "{text}");
    assert_eq!(json["settings"]["warmup"], 2, "{text}");
    assert!(!text.contains("api_key"), "summary.json mentions api_key:\n{text}");
    let levels = json["levels"].as_array().unwrap_or_else(|| panic!("no levels array:\n{text}"));
    let concurrency: Vec<u64> = levels.iter().filter_map(|l| l["concurrency"].as_u64()).collect();
    assert_eq!(concurrency, [1, 4], "{text}");
    for (i, level) in levels.iter().enumerate() {
        let at = |key: &str| format!("/levels/{i}/{key}");
        assert_eq!(level["requests"]["ok"], 12, "level {i}:\n{text}");
        assert_eq!(level["requests"]["failed"], 0, "level {i}:\n{text}");
        let ttft = number(&json, &at("ttft/p50"), &summary_path);
        assert!(
            (5.0..DEFAULT_SIM_TTFT_MS).contains(&ttft),
            "level {i}: TTFT p50 {ttft} ms is outside [5, 80): the sim's TTFT is 5 ms (80 ms if llmbench.toml was ignored)"
        );
        assert!(level["tpot"]["p50"].is_number(), "level {i}: no TPOT:\n{text}");
        // 12 samples are too few for a p99: null, with the reason beside it.
        assert!(level["ttft"]["p99"].is_null(), "level {i}: p99 from 12 samples:\n{text}");
        let reason = level["ttft"]["missing"]["p99"].as_str().unwrap_or_default();
        assert!(reason.contains("12"), "level {i}: missing.p99 is {reason:?}:\n{text}");
        assert!(number(&json, &at("output_tok_per_s"), &summary_path) > 0.0, "level {i}:\n{text}");
    }
    // The typed reader of the public API accepts what the binary wrote.
    let typed = llmbench::results::read_summary(&dir).unwrap_or_else(|e| panic!("read_summary: {e}"));
    assert_eq!(typed.levels.len(), 2);
    assert!(typed.cold_start.as_ref().is_some_and(|c| c.error.is_none() && c.ttft_ms.is_some()), "{text}");
    // It ends with the report of everything under the root, and says where.
    let index = home.join("report").join("index.html");
    run.assert_stdout_contains("Report: ").assert_stdout_contains("index.html");
    let html = std::fs::read_to_string(&index).unwrap_or_else(|e| panic!("{}: {e}\n{run}", index.display()));
    assert!(html.contains("bench/short_questions.html") && html.contains("bench/other.html"), "{html}");
    assert!(home.join("report").join("bench").join("short_questions.html").is_file());

    // One cold start, then per level 2 warm-up (at concurrency 4: 4, one
    // per connection the level keeps open) and 12 measured requests.
    let requests_path = dir.join("requests.jsonl");
    let records = read_jsonl(&requests_path);
    assert_eq!(records.len(), 1 + (2 + 12) + (4 + 12), "{}", requests_path.display());
    let count = |phase: &str, concurrency: Option<u64>| {
        records.iter().filter(|r| r["phase"] == phase && concurrency.is_none_or(|c| r["concurrency"] == c)).count()
    };
    assert!(records.iter().all(|r| r["phase"].is_string()), "a record has no phase: {}", requests_path.display());
    assert_eq!(records[0]["phase"], "cold_start");
    assert_eq!(count("cold_start", None), 1);
    assert_eq!(count("warmup", Some(1)), 2);
    assert_eq!(count("warmup", Some(4)), 4);
    let measured_new = records.iter().filter(|r| r["phase"] == "measured" && r["new_connection"] == true).count();
    assert_eq!(measured_new, 0, "warm connections: no measured request opened one");
    assert_eq!(count("measured", Some(1)), 12);
    assert_eq!(count("measured", Some(4)), 12);
    let requests_text = std::fs::read_to_string(&requests_path).expect("requests.jsonl was just read");
    assert!(!requests_text.contains("api_key"), "requests.jsonl mentions api_key");

    let other = read_json(&home.join("other").join("sim").join("new").join("summary.json"));
    assert_eq!(other["levels"].as_array().map(Vec::len), Some(1), "{other:#}");
    assert_eq!(other["levels"][0]["requests"]["ok"], 5, "{other:#}");
}

#[test]
fn a_filter_and_two_targets_run_side_by_side() {
    let fx = Fixture::new();
    let home = fx.scratch_path("results");
    let run =
        common::run(fx.cargo_llmbench(&["short", "--target", "sim", "--target", "sim2"]).env("LLMBENCH_HOME", &home));
    run.assert_code(exit_code::OK).assert_built_nothing().assert_stdout_contains("Summary of 2 benchmark runs");
    let title = "Summary of 2 benchmark runs";
    assert_eq!(summary_rows(&run.stdout, title, "short_questions · sim "), 2, "one row per level\n{run}");
    assert_eq!(summary_rows(&run.stdout, title, "short_questions · sim2 "), 2, "one row per level\n{run}");

    // Benchmark directories, and the report of them.
    assert_eq!(dir_names(&home), ["report", "short_questions"], "`other` does not match the filter\n{run}");
    assert_eq!(dir_names(&home.join("short_questions")), ["sim", "sim2"], "{run}");
    for (target, sim_ttft) in [("sim", 5.0), ("sim2", 10.0)] {
        let path = home.join("short_questions").join(target).join("new").join("summary.json");
        let json = read_json(&path);
        assert_eq!(json["target"]["name"], target);
        assert_eq!(json["levels"].as_array().map(Vec::len), Some(2), "{json:#}");
        // Each target's own simulator settings: its TTFT is a floor.
        let ttft = number(&json, "/levels/0/ttft/p50", &path);
        assert!(
            (sim_ttft..DEFAULT_SIM_TTFT_MS).contains(&ttft),
            "{target}: TTFT p50 {ttft} ms, expected at least its sim's {sim_ttft} ms"
        );
    }
}

#[test]
fn list_prints_the_benchmarks_sorted() {
    let fx = Fixture::new();
    let run = common::run(&mut fx.cargo_llmbench(&["--list", "--", "--format", "terse"]));
    run.assert_code(exit_code::OK);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines, ["other: benchmark", "short_questions: benchmark"], "{run}");

    let run = common::run(&mut fx.cargo_llmbench(&["--list", "short"]));
    run.assert_code(exit_code::OK);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{run}");
    assert!(lines[0].starts_with("short_questions: benchmark (benches/chat.rs:"), "{run}");
}

/// The README lists `--list [--format terse]` among the flags; `cargo llmbench`
/// forwards `--list` but has no `--format`.
#[test]
fn list_format_terse_without_the_separator() {
    let fx = Fixture::new();
    let run = common::run(&mut fx.cargo_llmbench(&["--list", "--format", "terse"]));
    run.assert_code(exit_code::OK).assert_no_panic();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines, ["other: benchmark", "short_questions: benchmark"], "{run}");
}

#[test]
fn test_mode_sends_one_request_each_and_writes_nothing() {
    let fx = Fixture::new();
    let home = fx.scratch_path("results");

    // `cargo test --benches` runs the binary without --bench: test mode.
    // `--release` reuses the fixture's one build: its release profile is a
    // debug build's (no optimisation, debug assertions; tests/common), so
    // this is `cargo test --benches` without a second build of llmbench.
    let run = common::run(fx.cargo("test", &["--release", "--benches"]).env("LLMBENCH_HOME", &home));
    // (The `bench` profile inherits `release`: the setup's `cargo bench
    // --no-run` built this very binary.)
    run.assert_code(exit_code::OK)
        .assert_built_nothing()
        .assert_stdout_contains("Testing short_questions")
        .assert_stdout_contains("Testing other")
        .assert_stdout_contains("Success");
    assert!(!run.stdout.contains("FAILED"), "{run}");
    assert!(!home.exists(), "test mode wrote {:?}\n{run}", dir_names(&home));

    // `cargo llmbench --test` is the same, filtered.
    let run = common::run(fx.cargo_llmbench(&["--test", "short"]).env("LLMBENCH_HOME", &home));
    run.assert_code(exit_code::OK).assert_stdout_contains("Testing short_questions").assert_stdout_contains("Success");
    assert!(!run.stdout.contains("Testing other"), "the filter selects short_questions only\n{run}");
    assert!(!home.exists(), "test mode wrote {:?}\n{run}", dir_names(&home));
}

#[test]
fn cargo_bench_without_the_subcommand_measures() {
    let fx = Fixture::new();
    // No LLMBENCH_HOME and no CARGO_TARGET_DIR: the binary finds the results
    // root from its own location, <target-dir>/release/deps/chat-….
    let home = fx.target_dir.join("llmbench");
    remove_dir(&home.join("other"));
    remove_dir(&home.join("short_questions"));
    let target_dir = fx.target_dir.to_string_lossy().into_owned();
    let mut cmd = fx.cargo("bench", &["--target-dir", &target_dir, "--", "other"]);
    cmd.env_remove("CARGO_TARGET_DIR");
    let run = common::run(&mut cmd);
    run.assert_code(exit_code::OK).assert_stdout_contains("other · sim");

    // A binary run alone writes the report too.
    assert_eq!(dir_names(&home), ["other", "report"], "only the filtered benchmark ran\n{run}");
    let path = home.join("other").join("sim").join("new").join("summary.json");
    let json = read_json(&path);
    assert_eq!(json["settings"]["concurrency"], serde_json::json!([1]), "{json:#}");
    assert_eq!(json["levels"][0]["requests"]["ok"], 5, "{json:#}");
    assert_eq!(read_jsonl(&path.with_file_name("requests.jsonl")).len(), 1 + 1 + 5);
}

/// Runs `cargo llmbench ARGS` with a scratch results root and checks the
/// exit code, that nothing panicked, was rebuilt or written.
#[track_caller]
fn rejected(fx: &Fixture, args: &[&str], code: i32) -> common::Run {
    let home = fx.scratch_path("results");
    let run = common::run(fx.cargo_llmbench(args).env("LLMBENCH_HOME", &home));
    run.assert_code(code).assert_no_panic().assert_built_nothing();
    assert!(!home.exists(), "results were written: {:?}\n{run}", dir_names(&home));
    run
}

#[test]
fn a_malformed_config_names_file_line_and_key() {
    let fx = Fixture::new();
    let config = fx.scratch_file("llmbench.toml", "[sim]\nttft = \"5ms\"\nitl = \"1ms\"\n\n[defaults]\nsampels = 3\n");
    let config = config.to_string_lossy().into_owned();
    let run = rejected(&fx, &["--config", &config], exit_code::USAGE);
    run.assert_stderr_contains(&format!("{config}:6: defaults.sampels: unknown field"));
}

#[test]
fn an_unknown_target_lists_the_known_ones() {
    let fx = Fixture::new();
    let run = rejected(&fx, &["--target", "nope"], exit_code::USAGE);
    // The fixture builds llmbench without its default features, so only the
    // simulator's OpenAI protocol is built in. With them, sim-bedrock,
    // sim-bedrock-invoke and sim-sagemaker join the list: the unit tests run
    // each by name (llmbench/src/engine/sim_protocol_tests.rs) and check
    // this message's list (llmbench/src/config/mod.rs).
    run.assert_stderr_contains(r#"unknown target "nope" (known: sim, sim2)"#);
}

#[test]
fn bad_flags_are_usage_errors() {
    let fx = Fixture::new();
    // Passed through to the benchmark binary.
    rejected(&fx, &["--", "--no-such-flag"], exit_code::USAGE).assert_stderr_contains("--no-such-flag");
    // Checked by the benchmark binary.
    rejected(&fx, &["--concurrency", "0"], exit_code::USAGE).assert_stderr_contains("--concurrency");
    rejected(&fx, &["--sample-size", "0"], exit_code::USAGE).assert_stderr_contains("--sample-size");
    rejected(&fx, &["("], exit_code::USAGE).assert_stderr_contains("invalid FILTER regex");
    // Refused by cargo llmbench itself.
    rejected(&fx, &["--no-such-flag"], exit_code::USAGE).assert_stderr_contains("--no-such-flag");
    rejected(&fx, &["--bench", "nope"], exit_code::USAGE).assert_stderr_contains("nope");
}

#[test]
fn no_match_exits_4() {
    let fx = Fixture::new();
    rejected(&fx, &["zzz"], exit_code::NO_BENCHMARKS).assert_stderr_contains(r#"no benchmark matched "zzz""#);
}

#[test]
fn a_missing_api_key_variable_is_named() {
    let fx = Fixture::new();
    let config = fx.scratch_file(
        "llmbench.toml",
        &format!(
            "{}\n[targets.remote]\nprovider = \"openai\"\nbase_url = \"http://127.0.0.1:9/v1\"\nmodel = \"m\"\napi_key_env = \"LLMBENCH_E2E_UNSET_KEY\"\n",
            common::CONFIG
        ),
    );
    let config = config.to_string_lossy().into_owned();
    // The harness removes every LLMBENCH_* variable from the children.
    let run = rejected(&fx, &["--config", &config, "--target", "remote"], exit_code::USAGE);
    run.assert_stderr_contains("LLMBENCH_E2E_UNSET_KEY").assert_stderr_contains("targets.remote.api_key_env");
}

/// Starts a server on 127.0.0.1 that answers every request with HTTP 401
/// and an OpenAI-style error quoting the request's `Authorization` header
/// (escape sequences included); returns its port.
fn echo_401_server() -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("bound").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let (mut auth, mut length) = (String::new(), 0usize);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                let lower = line.to_ascii_lowercase();
                if lower.starts_with("authorization:") {
                    auth = line["authorization:".len()..].trim().to_owned();
                }
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0u8; length];
            let _ = std::io::Read::read_exact(&mut reader, &mut body);
            let error = serde_json::json!({ "error": { "message": format!("\u{1b}]0;pwned\u{7}Incorrect API key provided: {auth}") } });
            let error = error.to_string();
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{error}",
                error.len()
            );
        }
    });
    port
}

#[test]
fn the_api_key_never_reaches_results_or_output() {
    let fx = Fixture::new();
    let secret = "sk-e2e-7f3a91c4-do-not-print";
    // A server that refuses every request and quotes the key it was sent,
    // as some do in their 401s: the key must still reach nothing.
    let port = echo_401_server();
    let config = fx.scratch_file(
        "llmbench.toml",
        &format!(
            "[targets.keyed]\nprovider = \"openai\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\nmodel = \"m\"\napi_key_env = \"LLMBENCH_E2E_KEY\"\n"
        ),
    );
    let home = fx.scratch_path("results");
    let config = config.to_string_lossy().into_owned();
    let mut cmd =
        fx.cargo_llmbench(&["other", "--config", &config, "--target", "keyed", "--sample-size", "3", "--warm-up", "0"]);
    let run = common::run(cmd.env("LLMBENCH_HOME", &home).env("LLMBENCH_E2E_KEY", secret));
    run.assert_no_panic();
    assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret), "the key was printed\n{run}");
    assert!(run.stderr.contains("[REDACTED]"), "the server's echo is shown, redacted\n{run}");
    assert!(!run.stderr.contains('\u{1b}') && !run.stdout.contains('\u{1b}'), "an escape sequence was printed\n{run}");
    // Nothing succeeded: the run says so and fails with the endpoint's own
    // code, so CI notices a dead endpoint.
    assert_eq!(run.code(), Some(exit_code::ENDPOINT_FAILED), "{run}");
    assert!(run.stderr.contains("no request to keyed succeeded"), "{run}");

    let dir = home.join("other").join("keyed").join("new");
    let json = read_json(&dir.join("summary.json"));
    assert_eq!(json["target"]["provider"], "openai", "{json:#}");
    assert_eq!(json["levels"][0]["requests"]["failed"], 3, "{json:#}");
    assert_eq!(read_jsonl(&dir.join("requests.jsonl")).len(), 1 + 3);
    for file in ["summary.json", "requests.jsonl"] {
        let text = std::fs::read_to_string(dir.join(file)).expect("the run's files were just read");
        assert!(!text.contains(secret), "{file} holds the API key");
        assert!(!text.contains("api_key"), "{file} mentions api_key");
    }
    for file in ["index.html", "report.md", "bench/other.html"] {
        let text = std::fs::read_to_string(home.join("report").join(file)).expect("the report was written");
        assert!(!text.contains(secret), "the report's {file} holds the API key");
    }
}

/// A `cargo llmbench` run of `short_questions` slow enough to be stopped in
/// the middle (about 0.3 s a request, 42 of them at concurrency 1), with
/// NDJSON events on stdout, read as they come.
#[cfg(unix)]
struct LongRun {
    child: std::process::Child,
    events: std::sync::mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
    home: std::path::PathBuf,
}

#[cfg(unix)]
impl LongRun {
    fn start(fx: &Fixture) -> LongRun {
        use std::io::{BufRead, Read};
        use std::process::Stdio;
        let config = fx.scratch_file("llmbench.toml", "[sim]\nttft = \"20ms\"\nitl = \"20ms\"\n");
        let home = fx.scratch_path("results");
        let args = ["short_questions", "--config", &config.to_string_lossy(), "--concurrency", "1"];
        let mut cmd = fx.cargo_llmbench(&args);
        cmd.args(["--sample-size", "40", "--message-format", "json", "--no-report"]).env("LLMBENCH_HOME", &home);
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("start");
        let (tx, events) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().expect("piped");
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut pipe = child.stderr.take().expect("piped");
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        });
        LongRun { child, events, stderr, home }
    }

    /// Waits for the benchmark binary to start measuring (the first build of
    /// the fixture's benches may take minutes), then a little longer, so
    /// some requests completed and one is in flight.
    fn wait_until_measuring(&mut self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20 * 60);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.events.recv_timeout(left) {
                Ok(line) if line.contains("\"bench-started\"") => break,
                Ok(_) => {}
                Err(e) => {
                    let _ = self.child.kill();
                    panic!("no bench-started event ({e}); exit {:?}", self.child.wait());
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(2500));
    }

    /// Started, and measuring.
    fn measuring(fx: &Fixture) -> LongRun {
        let mut run = LongRun::start(fx);
        run.wait_until_measuring();
        run
    }

    /// The one benchmark binary `cargo llmbench` runs.
    #[cfg(target_os = "linux")]
    fn bench_binary(&self) -> u32 {
        let children = children_of(self.child.id());
        assert_eq!(children.len(), 1, "one benchmark binary runs: {children:?}");
        children[0]
    }

    fn signal(&self, pid: u32, signal: &str) {
        let status = std::process::Command::new("kill").args([signal, &pid.to_string()]).status().expect("kill runs");
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// Waits (at most 60 s) for the exit; returns the code and stderr.
    fn finish(mut self) -> (Option<i32>, String, std::path::PathBuf) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break Some(status);
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let stderr = self.stderr.join().unwrap_or_default();
        assert!(status.is_some(), "still running 60 s after the signal\n{stderr}");
        (status.and_then(|s| s.code()), stderr, self.home)
    }
}

/// The benchmark binaries that `parent` started (Linux: from /proc).
#[cfg(target_os = "linux")]
fn children_of(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // "pid (comm) state ppid …": the comm may hold spaces, the rest not.
        let fields: Vec<&str> =
            stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
        if fields.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(parent) {
            out.push(pid);
        }
    }
    out
}

/// Whether `pid` still runs (a zombie no longer does).
#[cfg(target_os = "linux")]
fn running(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next());
    state.is_some_and(|s| s != "Z" && s != "X")
}

#[cfg(unix)]
#[test]
fn sigterm_keeps_the_completed_requests_and_exits_143() {
    let fx = Fixture::new();
    let run = LongRun::measuring(&fx);
    // To cargo llmbench, which forwards it to the benchmark binary.
    run.signal(run.child.id(), "-TERM");
    let (code, stderr, home) = run.finish();
    assert_eq!(code, Some(exit_code::TERMINATED), "{stderr}");
    assert!(stderr.contains("interrupted (SIGTERM)") && !stderr.contains("panicked"), "{stderr}");
    let dir = home.join("short_questions").join("sim").join("new");
    let summary = read_json(&dir.join("summary.json"));
    assert_eq!(summary["partial"], true, "{summary:#}");
    let records = read_jsonl(&dir.join("requests.jsonl"));
    let ok = records.iter().filter(|r| r["error"].is_null()).count();
    // llmbench ended it, not the endpoint: its own class, not `cut`.
    let cut: Vec<&Value> = records.iter().filter(|r| r["error"]["class"] == "interrupted").collect();
    assert!(ok >= 3, "the completed requests are kept: {ok} of {}", records.len());
    assert!(records.len() < 1 + 42, "the run stopped early: {} records", records.len());
    assert_eq!(cut.len(), 1, "the request in flight is recorded, not dropped: {records:?}");
    let message = cut[0]["error"]["message"].as_str().unwrap_or_default();
    assert!(message.contains("interrupted (SIGTERM)"), "{message}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_benchmark_binary_never_outlives_cargo_llmbench() {
    let fx = Fixture::new();
    let run = LongRun::measuring(&fx);
    let (parent, child) = (run.child.id(), run.bench_binary());
    run.signal(parent, "-KILL");
    let (code, _, home) = run.finish();
    assert_eq!(code, None, "SIGKILL leaves no exit code");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while running(child) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(!running(child), "the benchmark binary {child} still runs without its parent");
    // It stopped as if told to (SIGTERM): what it measured is on disk.
    let summary = read_json(&home.join("short_questions").join("sim").join("new").join("summary.json"));
    assert_eq!(summary["partial"], true, "{summary:#}");
}

#[cfg(target_os = "linux")]
#[test]
fn kill_9_keeps_the_finished_requests_on_disk_and_never_passes_for_a_run() {
    let fx = Fixture::new();
    let run = LongRun::measuring(&fx);
    let (parent, child) = (run.child.id(), run.bench_binary());
    let target_dir = run.home.join("short_questions").join("sim");
    let partial = target_dir.join("new.partial.jsonl");
    // The records of finished requests reach the file within a second.
    let lines = |path: &Path| std::fs::read_to_string(path).unwrap_or_default().lines().count();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while lines(&partial) < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let before = lines(&partial);
    assert!(before >= 3, "{} has {before} records", partial.display());
    // As the OOM killer would: no handler runs in the binary that measures.
    // Its parent then exits 137 like a shell, or is killed too.
    run.signal(child, "-KILL");
    let _ = std::process::Command::new("kill").args(["-KILL", &parent.to_string()]).status();
    let (code, stderr, home) = run.finish();
    assert!(matches!(code, None | Some(137)), "exit {code:?}\n{stderr}");

    let text = std::fs::read_to_string(&partial).expect("the records survive");
    let records: Vec<Value> = text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
    assert!(records.len() >= before, "kept {} of the {before} records on disk before the kill", records.len());
    assert!(text.lines().count() <= records.len() + 1, "at most the last line is torn:\n{text}");
    let mut ids: Vec<(String, u64)> =
        records.iter().map(|r| (r["phase"].to_string(), r["index"].as_u64().expect("an index"))).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), records.len(), "each request once: {ids:?}");
    assert!(records.iter().all(|r| r["phase"].is_string() && r["e2e_ms"].is_number()), "{text}");

    // The killed run is no run: nothing reads it as complete.
    assert!(!target_dir.join("new").join("summary.json").exists(), "a summary of a run that never ended");
    let compare = common::run(fx.cargo_llmbench_compare(&["new", "new"]).env("LLMBENCH_HOME", &home));
    compare.assert_no_panic().assert_code(exit_code::NO_BENCHMARKS).assert_stderr_contains("nothing to compare");

    // The next run keeps them: moved aside, never overwritten.
    let args = ["short_questions", "--exact", "--sample-size", "2", "--concurrency", "1", "--no-report"];
    let next = common::run(fx.cargo_llmbench(&args).env("LLMBENCH_HOME", &home));
    next.assert_code(exit_code::OK).assert_stderr_contains("a run that died before finishing left its records");
    let kept: Vec<String> = dir_names(&target_dir).into_iter().filter(|n| n.contains(".crashed-")).collect();
    assert_eq!(kept.len(), 1, "{kept:?}\n{next}");
    assert_eq!(std::fs::read_to_string(target_dir.join(&kept[0])).unwrap(), text, "kept as they were");
    assert!(!partial.exists(), "the next run finished and removed its own");
}
