//! `cargo llmbench`: finds the workspace's benchmark targets that use
//! llmbench (cargo_metadata), builds them with `cargo bench --no-run`,
//! runs each binary with the forwarded flags, and prints a combined summary.
//!
//! It knows nothing of providers or statistics: the benchmark binaries
//! measure; this only orchestrates and reads their results files.

mod build;
mod sim;

use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::exit_code;
use crate::report::terminal;
use crate::results;
use crate::target::config::CONFIG_FILE;

#[derive(Debug, Parser)]
#[command(name = "cargo", bin_name = "cargo")]
enum CargoCli {
    /// Find, build and run llmbench benchmarks.
    Llmbench(LlmbenchArgs),
}

/// `cargo llmbench [OPTIONS] [FILTER] [-- BENCH_ARGS…]`.
#[derive(Debug, Args)]
#[command(
    version,
    about = "Find, build and run the llmbench benchmarks of this workspace",
    after_help = "Exit codes: 0 ok, 1 error, 2 usage or config error, 3 regression or failed limit, 4 no benchmark matched.\nResults: target/llmbench/<bench>/<target>/new/{summary.json,requests.jsonl}."
)]
pub(crate) struct LlmbenchArgs {
    #[command(subcommand)]
    command: Option<LlmbenchCommand>,
    /// Run only benchmarks whose id matches this regular expression.
    #[arg(value_name = "FILTER")]
    filter: Option<String>,
    /// Match FILTER exactly.
    #[arg(long)]
    exact: bool,
    /// List the benchmarks instead of running them.
    #[arg(long)]
    list: bool,
    /// Output format of --list: `pretty` or `terse`.
    #[arg(long, value_name = "FORMAT")]
    format: Option<String>,
    /// Test mode: one request per benchmark, no measuring.
    #[arg(long)]
    test: bool,
    /// Measured requests per concurrency level.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    sample_size: Option<u32>,
    /// Warm-up requests per concurrency level.
    #[arg(long, value_name = "N")]
    warm_up: Option<u32>,
    /// Concurrency levels, comma-separated.
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..))]
    concurrency: Vec<u32>,
    /// Target to run against (repeat for side by side).
    #[arg(long = "target", value_name = "NAME")]
    targets: Vec<String>,
    /// Per-request total timeout (`30s`).
    #[arg(long, value_name = "DURATION", value_parser = |s: &str| crate::units::parse_duration(s).map(|_| s.to_owned()))]
    timeout: Option<String>,
    /// Project cost to this volume of successful requests (`1000/h`).
    #[arg(long, value_name = "RATE", value_parser = check_volume)]
    project: Option<String>,
    /// Open loop at this rate (`50/s`); a comma list runs one level per rate.
    #[arg(long, value_name = "RATE")]
    rate: Option<String>,
    /// Open-loop arrivals: constant, poisson or gamma:<burstiness>.
    #[arg(long, value_name = "ARRIVAL")]
    arrival: Option<String>,
    /// Run each level for this long (`30s`) instead of a request count.
    #[arg(long, value_name = "DURATION")]
    duration: Option<String>,
    /// Grace for requests in flight at the end of a duration-bounded level.
    #[arg(long, value_name = "DURATION")]
    grace: Option<String>,
    /// Stages with linear ramps (`30s@5/s,1m@50/s`, `spike:10/s*5`).
    #[arg(long, value_name = "STAGES")]
    stages: Option<String>,
    /// Sweep load levels and report the knee (`1,2,4,8`, `auto`, `3x:20/s`).
    #[arg(long, value_name = "SWEEP")]
    sweep: Option<String>,
    /// Open loop: at most this many requests in flight.
    #[arg(long, value_name = "N")]
    max_in_flight: Option<u32>,
    /// SLOs for goodput (`ttft<=500ms,tpot<=100ms,goodput>=99%`).
    #[arg(long, value_name = "SLOS")]
    slo: Option<String>,
    /// The configuration file (default: llmbench.toml at the workspace root).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Print only result tables.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Colour: auto, always or never.
    #[arg(long, value_name = "WHEN")]
    color: Option<String>,
    /// Do not write the HTML report (target/llmbench/report/) at the end.
    #[arg(long = "no-report", visible_alias = "noplot")]
    no_report: bool,

    /// Path to Cargo.toml.
    #[arg(long, value_name = "PATH", help_heading = "Cargo options")]
    manifest_path: Option<PathBuf>,
    /// Package(s) whose benchmarks to run.
    #[arg(long, short = 'p', value_name = "SPEC", help_heading = "Cargo options")]
    package: Vec<String>,
    /// Benchmark target(s) to run (`[[bench]] name`).
    #[arg(long = "bench", value_name = "NAME", help_heading = "Cargo options")]
    benches: Vec<String>,
    /// Cargo's target directory.
    #[arg(long, value_name = "DIR", help_heading = "Cargo options")]
    target_dir: Option<PathBuf>,
    /// Features to activate.
    #[arg(long, short = 'F', value_name = "FEATURES", help_heading = "Cargo options")]
    features: Vec<String>,
    /// Activate all features.
    #[arg(long, help_heading = "Cargo options")]
    all_features: bool,
    /// Do not activate the default features.
    #[arg(long, help_heading = "Cargo options")]
    no_default_features: bool,

    /// Arguments passed to every benchmark binary.
    #[arg(last = true, value_name = "BENCH_ARGS")]
    bench_args: Vec<String>,
}

/// `cargo llmbench <COMMAND>`; without one, it runs benchmarks.
#[derive(Debug, Subcommand)]
enum LlmbenchCommand {
    /// Serve the simulator (every protocol) until Ctrl-C, for other tools and your own apps.
    Sim(sim::SimArgs),
}

/// Runs `cargo llmbench` with the process arguments; returns the exit code.
pub(crate) fn main() -> i32 {
    let mut argv: Vec<String> = std::env::args().collect();
    // Cargo runs `cargo-llmbench llmbench …`; accept a direct call too.
    if argv.get(1).map(String::as_str) != Some("llmbench") {
        argv.insert(1, "llmbench".into());
    }
    let CargoCli::Llmbench(args) = match CargoCli::try_parse_from(argv) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { exit_code::USAGE } else { exit_code::OK };
        }
    };
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            match e.downcast_ref::<build::UsageError>() {
                Some(_) => exit_code::USAGE,
                None => exit_code::ERROR,
            }
        }
    }
}

fn run(args: &LlmbenchArgs) -> anyhow::Result<i32> {
    if let Some(LlmbenchCommand::Sim(sim)) = &args.command {
        return sim::run(sim);
    }
    let workspace = build::discover(args)?;
    if workspace.benches.is_empty() {
        eprintln!("no benchmark targets that depend on llmbench were found in {}", workspace.root.display());
        return Ok(exit_code::NO_BENCHMARKS);
    }
    let executables = build::build(args, &workspace)?;

    let results_log = tempfile_path("llmbench-results");
    let mut codes = Vec::new();
    for exe in &executables {
        let mut cmd = Command::new(&exe.path);
        cmd.args(bench_args(args)).current_dir(&exe.package_dir);
        if std::env::var_os("LLMBENCH_HOME").is_none() {
            cmd.env("LLMBENCH_HOME", workspace.target_dir.join("llmbench"));
        }
        let root_config = workspace.root.join(CONFIG_FILE);
        if args.config.is_none() && std::env::var_os("LLMBENCH_CONFIG").is_none() && root_config.is_file() {
            cmd.env("LLMBENCH_CONFIG", &root_config);
        }
        cmd.env("LLMBENCH_RESULTS_LOG", &results_log);
        if !args.quiet && !args.list {
            eprintln!("     Running {} ({})", exe.name, exe.path.display());
        }
        let status = cmd.status().with_context(|| format!("running {}", exe.path.display()))?;
        codes.push(status.code().unwrap_or(exit_code::ERROR));
    }

    let summaries: Vec<results::RunSummary> = std::fs::read_to_string(&results_log)
        .unwrap_or_default()
        .lines()
        .filter_map(|path| results::read_summary(std::path::Path::new(path).parent()?).ok())
        .collect();
    let _ = std::fs::remove_file(&results_log);
    if summaries.len() > 1 {
        println!("Summary of {} benchmark runs", summaries.len());
        println!("{}", terminal::combined(&summaries));
    }
    if !args.no_report && !args.list && !args.test {
        let root = std::env::var_os("LLMBENCH_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace.target_dir.join("llmbench"));
        crate::report::write_and_announce(&root);
    }
    Ok(exit_code::combine(&codes))
}

/// The flags forwarded to each benchmark binary.
fn bench_args(args: &LlmbenchArgs) -> Vec<String> {
    let mut out = Vec::new();
    if !args.test && !args.list {
        out.push("--bench".to_owned());
    }
    if args.list {
        out.push("--list".to_owned());
    }
    if let Some(f) = &args.filter {
        out.push(f.clone());
    }
    let mut flag = |name: &str, value: Option<String>| {
        if let Some(v) = value {
            out.push(format!("--{name}"));
            out.push(v);
        }
    };
    flag("sample-size", args.sample_size.map(|n| n.to_string()));
    flag("warm-up", args.warm_up.map(|n| n.to_string()));
    let levels: Vec<String> = args.concurrency.iter().map(u32::to_string).collect();
    flag("concurrency", (!levels.is_empty()).then(|| levels.join(",")));
    flag("format", args.format.clone());
    flag("timeout", args.timeout.clone());
    flag("project", args.project.clone());
    flag("rate", args.rate.clone());
    flag("arrival", args.arrival.clone());
    flag("duration", args.duration.clone());
    flag("grace", args.grace.clone());
    flag("stages", args.stages.clone());
    flag("sweep", args.sweep.clone());
    flag("max-in-flight", args.max_in_flight.map(|n| n.to_string()));
    flag("slo", args.slo.clone());
    flag("config", args.config.as_ref().map(|p| p.display().to_string()));
    flag("color", args.color.clone());
    for t in &args.targets {
        out.push("--target".to_owned());
        out.push(t.clone());
    }
    if args.exact {
        out.push("--exact".to_owned());
    }
    if args.quiet {
        out.push("--quiet".to_owned());
    }
    out.extend(args.bench_args.iter().cloned());
    out
}

/// Checks `--project` here, so a typo fails before anything is built.
fn check_volume(text: &str) -> Result<String, String> {
    text.parse::<crate::cost::Volume>().map(|_| text.to_owned())
}

fn tempfile_path(prefix: &str) -> PathBuf {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    std::env::temp_dir().join(format!("{prefix}-{}-{nanos}.log", std::process::id()))
}
