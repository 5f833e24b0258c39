//! The command line of a benchmark binary, criterion-compatible where
//! criterion has the same concept: the invocation's flags, the benchmark
//! settings and the gate's flags (each defined once, in `cli::args` and
//! `settings`), plus criterion's `--bench`/`--test` and libtest's flags,
//! accepted and ignored. Every flag also reads an `LLMBENCH_*` variable.

use clap::{ArgAction, Parser};

use crate::engine::Invocation;
use crate::settings::{GateArgs, RunArgs, SettingsLayer, ShardArgs};

/// Arguments of a benchmark binary (`cargo bench -- …`, `cargo llmbench -- …`).
#[derive(Debug, Clone, Parser)]
#[command(
    name = "llmbench",
    about = "Runs the llmbench benchmarks of this binary",
    after_help = "Without --bench (as under `cargo test --benches`) each benchmark sends one request and reports success: test mode.\nResults go to target/llmbench/<bench>/<target>/new/."
)]
pub(crate) struct BenchArgs {
    #[command(flatten)]
    pub(crate) run: RunArgs,
    #[command(flatten)]
    pub(crate) settings: SettingsLayer,
    #[command(flatten)]
    pub(crate) gate: GateArgs,
    #[command(flatten)]
    pub(crate) shard: ShardArgs,

    /// Measure (set by `cargo bench`).
    #[arg(long, hide = true)]
    pub(crate) bench: bool,

    /// Test mode: one request per benchmark, no measuring.
    #[arg(long, hide = true)]
    pub(crate) test: bool,

    /// Run by `cargo llmbench` (its flags came in `LLMBENCH_PARENT`): it
    /// prints tables, verdicts and reports from this binary's events.
    #[arg(skip)]
    pub(crate) under_parent: bool,

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

    /// What the engine is asked to do.
    pub(crate) fn invocation(&self) -> Invocation {
        Invocation {
            run: self.run.clone(),
            flags: self.settings.clone(),
            gate: self.gate.clone(),
            shard: self.shard.clone(),
            test_mode: self.test_mode(),
            under_parent: self.under_parent,
            results_root: None,
        }
    }
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
        assert_eq!(a.run.filter.as_deref(), Some("short"));
        assert!(a.run.exact);
    }

    #[test]
    fn noplot_skips_the_report() {
        assert!(!parse(&["--bench"]).unwrap().run.noplot);
        assert!(parse(&["--bench", "--noplot"]).unwrap().run.noplot);
        assert!(parse(&["--bench", "--no-report"]).unwrap().run.noplot, "the cargo llmbench spelling works too");
    }

    #[test]
    fn values_are_checked() {
        let a = parse(&["--concurrency", "1,8", "--target", "a", "--target", "b", "--timeout", "2s"]).unwrap();
        let s = &a.settings;
        assert_eq!(s.concurrency.as_ref().map(|c| c.get().0.clone()), Some(vec![1, 8]));
        assert_eq!(s.targets, vec!["a", "b"]);
        assert_eq!(s.timeout.as_ref().map(|t| t.get().0), Some(std::time::Duration::from_secs(2)));
        assert!(parse(&["--sample-size", "0"]).is_err());
        assert!(parse(&["--concurrency", "0"]).is_err());
        assert!(parse(&["--timeout", "soon"]).is_err());
        assert!(parse(&["--timeout", "0s"]).is_err());
        assert!(parse(&["--timeout", "999999999999999999h"]).is_err());
        assert!(parse(&["--no-such-flag"]).is_err());
        let project = parse(&["--project", "2/s"]).unwrap().settings.project;
        assert_eq!(project.map(|v| v.get().requests_per_hour()), Some(7200.0));
        assert!(parse(&["--project", "lots"]).is_err());
    }

    #[test]
    fn load_flags_are_checked() {
        let a = parse(&["--rate", "5/s,10/s", "--arrival", "gamma:0.5", "--duration", "30s", "--max-in-flight", "8"])
            .unwrap();
        assert_eq!(a.settings.rate.as_ref().map(|r| r.get().0.len()), Some(2));
        assert_eq!(a.settings.arrival.as_ref().map(|r| r.text()), Some("gamma:0.5"));
        let a = parse(&["--stages", "spike:10/s*5", "--sweep", "auto", "--slo", "ttft<=300ms,goodput>=95%"]).unwrap();
        assert_eq!(a.settings.sweep.as_ref().map(|s| s.text()), Some("auto"));
        for bad in [
            &["--rate", "fast"][..],
            &["--rate", "1e300/s"],
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
        let gate = |args: &[&str]| parse(args).map(|a| a.gate);
        assert_eq!(gate(&["--save-baseline"]).unwrap().save_baseline.as_deref(), Some("base"));
        assert_eq!(gate(&["--save-baseline=main"]).unwrap().save_baseline.as_deref(), Some("main"));
        assert!(gate(&["--save-baseline=a", "--baseline", "b"]).is_err());
        assert!(gate(&["--baseline", "a", "--baseline-lenient", "b"]).is_err());
        assert!(gate(&["--load-baseline", "new"]).is_err(), "--load-baseline needs --baseline");
        let a = gate(&["--load-baseline", "new", "--baseline", "main", "--baseline-dir", "reports/baselines"]).unwrap();
        assert_eq!((a.load_baseline.as_deref(), a.baseline.as_deref()), (Some("new"), Some("main")));
        assert!(gate(&["--load-baseline", "new", "--baseline-lenient", "main"]).is_ok());
        assert!(gate(&["--discard-baseline", "--save-baseline=x"]).is_err());
    }

    #[test]
    fn gate_flags_are_checked() {
        let a = parse(&["--limit", "ttft.p90<=500ms", "--limit", "error_rate<=1%", "--fail-on-regression"]).unwrap();
        assert_eq!(a.settings.limits.len(), 2);
        assert!(a.gate.fail_on_regression);
        let e = parse(&["--limit", "ttft<=5ms"]).unwrap_err().to_string();
        assert!(e.contains("invalid limit \"ttft<=5ms\"") && e.contains("needs a statistic"), "{e}");
        assert!(parse(&["--confidence-level", "1.5"]).is_err());
        assert!(parse(&["--significance-level", "0"]).is_err());
        assert!(parse(&["--noise-threshold", "0.02", "--nresamples", "1000"]).is_ok());
        assert!(parse(&["--nresamples", "10"]).is_err());
        assert!(parse(&["--format", "md"]).unwrap().run.markdown());
        assert!(parse(&["--message-format", "json"]).unwrap().run.human_to_stderr());
        assert!(parse(&["--message-format", "xml"]).is_err());
    }
}
