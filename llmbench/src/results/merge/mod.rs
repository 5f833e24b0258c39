//! One run made of its shards (`cargo llmbench merge`, docs/distributed.md).
//!
//! Shards are checked first: one benchmark × target, one shard count, each
//! shard once, the same fingerprint and `--start-at`, none missing (unless
//! allowed). Every problem is listed, not just the first.
//!
//! Then the figures are recomputed from the union of the shards' request
//! records, never from their summaries: percentiles are those of all the
//! requests (never an average of the shards' percentiles), counts and
//! errors are sums, throughput is over the union of the shards' windows
//! (every record placed on one wall-clock timeline by when its shard's
//! level began), goodput and cost are computed again.
//!
//! Each shard also leaves its latency histograms (`histograms.json`,
//! HdrHistogram V2): each is checked against the shard's own records, and
//! their sum is the merged run's `histograms.json`, the histogram of the
//! union that its percentiles are read from.

mod level;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::histograms::{self, Decoded};
use super::shard::{self, MergedManifest, MergedShard, SHARD_FORMAT, ShardManifest};
use super::{RunSummary, rfc3339};
use crate::record::{Phase, RequestRecord};

/// One shard's run, read from its directory.
#[derive(Debug, Clone)]
pub(crate) struct ShardRun {
    pub(crate) dir: PathBuf,
    pub(crate) manifest: ShardManifest,
    pub(crate) summary: RunSummary,
    pub(crate) records: Vec<RequestRecord>,
    /// Its `histograms.json`, decoded.
    pub(crate) histograms: Decoded,
}

impl ShardRun {
    /// Reads the shard run in `dir`; `Ok(None)` when `dir` holds no
    /// `shard.json`.
    pub(crate) fn read(dir: &Path) -> Result<Option<ShardRun>, String> {
        let Some(manifest) = shard::read_manifest(dir)? else { return Ok(None) };
        let summary = super::read_summary(dir)?;
        if manifest.levels_started_unix_us.len() != summary.levels.len() {
            return Err(format!(
                "{}: {} says {} levels began, {} has {}: the files are not of one run",
                dir.display(),
                shard::SHARD_FILE,
                manifest.levels_started_unix_us.len(),
                super::SUMMARY_FILE,
                summary.levels.len()
            ));
        }
        let records = super::read_requests(dir)?;
        let histograms = histograms::read(dir)?.ok_or_else(|| {
            format!(
                "{}: no {} beside {}: the shard did not finish writing its run (or an llmbench without it ran it)",
                dir.display(),
                histograms::HISTOGRAMS_FILE,
                shard::SHARD_FILE
            )
        })?;
        Ok(Some(ShardRun { dir: dir.to_owned(), manifest, summary, records, histograms }))
    }

    fn label(&self) -> String {
        self.manifest.shard.label()
    }

    fn named(&self) -> String {
        format!("{} ({})", self.label(), self.dir.display())
    }
}

/// A merged run, ready to write.
#[derive(Debug, Clone)]
pub(crate) struct Merged {
    pub(crate) summary: RunSummary,
    pub(crate) records: Vec<RequestRecord>,
    pub(crate) manifest: MergedManifest,
    /// The sum of the shards' histograms.
    pub(crate) histograms: Decoded,
}

/// Groups shard runs by benchmark × target, in order.
pub(crate) fn group(runs: Vec<ShardRun>) -> BTreeMap<(String, String), Vec<ShardRun>> {
    let mut groups: BTreeMap<(String, String), Vec<ShardRun>> = BTreeMap::new();
    for run in runs {
        let key = (run.summary.bench.id.clone(), run.summary.target.name.clone());
        groups.entry(key).or_default().push(run);
    }
    groups
}

/// Merges the shards of one benchmark × target, or says every reason it
/// cannot (each a line for people; the caller exits 2).
pub(crate) fn merge(mut shards: Vec<ShardRun>, allow_missing: bool) -> Result<Merged, Vec<String>> {
    shards.sort_by_key(|s| s.manifest.shard.index);
    let missing = check(&shards, allow_missing)?;
    let histograms = add_histograms(&shards).map_err(|e| vec![e])?;
    let first = &shards[0];
    let rows = shards.iter().map(|s| s.summary.levels.len()).max().unwrap_or(0);
    let mut records: Vec<RequestRecord> = Vec::new();
    let mut levels = Vec::with_capacity(rows);
    for row in 0..rows {
        let (level, row_records) = level::merge_row(&shards, row, first.summary.price.as_ref());
        levels.push(level);
        records.extend(row_records);
    }
    // Every shard's cold start is kept (labelled); the summary's is the
    // first shard's to start.
    let cold: Vec<RequestRecord> = shards
        .iter()
        .flat_map(|s| s.records.iter().filter(|r| r.phase == Phase::ColdStart).map(|r| labelled(r, s)))
        .collect();
    records.splice(0..0, cold);
    let earliest = shards.iter().min_by_key(|s| s.manifest.started_unix_us).unwrap_or(first);
    let started = shards.iter().map(|s| s.manifest.started_unix_us).min().unwrap_or(0);
    let ended = shards.iter().map(|s| s.manifest.ended_unix_us).max().unwrap_or(started);
    let note = missing_note(&missing);
    if let Some(note) = &note {
        levels.iter_mut().for_each(|l| l.warnings.push(note.clone()));
    }
    let mut summary = RunSummary {
        settings: first.manifest.run_settings.clone(),
        started_at: rfc3339(crate::settings::StartAt { unix_us: started }.time()),
        duration_s: (ended - started).max(0) as f64 / 1e6,
        partial: !missing.is_empty() || shards.iter().any(|s| s.summary.partial),
        cold_start: earliest.summary.cold_start.clone(),
        levels,
        sweep: None,
        ..first.summary.clone()
    };
    summary.sweep = level::sweep(&summary.levels);
    let manifest = MergedManifest {
        format_version: SHARD_FORMAT,
        count: first.manifest.shard.count,
        shards: shards.iter().map(listed).collect(),
        missing,
    };
    Ok(Merged { summary, records, manifest, histograms })
}

/// The sum of the shards' histograms, each first checked against its
/// shard's records (a shard whose files disagree is not merged).
fn add_histograms(shards: &[ShardRun]) -> Result<Decoded, String> {
    let mut sum = Decoded::new();
    for s in shards {
        if s.histograms != histograms::of_records(s.summary.levels.len(), &s.records) {
            return Err(format!(
                "shard {}: {} does not match its {} (the files are not of one run, or one was edited)",
                s.named(),
                histograms::HISTOGRAMS_FILE,
                super::REQUESTS_FILE
            ));
        }
        histograms::add(&mut sum, &s.histograms).map_err(|e| format!("shard {}: {e}", s.named()))?;
    }
    Ok(sum)
}

/// A record of shard `s`, carrying its shard's label.
fn labelled(r: &RequestRecord, s: &ShardRun) -> RequestRecord {
    RequestRecord { shard: Some(s.label()), ..r.clone() }
}

fn listed(s: &ShardRun) -> MergedShard {
    let m = &s.manifest;
    MergedShard {
        shard: m.shard.label(),
        host: m.host.clone(),
        dir: s.dir.display().to_string(),
        started_at: m.started_at.clone(),
        ended_at: m.ended_at.clone(),
        clock_offset_ms: m.clock_offset_ms,
        partial: s.summary.partial,
    }
}

/// The warning every level of a run merged without some shards carries.
fn missing_note(missing: &[String]) -> Option<String> {
    (!missing.is_empty()).then(|| {
        format!(
            "shard {} missing (merged with --allow-missing): this level has only the other shards' \
             requests, and only their part of the load",
            missing.join(", ")
        )
    })
}

/// Whether `shards` (sorted) make one run; the labels of missing shards
/// when `allow_missing`, else every problem found.
fn check(shards: &[ShardRun], allow_missing: bool) -> Result<Vec<String>, Vec<String>> {
    let Some(first) = shards.first() else { return Err(vec!["no shards to merge".into()]) };
    let mut problems = Vec::new();
    let counts: BTreeMap<u32, Vec<String>> = shards.iter().fold(BTreeMap::new(), |mut m, s| {
        m.entry(s.manifest.shard.count).or_insert_with(Vec::new).push(s.named());
        m
    });
    if counts.len() > 1 {
        let list: Vec<String> = counts.values().flatten().cloned().collect();
        problems.push(format!("the shards do not agree how many there are: {}", list.join(", ")));
    }
    for pair in shards.windows(2).filter(|w| w[0].manifest.shard == w[1].manifest.shard) {
        problems.push(format!(
            "shard {} appears twice: {} and {} (pass each shard once)",
            pair[0].label(),
            pair[0].dir.display(),
            pair[1].dir.display()
        ));
    }
    problems.extend(foreign(shards));
    let starts: BTreeMap<Option<i64>, Vec<String>> = shards.iter().fold(BTreeMap::new(), |mut m, s| {
        m.entry(s.manifest.start_at_unix_us).or_insert_with(Vec::new).push(s.label());
        m
    });
    if starts.len() > 1 {
        let list: Vec<String> = shards
            .iter()
            .map(|s| format!("{} at {}", s.label(), s.manifest.start_at.as_deref().unwrap_or("(no --start-at)")))
            .collect();
        problems.push(format!("the shards were started for different instants (--start-at): {}", list.join(", ")));
    }
    let count = first.manifest.shard.count;
    let missing: Vec<String> = (1..=count)
        .filter(|i| !shards.iter().any(|s| s.manifest.shard.index == *i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() && !allow_missing && counts.len() == 1 {
        let have: Vec<String> = shards.iter().map(ShardRun::label).collect();
        problems.push(format!(
            "shard {} missing (have {}): pass its directory too, or --allow-missing to merge the rest and mark the \
             run partial",
            missing.join(", "),
            have.join(", ")
        ));
    }
    if problems.is_empty() { Ok(missing) } else { Err(problems) }
}

/// Shards whose fingerprint differs from the most common one, each with
/// what differs.
fn foreign(shards: &[ShardRun]) -> Vec<String> {
    let mut groups: Vec<(&BTreeMap<String, serde_json::Value>, Vec<&ShardRun>)> = Vec::new();
    for s in shards {
        match groups.iter_mut().find(|(f, _)| **f == s.manifest.fingerprint) {
            Some((_, members)) => members.push(s),
            None => groups.push((&s.manifest.fingerprint, vec![s])),
        }
    }
    // The most common fingerprint is the run's (the first shard's on a tie).
    let Some(main) = groups.iter().enumerate().max_by_key(|(i, g)| (g.1.len(), usize::MAX - i)).map(|(i, _)| i) else {
        return Vec::new();
    };
    let (reference, members) = (&groups[main].0, &groups[main].1);
    let of = members.iter().map(|s| s.label()).collect::<Vec<_>>().join(", ");
    let of = of.as_str();
    groups
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != main)
        .flat_map(|(_, (fingerprint, strays))| {
            let diffs = differences(reference, fingerprint);
            strays.iter().map(move |s| {
                format!("shard {} is not part of the same run as shards {of}:\n{}", s.named(), diffs.join("\n"))
            })
        })
        .collect()
}

/// `  - key: theirs → this one's`, for every key whose value differs.
fn differences(
    reference: &BTreeMap<String, serde_json::Value>,
    other: &BTreeMap<String, serde_json::Value>,
) -> Vec<String> {
    let keys: std::collections::BTreeSet<&String> = reference.keys().chain(other.keys()).collect();
    let null = serde_json::Value::Null;
    keys.into_iter()
        .filter_map(|k| {
            let (a, b) = (reference.get(k).unwrap_or(&null), other.get(k).unwrap_or(&null));
            (a != b).then(|| format!("  - {k}: {a} → {b}"))
        })
        .collect()
}

#[cfg(test)]
mod tests;
