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

/// `--message-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum MessageFormat {
    /// Tables and progress for people.
    #[default]
    Human,
    /// NDJSON events on stdout.
    Json,
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

    /// Compare with baseline NAME where it exists, then save this run as
    /// NAME (default `base`; write `--save-baseline=NAME`).
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "base", env = "LLMBENCH_SAVE_BASELINE",
          conflicts_with_all = ["baseline", "baseline_lenient", "discard_baseline", "load_baseline"], help_heading = "Baselines")]
    pub(crate) save_baseline: Option<String>,

    /// Compare with baseline NAME; a missing baseline is an error (exit 2).
    #[arg(long, value_name = "NAME", env = "LLMBENCH_BASELINE", group = "compare_with", help_heading = "Baselines")]
    pub(crate) baseline: Option<String>,

    /// Compare with baseline NAME where it exists; skip where it does not.
    #[arg(
        long,
        value_name = "NAME",
        env = "LLMBENCH_BASELINE_LENIENT",
        group = "compare_with",
        help_heading = "Baselines"
    )]
    pub(crate) baseline_lenient: Option<String>,

    /// Judge the saved run NAME (e.g. `new`) instead of sending requests;
    /// needs --baseline or --baseline-lenient.
    #[arg(
        long,
        value_name = "NAME",
        env = "LLMBENCH_LOAD_BASELINE",
        requires = "compare_with",
        help_heading = "Baselines"
    )]
    pub(crate) load_baseline: Option<String>,

    /// Save nothing: neither new/ nor a baseline.
    #[arg(long, env = "LLMBENCH_DISCARD_BASELINE", help_heading = "Baselines")]
    pub(crate) discard_baseline: bool,

    /// Where named baselines live (e.g. a committed reports/baselines);
    /// default: beside new/ in target/llmbench.
    #[arg(long, value_name = "PATH", env = "LLMBENCH_BASELINE_DIR", help_heading = "Baselines")]
    pub(crate) baseline_dir: Option<PathBuf>,

    /// Compare runs whose fingerprints (workload, target, load settings,
    /// llmbench version) differ, instead of refusing.
    #[arg(long, env = "LLMBENCH_FORCE_COMPARE", help_heading = "Baselines")]
    pub(crate) force_compare: bool,

    /// Bootstrap resamples per confidence interval and per test.
    #[arg(long, value_name = "N", env = "LLMBENCH_NRESAMPLES", value_parser = clap::value_parser!(u32).range(100..), help_heading = "Statistics")]
    pub(crate) nresamples: Option<u32>,

    /// Confidence level of the change's interval (0.95).
    #[arg(long, value_name = "X", env = "LLMBENCH_CONFIDENCE_LEVEL", value_parser = parse_open_unit, help_heading = "Statistics")]
    pub(crate) confidence_level: Option<f64>,

    /// Significance level of the test (0.05).
    #[arg(long, value_name = "X", env = "LLMBENCH_SIGNIFICANCE_LEVEL", value_parser = parse_open_unit, help_heading = "Statistics")]
    pub(crate) significance_level: Option<f64>,

    /// Relative changes inside ±X are noise, never a regression (0.05 = ±5%).
    #[arg(long, value_name = "X", env = "LLMBENCH_NOISE_THRESHOLD", value_parser = parse_fraction, help_heading = "Statistics")]
    pub(crate) noise_threshold: Option<f64>,

    /// Exit 3 when any metric regressed.
    #[arg(long, env = "LLMBENCH_FAIL_ON_REGRESSION", help_heading = "Gate")]
    pub(crate) fail_on_regression: bool,

    /// A limit (repeatable): `ttft.p90<=500ms`, `error_rate<=1%`,
    /// `output_tok_per_s>=100`, `ttft.p50=+5%` (relative to the baseline).
    /// A failed limit exits 3.
    #[arg(long = "limit", value_name = "LIMIT", env = "LLMBENCH_LIMIT", value_delimiter = ';', help_heading = "Gate")]
    pub(crate) limits: Vec<crate::gate::Limit>,

    /// Write a JUnit XML report: a test case per benchmark × target ×
    /// metric verdict and limit.
    #[arg(long, value_name = "PATH", env = "LLMBENCH_JUNIT", help_heading = "Gate")]
    pub(crate) junit: Option<PathBuf>,

    /// `human` (default) or `json`: NDJSON events on stdout (bench-started,
    /// progress, result, comparison, limits, finished), people's output on stderr.
    #[arg(long, value_enum, default_value_t = MessageFormat::Human, env = "LLMBENCH_MESSAGE_FORMAT")]
    pub(crate) message_format: MessageFormat,

    /// Append each benchmark × target's outcome as a JSON line to this file
    /// (used by `cargo llmbench`, which then renders the combined Markdown,
    /// JUnit and step summary itself).
    #[arg(long, hide = true, env = "LLMBENCH_OUTCOME_LOG")]
    pub(crate) outcome_log: Option<PathBuf>,

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

    /// `--format md`: a Markdown summary on stdout at the end.
    pub(crate) fn markdown(&self) -> bool {
        matches!(self.format.as_deref(), Some("md" | "markdown"))
    }

    /// Whether stdout is reserved for machine output (JSON events, Markdown),
    /// so tables go to stderr.
    pub(crate) fn human_to_stderr(&self) -> bool {
        self.markdown() || self.message_format == MessageFormat::Json
    }
}

fn parse_open_unit(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        _ => Err(format!("{s:?} must be a number strictly between 0 and 1 (e.g. 0.95)")),
    }
}

fn parse_fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.0..1.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} must be a fraction in [0, 1) (e.g. 0.05 for ±5%)")),
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

    #[test]
    fn baseline_flags_follow_criterion() {
        assert_eq!(parse(&["--save-baseline"]).unwrap().save_baseline.as_deref(), Some("base"));
        assert_eq!(parse(&["--save-baseline=main"]).unwrap().save_baseline.as_deref(), Some("main"));
        assert!(parse(&["--save-baseline=a", "--baseline", "b"]).is_err());
        assert!(parse(&["--baseline", "a", "--baseline-lenient", "b"]).is_err());
        assert!(parse(&["--load-baseline", "new"]).is_err(), "--load-baseline needs --baseline");
        let a =
            parse(&["--load-baseline", "new", "--baseline", "main", "--baseline-dir", "reports/baselines"]).unwrap();
        assert_eq!((a.load_baseline.as_deref(), a.baseline.as_deref()), (Some("new"), Some("main")));
        assert!(parse(&["--load-baseline", "new", "--baseline-lenient", "main"]).is_ok());
        assert!(parse(&["--discard-baseline", "--save-baseline=x"]).is_err());
    }

    #[test]
    fn gate_flags_are_checked() {
        let a = parse(&["--limit", "ttft.p90<=500ms", "--limit", "error_rate<=1%", "--fail-on-regression"]).unwrap();
        assert_eq!(a.limits.len(), 2);
        assert!(a.fail_on_regression);
        let e = parse(&["--limit", "ttft<=5ms"]).unwrap_err().to_string();
        assert!(e.contains("invalid limit \"ttft<=5ms\"") && e.contains("needs a statistic"), "{e}");
        assert!(parse(&["--confidence-level", "1.5"]).is_err());
        assert!(parse(&["--significance-level", "0"]).is_err());
        assert!(parse(&["--noise-threshold", "0.02", "--nresamples", "1000"]).is_ok());
        assert!(parse(&["--nresamples", "10"]).is_err());
        assert!(parse(&["--format", "md"]).unwrap().markdown());
        assert!(parse(&["--message-format", "json"]).unwrap().human_to_stderr());
        assert!(parse(&["--message-format", "xml"]).is_err());
    }
}
