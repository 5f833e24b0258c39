//! The end-to-end harness: a fixture workspace that uses llmbench the way a
//! user's project does, the real `cargo-llmbench` binary, and child processes
//! whose whole output lands in every failed assertion.
//!
//! Everything builds into one target directory, `<target>/e2e`, so the
//! scenarios (and later runs) share one build. The fixture's sources live at
//! a fixed path inside it, `<target>/e2e/fixture`, and are rewritten only when
//! their content changes: cargo keys a path dependency's artifacts on its path
//! relative to the workspace root, so a fresh tempdir per run would rebuild
//! llmbench in release and debug every time. What a scenario changes (another
//! `llmbench.toml`, where results go) lives in its own tempdir instead.

// Every test crate compiles this module and uses a different part of it.
#![allow(dead_code)]

use std::fmt::{self, Write as _};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The repository root: the root package's manifest directory.
const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// The longest a child may run before it is killed: a cold build of every
/// dependency on two shared cores takes minutes, a benchmark run seconds.
const CHILD_TIMEOUT: Duration = Duration::from_secs(20 * 60);

/// The fixture's benchmarks, as a user would write them.
const BENCH_RS: &str = r#"use llmbench::prelude::*;

#[llm_bench(samples = 12, warmup = 2, concurrency = [1, 4])]
fn short_questions() -> Workload {
    Workload::synthetic().input_tokens(20..=40).output_tokens(16).temperature(0.7)
}

#[llm_bench(samples = 5, warmup = 1)]
fn other() -> Workload {
    Workload::prompts(["hello"]).output_tokens(8)
}

llmbench::main!();
"#;

/// The fixture's `llmbench.toml`: a fast built-in simulator and a second,
/// slower one. The built-in default TTFT is 80 ms, so a TTFT well under it
/// shows this file was read.
pub const CONFIG: &str = r#"[sim]
ttft = "5ms"
itl = "1ms"

[targets.sim2]
provider = "sim"
sim = { ttft = "10ms", itl = "2ms" }
"#;

/// The fixture's release profile, which a project sharing its build (the
/// one `init` sets up) must have too.
pub const RELEASE_PROFILE: &str = r#"
# Everything builds in release (`cargo llmbench`, `cargo bench`, and
# `cargo test --release --benches`), so once: unoptimised and with the
# checks of a debug build. The scenarios check what is written and printed,
# and time the simulator's fixed delays within wide bounds; optimising
# (opt-level 1 or 3) would triple the build.
[profile.release]
opt-level = 0
debug = false
debug-assertions = true
overflow-checks = true
incremental = true
"#;

/// Fixture runs write shared results (`<target>/e2e/llmbench`) and time
/// requests on two cores, so they run one at a time; cargo serializes their
/// builds anyway.
static SERIAL: Mutex<()> = Mutex::new(());

/// Built once per test process: the fixture workspace and `cargo-llmbench`.
static SETUP: OnceLock<Result<Setup, String>> = OnceLock::new();

struct Setup {
    root: PathBuf,
    cargo_llmbench: PathBuf,
    llmbench: PathBuf,
}

/// The fixture workspace, ready to run, held exclusively by one test.
pub struct Fixture {
    /// The fixture workspace (its `Cargo.toml` and `llmbench.toml`).
    pub root: PathBuf,
    /// The shared cargo target directory.
    pub target_dir: PathBuf,
    /// This test's own directory: the working directory of every child,
    /// alternative configs, results roots.
    pub scratch: tempfile::TempDir,
    cargo_llmbench: PathBuf,
    llmbench: PathBuf,
    _serial: MutexGuard<'static, ()>,
}

impl Fixture {
    /// Waits for the other scenarios, then returns the fixture (built on
    /// first use).
    pub fn new() -> Fixture {
        // A failed scenario poisons the lock; the next one can still run.
        let serial = SERIAL.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let setup = match SETUP.get_or_init(setup) {
            Ok(setup) => setup,
            Err(message) => panic!("e2e setup failed:\n{message}"),
        };
        Fixture {
            root: setup.root.clone(),
            target_dir: target_dir(),
            scratch: tempfile::tempdir().expect("creating a scratch directory"),
            cargo_llmbench: setup.cargo_llmbench.clone(),
            llmbench: setup.llmbench.clone(),
            _serial: serial,
        }
    }

    /// `cargo llmbench --manifest-path <fixture> ARGS…`, run through the real
    /// binary the way cargo runs it (`cargo-llmbench llmbench …`).
    pub fn cargo_llmbench(&self, args: &[&str]) -> Command {
        let mut cmd = self.command(&self.cargo_llmbench);
        cmd.arg("llmbench").arg("--manifest-path").arg(self.root.join("Cargo.toml")).args(args);
        cmd
    }

    /// `cargo llmbench compare --manifest-path <fixture> ARGS…`.
    pub fn cargo_llmbench_compare(&self, args: &[&str]) -> Command {
        let mut cmd = self.command(&self.cargo_llmbench);
        cmd.args(["llmbench", "compare", "--manifest-path"]).arg(self.root.join("Cargo.toml")).args(args);
        cmd
    }

    /// `cargo llmbench merge ARGS…` (it reads only the directories given).
    pub fn cargo_llmbench_merge(&self, args: &[&str]) -> Command {
        let mut cmd = self.command(&self.cargo_llmbench);
        cmd.args(["llmbench", "merge"]).args(args);
        cmd
    }

    /// `llmbench ARGS…`: the plain binary, as someone without a Cargo
    /// project runs it, in this test's scratch directory.
    pub fn llmbench(&self, args: &[&str]) -> Command {
        let mut cmd = self.command(&self.llmbench);
        cmd.args(args);
        cmd
    }

    /// `cargo llmbench ARGS…` run by cargo's convention in `dir` (no
    /// `--manifest-path`: the project is found from there).
    pub fn cargo_llmbench_in(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = self.command(&self.cargo_llmbench);
        cmd.current_dir(dir).arg("llmbench").args(args);
        cmd
    }

    /// `cargo ARGS…` in `dir`.
    pub fn cargo_in(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = self.command(&cargo());
        cmd.current_dir(dir).args(args);
        cmd
    }

    /// `cargo SUBCOMMAND --manifest-path <fixture> ARGS…`.
    pub fn cargo(&self, subcommand: &str, args: &[&str]) -> Command {
        let mut cmd = self.command(&cargo());
        cmd.arg(subcommand).arg("--manifest-path").arg(self.root.join("Cargo.toml")).args(args);
        cmd
    }

    /// Writes `text` to `<scratch>/<name>` and returns its path.
    pub fn scratch_file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.scratch.path().join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }

    /// `<scratch>/<name>`, not created.
    pub fn scratch_path(&self, name: &str) -> PathBuf {
        self.scratch.path().join(name)
    }

    /// A child with a clean environment: no `LLMBENCH_*` from the developer's
    /// shell, the shared target directory, no network, no colour.
    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(self.scratch.path());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("LLMBENCH_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("CARGO", cargo())
            .env("CARGO_TARGET_DIR", &self.target_dir)
            .env("CARGO_NET_OFFLINE", "true")
            .env("CARGO_TERM_COLOR", "never")
            .env("NO_COLOR", "1");
        cmd
    }
}

/// `<target>/e2e`, where `<target>` is the outer build's target directory.
pub fn target_dir() -> PathBuf {
    let outer = std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()).map(PathBuf::from);
    // `join` keeps an absolute CARGO_TARGET_DIR as it is.
    Path::new(REPO).join(outer.unwrap_or_else(|| PathBuf::from("target"))).join("e2e")
}

/// The cargo running this test (`CARGO`), else the one on `PATH`.
fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("cargo"))
}

fn setup() -> Result<Setup, String> {
    let target_dir = target_dir();
    let root = target_dir.join("fixture");
    write_fixture(&root).map_err(|e| format!("writing the fixture workspace in {}: {e}", root.display()))?;
    let manifest = root.join("Cargo.toml");

    // The root package does not own cargo-llmbench (nor llmbench, the same
    // program under its plain name), so CARGO_BIN_EXE_ is not available.
    // Both are built in the fixture's workspace, where they link the very
    // release build of llmbench (same features, same profile) that the
    // fixture's benches link; then the benches are built, so that every
    // scenario's `cargo llmbench` finds them fresh (`Run::assert_built_nothing`).
    // `--examples` selects nothing (llmbench has none) but makes cargo
    // resolve dev-dependencies, which llmbench is in the fixture: without it
    // cargo (1.95) panics looking for the features of llmbench among the
    // normal dependencies.
    let builds: [&[&str]; 2] = [
        &["build", "--release", "--package", "llmbench", "--bin", "cargo-llmbench", "--bin", "llmbench", "--examples"],
        &["bench", "--no-run", "--package", "fixture"],
    ];
    for args in builds {
        let mut build = Command::new(cargo());
        build
            .current_dir(&root)
            .args(args)
            .arg("--manifest-path")
            .arg(&manifest)
            .env("CARGO_TARGET_DIR", &target_dir)
            .env("CARGO_NET_OFFLINE", "true")
            .env("CARGO_TERM_COLOR", "never");
        let built = run(&mut build);
        if built.code() != Some(0) {
            return Err(format!("building the fixture failed\n{built}"));
        }
    }
    let exe = |name: &str| target_dir.join("release").join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let (cargo_llmbench, llmbench) = (exe("cargo-llmbench"), exe("llmbench"));
    for path in [&cargo_llmbench, &llmbench] {
        if !path.is_file() {
            return Err(format!("{} is missing after a successful build", path.display()));
        }
    }
    Ok(Setup { root, cargo_llmbench, llmbench })
}

fn write_fixture(root: &Path) -> std::io::Result<()> {
    let llmbench = Path::new(REPO).join("llmbench");
    let manifest = format!(
        r#"[package]
name = "fixture"
version = "0.0.0"
edition = "2024"
publish = false

# No default features: the Bedrock and SageMaker providers (the AWS SDKs)
# would be most of the fixture's build, and it only speaks the simulator's
# OpenAI protocol. The AWS protocols are tested in process, with the default
# features, by llmbench/src/engine/sim_protocol_tests.rs.
[dev-dependencies]
llmbench = {{ path = '{}', default-features = false }}

[[bench]]
name = "chat"
harness = false

# Its own workspace, although it sits inside the llmbench repository.
[workspace]

{RELEASE_PROFILE}"#,
        llmbench.display()
    );
    std::fs::create_dir_all(root.join("benches"))?;
    write_if_changed(&root.join("Cargo.toml"), &manifest)?;
    write_if_changed(&root.join("benches").join("chat.rs"), BENCH_RS)?;
    write_if_changed(&root.join("llmbench.toml"), CONFIG)?;
    // The compile-fail cases of tests/ui.rs, as examples: only that test
    // builds them (`cargo bench` builds no examples).
    std::fs::create_dir_all(root.join("examples"))?;
    for case in ui_cases() {
        let source = std::fs::read_to_string(ui_dir().join(format!("{case}.rs")))?;
        write_if_changed(&root.join("examples").join(format!("{UI_PREFIX}{case}.rs")), &source)?;
    }
    // The repository's lock file pins the same versions (no resolution, so
    // no network); cargo then trims it in place, so the copy is kept beside
    // it to know when the repository's changes.
    let lock = std::fs::read_to_string(Path::new(REPO).join("Cargo.lock"))?;
    let copied = std::fs::read_to_string(root.join("Cargo.lock.orig")).unwrap_or_default();
    if copied != lock || !root.join("Cargo.lock").is_file() {
        write_if_changed(&root.join("Cargo.lock"), &lock)?;
        write_if_changed(&root.join("Cargo.lock.orig"), &lock)?;
    }
    Ok(())
}

/// The name prefix of the compile-fail cases among the fixture's examples.
pub const UI_PREFIX: &str = "ui_";

fn ui_dir() -> PathBuf {
    Path::new(REPO).join("tests").join("ui")
}

/// The compile-fail cases of tests/ui.rs: the stems of `tests/ui/*.rs`, sorted.
pub fn ui_cases() -> Vec<String> {
    dir_names(&ui_dir()).into_iter().filter_map(|name| name.strip_suffix(".rs").map(str::to_owned)).collect()
}

/// Copies the repository's lock file into `dir`: a package depending on
/// llmbench by path then resolves offline, to the versions the repository
/// builds with.
pub fn copy_lock(dir: &Path) -> std::io::Result<()> {
    std::fs::copy(Path::new(REPO).join("Cargo.lock"), dir.join("Cargo.lock")).map(drop)
}

/// The llmbench package of this repository (what `--path` names).
pub fn llmbench_package() -> PathBuf {
    Path::new(REPO).join("llmbench")
}

/// Leaves the file (and its mtime, which cargo's fingerprints read) alone
/// when it already holds `text`; otherwise replaces it atomically.
fn write_if_changed(path: &Path, text: &str) -> std::io::Result<()> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// A finished (or killed) child: everything needed to explain a failure.
pub struct Run {
    command: String,
    status: Option<ExitStatus>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
    elapsed: Duration,
}

impl Run {
    /// The exit code; `None` if killed by a signal or on timeout.
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    /// Asserts the exit code.
    #[track_caller]
    pub fn assert_code(&self, expected: i32) -> &Run {
        assert_eq!(self.code(), Some(expected), "unexpected exit code\n{self}");
        self
    }

    /// Asserts that standard output contains `needle`.
    #[track_caller]
    pub fn assert_stdout_contains(&self, needle: &str) -> &Run {
        assert!(self.stdout.contains(needle), "stdout lacks {needle:?}\n{self}");
        self
    }

    /// Asserts that standard error contains `needle`.
    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Run {
        assert!(self.stderr.contains(needle), "stderr lacks {needle:?}\n{self}");
        self
    }

    /// Asserts that cargo compiled nothing: the setup's build of the fixture
    /// is reused (a rebuild per scenario would cost minutes).
    #[track_caller]
    pub fn assert_built_nothing(&self) -> &Run {
        assert!(!self.stderr.contains("Compiling "), "cargo rebuilt something that the setup had built\n{self}");
        self
    }

    /// Asserts that nothing panicked: bad input gets a message, not a backtrace.
    #[track_caller]
    pub fn assert_no_panic(&self) -> &Run {
        assert!(!self.stderr.contains("panicked") && !self.stdout.contains("panicked"), "a process panicked\n{self}");
        self
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match self.status {
            Some(status) => status.to_string(),
            None => format!("killed after {CHILD_TIMEOUT:?}"),
        };
        writeln!(f, "--- command: {}", self.command)?;
        writeln!(f, "--- status: {status} after {:.1?}", self.elapsed)?;
        writeln!(f, "--- stdout:\n{}", self.stdout)?;
        write!(f, "--- stderr:\n{}", self.stderr)
    }
}

/// Runs `cmd` to completion (or kills it after [`CHILD_TIMEOUT`]),
/// capturing its output.
pub fn run(cmd: &mut Command) -> Run {
    let command = describe(cmd);
    let started = Instant::now();
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start {command}: {e}"));
    let stdout = Capture::start(child.stdout.take());
    let stderr = Capture::start(child.stderr.take());
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if started.elapsed() < CHILD_TIMEOUT => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Err(e) => panic!("waiting for {command}: {e}"),
        }
    };
    let elapsed = started.elapsed();
    // Shown with `--nocapture` (and for failed tests): where the time goes.
    eprintln!("[{elapsed:>6.1?}] {command}");
    Run { command, status, stdout: stdout.finish(), stderr: stderr.finish(), elapsed }
}

fn describe(cmd: &Command) -> String {
    // The LLMBENCH_* variables a scenario sets are part of what it ran.
    let mut out = String::new();
    for (key, value) in cmd.get_envs() {
        if let Some(value) = value.filter(|_| key.to_string_lossy().starts_with("LLMBENCH_")) {
            let _ = write!(out, "{}={} ", key.to_string_lossy(), value.to_string_lossy());
        }
    }
    out.push_str(&cmd.get_program().to_string_lossy());
    for arg in cmd.get_args() {
        out.push(' ');
        out.push_str(&arg.to_string_lossy());
    }
    out
}

/// A pipe drained on its own thread into a buffer that stays readable even
/// if a grandchild keeps the pipe open after the child exits.
struct Capture {
    buffer: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Capture {
    fn start(pipe: Option<impl Read + Send + 'static>) -> Capture {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let reader = pipe.map(|mut pipe| {
            let buffer = Arc::clone(&buffer);
            std::thread::spawn(move || {
                let mut chunk = [0u8; 8192];
                while let Ok(n @ 1..) = pipe.read(&mut chunk) {
                    buffer.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(&chunk[..n]);
                }
            })
        });
        Capture { buffer, reader }
    }

    fn finish(self) -> String {
        if let Some(reader) = self.reader {
            let deadline = Instant::now() + Duration::from_secs(5);
            while !reader.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let bytes = self.buffer.lock().unwrap_or_else(|p| p.into_inner());
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

/// Reads and parses a JSON file, naming it on failure.
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}\n{text}", path.display()))
}

/// Reads a JSON Lines file, one value a line.
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{}:{}: not JSON: {e}\n{line}", path.display(), i + 1))
        })
        .collect()
}

/// The names in a directory, sorted; empty if it does not exist.
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    names
}

/// Removes a directory tree if it exists.
pub fn remove_dir(dir: &Path) {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => panic!("cannot remove {}: {e}", dir.display()),
    }
}
