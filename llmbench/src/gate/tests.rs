//! The gate on synthetic runs with known answers (the simulator's model).

use std::time::Duration;

use super::*;
use crate::calibrate::model_run;
use crate::sim::{Delay, SimConfig};
use crate::stats::compare::{ChangeKind, Statistics};

fn noisy(seed: u64, ttft_ms: u64) -> SimConfig {
    SimConfig {
        ttft: Delay::Normal { mean: Duration::from_millis(ttft_ms), stddev: Duration::from_millis(ttft_ms / 20) },
        itl: Delay::Normal { mean: Duration::from_millis(10), stddev: Duration::from_millis(1) },
        seed,
        ..SimConfig::default()
    }
}

fn settings() -> Statistics {
    Statistics { nresamples: 1000, ..Statistics::default() }
}

fn kind(c: &Comparison, metric: &str) -> ChangeKind {
    c.levels[0].metrics.iter().find(|m| m.metric == metric).unwrap().change.kind
}

#[test]
fn same_config_other_seed_is_no_regression() {
    let (a, ra) = model_run(&noisy(1, 100), "b", 100, &[1, 4], 16);
    let (b, rb) = model_run(&noisy(2, 100), "b", 100, &[1, 4], 16);
    let c = compare_runs(
        ("main", Run { summary: &a, records: &ra }),
        ("new", Run { summary: &b, records: &rb }),
        &settings(),
        vec![],
    );
    assert_eq!(c.levels.len(), 2);
    // Without SLOs or a price, goodput and cost are left out.
    assert_eq!(c.levels[0].metrics.len(), metric::DEFAULT_SET.len() - 2);
    assert_eq!(c.regressions().count(), 0, "{:#?}", c.regressions().collect::<Vec<_>>());
    assert_eq!((c.baseline.name.as_str(), c.current.name.as_str()), ("main", "new"));
}

/// Sets each level's goodput against `slo`, as the runner does.
fn with_goodput(run: &mut (crate::results::RunSummary, Vec<crate::record::RequestRecord>), slo: &str) {
    let slo = crate::stats::goodput::Slo::parse(slo).unwrap();
    for (row, level) in run.0.levels.iter_mut().enumerate() {
        let records: Vec<_> = metric::level_records(&run.1, row).into_iter().cloned().collect();
        level.goodput = Some(crate::stats::goodput::goodput(&slo, level, &records));
    }
}

#[test]
fn goodput_is_compared_when_both_runs_have_it() {
    // TTFT of about 100 ms against an SLO of 105 ms: most requests are good
    // before, few once TTFT grows by a quarter.
    let mut a = model_run(&noisy(1, 100), "b", 100, &[1], 16);
    let mut b = model_run(&noisy(2, 125), "b", 100, &[1], 16);
    with_goodput(&mut a, "ttft <= 105ms");
    with_goodput(&mut b, "ttft <= 105ms");
    let c = compare_runs(
        ("main", Run { summary: &a.0, records: &a.1 }),
        ("new", Run { summary: &b.0, records: &b.1 }),
        &settings(),
        vec![],
    );
    assert_eq!(kind(&c, "goodput"), ChangeKind::Regressed);
    let limits = check_limits(&limits(&["goodput>=50%"]), &Run { summary: &b.0, records: &b.1 }, None, &settings());
    assert_eq!(limits[0].status, LimitStatus::Failed, "{}", limits[0].message);
}

#[test]
fn a_slower_first_token_is_a_ttft_regression_and_nothing_else_moves() {
    let (a, ra) = model_run(&noisy(1, 100), "b", 100, &[1], 16);
    let (b, rb) = model_run(&noisy(2, 125), "b", 100, &[1], 16);
    let c = compare_runs(
        ("main", Run { summary: &a, records: &ra }),
        ("new", Run { summary: &b, records: &rb }),
        &settings(),
        vec![],
    );
    assert_eq!(kind(&c, "ttft.p50"), ChangeKind::Regressed);
    assert_eq!(kind(&c, "ttft.p90"), ChangeKind::Regressed);
    assert_eq!(kind(&c, "ttfo.p50"), ChangeKind::Regressed);
    assert_eq!(kind(&c, "tpot.p50"), ChangeKind::NoChange);
    assert_eq!(kind(&c, "error_rate"), ChangeKind::NoChange);
    // p99 of 100 requests is not compared (10 values beyond it are needed);
    // ITL pools 1,500 gaps, so its p99 is.
    let p99 = c.levels[0].metrics.iter().find(|m| m.metric == "ttft.p99").unwrap();
    assert_eq!(p99.change.note.as_deref(), Some("ttft.p99 needs at least 1000 values, have 100"));
    let itl = c.levels[0].metrics.iter().find(|m| m.metric == "itl.p99").unwrap();
    assert!(itl.change.change.is_some() && itl.change.note.is_none(), "{itl:?}");
    let json = serde_json::to_value(&c).unwrap();
    assert_eq!(json["levels"][0]["metrics"][0]["metric"], "ttft.p50");
    assert_eq!(json["levels"][0]["metrics"][0]["kind"], "regressed");
    assert_eq!(json["version"], 1);
    let back: Comparison = serde_json::from_value(json).unwrap();
    assert_eq!(back, c);
}

#[test]
fn faster_and_more_throughput_is_an_improvement() {
    let (a, ra) = model_run(&noisy(1, 100), "b", 100, &[4], 16);
    let mut fast = noisy(2, 100);
    fast.itl = Delay::Normal { mean: Duration::from_millis(7), stddev: Duration::from_millis(1) };
    let (b, rb) = model_run(&fast, "b", 100, &[4], 16);
    let c = compare_runs(
        ("main", Run { summary: &a, records: &ra }),
        ("new", Run { summary: &b, records: &rb }),
        &settings(),
        vec![],
    );
    assert_eq!(kind(&c, "itl.p50"), ChangeKind::Improved);
    assert_eq!(kind(&c, "tpot.p50"), ChangeKind::Improved);
    assert_eq!(kind(&c, "output_tok_per_s"), ChangeKind::Improved);
}

#[test]
fn percentiles_without_enough_samples_are_not_judged() {
    let (a, ra) = model_run(&noisy(1, 100), "b", 60, &[1], 8);
    let (b, rb) = model_run(&noisy(2, 200), "b", 60, &[1], 8);
    let c = compare_runs(
        ("main", Run { summary: &a, records: &ra }),
        ("new", Run { summary: &b, records: &rb }),
        &settings(),
        vec![],
    );
    let p99 = c.levels[0].metrics.iter().find(|m| m.metric == "ttft.p99").unwrap();
    assert_eq!(p99.change.kind, ChangeKind::NoChange);
    assert_eq!(p99.change.note.as_deref(), Some("ttft.p99 needs at least 1000 values, have 60"));
    assert_eq!(kind(&c, "ttft.p50"), ChangeKind::Regressed);
}

#[test]
fn levels_only_on_one_side_are_left_out() {
    let (a, ra) = model_run(&noisy(1, 100), "b", 40, &[1, 8], 8);
    let (b, rb) = model_run(&noisy(2, 100), "b", 40, &[8, 16], 8);
    let c = compare_runs(
        ("main", Run { summary: &a, records: &ra }),
        ("new", Run { summary: &b, records: &rb }),
        &settings(),
        vec![],
    );
    assert_eq!(c.levels.iter().map(|l| l.concurrency).collect::<Vec<_>>(), [8]);
}

fn limits(texts: &[&str]) -> Vec<SourcedLimit> {
    texts.iter().map(|t| SourcedLimit { limit: Limit::parse(t).unwrap(), source: "--limit".into() }).collect()
}

#[test]
fn absolute_limits_check_the_reported_value() {
    let (b, rb) =
        model_run(&SimConfig { ttft: Delay::ms(40), itl: Delay::ms(4), ..SimConfig::default() }, "b", 60, &[1], 8);
    let out = check_limits(
        &limits(&["ttft.p90<=50ms", "ttft.p50<40ms", "error_rate<=1%", "ttft.p99<=1s", "output_tok_per_s>=10"]),
        &Run { summary: &b, records: &rb },
        None,
        &settings(),
    );
    let status: Vec<LimitStatus> = out.iter().map(|o| o.status).collect();
    use LimitStatus::*;
    assert_eq!(status, [Passed, Failed, Passed, Failed, Passed]);
    assert_eq!(out[1].message, "ttft.p50<40ms: measured 40.0 ms (baseline —)");
    assert_eq!(out[1].measured, Some(40.0));
    assert_eq!(out[3].message, "ttft.p99<=1s: not measured: ttft.p99 needs at least 100 samples, have 60");
}

#[test]
fn relative_limits_are_budgets_against_the_baseline() {
    let (a, ra) = model_run(&noisy(1, 100), "b", 100, &[1], 8);
    let (b, rb) = model_run(&noisy(2, 120), "b", 100, &[1], 8);
    let set = limits(&["ttft.p50=+5%", "ttft.p50=+50%", "tpot.p50=+5%", "error_rate=+1%"]);
    let cur = Run { summary: &b, records: &rb };
    let out = check_limits(&set, &cur, Some(&Run { summary: &a, records: &ra }), &settings());
    use LimitStatus::*;
    assert_eq!(out.iter().map(|o| o.status).collect::<Vec<_>>(), [Failed, Passed, Passed, Passed]);
    assert!(out[0].message.starts_with("ttft.p50=+5%: measured 1"), "{}", out[0].message);
    assert!(out[0].message.contains("baseline 9") && out[0].message.contains("change +"), "{}", out[0].message);
    let [lo, _] = out[0].ci.unwrap();
    assert!(lo > 0.05);
    let skipped = check_limits(&set, &cur, None, &settings());
    assert!(skipped.iter().all(|o| o.status == Skipped));
    assert_eq!(skipped[0].message, "ttft.p50=+5%: no baseline to compare with");
}

#[test]
fn judge_compares_comparable_runs_and_checks_every_limit() {
    let (a, ra) = model_run(&noisy(1, 100), "b", 100, &[1], 16);
    let (b, rb) = model_run(&noisy(2, 160), "b", 100, &[1], 16);
    let base = Run { summary: &a, records: &ra };
    let cur = ("new", Run { summary: &b, records: &rb });
    let lims = limits(&["ttft.p50<=1s", "ttft.p50=+5%"]);
    let o = judge(Baseline::Saved("main", base.clone()), cur.clone(), &lims, &settings(), Differences::Refuse).unwrap();
    assert!(o.comparison.is_some() && o.no_comparison.is_none());
    assert_eq!(kind(o.comparison.as_ref().unwrap(), "ttft.p50"), ChangeKind::Regressed);
    assert_eq!(o.limits.len(), 2);
    assert_eq!(o.failed_limits().count(), 1, "the budget fails, the threshold holds: {:#?}", o.limits);
    assert_eq!(exit_code(std::slice::from_ref(&o), false), crate::exit_code::REGRESSION, "a failed limit fails");

    let missing = Baseline::Missing("no previous run".into());
    let o = judge(missing, cur, &limits(&["ttft.p50<=1s"]), &settings(), Differences::Skip).unwrap();
    assert_eq!(o.no_comparison.as_deref(), Some("no previous run"));
    assert_eq!(exit_code(&[o], true), crate::exit_code::OK);
}

#[test]
fn judge_refuses_skips_or_forces_runs_that_differ() {
    let (a, ra) = model_run(&noisy(1, 100), "b", 100, &[1], 16);
    let (mut b, rb) = model_run(&noisy(2, 100), "b", 100, &[1], 16);
    b.settings.warmup += 1;
    let base = || Baseline::Saved("main", Run { summary: &a, records: &ra });
    let cur = || ("new", Run { summary: &b, records: &rb });
    let refusal = judge(base(), cur(), &[], &settings(), Differences::Refuse).unwrap_err();
    assert_eq!(refusal.baseline, "main");
    assert!(refusal.to_string().contains("settings.warmup"), "{refusal}");
    let skipped = judge(base(), cur(), &[], &settings(), Differences::Skip).unwrap();
    assert!(skipped.comparison.is_none());
    assert!(skipped.no_comparison.unwrap().starts_with("\"main\" is not comparable"));
    let forced = judge(base(), cur(), &[], &settings(), Differences::Force).unwrap();
    assert_eq!(forced.comparison.unwrap().forced_differences.len(), 1);
}
