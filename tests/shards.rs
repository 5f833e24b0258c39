//! One run split into four shards, run as four processes on this machine
//! (each against its own built-in simulator on 127.0.0.1, bounded by its
//! sample count), lined up by `--start-at`, then merged by
//! `cargo llmbench merge` (docs/distributed.md). The harness is in
//! `common/`.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{Fixture, read_json, read_jsonl};
use llmbench::exit_code;
use serde_json::Value;

const SHARDS: u32 = 4;
const SAMPLES: &str = "200";
const CONCURRENCY: &str = "8";

/// The percentile llmbench reports of `values` (ms): HdrHistogram at µs
/// with 3 significant digits, clamped into the observed range.
fn percentile(values: &[f64], q: f64) -> f64 {
    let mut hist = hdrhistogram::Histogram::<u64>::new(3).unwrap();
    for v in values {
        hist.record((v.max(0.0) * 1000.0).round() as u64).unwrap();
    }
    let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v)));
    (hist.value_at_quantile(q / 100.0) as f64 / 1000.0).clamp(lo, hi)
}

/// The successful measured TTFTs of the records in `dir`.
fn ttfts(dir: &Path) -> Vec<f64> {
    read_jsonl(&dir.join("requests.jsonl"))
        .iter()
        .filter(|r| r["phase"] == "measured" && r["error"].is_null())
        .filter_map(|r| r["ttft_ms"].as_f64())
        .collect()
}

/// `cargo llmbench short_questions --shard I/4 …` with its own results root.
fn shard_command(fx: &Fixture, shard: &str, start_at: &str, samples: &str) -> (std::process::Command, PathBuf) {
    let home = fx.scratch_path(&format!("shard-{}", shard.replace('/', "-of-")));
    let args = [
        "short_questions",
        "--shard",
        shard,
        "--start-at",
        start_at,
        "--sample-size",
        samples,
        "--concurrency",
        CONCURRENCY,
    ];
    let mut cmd = fx.cargo_llmbench(&args);
    cmd.env("LLMBENCH_HOME", &home);
    (cmd, home.join("short_questions").join("sim").join("new"))
}

fn merge(fx: &Fixture, dirs: &[&Path], extra: &[&str]) -> common::Run {
    let mut cmd = fx.cargo_llmbench_merge(&[]);
    cmd.args(dirs).args(extra);
    common::run(&mut cmd)
}

#[test]
fn four_shard_processes_merge_into_one_run_with_the_percentiles_of_all_requests() {
    let fx = Fixture::new();
    // Far enough ahead for four invocations to reach the barrier: each
    // checks its build and starts its bench binary (what `--list` times),
    // four at once on this machine's cores, with room to spare.
    let started = Instant::now();
    common::run(&mut fx.cargo_llmbench(&["--list"])).assert_code(exit_code::OK);
    let lead = Duration::from_secs(3) + 4 * started.elapsed();
    eprintln!("shards start {lead:.1?} from now");
    let at = Duration::from_secs((SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + lead).as_secs() + 1);
    let start_at = at.as_secs().to_string();
    let children: Vec<_> = (1..=SHARDS)
        .map(|i| {
            let (mut cmd, dir) = shard_command(&fx, &format!("{i}/{SHARDS}"), &start_at, SAMPLES);
            (std::thread::spawn(move || common::run(&mut cmd)), dir)
        })
        .collect();
    let mut dirs = Vec::new();
    for (child, dir) in children {
        let run = child.join().expect("a shard's thread");
        run.assert_code(exit_code::OK).assert_no_panic().assert_stderr_contains("shard ");
        for file in ["summary.json", "requests.jsonl", "shard.json", "histograms.json"] {
            assert!(dir.join(file).is_file(), "{} missing\n{run}", dir.join(file).display());
        }
        dirs.push(dir);
    }
    // Each shard ran its part: concurrency 2 of 8, 50 of 200 samples, and
    // began its load at the shared instant.
    for (i, dir) in dirs.iter().enumerate() {
        let manifest = read_json(&dir.join("shard.json"));
        assert_eq!(manifest["shard"], serde_json::json!({ "index": i + 1, "count": SHARDS }), "{manifest:#}");
        let offset = manifest["clock_offset_ms"].as_f64().unwrap_or_else(|| panic!("no clock offset: {manifest:#}"));
        assert!((0.0..1000.0).contains(&offset), "shard {} began {offset} ms after --start-at", i + 1);
        eprintln!("shard {}/{SHARDS}: load began {offset:.3} ms after --start-at", i + 1);
        let began = manifest["levels_started_unix_us"][0].as_i64().unwrap();
        assert!(
            began >= at.as_micros() as i64,
            "shard {} began its level at {began} µs, before --start-at {start_at} s",
            i + 1
        );
        let summary = read_json(&dir.join("summary.json"));
        assert_eq!(summary["levels"][0]["concurrency"], 2, "{summary:#}");
        assert_eq!(summary["levels"][0]["requests"]["attempted"], 50, "{summary:#}");
    }

    let merged_dir = fx.scratch_path("merged");
    let dir_refs: Vec<&Path> = dirs.iter().map(PathBuf::as_path).collect();
    let run = merge(&fx, &dir_refs, &["--into", merged_dir.to_str().unwrap()]);
    run.assert_code(exit_code::OK).assert_stdout_contains("merged shards 1/4, 2/4, 3/4, 4/4 of 4");
    let merged = read_json(&merged_dir.join("summary.json"));
    let level = &merged["levels"][0];
    assert_eq!(level["concurrency"], 8, "{merged:#}");
    assert_eq!(level["requests"]["attempted"], 200, "{merged:#}");
    assert_eq!(merged["settings"]["samples"], 200, "the whole run's settings: {merged:#}");
    assert_eq!(merged["partial"], false);
    let union: Vec<f64> = dirs.iter().flat_map(|d| ttfts(d)).collect();
    assert_eq!(union.len(), 200);
    assert_eq!(ttfts(&merged_dir).len(), 200);
    for (stat, q) in [("p50", 50.0), ("p99", 99.0)] {
        let got = level["ttft"][stat].as_f64().unwrap_or_else(|| panic!("no ttft.{stat}: {merged:#}"));
        let expected = percentile(&union, q);
        eprintln!("merged ttft {stat} = {got} ms; from the union of the shards' records: {expected} ms");
        assert_eq!(got, expected, "ttft {stat}: merged vs the union of the shards' records");
    }
    // Throughput is over the union of the windows: the four shards ran at
    // once, so the merged rate is near the sum of theirs, not their mean.
    let rates: Vec<f64> =
        dirs.iter().map(|d| read_json(&d.join("summary.json"))["levels"][0]["req_per_s"].as_f64().unwrap()).collect();
    let merged_rate = level["req_per_s"].as_f64().unwrap();
    eprintln!("shard req/s {rates:?}, merged {merged_rate}");
    assert!(merged_rate > 2.0 * rates.iter().copied().fold(0.0, f64::max), "{merged_rate} vs {rates:?}");
    assert_eq!(read_json(&merged_dir.join("shards.json"))["count"], SHARDS);

    // The merged run is a normal run: compare reads it.
    let merged_arg = merged_dir.to_str().unwrap();
    common::run(&mut fx.cargo_llmbench_compare(&[merged_arg, merged_arg])).assert_code(exit_code::OK).assert_no_panic();

    // A missing shard: refused, named; merged with --allow-missing as partial.
    let three = [dir_refs[0], dir_refs[1], dir_refs[3]];
    merge(&fx, &three, &["--into", fx.scratch_path("m3").to_str().unwrap()])
        .assert_code(exit_code::USAGE)
        .assert_stderr_contains("shard 3/4 missing (have 1/4, 2/4, 4/4)");
    let partial_dir = fx.scratch_path("partial");
    merge(&fx, &three, &["--allow-missing", "--into", partial_dir.to_str().unwrap()]).assert_code(exit_code::OK);
    let partial = read_json(&partial_dir.join("summary.json"));
    assert_eq!(
        (partial["partial"].clone(), partial["levels"][0]["requests"]["attempted"].clone()),
        (Value::Bool(true), 150.into())
    );

    // A foreign shard (another run's 3/4: 40 samples instead of 200).
    let later = SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + lead / 2 + Duration::from_secs(1);
    let (mut cmd, foreign) = shard_command(&fx, "3/4", &later.as_secs().to_string(), "40");
    common::run(&mut cmd).assert_code(exit_code::OK);
    let mixed = [dir_refs[0], dir_refs[1], foreign.as_path(), dir_refs[3]];
    merge(&fx, &mixed, &["--into", fx.scratch_path("m4").to_str().unwrap()])
        .assert_code(exit_code::USAGE)
        .assert_stderr_contains("is not part of the same run as shards 1/4, 2/4, 4/4")
        .assert_stderr_contains("settings.samples: 200 → 40");
}

#[test]
fn a_start_time_in_the_past_or_a_bad_shard_is_refused_before_building() {
    let fx = Fixture::new();
    common::run(&mut fx.cargo_llmbench(&["--shard", "1/4", "--start-at", "2020-01-01T00:00:00Z"]))
        .assert_code(exit_code::USAGE)
        .assert_stderr_contains("in the past")
        .assert_no_panic();
    common::run(&mut fx.cargo_llmbench(&["--shard", "5/4"]))
        .assert_code(exit_code::USAGE)
        .assert_stderr_contains("does not exist");
    common::run(fx.cargo_llmbench(&["--shard", "auto"]).env("JOB_COMPLETION_INDEX", "1"))
        .assert_code(exit_code::USAGE)
        .assert_stderr_contains("LLMBENCH_SHARD_COUNT");
}
