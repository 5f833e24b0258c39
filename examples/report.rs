//! Renders the HTML report from synthetic results and prints how long it
//! took and how big it is — the speed check of the report, and the fixture
//! the browser check (`scripts/browser-check.sh`) loads.
//!
//! ```text
//! cargo run --release --example report                     # 20 benches × 3 targets × 10,000 requests
//! cargo run --example report -- --benches 2 --targets 2 --requests 400 --root DIR
//! cargo run --example report -- --hostile --root DIR       # <script> in every user string
//! cargo run --example report -- --render-only --root DIR --history reports/history
//! ```
//!
//! `--render-only` renders the results already in `--root` (a real run's
//! `LLMBENCH_HOME`, as for `reports/sample/`); `--history DIR` adds the
//! trend pages of that run history, as `cargo llmbench --history DIR` does.
//!
//! Without `--root` the results and the report go to a temporary directory
//! that is removed at the end.

use std::path::PathBuf;
use std::time::Instant;

use llmbench::report::__fixture::{self as fixture, FixtureSpec};
use llmbench::report::{ReportOptions, write_report};

fn main() -> anyhow::Result<()> {
    let mut spec = FixtureSpec { benches: 20, targets: 3, requests: 10_000, ..FixtureSpec::default() };
    let mut root: Option<PathBuf> = None;
    let mut render_only = false;
    let mut options = ReportOptions::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| anyhow::anyhow!("{name} needs a value"));
        match arg.as_str() {
            "--benches" => spec.benches = value("--benches")?.parse()?,
            "--targets" => spec.targets = value("--targets")?.parse()?,
            "--requests" => spec.requests = value("--requests")?.parse()?,
            "--tokens" => spec.output_tokens = value("--tokens")?.parse()?,
            "--no-baseline" => spec.baseline = false,
            "--hostile" => spec.hostile = true,
            "--render-only" => render_only = true,
            "--root" => root = Some(value("--root")?.into()),
            "--history" => options.history = Some(value("--history")?.into()),
            other => anyhow::bail!("unknown argument {other:?} (see the example's docs)"),
        }
    }
    let tmp = tempfile::tempdir()?;
    let root = root.unwrap_or_else(|| tmp.path().to_owned());

    let t = Instant::now();
    if !render_only {
        fixture::write(&root, &spec)?;
        println!(
            "fixture   {} benches × {} targets × {} requests ({} output tokens each, baseline: {}) written in {:.2} s",
            spec.benches,
            spec.targets,
            spec.requests,
            spec.output_tokens,
            spec.baseline,
            t.elapsed().as_secs_f64()
        );
    }

    let report = write_report(&root, &options)?;
    println!(
        "report    {} runs, {} pages in {:.3} s wall; thread time: reading requests.jsonl {:.3} s, charts and pages {:.3} s ({} threads)",
        report.runs,
        report.pages.len(),
        report.elapsed.as_secs_f64(),
        report.read_time.as_secs_f64(),
        report.render_time.as_secs_f64(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
    );
    println!(
        "size      {:.2} MB in total, largest page {:.2} MB, index {:.1} kB",
        report.total_bytes as f64 / 1e6,
        report.largest_page_bytes as f64 / 1e6,
        std::fs::metadata(&report.index)?.len() as f64 / 1e3
    );
    if !report.skipped.is_empty() {
        anyhow::bail!("runs could not be read: {:?}", report.skipped);
    }
    println!("index     {}", report.index.display());
    if std::env::args().any(|a| a == "--root") {
        return Ok(());
    }
    drop(tmp);
    Ok(())
}
