//! How well does the open-loop generator keep its schedule?
//!
//! `cargo run --release --example open_loop` drives the in-process
//! simulator (1 ms TTFT, four 1 ms chunks) with constant arrivals at
//! 50/s, 500/s and then doubling rates until the generator's self-check
//! fails, and prints, per rate: achieved vs offered (over the measured
//! requests: n − 1 over the span of the instants the request tasks began),
//! the schedule lag (how late each task began after its deadline) and
//! `queue` (`sent − scheduled`: lag plus handing the request to the
//! connection), the client's CPU use and the self-check's verdict.
//!
//! Targets: within 1 % of offered and lag p99 ≤ 1 ms where not saturated.
//! Run it on an otherwise idle machine; a loaded machine measures itself.
//! `--quick` runs fewer requests.

use llmbench::calibrate::open_loop_accuracy;

fn main() -> std::io::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let seconds = if quick { 2.0 } else { 6.0 };
    let mut rates = vec![50.0, 500.0];
    let mut rate = 1000.0;
    let mut highest_valid = None;
    while let Some(r) = rates.first().copied().or_else(|| (rate <= 64_000.0).then_some(rate)) {
        if rates.is_empty() {
            rate *= 2.0;
        } else {
            rates.remove(0);
        }
        let requests = ((r * seconds) as u32).clamp(200, 100_000);
        let f = open_loop_accuracy(r, requests)?;
        let p = |s: &llmbench::stats::LatencySummary, q: &str| {
            s.get(q).map(|v| format!("{v:.3}")).unwrap_or_else(|| "—".into())
        };
        println!(
            "rate {r:>7.0}/s  n={:<6} achieved {:>9.1}/s ({:+.2}%)  lag p50 {} p99 {} max {:.3} ms  queue p50 {} p99 {} ms  cpu {}  failed {}  {}",
            f.requests,
            f.achieved_rate,
            f.rate_error * 100.0,
            p(&f.schedule_lag, "p50"),
            p(&f.schedule_lag, "p99"),
            f.schedule_lag.max,
            p(&f.queue, "p50"),
            p(&f.queue, "p99"),
            f.cpu_busy.map(|c| format!("{:.0}%", c * 100.0)).unwrap_or_else(|| "n/a".into()),
            f.failed,
            if f.valid { "valid".to_owned() } else { format!("INVALID: {}", f.invalid_reasons.join("; ")) },
        );
        if f.valid && f.failed == 0 {
            highest_valid = Some(r);
        } else if r >= 1000.0 {
            break;
        }
    }
    match highest_valid {
        Some(r) => println!("highest rate with a valid self-check: {r:.0}/s"),
        None => println!("no rate passed the self-check on this machine"),
    }
    Ok(())
}
