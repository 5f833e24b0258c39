//! The benchmark binary: what `llmbench::main!()` runs. Parses the command
//! line, selects benchmarks from the registry, and runs them in test mode
//! (one request each) or bench mode (warm-up, samples, results on disk).

pub(crate) mod args;

use std::io::Write;
use std::path::Path;

use clap::Parser;

use crate::config::file::{self, Config};
use crate::engine::registry::{self, BenchDef};
use crate::engine::{BenchSpec, Filter, RunError};
use crate::exit_code;
use args::BenchArgs;

/// Where a benchmark binary's benchmarks come from.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Declared<'a> {
    /// The `#[llm_bench]` functions linked into it; relative dataset paths
    /// start at its package's root, `manifest_dir`.
    Attributes {
        /// The package root (the binary's compile-time `CARGO_MANIFEST_DIR`).
        manifest_dir: &'a str,
    },
    /// The `[benches.NAME]` tables of llmbench.toml that declare a workload:
    /// this program itself, run by `cargo llmbench` with [`TOML_RUNNER`]
    /// like any benchmark binary, so the tables get the same filter,
    /// listing, events, baselines and gate.
    Config,
}

/// The first argument that makes `cargo-llmbench` (or `llmbench`) the
/// benchmark binary of llmbench.toml's benchmarks.
pub(crate) const TOML_RUNNER: &str = "__run-toml-benches";

/// The body of a benchmark binary's `main`; returns the exit code.
pub(crate) fn main(manifest_dir: &str) -> i32 {
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(name) = argv.first().and_then(|a| bench_name(Path::new(a))) {
        argv[0] = name.into();
    }
    run_binary(argv, Declared::Attributes { manifest_dir })
}

/// The benchmark binary of llmbench.toml's benchmarks: `argv` is this
/// program's, [`TOML_RUNNER`] first.
pub(crate) fn toml_main(mut argv: Vec<std::ffi::OsString>) -> i32 {
    if argv.len() > 1 {
        argv.remove(1);
    }
    // Usage messages name what the benchmarks came from.
    if let Some(first) = argv.first_mut() {
        *first = file::CONFIG_FILE.into();
    }
    run_binary(argv, Declared::Config)
}

fn run_binary(argv: Vec<std::ffi::OsString>, declared: Declared<'_>) -> i32 {
    let args = match BenchArgs::try_parse_from(argv) {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { exit_code::USAGE } else { exit_code::OK };
        }
    };
    let args = match under_parent(args) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("error: {message}");
            return exit_code::USAGE;
        }
    };
    let result = match declared {
        Declared::Attributes { manifest_dir } => run_attributes(&args, manifest_dir),
        Declared::Config => run_config(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // Messages may quote a server or a file: no escape sequence gets through.
            eprintln!("error: {}", crate::term::safe(&e.to_string()));
            e.exit_code()
        }
    }
}

/// What `cargo llmbench` hands a benchmark binary: its own flags, parsed
/// and checked, in the environment variable [`PARENT_ENV`] as JSON.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct FromParent {
    pub(crate) run: crate::settings::RunArgs,
    pub(crate) settings: crate::settings::SettingsLayer,
    pub(crate) gate: crate::settings::GateArgs,
    #[serde(default)]
    pub(crate) shard: crate::settings::ShardArgs,
}

/// The variable holding [`FromParent`].
pub(crate) const PARENT_ENV: &str = "LLMBENCH_PARENT";

/// The flags `cargo llmbench` handed over, under those of this binary's own
/// command line (`cargo llmbench -- ARGS`), which win.
fn under_parent(mut args: BenchArgs) -> Result<BenchArgs, String> {
    let Some(json) = std::env::var_os(PARENT_ENV).filter(|v| !v.is_empty()) else { return Ok(args) };
    let parent: FromParent = serde_json::from_str(&json.to_string_lossy())
        .map_err(|e| format!("{PARENT_ENV} is not what cargo llmbench writes: {e}"))?;
    args.run = crate::settings::overlay(&parent.run, &args.run);
    args.settings = crate::settings::overlay(&parent.settings, &args.settings);
    args.gate = crate::settings::overlay(&parent.gate, &args.gate);
    args.shard = crate::settings::overlay(&parent.shard, &args.shard);
    args.under_parent = true;
    Ok(args)
}

/// The bench target's name from its executable (`chat-8d39f4e446d9aa82` →
/// `chat`), so usage messages name what the user wrote.
fn bench_name(exe: &Path) -> Option<String> {
    let stem = exe.file_stem()?.to_str()?;
    match stem.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => Some(name.to_owned()),
        _ => Some(stem.to_owned()),
    }
}

/// `--list`: one line per benchmark, `name: benchmark (file:line)`.
fn list<'a>(args: &BenchArgs, benches: impl Iterator<Item = (&'a str, &'a str, u32)>) -> i32 {
    let mut out = std::io::stdout().lock();
    for (name, file, line) in benches {
        let _ = if args.run.terse() {
            writeln!(out, "{name}: benchmark")
        } else {
            writeln!(out, "{name}: benchmark ({file}:{line})")
        };
    }
    exit_code::OK
}

fn run_attributes(args: &BenchArgs, manifest_dir: &str) -> Result<i32, RunError> {
    let all = registry::all();
    if let Some(pair) = all.windows(2).find(|w| w[0].name == w[1].name) {
        let (a, b) = (pair[0], pair[1]);
        return Err(RunError::Usage(format!(
            "two benchmarks are named {:?} ({}:{} and {}:{}); give one a `name = \"…\"`",
            a.name, a.file, a.line, b.file, b.line
        )));
    }
    let filter = Filter::new(&args.run)?;
    let selected: Vec<&BenchDef> = all.into_iter().filter(|d| filter.selects_bench(d.name)).collect();
    if args.run.list {
        return Ok(list(args, selected.iter().map(|d| (d.name, d.file, d.line))));
    }
    if selected.is_empty() {
        match filter.text() {
            Some(f) => eprintln!("no benchmark matched {f:?}"),
            None => eprintln!("no benchmarks are registered in this binary"),
        }
        return Ok(exit_code::NO_BENCHMARKS);
    }
    crate::workload::set_base_dir(Path::new(manifest_dir));
    let cwd = std::env::current_dir().unwrap_or_default();
    let config = load_config(args, &[&cwd, Path::new(manifest_dir)])?.unwrap_or_default();
    let mut benches: Vec<BenchSpec> = Vec::new();
    for def in selected {
        // One id, one history: a table declaring a benchmark of the same
        // name would mix two workloads under one baseline.
        if config.benches.get(def.name).is_some_and(|t| t.get_ref().workload.is_some()) {
            return Err(RunError::Usage(format!(
                "two benchmarks are named {:?} ({}:{} and {}:{} [benches.{}] with workload keys); rename one",
                def.name,
                def.file,
                def.line,
                config.path().map(|p| p.display().to_string()).unwrap_or_default(),
                config.bench_line(def.name),
                def.name
            )));
        }
        if def.ignore.is_some_and(|ignore| ignore()) {
            crate::term::println(&format!("Ignoring {} (ignore = true)", def.name));
            continue;
        }
        benches.push(def.spec()?);
    }
    if benches.is_empty() {
        return Ok(exit_code::OK);
    }
    crate::engine::run(&args.invocation(), &config, benches)
}

/// llmbench.toml's benchmarks: the file `cargo llmbench` named, else the
/// one found upward from here.
fn run_config(args: &BenchArgs) -> Result<i32, RunError> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let config = load_config(args, &[&cwd])?.unwrap_or_default();
    let filter = Filter::new(&args.run)?;
    let file = config.path().and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let names: Vec<&str> =
        config.declared_benches().map(|(name, _)| name).filter(|n| filter.selects_bench(n)).collect();
    if args.run.list {
        return Ok(list(args, names.iter().map(|&n| (n, file.as_str(), config.bench_line(n) as u32))));
    }
    if names.is_empty() {
        match filter.text() {
            Some(f) => eprintln!("no benchmark matched {f:?}"),
            None => eprintln!("no [benches.NAME] table of llmbench.toml declares a workload"),
        }
        return Ok(exit_code::NO_BENCHMARKS);
    }
    let benches = crate::engine::declared::specs(&config)?.into_iter().filter(|b| names.contains(&b.name.as_str()));
    crate::engine::run(&args.invocation(), &config, benches.collect())
}

fn load_config(args: &BenchArgs, starts: &[&Path]) -> Result<Option<Config>, RunError> {
    match file::find(args.run.config.as_deref(), starts)? {
        Some(path) => Ok(Some(Config::load(&path)?)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_names_drop_cargo_hashes() {
        assert_eq!(bench_name(Path::new("/t/release/deps/chat-8d39f4e446d9aa82")).as_deref(), Some("chat"));
        assert_eq!(bench_name(Path::new("my-bench")).as_deref(), Some("my-bench"));
    }
}
