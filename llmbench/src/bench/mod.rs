//! The benchmark binary: what `llmbench::main!()` runs. Parses the command
//! line, selects benchmarks from the registry, and runs them in test mode
//! (one request each) or bench mode (warm-up, samples, results on disk).

mod args;
mod gate;
pub(crate) use gate::write_outputs;
pub(crate) mod registry;
mod run;
pub(crate) mod sim_host;

use std::io::Write;
use std::path::Path;

use clap::Parser;
use regex::Regex;

use crate::exit_code;
use crate::target::config::{self, Config};
use args::BenchArgs;
use registry::BenchDef;

/// The body of a benchmark binary's `main`; returns the exit code.
pub(crate) fn main(manifest_dir: &str) -> i32 {
    let args = match BenchArgs::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { exit_code::USAGE } else { exit_code::OK };
        }
    };
    match run_main(&args, manifest_dir) {
        Ok(code) => code,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            exit_code::USAGE
        }
        Err(Failure::Error(message)) => {
            eprintln!("error: {message}");
            exit_code::ERROR
        }
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
    let selected = select(registry::all(), args)?;
    if args.list {
        let mut out = std::io::stdout().lock();
        for def in &selected {
            let _ = if args.terse() {
                writeln!(out, "{}: benchmark", def.name)
            } else {
                writeln!(out, "{}: benchmark ({}:{})", def.name, def.file, def.line)
            };
        }
        return Ok(exit_code::OK);
    }
    if selected.is_empty() {
        match &args.filter {
            Some(f) => eprintln!("no benchmark matched {f:?}"),
            None => eprintln!("no benchmarks are registered in this binary"),
        }
        return Ok(exit_code::NO_BENCHMARKS);
    }
    let config = load_config(args, manifest_dir)?;
    run::run(args, &config, &selected)
}

/// The registered benchmarks that the filter selects, in registry order.
fn select(all: Vec<&'static BenchDef>, args: &BenchArgs) -> Result<Vec<&'static BenchDef>, Failure> {
    let Some(filter) = &args.filter else { return Ok(all) };
    if args.exact {
        return Ok(all.into_iter().filter(|d| d.name == filter).collect());
    }
    let re = Regex::new(filter).map_err(|e| Failure::Usage(format!("invalid FILTER regex {filter:?}: {e}")))?;
    Ok(all.into_iter().filter(|d| re.is_match(d.name)).collect())
}

fn load_config(args: &BenchArgs, manifest_dir: &str) -> Result<Config, Failure> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let found = config::find(args.config.as_deref(), &[&cwd, Path::new(manifest_dir)])
        .map_err(|e| Failure::Usage(e.to_string()))?;
    match found {
        Some(path) => Config::load(&path).map_err(|e| Failure::Usage(e.to_string())),
        None => Ok(Config::default()),
    }
}
