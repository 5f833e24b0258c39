//! `cargo llmbench`: finds the workspace's benchmark targets that use
//! llmbench (cargo_metadata), builds them with `cargo bench --no-run`,
//! runs each binary with the forwarded flags, and prints a combined summary.
//!
//! It knows nothing of providers or statistics: the benchmark binaries
//! measure; this only orchestrates and reads their results files.

mod build;
mod compare;
mod sim;

use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::file::CONFIG_FILE;
use crate::exit_code;
use crate::report::terminal;
use crate::results;

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
    args_conflicts_with_subcommands = true,
    about = "Find, build and run the llmbench benchmarks of this workspace",
    after_help = "Exit codes: 0 ok, 1 error, 2 usage or config error, 3 regression or failed limit, 4 no benchmark matched, 129/130/143 stopped by SIGHUP/SIGINT/SIGTERM (partial results written).\nResults: target/llmbench/<bench>/<target>/new/{summary.json,requests.jsonl}."
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

    #[command(flatten)]
    gate: GateArgs,

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

/// `cargo llmbench <COMMAND>`; without one, it runs benchmarks (a first
/// argument that is none of these is the FILTER).
#[derive(Debug, Subcommand)]
enum LlmbenchCommand {
    /// Serve the simulator (every protocol) until Ctrl-C, for other tools and your own apps.
    Sim(sim::SimArgs),
    /// Compare two saved runs or baselines without sending requests:
    /// `cargo llmbench compare main new` judges each benchmark × target's
    /// `new/` against baseline `main`. BASELINE and CURRENT are names
    /// (`new`, or a saved baseline) or paths to run directories.
    Compare(Box<compare::CompareArgs>),
}

/// The regression-gate flags shared by a run and `compare`, forwarded to
/// the benchmark binaries.
#[derive(Debug, Clone, Args)]
pub(crate) struct GateArgs {
    /// Compare with baseline NAME where it exists, then save this run as NAME
    /// (default `base`; write `--save-baseline=NAME`).
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "base", help_heading = "Baselines",
          conflicts_with_all = ["baseline", "baseline_lenient", "discard_baseline"])]
    save_baseline: Option<String>,
    /// Compare with baseline NAME; a missing baseline is an error (exit 2).
    #[arg(long, value_name = "NAME", help_heading = "Baselines", conflicts_with = "baseline_lenient")]
    baseline: Option<String>,
    /// Compare with baseline NAME where it exists.
    #[arg(long, value_name = "NAME", help_heading = "Baselines")]
    baseline_lenient: Option<String>,
    /// Judge the saved run NAME (e.g. `new`) instead of sending requests.
    #[arg(long, value_name = "NAME", help_heading = "Baselines")]
    load_baseline: Option<String>,
    /// Save nothing.
    #[arg(long, help_heading = "Baselines")]
    discard_baseline: bool,
    /// Where named baselines live (e.g. reports/baselines).
    #[arg(long, value_name = "PATH", help_heading = "Baselines")]
    pub(crate) baseline_dir: Option<PathBuf>,
    /// Compare runs whose fingerprints differ instead of refusing.
    #[arg(long, help_heading = "Baselines")]
    pub(crate) force_compare: bool,
    /// Bootstrap resamples.
    #[arg(long, value_name = "N", help_heading = "Statistics")]
    pub(crate) nresamples: Option<u32>,
    /// Confidence level (0.95).
    #[arg(long, value_name = "X", help_heading = "Statistics")]
    pub(crate) confidence_level: Option<f64>,
    /// Significance level (0.05).
    #[arg(long, value_name = "X", help_heading = "Statistics")]
    pub(crate) significance_level: Option<f64>,
    /// Noise threshold (0.05 = ±5%).
    #[arg(long, value_name = "X", help_heading = "Statistics")]
    pub(crate) noise_threshold: Option<f64>,
    /// Exit 3 when any metric regressed.
    #[arg(long, help_heading = "Gate")]
    pub(crate) fail_on_regression: bool,
    /// A limit (repeatable): `ttft.p90<=500ms`, `error_rate<=1%`, `ttft.p50=+5%`.
    #[arg(long = "limit", value_name = "LIMIT", help_heading = "Gate")]
    pub(crate) limits: Vec<crate::gate::Limit>,
    /// `md`: print a Markdown summary on stdout (tables go to stderr);
    /// `terse` (with --list): one `name: benchmark` line each.
    #[arg(long, value_name = "FORMAT", help_heading = "Gate")]
    pub(crate) format: Option<String>,
    /// Write a JUnit XML report to PATH.
    #[arg(long, value_name = "PATH", help_heading = "Gate")]
    pub(crate) junit: Option<PathBuf>,
    /// `human` or `json` (NDJSON events on stdout).
    #[arg(long, value_name = "FORMAT", value_parser = ["human", "json"], help_heading = "Gate")]
    pub(crate) message_format: Option<String>,
}

impl GateArgs {
    pub(crate) fn markdown(&self) -> bool {
        matches!(self.format.as_deref(), Some("md" | "markdown"))
    }

    pub(crate) fn json(&self) -> bool {
        self.message_format.as_deref() == Some("json")
    }

    /// Paths made absolute: the binaries run in their package's directory.
    fn absolute(&self, cwd: &std::path::Path) -> GateArgs {
        let abs = |p: &Option<PathBuf>| p.as_ref().map(|p| cwd.join(p));
        GateArgs { baseline_dir: abs(&self.baseline_dir), junit: abs(&self.junit), ..self.clone() }
    }

    /// The flags for a benchmark binary (not --junit: `cargo llmbench`
    /// writes the combined report itself).
    fn forward(&self, out: &mut Vec<String>) {
        let mut flag = |name: &str, value: Option<String>| {
            if let Some(v) = value {
                out.push(format!("--{name}={v}"));
            }
        };
        flag("save-baseline", self.save_baseline.clone());
        flag("baseline", self.baseline.clone());
        flag("baseline-lenient", self.baseline_lenient.clone());
        flag("load-baseline", self.load_baseline.clone());
        flag("baseline-dir", self.baseline_dir.as_ref().map(|p| p.display().to_string()));
        flag("nresamples", self.nresamples.map(|n| n.to_string()));
        flag("confidence-level", self.confidence_level.map(|n| n.to_string()));
        flag("significance-level", self.significance_level.map(|n| n.to_string()));
        flag("noise-threshold", self.noise_threshold.map(|n| n.to_string()));
        flag("format", self.format.clone());
        flag("message-format", self.message_format.clone());
        for l in &self.limits {
            flag("limit", Some(l.to_string()));
        }
        for (on, name) in [
            (self.discard_baseline, "--discard-baseline"),
            (self.force_compare, "--force-compare"),
            (self.fail_on_regression, "--fail-on-regression"),
        ] {
            if on {
                out.push(name.to_owned());
            }
        }
    }
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
    // `cargo llmbench … | head -1` ends quietly, like any CLI. Not for the
    // simulator, which writes to sockets (a client that hangs up would kill it).
    if !matches!(args.command, Some(LlmbenchCommand::Sim(_))) {
        crate::process::default_sigpipe();
    }
    match run(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", crate::term::safe(&format!("{e:#}")));
            match e.downcast_ref::<build::UsageError>() {
                Some(_) => exit_code::USAGE,
                None => exit_code::ERROR,
            }
        }
    }
}

fn run(args: &LlmbenchArgs) -> anyhow::Result<i32> {
    match &args.command {
        Some(LlmbenchCommand::Sim(sim)) => return sim::run(sim),
        Some(LlmbenchCommand::Compare(compare)) => return compare::run(compare),
        None => {}
    }
    let cwd = std::env::current_dir().context("reading the current directory")?;
    let gate = args.gate.absolute(&cwd);
    let workspace = build::discover(args)?;
    if workspace.benches.is_empty() {
        eprintln!("no benchmark targets that depend on llmbench were found in {}", workspace.root.display());
        return Ok(exit_code::NO_BENCHMARKS);
    }
    let executables = build::build(args, &workspace)?;

    let results_log = tempfile_path("llmbench-results");
    let outcome_log = tempfile_path("llmbench-outcomes");
    let mut codes = Vec::new();
    // SIGINT, SIGTERM, SIGHUP go to the running benchmark binary, which
    // stops and writes what it measured; then no other binary starts, and
    // the summary and report below are still written.
    let forwarding = crate::process::Forwarding::install();
    for exe in &executables {
        if let Some(code) = forwarding.received() {
            codes.push(code);
            break;
        }
        let mut cmd = Command::new(&exe.path);
        cmd.args(bench_args(args, &gate)).current_dir(&exe.package_dir);
        if std::env::var_os("LLMBENCH_HOME").is_none() {
            cmd.env("LLMBENCH_HOME", workspace.target_dir.join("llmbench"));
        }
        let root_config = workspace.root.join(CONFIG_FILE);
        if args.config.is_none() && std::env::var_os("LLMBENCH_CONFIG").is_none() && root_config.is_file() {
            cmd.env("LLMBENCH_CONFIG", &root_config);
        }
        cmd.env("LLMBENCH_RESULTS_LOG", &results_log);
        cmd.env("LLMBENCH_OUTCOME_LOG", &outcome_log);
        if !args.quiet && !args.list {
            eprintln!("     Running {} ({})", exe.name, exe.path.display());
        }
        let code = crate::process::run_child(&mut cmd).with_context(|| format!("running {}", exe.path.display()))?;
        codes.push(code);
        if exit_code::is_interruption(code) {
            break;
        }
    }

    let summaries: Vec<results::RunSummary> = std::fs::read_to_string(&results_log)
        .unwrap_or_default()
        .lines()
        .filter_map(|path| results::read_summary(std::path::Path::new(path).parent()?).ok())
        .collect();
    let _ = std::fs::remove_file(&results_log);
    let outcomes = compare::read_outcomes(&outcome_log);
    let _ = std::fs::remove_file(&outcome_log);
    if summaries.len() > 1 {
        let text = format!("Summary of {} benchmark runs\n{}", summaries.len(), terminal::combined(&summaries));
        if gate.markdown() || gate.json() {
            eprintln!("{text}");
        } else {
            println!("{text}");
        }
    }
    crate::bench::write_outputs(&outcomes, gate.markdown(), gate.junit.as_deref()).map_err(anyhow::Error::msg)?;
    if !args.no_report && !args.list && !args.test {
        let root = std::env::var_os("LLMBENCH_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace.target_dir.join("llmbench"));
        crate::report::write_and_announce(&root, args.gate.baseline_dir.as_deref());
    }
    drop(forwarding);
    Ok(exit_code::combine(&codes))
}

/// The flags forwarded to each benchmark binary.
fn bench_args(args: &LlmbenchArgs, gate: &GateArgs) -> Vec<String> {
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
    gate.forward(&mut out);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn parse(args: &[&str]) -> Result<LlmbenchArgs, clap::Error> {
        let argv = ["cargo", "llmbench"].iter().chain(args).copied();
        CargoCli::try_parse_from(argv).map(|CargoCli::Llmbench(a)| a)
    }

    #[test]
    fn compare_is_a_subcommand_and_anything_else_a_filter() {
        let a = parse(&["short", "--sample-size", "5"]).unwrap();
        assert_eq!(a.filter.as_deref(), Some("short"));
        assert!(a.command.is_none());
        let a = parse(&["compare", "main", "new", "short", "--fail-on-regression", "--limit", "ttft.p50=+5%"]).unwrap();
        let Some(LlmbenchCommand::Compare(c)) = a.command else { panic!("not compare") };
        assert_eq!((c.baseline.as_str(), c.current.as_str(), c.filter.as_deref()), ("main", "new", Some("short")));
        assert!(c.gate.fail_on_regression && c.gate.limits.len() == 1);
        assert!(parse(&["compare", "main"]).is_err(), "compare needs two runs");
        assert!(parse(&["--limit", "nope"]).is_err());
    }

    #[test]
    fn gate_flags_are_forwarded_with_absolute_paths() {
        let a = parse(&[
            "--baseline",
            "main",
            "--baseline-dir",
            "reports/baselines",
            "--fail-on-regression",
            "--limit",
            "error_rate<=1%",
            "--junit",
            "j.xml",
        ])
        .unwrap();
        let gate = a.gate.absolute(Path::new("/repo"));
        let forwarded = bench_args(&a, &gate);
        for flag in [
            "--baseline=main",
            "--baseline-dir=/repo/reports/baselines",
            "--fail-on-regression",
            "--limit=error_rate<=1%",
            "--bench",
        ] {
            assert!(forwarded.iter().any(|f| f == flag), "{flag} missing from {forwarded:?}");
        }
        assert!(!forwarded.iter().any(|f| f.contains("junit")), "cargo llmbench writes the JUnit report itself");
        assert_eq!(gate.junit.as_deref(), Some(Path::new("/repo/j.xml")));
        assert_eq!(parse(&["--save-baseline"]).unwrap().gate.save_baseline.as_deref(), Some("base"));
    }
}
