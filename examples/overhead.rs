//! How much does the harness itself cost, and how true are its timings?
//!
//! `cargo run --release --example overhead` prints:
//! 1. the ingest ceiling: chunks and tokens per second the harness consumes
//!    from a zero-delay simulator (one token per chunk);
//! 2. ITL accuracy at 256 concurrent streams with a 5 ms gap: the error
//!    between each gap the harness measured and the gap between the
//!    simulator's flushes of the same two chunks.
//!
//! Run it on an otherwise idle machine; a loaded machine measures itself.

use std::time::Duration;

use llmbench::calibrate::{ingest_ceiling, itl_accuracy};

fn main() -> std::io::Result<()> {
    let quick = std::env::args().any(|a| a == "--quick");
    let (requests, rounds) = if quick { (64, 1) } else { (512, 2) };

    for streams in [1, 16, 64] {
        let f = ingest_ceiling(streams, requests, 1000, 1)?;
        println!(
            "ingest  streams={streams:>3}  {:>9.0} chunks/s  {:>9.0} tokens/s  ({} chunks in {:.2} s, {} failed)",
            f.chunks_per_s, f.tokens_per_s, f.chunks, f.seconds, f.failed
        );
    }

    let a = itl_accuracy(256, Duration::from_millis(5), 100, rounds)?;
    let fmt = |v: Option<f64>| v.map(|v| format!("{v:.3} ms")).unwrap_or_else(|| "n/a".into());
    println!(
        "itl accuracy  streams=256 itl=5ms  gaps={}  |error| p50={} p99={} max={:.3} ms  bias={:+.3} ms  unpaired={}",
        a.gaps,
        fmt(a.abs_error.p50),
        fmt(a.abs_error.p99),
        a.abs_error.max,
        a.mean_error_ms,
        a.unpaired
    );
    println!(
        "measured itl  p50={} p99={} (configured 5 ms; tokio's timer wakes up to 1 ms late)",
        fmt(a.measured_itl.p50),
        fmt(a.measured_itl.p99)
    );
    Ok(())
}
