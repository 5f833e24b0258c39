//! How often does the regression gate cry wolf, and how often does it catch
//! a real regression?
//!
//! `cargo run --release --example stat_check` runs, per scenario:
//!
//! - **A/A**: two runs of one simulator configuration with different seeds
//!   (so every delay is drawn afresh), compared with the gate's default
//!   settings over its full metric set (TTFT/TTFO/TPOT/ITL/E2E at
//!   p50/p90/p99, output tokens/s, error rate). A run in which *any* metric
//!   is `Regressed` is a false regression: that is what would fail a PR.
//! - **A/B**: the same, with the second run's TTFT mean 10% higher (so its
//!   p50 shifts by 10%). Detection = `ttft.p50` is `Regressed`.
//!
//! Runs are drawn from the simulator's own distributions in-process
//! (`llmbench::calibrate::model_run`): the same seeded draws the simulator makes,
//! without sockets, so thousands of runs take minutes, not days. `--real N`
//! then validates the A/A rate with N pairs of real runs against the
//! simulator over loopback HTTP (`llmbench::calibrate::sim_level`).
//!
//! Options: `--trials N` (default 300 per scenario), `--samples N` (default
//! 100), `--real N` (default 0), `--thresholds` (also sweep the noise
//! threshold and minimum samples, as used to choose the defaults).

use std::time::{Duration, Instant};

use llmbench::calibrate::model_run;
use llmbench::gate::{Comparison, Run, compare_runs};
use llmbench::sim::{Delay, SimConfig};
use llmbench::stats::ChangeKind;
use llmbench::stats::compare::Statistics as Settings;

const OUTPUT_TOKENS: u32 = 16;
/// Streams of the real-simulator runs (TTFT does not depend on it: the
/// simulator has no capacity limit here), so a 100-request run takes seconds.
const REAL_CONCURRENCY: u32 = 10;

struct Scenario {
    name: &'static str,
    ttft_ms: f64,
    /// TTFT standard deviation as a share of the mean (coefficient of variation).
    cv: f64,
    exponential: bool,
}

fn config(s: &Scenario, seed: u64, shift: f64) -> SimConfig {
    let mean = Duration::from_secs_f64(s.ttft_ms * shift / 1e3);
    let ttft = if s.exponential {
        Delay::Exponential { mean }
    } else {
        Delay::Normal { mean, stddev: Duration::from_secs_f64(s.ttft_ms * shift * s.cv / 1e3) }
    };
    SimConfig {
        ttft,
        itl: Delay::Normal { mean: Duration::from_millis(15), stddev: Duration::from_millis(3) },
        seed,
        ..SimConfig::default()
    }
}

fn compare(s: &Scenario, seed: u64, shift: f64, samples: u32, settings: &Settings) -> Comparison {
    let (a, ra) = model_run(&config(s, seed * 2, 1.0), "check", samples, &[1], OUTPUT_TOKENS);
    let (b, rb) = model_run(&config(s, seed * 2 + 1, shift), "check", samples, &[1], OUTPUT_TOKENS);
    compare_runs(("a", Run { summary: &a, records: &ra }), ("b", Run { summary: &b, records: &rb }), settings, vec![])
}

fn ttft_p50(c: &Comparison) -> ChangeKind {
    c.changes().find(|(_, m)| m.metric == "ttft.p50").map_or(ChangeKind::NoChange, |(_, m)| m.change.kind)
}

/// (false-regression rate of runs, of single metrics, detection rate).
fn rates(s: &Scenario, trials: u64, samples: u32, settings: &Settings) -> (f64, f64, f64) {
    let work = |range: std::ops::Range<u64>| {
        let (mut runs, mut metrics, mut compared, mut detected) = (0u64, 0u64, 0u64, 0u64);
        for seed in range {
            let aa = compare(s, seed, 1.0, samples, settings);
            let regressed = aa.regressions().count() as u64;
            runs += u64::from(regressed > 0);
            metrics += regressed;
            compared += aa.changes().count() as u64;
            let ab = compare(s, seed + 1_000_000, 1.10, samples, settings);
            detected += u64::from(ttft_p50(&ab) == ChangeKind::Regressed);
        }
        (runs, metrics, compared, detected)
    };
    // Two threads: the machine this was tuned on has two cores.
    let half = trials / 2;
    let (a, b) = std::thread::scope(|scope| {
        let h = scope.spawn(|| work(0..half));
        (work(half..trials), h.join().expect("worker"))
    });
    let t = trials as f64;
    ((a.0 + b.0) as f64 / t, (a.1 + b.1) as f64 / (a.2 + b.2).max(1) as f64, (a.3 + b.3) as f64 / t)
}

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() -> std::io::Result<()> {
    let trials = arg("--trials", 300);
    let samples = arg("--samples", 100) as u32;
    let real = arg("--real", 0);
    let sweep = std::env::args().any(|a| a == "--thresholds");
    let defaults = Settings::default();
    let scenarios = [
        Scenario { name: "TTFT normal, CV 5%", ttft_ms: 200.0, cv: 0.05, exponential: false },
        Scenario { name: "TTFT normal, CV 10%", ttft_ms: 200.0, cv: 0.10, exponential: false },
        Scenario { name: "TTFT normal, CV 20%", ttft_ms: 200.0, cv: 0.20, exponential: false },
        Scenario { name: "TTFT exponential (CV 100%)", ttft_ms: 200.0, cv: 1.0, exponential: true },
    ];
    println!(
        "gate defaults: noise threshold ±{:.0}%, rates ±{:.0} pt, min samples {}, {} resamples, confidence {}, significance {}",
        defaults.noise_threshold * 100.0,
        defaults.rate_noise_threshold * 100.0,
        defaults.min_samples,
        defaults.nresamples,
        defaults.confidence_level,
        defaults.significance_level
    );
    println!(
        "{trials} A/A and {trials} A/B (+10% TTFT) comparisons per scenario, {samples} samples per run, {OUTPUT_TOKENS} output tokens"
    );
    let metrics = compare(&scenarios[0], 0, 1.0, samples, &defaults).changes().count();
    println!("targets: false regressions ≤ 1% of runs (any of {metrics} metrics); detection of +10% TTFT p50 ≥ 95%\n");
    println!("{:<28} {:>22} {:>20} {:>16}", "scenario", "false regr. (runs)", "(single metrics)", "detection");
    let started = Instant::now();
    for s in &scenarios {
        let (runs, metrics, detected) = rates(s, trials, samples, &defaults);
        println!("{:<28} {:>21.2}% {:>19.3}% {:>15.1}%", s.name, runs * 100.0, metrics * 100.0, detected * 100.0);
    }
    println!("({:.0} s)", started.elapsed().as_secs_f64());

    if sweep {
        println!("\nnoise threshold and samples, TTFT normal CV 10%: false regressions (runs) / detection");
        let s = &scenarios[1];
        for n in [10u32, 20, 30, 50, 100] {
            let mut line = format!("samples {n:>4}:");
            for noise in [0.02, 0.03, 0.05] {
                let settings = Settings { noise_threshold: noise, min_samples: 5, ..defaults };
                let (runs, _, detected) = rates(s, trials / 3, n, &settings);
                line.push_str(&format!(
                    "   ±{:>2.0}%: {:>5.1}% / {:>5.1}%",
                    noise * 100.0,
                    runs * 100.0,
                    detected * 100.0
                ));
            }
            println!("{line}");
        }
    }

    if real > 0 {
        println!(
            "\nreal simulator runs over loopback HTTP (TTFT normal CV 10%, {REAL_CONCURRENCY} streams), {real} A/A and {real} A/B pairs:"
        );
        let s = &scenarios[1];
        let (mut false_runs, mut detected) = (0, 0);
        for seed in 0..real {
            let run = |seed: u64, shift: f64| {
                llmbench::calibrate::sim_run(config(s, seed, shift), "check", samples, REAL_CONCURRENCY, OUTPUT_TOKENS)
            };
            let (a, ra) = run(seed * 4, 1.0)?;
            let (b, rb) = run(seed * 4 + 1, 1.0)?;
            let aa = compare_runs(
                ("a", Run { summary: &a, records: &ra }),
                ("b", Run { summary: &b, records: &rb }),
                &defaults,
                vec![],
            );
            if aa.regressions().count() > 0 {
                false_runs += 1;
                for (_, m) in aa.regressions() {
                    println!("  A/A false regression: {} {:?} ci {:?}", m.metric, m.change.change, m.change.ci);
                }
            }
            let (c, rc) = run(seed * 4 + 2, 1.10)?;
            let ab = compare_runs(
                ("a", Run { summary: &a, records: &ra }),
                ("c", Run { summary: &c, records: &rc }),
                &defaults,
                vec![],
            );
            detected += u32::from(ttft_p50(&ab) == ChangeKind::Regressed);
        }
        println!("  false regressions: {false_runs}/{real} runs; detection of +10% TTFT p50: {detected}/{real}");
    }
    Ok(())
}
