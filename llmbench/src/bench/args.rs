//! The command line of a benchmark binary, criterion-compatible where
//! criterion has the same concept. Every flag also reads an `LLMBENCH_*`
//! environment variable; libtest's flags are accepted and ignored.

use std::path::PathBuf;

use clap::{ArgAction, Parser, ValueEnum};

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum Color {
    #[default]
    Auto,
    Always,
    Never,
}

/// Arguments of a benchmark binary (`cargo bench -- …`, `cargo llmbench -- …`).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "llmbench",
    about = "Runs the llmbench benchmarks of this binary",
    after_help = "Without --bench (as under `cargo test --benches`) each benchmark sends one request and reports success: test mode.\nResults go to target/llmbench/<bench>/<target>/new/."
)]
pub(crate) struct BenchArgs {
    /// Run only benchmarks whose id matches this regular expression.
    #[arg(value_name = "FILTER", env = "LLMBENCH_FILTER")]
    pub(crate) filter: Option<String>,

    /// Match FILTER exactly instead of as a regular expression.
    #[arg(long, env = "LLMBENCH_EXACT")]
    pub(crate) exact: bool,

    /// List the benchmarks instead of running them.
    #[arg(long, env = "LLMBENCH_LIST")]
    pub(crate) list: bool,

    /// Output format of --list: `pretty` or `terse` (`name: benchmark`).
    /// Other values (libtest's `json`, …) are accepted and read as pretty.
    #[arg(long, value_name = "FORMAT", env = "LLMBENCH_FORMAT")]
    pub(crate) format: Option<String>,

    /// Measure (set by `cargo bench`).
    #[arg(long, hide = true)]
    pub(crate) bench: bool,

    /// Test mode: one request per benchmark, no measuring.
    #[arg(long, hide = true)]
    pub(crate) test: bool,

    /// Measured requests per concurrency level.
    #[arg(long, value_name = "N", env = "LLMBENCH_SAMPLE_SIZE", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) sample_size: Option<u32>,

    /// Warm-up requests per concurrency level (discarded).
    #[arg(long, value_name = "N", env = "LLMBENCH_WARM_UP")]
    pub(crate) warm_up: Option<u32>,

    /// Concurrency levels, comma-separated (`1,8,32`).
    #[arg(long, value_name = "LIST", env = "LLMBENCH_CONCURRENCY", value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) concurrency: Vec<u32>,

    /// Target to run against (repeat for side by side). Default: the
    /// benchmark's `targets`, then `[defaults] targets`, then `sim`.
    #[arg(long = "target", value_name = "NAME", env = "LLMBENCH_TARGET", value_delimiter = ',')]
    pub(crate) targets: Vec<String>,

    /// Per-request total timeout (`30s`), overriding config and attribute.
    #[arg(long, value_name = "DURATION", env = "LLMBENCH_TIMEOUT", value_parser = parse_duration_arg)]
    pub(crate) timeout: Option<std::time::Duration>,

    /// Project cost to this many successful requests per hour, minute,
    /// second, day or month (`1000/h`): cost per hour and per month, and for
    /// per-instance-hour prices the instances needed.
    #[arg(long, value_name = "RATE", env = "LLMBENCH_PROJECT")]
    pub(crate) project: Option<crate::cost::Volume>,
    /// Open loop at this rate (`50/s`, `1200/m`); a comma list runs one
    /// level per rate.
    #[arg(long, value_name = "RATE", env = "LLMBENCH_RATE", value_parser = parse_rates)]
    pub(crate) rate: Option<String>,

    /// Open-loop arrivals: constant, poisson or gamma:<burstiness>.
    #[arg(long, value_name = "ARRIVAL", env = "LLMBENCH_ARRIVAL", value_parser = parse_arrival)]
    pub(crate) arrival: Option<String>,

    /// Run each level for this long (`30s`, `2m`) instead of a request count.
    #[arg(long, value_name = "DURATION", env = "LLMBENCH_DURATION", value_parser = parse_nonzero_duration)]
    pub(crate) duration: Option<String>,

    /// After a duration-bounded level, let requests in flight finish for
    /// this long, then cut them (default 30s, at most the timeout).
    #[arg(long, value_name = "DURATION", env = "LLMBENCH_GRACE", value_parser = parse_duration_text)]
    pub(crate) grace: Option<String>,

    /// Stages with linear ramps (`30s@5/s,1m@50/s`, `20s@4,1m@32`,
    /// `spike:10/s*5`).
    #[arg(long, value_name = "STAGES", env = "LLMBENCH_STAGES", value_parser = parse_stages)]
    pub(crate) stages: Option<String>,

    /// Sweep load levels and report the knee: `1,2,4,8`, `5/s,10/s`,
    /// `auto`, `auto:rate`, `3x:20/s`.
    #[arg(long, value_name = "SWEEP", env = "LLMBENCH_SWEEP", value_parser = parse_sweep)]
    pub(crate) sweep: Option<String>,

    /// Open loop: at most this many requests in flight (later ones wait,
    /// and the wait counts in their latency).
    #[arg(long, value_name = "N", env = "LLMBENCH_MAX_IN_FLIGHT", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) max_in_flight: Option<u32>,

    /// SLOs for goodput: `ttft<=500ms,tpot<=100ms,p99 e2e<=2s,goodput>=99%`.
    #[arg(long, value_name = "SLOS", env = "LLMBENCH_SLO", value_parser = parse_slo)]
    pub(crate) slo: Option<String>,

    /// The configuration file (default: llmbench.toml found upward from here).
    #[arg(long, value_name = "PATH", env = "LLMBENCH_CONFIG")]
    pub(crate) config: Option<PathBuf>,

    /// Print only the result tables.
    #[arg(long, short = 'q', env = "LLMBENCH_QUIET")]
    pub(crate) quiet: bool,

    /// Colour: auto, always or never.
    #[arg(long, value_enum, default_value_t = Color::Auto, env = "LLMBENCH_COLOR")]
    pub(crate) color: Color,

    /// Do not write the HTML report at the end (criterion's flag name).
    /// `cargo llmbench` writes one report for all binaries instead.
    #[arg(long, visible_alias = "no-report", env = "LLMBENCH_NOPLOT")]
    pub(crate) noplot: bool,

    /// Append the path of every summary written to this file (used by
    /// `cargo llmbench` to print the combined summary).
    #[arg(long, hide = true, env = "LLMBENCH_RESULTS_LOG")]
    pub(crate) results_log: Option<PathBuf>,

    // libtest compatibility: accepted and ignored.
    #[arg(long, hide = true, action = ArgAction::SetTrue)]
    pub(crate) nocapture: bool,
    #[arg(long, hide = true, action = ArgAction::SetTrue)]
    pub(crate) show_output: bool,
    #[arg(long, hide = true, action = ArgAction::SetTrue)]
    pub(crate) include_ignored: bool,
    #[arg(long, hide = true, action = ArgAction::SetTrue)]
    pub(crate) ignored: bool,
}

impl BenchArgs {
    /// Criterion's rule: without `--bench`, or with `--test`, it is test mode.
    pub(crate) fn test_mode(&self) -> bool {
        self.test || !self.bench
    }

    /// `--format terse`.
    pub(crate) fn terse(&self) -> bool {
        self.format.as_deref() == Some("terse")
    }
}

fn parse_duration_arg(s: &str) -> Result<std::time::Duration, String> {
    crate::units::parse_duration(s)
}

fn parse_duration_text(s: &str) -> Result<String, String> {
    crate::units::parse_duration(s).map(|_| s.to_owned())
}

fn parse_nonzero_duration(s: &str) -> Result<String, String> {
    match crate::units::parse_duration(s)? {
        d if d.is_zero() => Err("must be greater than zero".into()),
        _ => Ok(s.to_owned()),
    }
}

fn parse_rates(s: &str) -> Result<String, String> {
    s.split(',').try_for_each(|r| crate::load::schedule::Rate::parse(r).map(drop)).map(|()| s.to_owned())
}

fn parse_arrival(s: &str) -> Result<String, String> {
    crate::load::schedule::Arrival::parse(s).map(|_| s.to_owned())
}

fn parse_stages(s: &str) -> Result<String, String> {
    crate::load::stages::StagesPlan::parse(s).map(|_| s.to_owned())
}

fn parse_sweep(s: &str) -> Result<String, String> {
    crate::load::sweep::SweepSpec::parse(s).map(|_| s.to_owned())
}

fn parse_slo(s: &str) -> Result<String, String> {
    crate::stats::goodput::Slo::parse(s).map(|_| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<BenchArgs, clap::Error> {
        BenchArgs::try_parse_from(std::iter::once("bench").chain(args.iter().copied()))
    }

    #[test]
    fn criterion_mode_rule() {
        assert!(parse(&[]).unwrap().test_mode());
        assert!(!parse(&["--bench"]).unwrap().test_mode());
        assert!(parse(&["--bench", "--test"]).unwrap().test_mode());
    }

    #[test]
    fn libtest_flags_are_accepted() {
        let a = parse(&["short", "--exact", "--nocapture", "--show-output", "--include-ignored", "--format", "json"])
            .unwrap();
        assert_eq!(a.filter.as_deref(), Some("short"));
        assert!(a.exact);
    }

    #[test]
    fn noplot_skips_the_report() {
        assert!(!parse(&["--bench"]).unwrap().noplot);
        assert!(parse(&["--bench", "--noplot"]).unwrap().noplot);
        assert!(parse(&["--bench", "--no-report"]).unwrap().noplot, "the cargo llmbench spelling works too");
    }

    #[test]
    fn values_are_checked() {
        let a = parse(&["--concurrency", "1,8", "--target", "a", "--target", "b", "--timeout", "2s"]).unwrap();
        assert_eq!(a.concurrency, vec![1, 8]);
        assert_eq!(a.targets, vec!["a", "b"]);
        assert_eq!(a.timeout, Some(std::time::Duration::from_secs(2)));
        assert!(parse(&["--sample-size", "0"]).is_err());
        assert!(parse(&["--concurrency", "0"]).is_err());
        assert!(parse(&["--timeout", "soon"]).is_err());
        assert!(parse(&["--no-such-flag"]).is_err());
        assert_eq!(parse(&["--project", "2/s"]).unwrap().project.map(|v| v.requests_per_hour()), Some(7200.0));
        assert!(parse(&["--project", "lots"]).is_err());
    }

    #[test]
    fn load_flags_are_checked() {
        let a = parse(&["--rate", "5/s,10/s", "--arrival", "gamma:0.5", "--duration", "30s", "--max-in-flight", "8"])
            .unwrap();
        assert_eq!(a.rate.as_deref(), Some("5/s,10/s"));
        assert_eq!(a.arrival.as_deref(), Some("gamma:0.5"));
        let a = parse(&["--stages", "spike:10/s*5", "--sweep", "auto", "--slo", "ttft<=300ms,goodput>=95%"]).unwrap();
        assert_eq!(a.sweep.as_deref(), Some("auto"));
        for bad in [
            &["--rate", "fast"][..],
            &["--arrival", "bursty"],
            &["--duration", "0s"],
            &["--stages", "30s@5/s,1m@8"],
            &["--sweep", "1,5/s"],
            &["--slo", "latency<=1s"],
            &["--max-in-flight", "0"],
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{bad:?}");
        }
    }
}
