//! One level (a row of `levels`) of a merged run, recomputed from the
//! union of the shards' records, and the sweep analysis over the merged
//! levels.

use std::collections::BTreeMap;

use super::{ShardRun, labelled};
use crate::cost::Price;
use crate::record::{Phase, RequestRecord};
use crate::settings::{Slo, Volume};
use crate::stats::{self, LevelSummary, LoadCheck, SweepAnalysis, goodput, knee, selfcheck};

/// One shard's part of a row: its run, its summary row, and how long after
/// the earliest shard its level began, µs.
struct Part<'a> {
    run: &'a ShardRun,
    level: &'a LevelSummary,
    row: usize,
    offset_us: u64,
}

/// Row `row` of the merged run: its summary and its records (warm-up and
/// measured, from every shard that has the row, placed on one timeline).
pub(super) fn merge_row(shards: &[ShardRun], row: usize, price: Option<&Price>) -> (LevelSummary, Vec<RequestRecord>) {
    let started: Vec<(&ShardRun, &LevelSummary, i64)> = shards
        .iter()
        .filter_map(|s| Some((s, s.summary.levels.get(row)?, *s.manifest.levels_started_unix_us.get(row)?)))
        .collect();
    let origin = started.iter().map(|p| p.2).min().unwrap_or(0);
    let parts: Vec<Part<'_>> = started
        .iter()
        .map(|&(run, level, at)| Part { run, level, row, offset_us: (at - origin).max(0) as u64 })
        .collect();
    let concurrency: u32 = parts.iter().map(|p| p.level.concurrency).sum();
    let mut records = Vec::new();
    for p in &parts {
        let own = p.run.records.iter().filter(|r| r.level as usize == row && r.phase != Phase::ColdStart);
        records.extend(own.map(|r| {
            let mut r = labelled(r, p.run);
            r.start_us = r.start_us.saturating_add(p.offset_us);
            r.concurrency = concurrency;
            r
        }));
    }
    (summarize(&parts, concurrency, &records, price), records)
}

/// The level's figures from its records, as the engine computes a level's
/// (`engine::levels::analyse`), with what only the shards knew combined.
fn summarize(parts: &[Part<'_>], concurrency: u32, records: &[RequestRecord], price: Option<&Price>) -> LevelSummary {
    let mut s = stats::summarize_level(concurrency, records);
    if let Some(end) = parts.iter().filter_map(|p| window_end_us(p.level).map(|e| e + p.offset_us)).max() {
        selfcheck::apply_window(&mut s, records, end);
    }
    let first = parts[0].level;
    let rates: Vec<f64> = parts.iter().filter_map(|p| p.level.rate).collect();
    s.rate = (!rates.is_empty()).then(|| rates.iter().sum());
    s.stage = first.stage.clone().map(|mut st| {
        (st.from, st.to) =
            parts.iter().filter_map(|p| p.level.stage.as_ref()).fold((0.0, 0.0), |(f, t), x| (f + x.from, t + x.to));
        st
    });
    s.load = merged_load(parts);
    if let Some(g) = &first.goodput {
        match Slo::parse(&g.slo.join(", ")) {
            Ok(slo) => s.goodput = Some(goodput::goodput(&slo, &s, records)),
            Err(e) => s.warnings.push(format!("goodput not recomputed: the shards' SLOs do not parse ({e})")),
        }
    }
    if parts.iter().any(|p| p.level.correctness.is_some()) {
        s.correctness = Some(goodput::correctness(records));
    }
    s.warnings.extend(shard_warnings(parts, concurrency));
    if let Some(price) = price {
        let project =
            first.cost.as_ref().and_then(|c| c.projection.as_ref()).map(|p| Volume::per_hour(p.requests_per_hour));
        let provider = &parts[0].run.summary.target.provider;
        s.cost = Some(crate::cost::level_cost(price, provider, &s, records, project));
    }
    s
}

/// Where a shard's level's load window ended, µs from its level's start:
/// a stage's end, or a duration-bounded level's duration; `None` for a
/// count-bounded level (its window ends with its last request).
fn window_end_us(level: &LevelSummary) -> Option<u64> {
    let secs = match (&level.stage, level.load.as_ref().and_then(|l| l.duration_s)) {
        (Some(st), _) => st.start_s + st.duration_s,
        (None, Some(d)) => d,
        (None, None) => return None,
    };
    Some((secs * 1e6) as u64)
}

/// The generator's self-check over all shards: valid only when every
/// shard's was (the reasons name the shard); offered and achieved rates,
/// the `max_in_flight` caps and the requests cut at the end add up; the
/// schedule lag p99 and the CPU use are the worst shard's (the lag of each
/// request is not in the records, so its distribution is not merged).
fn merged_load(parts: &[Part<'_>]) -> Option<LoadCheck> {
    let checks: Vec<(String, &LoadCheck)> =
        parts.iter().filter_map(|p| Some((p.run.label(), p.level.load.as_ref()?))).collect();
    let (_, first) = checks.first()?;
    let sum = |f: fn(&LoadCheck) -> Option<f64>| -> Option<f64> {
        let all: Option<Vec<f64>> = checks.iter().map(|(_, c)| f(c)).collect();
        all.map(|v| v.iter().sum())
    };
    let caps: Option<Vec<u32>> = checks.iter().map(|(_, c)| c.max_in_flight).collect();
    let reasons: Vec<String> = checks
        .iter()
        .flat_map(|(label, c)| c.invalid_reasons.iter().map(move |r| format!("shard {label}: {r}")))
        .collect();
    Some(LoadCheck {
        offered_rate: sum(|c| c.offered_rate),
        achieved_rate: sum(|c| c.achieved_rate),
        schedule_lag: None,
        schedule_lag_p99_ms: checks.iter().filter_map(|(_, c)| c.schedule_lag_p99_ms).reduce(f64::max),
        max_in_flight: caps.map(|c| c.iter().sum()),
        cut_at_end: checks.iter().map(|(_, c)| c.cut_at_end).sum(),
        cpu: checks.iter().filter_map(|(_, c)| c.cpu).max_by(|a, b| a.busy.total_cmp(&b.busy)),
        valid: checks.iter().all(|(_, c)| c.valid),
        invalid_reasons: reasons,
        ..(*first).clone()
    })
}

/// The warnings only a shard could know (its requests cut at the end, an
/// output shortfall against its prompts…): those its own records do not
/// give again, which the merged level recomputes. A warning every shard
/// gave is said once; others name their shards.
fn shard_warnings(parts: &[Part<'_>], concurrency: u32) -> Vec<String> {
    let mut by_text: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in parts {
        let own: Vec<RequestRecord> = p.run.records.iter().filter(|r| r.level as usize == p.row).cloned().collect();
        let recomputed = stats::summarize_level(concurrency, &own).warnings;
        for w in p.level.warnings.iter().filter(|w| !recomputed.contains(w)) {
            by_text.entry(w.clone()).or_default().push(p.run.label());
        }
    }
    by_text
        .into_iter()
        .map(
            |(text, labels)| {
                if labels.len() == parts.len() { text } else { format!("shard {}: {text}", labels.join(", ")) }
            },
        )
        .collect()
}

/// The knee and the most load meeting the SLOs, over a merged run of two
/// or more levels (not stages), as the engine analyses a sweep.
pub(super) fn sweep(levels: &[LevelSummary]) -> Option<SweepAnalysis> {
    (levels.len() >= 2 && levels.iter().all(|l| l.stage.is_none())).then(|| knee::analyse(levels))
}
