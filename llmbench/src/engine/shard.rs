//! This process as one shard of a run (docs/distributed.md): which shard
//! it is (`--shard`, `--shard auto`), its part of each job (the load split
//! by `settings`, the prompts by `workload`), the start barrier
//! (`--start-at`), and the manifest it leaves beside its results for
//! `cargo llmbench merge`.
//!
//! There is no coordinator: the engine that started the shards (a
//! Kubernetes Indexed Job, AWS Batch, a CI matrix) numbers them, a shared
//! wall-clock instant lines their load up, and the merge reads what each
//! wrote.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::plan::Job;
use super::{Invocation, RunError};
use crate::gate::Fingerprint;
use crate::load::Cancel;
use crate::results::shard::{SHARD_FORMAT, ShardManifest};
use crate::results::{RunSettings, RunSummary, rfc3339};
use crate::settings::{FoundShard, ShardArgs, StartAt, unix_us};

/// What this invocation is asked to be: a shard, and when its load starts.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sharding {
    pub(super) found: Option<FoundShard>,
    pub(super) start_at: Option<StartAt>,
}

/// A job's shard: which one, and the whole run it is part of.
#[derive(Debug, Clone)]
pub(super) struct JobShard {
    pub(super) found: FoundShard,
    /// What the shards of one run share (the merge refuses others).
    pub(super) fingerprint: BTreeMap<String, Value>,
    /// The whole run's settings, before the split.
    pub(super) run_settings: RunSettings,
}

/// Checks the shard flags before anything runs (`cargo llmbench` too,
/// before it builds): the shard resolves, and `--start-at` is ahead.
pub(crate) fn check(args: &ShardArgs) -> Result<Sharding, String> {
    let env = |k: &str| std::env::var(k).ok();
    let found = args.shard.as_ref().map(|spec| spec.get().resolve(args.shard_count, &env)).transpose()?;
    let start_at = args.start_at.as_ref().map(|t| *t.get());
    if let Some(t) = start_at {
        t.check_future(SystemTime::now())?;
    }
    Ok(Sharding { found, start_at })
}

impl Sharding {
    /// The invocation's shard flags, checked. In test mode (one request
    /// per benchmark) there is no load to split or to line up.
    pub(super) fn resolve(args: &Invocation) -> Result<Sharding, RunError> {
        if args.test_mode {
            return Ok(Sharding::default());
        }
        let sharding = check(&args.shard).map_err(RunError::Usage)?;
        let g = &args.gate;
        let baseline = [&g.baseline, &g.baseline_lenient, &g.save_baseline, &g.load_baseline];
        if let Some(found) = &sharding.found
            && baseline.iter().any(|b| b.is_some())
        {
            return Err(RunError::Usage(format!(
                "shard {} is part of a run: judge the merged run, not a shard \
                 (run the shards without baseline flags, then cargo llmbench merge, then cargo llmbench compare)",
                found.shard
            )));
        }
        Ok(sharding)
    }
}

/// Makes `job` this shard's part of it: its share of the load and of the
/// prompts. Limits are left to the merged run (a shard's throughput is a
/// part of the whole; its verdict would be wrong).
pub(super) fn split(job: &mut Job, found: &FoundShard, whole: &RunSummary) -> Result<(), RunError> {
    let shard = found.shard;
    let usage = |e: String| RunError::Usage(format!("benchmark {} · {}: {e}", job.id, job.target.identity.name));
    job.settings = shard.divide(&job.settings).map_err(usage)?;
    job.settings.limits.clear();
    job.workload = job.workload.clone().for_shard(shard);
    let needed = (job.settings.load.duration.is_none()).then(|| u64::from(job.settings.samples + job.settings.warmup));
    job.workload.validate(needed).map_err(|e| usage(e.to_string()))?;
    job.shard =
        Some(JobShard { found: found.clone(), fingerprint: fingerprint(whole), run_settings: whole.settings.clone() });
    Ok(())
}

/// What the shards of one run share: the comparison fingerprint of the
/// whole run (docs/gate.md), and its sample count and load plan, which
/// that fingerprint leaves out (runs of different sizes compare; shards of
/// different sizes are not one run).
fn fingerprint(whole: &RunSummary) -> BTreeMap<String, Value> {
    let mut out = Fingerprint::of(whole).0;
    out.insert("settings.samples".into(), whole.settings.samples.into());
    flatten("settings.load", whole.settings.load.clone().unwrap_or(Value::Null), &mut out);
    out
}

fn flatten(prefix: &str, value: Value, out: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(map) => map.into_iter().for_each(|(k, v)| flatten(&format!("{prefix}.{k}"), v, out)),
        Value::Null => {}
        other => {
            out.insert(prefix.to_owned(), other);
        }
    }
}

/// Waits until `start_at` on the wall clock; how late the wait ended, ms
/// (the barrier's own error, on this machine's clock), or `None` when the
/// run was stopped meanwhile. The wall clock is read again every second
/// (an NTP step moves it), and the last 2 ms are spun, as tokio's timer
/// has a granularity of 1 ms.
pub(super) async fn wait_until(start_at: StartAt, cancel: &Cancel) -> Option<f64> {
    loop {
        let left = start_at.unix_us - unix_us(SystemTime::now());
        if left <= 0 {
            break;
        }
        if left > 2_000 {
            let step = Duration::from_micros(((left - 2_000) as u64).min(1_000_000));
            tokio::select! {
                () = tokio::time::sleep(step) => {}
                () = cancel.cancelled() => return None,
            }
        } else {
            std::thread::yield_now();
        }
    }
    Some((unix_us(SystemTime::now()) - start_at.unix_us) as f64 / 1e3)
}

/// When a shard ran, for its manifest.
pub(super) struct Timing {
    pub(super) started_unix_us: i64,
    pub(super) ended_unix_us: i64,
    pub(super) levels_started_unix_us: Vec<i64>,
    pub(super) clock_offset_ms: Option<f64>,
}

/// Writes a shard's histograms, then its manifest, beside its run in
/// `dir`: a `shard.json` says the shard's files are all there.
pub(super) fn write(
    dir: &std::path::Path,
    shard: &JobShard,
    timing: Timing,
    start_at: Option<StartAt>,
    summary: &RunSummary,
    histograms: &crate::results::histograms::Decoded,
) -> Result<(), RunError> {
    use crate::results::histograms::{HISTOGRAMS_FILE, RunHistograms};
    use crate::results::shard::{SHARD_FILE, write_json};
    let failed = |name: &str, e: String| RunError::Failed(format!("cannot write {}: {e}", dir.join(name).display()));
    debug_assert_eq!(histograms.len(), summary.levels.len(), "a histogram set per summary row");
    let encoded = RunHistograms::encode(histograms).map_err(|e| failed(HISTOGRAMS_FILE, e))?;
    write_json(dir, HISTOGRAMS_FILE, &encoded).map_err(|e| failed(HISTOGRAMS_FILE, e.to_string()))?;
    write_json(dir, SHARD_FILE, &manifest(shard, timing, start_at)).map_err(|e| failed(SHARD_FILE, e.to_string()))
}

/// The manifest of `shard`'s run.
fn manifest(shard: &JobShard, timing: Timing, start_at: Option<StartAt>) -> ShardManifest {
    let at = |us: i64| rfc3339(StartAt { unix_us: us }.time());
    ShardManifest {
        format_version: SHARD_FORMAT,
        shard: shard.found.shard,
        source: shard.found.source.clone(),
        host: crate::results::shard::host_name(),
        fingerprint: shard.fingerprint.clone(),
        run_settings: shard.run_settings.clone(),
        started_at: at(timing.started_unix_us),
        ended_at: at(timing.ended_unix_us),
        started_unix_us: timing.started_unix_us,
        ended_unix_us: timing.ended_unix_us,
        start_at: start_at.map(StartAt::rfc3339),
        start_at_unix_us: start_at.map(|t| t.unix_us),
        clock_offset_ms: timing.clock_offset_ms,
        levels_started_unix_us: timing.levels_started_unix_us,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_barrier_waits_for_the_instant_and_says_how_late_it_woke() {
        let at = StartAt { unix_us: unix_us(SystemTime::now()) + 150_000 };
        let offset = wait_until(at, &Cancel::default()).await.expect("not cancelled");
        assert!(unix_us(SystemTime::now()) >= at.unix_us);
        assert!((0.0..50.0).contains(&offset), "woke {offset} ms late");
        let cancel = Cancel::default();
        cancel.cancel();
        let far = StartAt { unix_us: unix_us(SystemTime::now()) + 60_000_000 };
        assert_eq!(wait_until(far, &cancel).await, None, "an interruption ends the wait");
    }

    #[test]
    fn the_fingerprint_adds_the_samples_and_the_load_plan() {
        let mut whole = RunSummary::example();
        whole.settings.load = Some(serde_json::json!({ "mode": "open", "shape": { "levels": [{ "rate": 20.0 }] } }));
        let f = fingerprint(&whole);
        assert_eq!(f["settings.samples"], 1);
        assert_eq!(f["settings.load.mode"], "open");
        assert!(f.contains_key("settings.concurrency") && f.contains_key("tool.version"));
    }
}
