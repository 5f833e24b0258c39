use std::collections::BTreeMap;

use super::*;
use crate::results::shard::tests::manifest;
use crate::settings::Slo;
use crate::sim::SimConfig;
use crate::stats::{LatencySummary, goodput};

/// Shard `index` of `count`: 50 measured requests at concurrency 2 from
/// the simulator's model (its own seed, 10% throttled), its level begun
/// `offset_us` after the earliest shard's.
fn shard(index: u32, count: u32, offset_us: i64) -> ShardRun {
    let config = SimConfig { seed: u64::from(index) * 101, error_rate: 0.1, ..SimConfig::default() };
    let (mut summary, mut records) = crate::calibrate::model_run(&config, "b", 50, &[2], 16);
    let level = &mut summary.levels[0];
    level.goodput = Some(goodput::goodput(&Slo::default(), level, &records));
    let label = format!("{index}/{count}");
    records.iter_mut().for_each(|r| r.shard = Some(label.clone()));
    let mut m = manifest(index, count);
    m.run_settings.concurrency = vec![2 * count];
    m.levels_started_unix_us = vec![1_000_000 + offset_us];
    m.started_unix_us = 900_000 + offset_us;
    m.ended_unix_us = 2_000_000 + offset_us;
    let histograms = crate::results::histograms::of_records(1, &records);
    ShardRun { dir: PathBuf::from(format!("shard-{index}")), manifest: m, summary, records, histograms }
}

fn four() -> Vec<ShardRun> {
    [(1, 0), (2, 1500), (3, 300), (4, 700)].map(|(i, off)| shard(i, 4, off)).into()
}

fn ttfts<'a>(records: impl Iterator<Item = &'a RequestRecord>) -> Vec<f64> {
    records.filter(|r| r.phase == Phase::Measured && r.is_ok()).filter_map(|r| r.ttft_ms).collect()
}

#[test]
fn percentiles_are_those_of_every_request_and_counts_add_up() {
    let shards = four();
    let union = ttfts(shards.iter().flat_map(|s| &s.records));
    let merged = merge(shards.clone(), false).expect("four shards of one run merge");
    let level = &merged.summary.levels[0];
    assert_eq!(level.ttft, LatencySummary::from_values(&union), "the histogram of the union, not an average");
    let (p50, p99) = (level.ttft.as_ref().unwrap().p50, level.ttft.as_ref().unwrap().p99);
    assert!(p50.is_some() && p99.is_some(), "200 requests have a p99 that no 50-request shard has");
    assert_eq!(level.concurrency, 8);
    let sum = |f: fn(&crate::stats::LevelSummary) -> u64| shards.iter().map(|s| f(&s.summary.levels[0])).sum::<u64>();
    assert_eq!(level.requests.attempted, sum(|l| l.requests.attempted));
    assert_eq!(level.requests.failed, sum(|l| l.requests.failed));
    let throttled: u64 =
        shards.iter().map(|s| s.summary.levels[0].requests.by_class.get("throttled").copied().unwrap_or(0)).sum();
    assert_eq!(level.requests.by_class.get("throttled").copied().unwrap_or(0), throttled);
    let g = level.goodput.as_ref().expect("goodput is recomputed");
    assert_eq!(g.attempted, level.requests.attempted);
    assert_eq!(merged.summary.settings.concurrency, vec![8], "the whole run's settings");
    assert_eq!(merged.records.len(), shards.iter().map(|s| s.records.len()).sum::<usize>());
    assert!(merged.records.iter().all(|r| r.shard.is_some() && r.concurrency == 8));
    assert_eq!(merged.manifest.shards.len(), 4);
    assert!(!merged.summary.partial);
    let h = &merged.histograms[0]["ttft"];
    let (lo, hi) = (level.ttft.as_ref().unwrap().min, level.ttft.as_ref().unwrap().max);
    let from_histograms = [50.0, 99.0].map(|q| Some(crate::results::histograms::percentile_ms(h, q).clamp(lo, hi)));
    assert_eq!(from_histograms, [p50, p99], "the shards' histograms add up to the merged percentiles");
}

#[test]
fn a_shard_whose_histograms_disagree_with_its_records_is_refused() {
    let mut shards = four();
    shards[2].histograms = shards[1].histograms.clone();
    let problems = merge(shards, false).unwrap_err();
    assert!(
        problems[0].starts_with("shard 3/4 (shard-3): histograms.json does not match its requests.jsonl"),
        "{problems:?}"
    );
}

#[test]
fn throughput_is_over_the_union_of_the_windows() {
    let shards = four();
    let merged = merge(shards.clone(), false).unwrap();
    // Each shard's records placed by when its level began (offsets in µs).
    let placed: Vec<(u64, u64)> = shards
        .iter()
        .flat_map(|s| {
            let off = (s.manifest.levels_started_unix_us[0] - 1_000_000) as u64;
            s.records.iter().filter(|r| r.phase == Phase::Measured).map(move |r| (r.start_us + off, r.end_us() + off))
        })
        .collect();
    let start = placed.iter().map(|p| p.0).min().unwrap();
    let end = placed.iter().map(|p| p.1).max().unwrap();
    let level = &merged.summary.levels[0];
    assert!(
        (level.window_s - (end - start) as f64 / 1e6).abs() < 1e-9,
        "{} vs {}",
        level.window_s,
        (end - start) as f64 / 1e6
    );
    assert!((level.req_per_s - level.requests.ok as f64 / level.window_s).abs() < 1e-9);
    let shard2 = merged.records.iter().find(|r| r.shard.as_deref() == Some("2/4") && r.index == 0).unwrap();
    assert_eq!(shard2.start_us, shards[1].records[0].start_us + 1500, "shard 2 began 1.5 ms after shard 1");
    assert_eq!(merged.summary.duration_s, (2_001_500 - 900_000) as f64 / 1e6);
}

#[test]
fn a_missing_shard_is_refused_or_marked_partial() {
    let mut shards = four();
    shards.remove(2);
    let problems = merge(shards.clone(), false).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("shard 3/4 missing (have 1/4, 2/4, 4/4)"), "{problems:?}");
    assert!(problems[0].contains("--allow-missing"));
    let merged = merge(shards, true).unwrap();
    assert!(merged.summary.partial);
    assert_eq!(merged.manifest.missing, ["3/4"]);
    let warnings = &merged.summary.levels[0].warnings;
    assert!(warnings.iter().any(|w| w.starts_with("shard 3/4 missing (merged with --allow-missing)")), "{warnings:?}");
}

#[test]
fn a_foreign_duplicate_or_miscounted_shard_is_refused_naming_it() {
    let mut shards = four();
    shards[1].manifest.fingerprint.insert("settings.timeout_ms".into(), 29_000.into());
    let problems = merge(shards, false).unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("shard 2/4 (shard-2) is not part of the same run as shards 1/4, 3/4, 4/4"),
        "{problems:?}"
    );
    assert!(problems[0].contains("  - settings.timeout_ms: null → 29000"), "{problems:?}");

    let mut shards = four();
    shards[3] = shard(3, 4, 0);
    let problems = merge(shards, false).unwrap_err();
    assert!(problems.iter().any(|p| p.starts_with("shard 3/4 appears twice")), "{problems:?}");
    assert!(problems.iter().any(|p| p.starts_with("shard 4/4 missing")), "{problems:?}");

    let mut shards = four();
    shards[3] = shard(3, 3, 0);
    let problems = merge(shards, false).unwrap_err();
    assert!(problems[0].starts_with("the shards do not agree how many there are"), "{problems:?}");

    let mut shards = four();
    shards[0].manifest.start_at = Some("2026-01-01T00:00:00.000Z".into());
    shards[0].manifest.start_at_unix_us = Some(1);
    let problems = merge(shards, false).unwrap_err();
    assert!(problems[0].contains("started for different instants"), "{problems:?}");
}

#[test]
fn shard_warnings_name_their_shards_and_load_checks_combine() {
    let mut shards = four();
    for s in &mut shards {
        s.summary.levels[0].load =
            Some(crate::stats::selfcheck::check(&s.records, &crate::stats::selfcheck::LevelLoad::default()));
    }
    shards[2].summary.levels[0].warnings.push("only shard 3 saw this".into());
    for s in &mut shards {
        s.summary.levels[0].warnings.push("every shard saw this".into());
    }
    let load = shards[1].summary.levels[0].load.as_mut().unwrap();
    (load.valid, load.invalid_reasons) = (false, vec!["the client fell behind".into()]);
    let merged = merge(shards, false).unwrap();
    let level = &merged.summary.levels[0];
    let expected: BTreeMap<&str, bool> =
        [("shard 3/4: only shard 3 saw this", true), ("every shard saw this", true)].into();
    for (w, _) in expected {
        assert!(level.warnings.iter().any(|x| x == w), "{w:?} in {:?}", level.warnings);
    }
    let load = level.load.as_ref().unwrap();
    assert!(!load.valid);
    assert_eq!(load.invalid_reasons, ["shard 2/4: the client fell behind"]);
}

#[test]
fn shards_of_two_benchmarks_are_grouped_apart() {
    let mut shards = four();
    shards[0].summary.bench.id = "other".into();
    let groups = group(shards);
    assert_eq!(groups.keys().map(|k| k.0.as_str()).collect::<Vec<_>>(), ["b", "other"]);
}
