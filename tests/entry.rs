//! End to end, the ways to start without writing a benchmark: `llmbench run`
//! against an endpoint given by flags (the simulator served by `llmbench
//! sim`), benchmarks declared in llmbench.toml beside `#[llm_bench]` ones,
//! and `cargo llmbench init` in a fresh `cargo new` project. The harness is
//! in `common/`; the in-process parts (the engine, init on temp dirs) are
//! unit tests of the llmbench crate.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use common::{Fixture, dir_names, read_json, remove_dir};
use llmbench::exit_code;

/// `llmbench sim --port 0`, killed when dropped.
struct Sim(Child);

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `llmbench sim --port 0` and reads its URL from the first line.
fn start_sim(fx: &Fixture) -> (Sim, String) {
    let mut cmd = fx.llmbench(&["sim", "--port", "0"]);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null());
    let mut child = cmd.spawn().expect("starting llmbench sim");
    let stdout = child.stdout.take().expect("its stdout");
    let sim = Sim(child);
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first).expect("reading the simulator's banner");
    let url = first.split_whitespace().find(|w| w.starts_with("http://")).map(str::to_owned);
    (sim, url.unwrap_or_else(|| panic!("no URL in the simulator's first line: {first:?}")))
}

#[test]
fn run_benchmarks_an_endpoint_from_flags_in_an_empty_directory() {
    let fx = Fixture::new();
    let (_sim, url) = start_sim(&fx);
    let base_url = format!("{url}/v1");
    let flags = [
        "run",
        "--url",
        &base_url,
        "--model",
        "test-model",
        "--concurrency",
        "1,2",
        "--requests",
        "6",
        "--warm-up",
        "1",
        "--input-tokens",
        "20..40",
        "--output-tokens",
        "8",
    ];
    // Outside any Cargo workspace, results go under the current directory.
    let run = |extra: &[&str]| {
        let mut cmd = fx.llmbench(&[&flags[..], extra].concat());
        cmd.env_remove("CARGO_TARGET_DIR");
        common::run(&mut cmd)
    };
    let first = run(&["--save-baseline=main"]);
    first.assert_code(exit_code::OK).assert_no_panic().assert_stdout_contains("· test-model");
    let root = fx.scratch.path().join("target").join("llmbench");
    let ids: Vec<String> = dir_names(&root).into_iter().filter(|d| d.starts_with("run-")).collect();
    assert_eq!(ids.len(), 1, "one benchmark id derived from the flags: {ids:?}\n{first}");
    let dir = root.join(&ids[0]).join("test-model");
    let summary = read_json(&dir.join("new").join("summary.json"));
    assert_eq!(summary["levels"][1]["requests"]["ok"], 6, "{summary:#}");
    assert_eq!(summary["target"]["endpoint"], format!("{base_url}/chat/completions"));
    assert!(dir.join("main").join("summary.json").is_file(), "the baseline was saved\n{first}");
    assert!(root.join("report").join("index.html").is_file(), "the report was written\n{first}");

    // The same command, gated on that baseline.
    run(&["--baseline", "main", "--fail-on-regression"])
        .assert_code(exit_code::OK)
        .assert_stdout_contains("change vs main");

    // Bad input: exit 2 and a message saying what to do, before any request.
    for (extra, expected) in [
        (
            &["run", "--url", "htp://127.0.0.1:1/v1", "--model", "m"][..],
            "--url: \"htp://127.0.0.1:1/v1\" must start with http://",
        ),
        (&["run", "--url", &base_url], "--model: required for provider \"openai\""),
        (
            &["run", "--url", &base_url, "--model", "m", "--api-key-env", "LLMBENCH_E2E_UNSET_KEY"],
            "environment variable LLMBENCH_E2E_UNSET_KEY is not set",
        ),
        (&["run", "--provider", "anthropic", "--model", "claude"], "needs an API key: export ANTHROPIC_API_KEY"),
        (&["run", "--input-tokens", "100.."], "invalid value '100..' for '--input-tokens <TOKENS>'"),
        (&["run", "--prefix-share", "0.5"], "--prefix-share: needs a shared prefix"),
    ] {
        let mut cmd = fx.llmbench(extra);
        cmd.env_remove("ANTHROPIC_API_KEY");
        common::run(&mut cmd).assert_code(exit_code::USAGE).assert_no_panic().assert_stderr_contains(expected);
    }

    let version = common::run(&mut fx.llmbench(&["--version"]));
    version.assert_code(exit_code::OK).assert_stdout_contains("llmbench 0.").assert_stdout_contains("features:");
    let completions = common::run(&mut fx.llmbench(&["completions", "bash"]));
    completions.assert_code(exit_code::OK).assert_stdout_contains("llmbench");
}

/// The fixture's configuration plus one benchmark declared in it.
/// It sends an image and a shared prefix too: the traffic keys reach the
/// requests and the results.
const TOML_BENCH: &str = "\n[benches.faq]\nprompts = [\"What is your refund policy?\"]\noutput_tokens = 4\nsamples = 3\nwarmup = 0\nlimits = [\"error_rate<=1%\"]\nimages = 1\nimage_size = 16\nshared_prefix = 40\n";

#[test]
fn toml_benchmarks_run_and_list_beside_attribute_benchmarks() {
    let fx = Fixture::new();
    let config = fx.scratch_file("llmbench.toml", &format!("{}{TOML_BENCH}", common::CONFIG));
    let config = config.to_str().expect("a UTF-8 path");

    let list = common::run(&mut fx.cargo_llmbench(&["--config", config, "--list"]));
    list.assert_code(exit_code::OK)
        .assert_stdout_contains("short_questions: benchmark (benches/chat.rs:")
        .assert_stdout_contains("other: benchmark (")
        .assert_stdout_contains("faq: benchmark (llmbench.toml:9)");

    let home = fx.scratch_path("results");
    let run = common::run(fx.cargo_llmbench(&["--config", config, "faq"]).env("LLMBENCH_HOME", &home));
    run.assert_code(exit_code::OK).assert_stderr_contains("Running llmbench.toml").assert_stdout_contains("faq · sim");
    let summary = read_json(&home.join("faq").join("sim").join("new").join("summary.json"));
    assert_eq!(summary["levels"][0]["requests"]["ok"], 3, "{summary:#}");
    assert_eq!(summary["bench"]["file"], "llmbench.toml", "{summary:#}");
    assert_eq!(summary["workload"]["images"], serde_json::json!({"count": 1, "size": 16}), "{summary:#}");
    assert_eq!(summary["workload"]["shared_prefix"], serde_json::json!({"tokens": 40, "share": 1.0}), "{summary:#}");
    assert!(home.join("report").join("index.html").is_file(), "one report for both kinds\n{run}");

    // A bad key names the file, line and key; a name taken twice is refused.
    let bad = fx.scratch_file("bad.toml", "[benches.faq]\nprompts = [\"hi\"]\ninput_tokenz = 3\n");
    let bad = common::run(&mut fx.cargo_llmbench(&["--config", bad.to_str().expect("UTF-8"), "--list"]));
    bad.assert_code(exit_code::USAGE)
        .assert_no_panic()
        .assert_stderr_contains("bad.toml:3: benches.faq.input_tokenz: unknown field");
    let twice = fx.scratch_file("twice.toml", "[benches.other]\nprompts = [\"hi\"]\n");
    // The binaries run on after one fails: keep the TOML one short.
    let quick = ["--sample-size", "1", "--warm-up", "0"];
    let twice = common::run(
        &mut fx.cargo_llmbench(&[&["--config", twice.to_str().expect("UTF-8"), "other"][..], &quick].concat()),
    );
    twice.assert_code(exit_code::USAGE).assert_stderr_contains("two benchmarks are named \"other\"");
}

/// At most one test builds a second project: it costs a build on two cores.
#[test]
fn init_then_cargo_llmbench_in_a_fresh_cargo_project() {
    let fx = Fixture::new();
    // Inside the shared target directory, beside the fixture, so the
    // llmbench it depends on by path is the one already built (cargo keys
    // a path dependency's artifacts on its path relative to the workspace).
    let project = fx.target_dir.join("init-project");
    remove_dir(&project);
    let created = fx.scratch_path("created");
    common::run(&mut fx.cargo_in(fx.scratch.path(), &["new", "--vcs", "none", "--name", "svc", "created"]))
        .assert_code(0);
    std::fs::create_dir_all(project.join("src")).expect("creating the project");
    for file in ["Cargo.toml", "src/main.rs"] {
        std::fs::copy(created.join(file), project.join(file)).expect("copying the new project");
    }
    // Its own workspace, although it sits inside the llmbench repository.
    let manifest = std::fs::read_to_string(project.join("Cargo.toml")).expect("its Cargo.toml");
    let manifest = format!("{manifest}\n# Not a member of the repository's workspace.\n[workspace]\n");
    std::fs::write(project.join("Cargo.toml"), &manifest).expect("writing Cargo.toml");
    common::copy_lock(&project).expect("copying Cargo.lock");

    let package = common::llmbench_package();
    let init = ["init", "--path", package.to_str().expect("UTF-8")];
    let first = common::run(&mut fx.cargo_llmbench_in(&project, &init));
    first
        .assert_code(exit_code::OK)
        .assert_stdout_contains("Created benches/llm.rs")
        .assert_stdout_contains("Updated Cargo.toml");
    let edited = std::fs::read_to_string(project.join("Cargo.toml")).expect("Cargo.toml");
    assert!(edited.starts_with(&manifest), "init only appends to Cargo.toml:\n{edited}");
    for file in ["benches/llm.rs", "llmbench.toml", ".github/workflows/llmbench.yml"] {
        assert!(project.join(file).is_file(), "{file} was not created\n{first}");
    }
    let files = |p: &Path| {
        ["Cargo.toml", "benches/llm.rs", "llmbench.toml", ".github/workflows/llmbench.yml"]
            .map(|f| std::fs::read_to_string(p.join(f)).unwrap_or_default())
    };
    let before = files(&project);
    let second = common::run(&mut fx.cargo_llmbench_in(&project, &init));
    second.assert_code(exit_code::OK).assert_stdout_contains("Skipped llmbench.toml (exists; not overwritten)");
    assert!(
        !second.stdout.contains("Created") && !second.stdout.contains("Updated"),
        "init twice changed something\n{second}"
    );
    assert_eq!(files(&project), before, "init twice changed a file");

    // What init wrote builds llmbench with its default features (the AWS
    // SDKs), optimised: a second build of everything, longer than all the
    // other scenarios together. The fixture's features and profile let the
    // project link the fixture's build instead (it sits beside the fixture,
    // so the path dependency is keyed alike).
    let dependency = format!("llmbench = {{ path = \"{}\" }}", package.display());
    assert!(edited.contains(&dependency), "init did not add {dependency}:\n{edited}");
    let shared = dependency.replace(" }", ", default-features = false }");
    let shared = format!("{}{}", edited.replace(&dependency, &shared), common::RELEASE_PROFILE);
    std::fs::write(project.join("Cargo.toml"), shared).expect("writing Cargo.toml");

    let home = fx.scratch_path("results");
    let run = common::run(
        fx.cargo_llmbench_in(&project, &["--sample-size", "2", "--warm-up", "0"]).env("LLMBENCH_HOME", &home),
    );
    run.assert_code(exit_code::OK).assert_stdout_contains("chat_short · sim").assert_stdout_contains("summarise · sim");
    assert!(!run.stderr.contains("Compiling llmbench "), "the project did not share the fixture's build\n{run}");
    assert_eq!(dir_names(&home), ["chat_short", "report", "summarise"], "{run}");
}
