//! The benchmark binary: what `llmbench::main!()` runs. Parses the command
//! line, selects benchmarks from the registry, and runs them in test mode
//! (one request each) or bench mode (warm-up, samples, results on disk).

mod args;
mod connect;
#[cfg(test)]
mod fault_matrix_tests;
mod gate;
mod levels;
pub(crate) use gate::write_outputs;
pub(crate) mod registry;
mod run;
pub(crate) mod sim_host;
#[cfg(all(test, feature = "bedrock", feature = "sagemaker"))]
mod sim_protocol_tests;

use std::io::Write;
use std::path::Path;

use clap::Parser;
use regex::Regex;

use crate::config::file::{self, Config};
use crate::exit_code;
use args::BenchArgs;
use registry::BenchDef;

/// The body of a benchmark binary's `main`; returns the exit code.
pub(crate) fn main(manifest_dir: &str) -> i32 {
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(name) = argv.first().and_then(|a| bench_name(Path::new(a))) {
        argv[0] = name.into();
    }
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
    match run_main(&args, manifest_dir) {
        Ok(code) => code,
        // Messages may quote a server or a file: no escape sequence gets through.
        Err(Failure::Usage(message)) => {
            eprintln!("error: {}", crate::term::safe(&message));
            exit_code::USAGE
        }
        Err(Failure::Error(message)) => {
            eprintln!("error: {}", crate::term::safe(&message));
            exit_code::ERROR
        }
    }
}

/// What `cargo llmbench` hands a benchmark binary: its own flags, parsed
/// and checked, in the environment variable [`PARENT_ENV`] as JSON.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct FromParent {
    pub(crate) run: args::RunArgs,
    pub(crate) settings: crate::settings::SettingsLayer,
    pub(crate) gate: args::GateArgs,
}

/// The variable holding [`FromParent`].
pub(crate) const PARENT_ENV: &str = "LLMBENCH_PARENT";

/// The flags `cargo llmbench` handed over, under those of this binary's own
/// command line (`cargo llmbench -- ARGS`), which win.
fn under_parent(mut args: BenchArgs) -> Result<BenchArgs, String> {
    let Some(json) = std::env::var_os(PARENT_ENV).filter(|v| !v.is_empty()) else { return Ok(args) };
    let parent: FromParent = serde_json::from_str(&json.to_string_lossy())
        .map_err(|e| format!("{PARENT_ENV} is not what cargo llmbench writes: {e}"))?;
    args.run = crate::cli::args::overlay(&parent.run, &args.run);
    args.settings = crate::cli::args::overlay(&parent.settings, &args.settings);
    args.gate = crate::cli::args::overlay(&parent.gate, &args.gate);
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

/// Why a benchmark binary stopped early.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Bad input from the user (exit 2).
    Usage(String),
    /// Anything else (exit 1).
    Error(String),
}

fn run_main(args: &BenchArgs, manifest_dir: &str) -> Result<i32, Failure> {
    let all = registry::all();
    if let Some(pair) = all.windows(2).find(|w| w[0].name == w[1].name) {
        let (a, b) = (pair[0], pair[1]);
        return Err(Failure::Usage(format!(
            "two benchmarks are named {:?} ({}:{} and {}:{}); give one a `name = \"…\"`",
            a.name, a.file, a.line, b.file, b.line
        )));
    }
    let selected = select(all, args)?;
    if args.run.list {
        let mut out = std::io::stdout().lock();
        for def in &selected {
            let _ = if args.run.terse() {
                writeln!(out, "{}: benchmark", def.name)
            } else {
                writeln!(out, "{}: benchmark ({}:{})", def.name, def.file, def.line)
            };
        }
        return Ok(exit_code::OK);
    }
    if selected.is_empty() {
        match &args.run.filter {
            Some(f) => eprintln!("no benchmark matched {f:?}"),
            None => eprintln!("no benchmarks are registered in this binary"),
        }
        return Ok(exit_code::NO_BENCHMARKS);
    }
    crate::workload::set_base_dir(Path::new(manifest_dir));
    let config = load_config(args, manifest_dir)?;
    run::run(args, &config, &selected)
}

/// The registered benchmarks that the filter selects, in registry order.
fn select(all: Vec<&'static BenchDef>, args: &BenchArgs) -> Result<Vec<&'static BenchDef>, Failure> {
    let Some(filter) = &args.run.filter else { return Ok(all) };
    // A filter may also name a parameter-grid combination (`name/key=value`).
    let prefix = |d: &BenchDef| filter.split('/').next() == Some(d.name);
    if args.run.exact {
        return Ok(all.into_iter().filter(|d| d.name == filter || prefix(d)).collect());
    }
    let re = Regex::new(filter).map_err(|e| Failure::Usage(format!("invalid FILTER regex {filter:?}: {e}")))?;
    Ok(all.into_iter().filter(|d| re.is_match(d.name) || filter.contains('/')).collect())
}

/// Whether a job's id is selected by the filter: all of a selected
/// benchmark's grid combinations, or those the filter names.
pub(crate) fn selects_job(args: &BenchArgs, name: &str, id: &str) -> bool {
    let Some(filter) = &args.run.filter else { return true };
    if args.run.exact {
        return filter == name || filter == id;
    }
    Regex::new(filter).is_ok_and(|re| re.is_match(name) || re.is_match(id))
}

fn load_config(args: &BenchArgs, manifest_dir: &str) -> Result<Config, Failure> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let found = file::find(args.run.config.as_deref(), &[&cwd, Path::new(manifest_dir)])
        .map_err(|e| Failure::Usage(e.to_string()))?;
    match found {
        Some(path) => Config::load(&path).map_err(|e| Failure::Usage(e.to_string())),
        None => Ok(Config::default()),
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
