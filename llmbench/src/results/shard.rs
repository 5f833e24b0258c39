//! The manifests of a sharded run (docs/distributed.md): `shard.json`,
//! which each shard writes beside its `summary.json`, and `shards.json`,
//! which `cargo llmbench merge` writes beside the merged run. Each has its
//! own format version; a newer one is refused, never half-read.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::RunSettings;
use crate::settings::Shard;

/// A shard's manifest, beside its run's `summary.json`.
pub const SHARD_FILE: &str = "shard.json";
/// The merged run's list of its shards, beside its `summary.json`.
pub const MERGED_FILE: &str = "shards.json";
/// The version of both manifests written by this build.
pub const SHARD_FORMAT: u32 = 1;

/// What one shard says about its part of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ShardManifest {
    /// [`SHARD_FORMAT`] at write time.
    pub(crate) format_version: u32,
    /// Which shard of how many.
    pub(crate) shard: Shard,
    /// Where the shard number came from: `--shard`, or the engine's
    /// variable (`JOB_COMPLETION_INDEX`, …).
    pub(crate) source: String,
    /// The machine (or pod) it ran on.
    pub(crate) host: String,
    /// What makes shards parts of one run, dotted key → value: the
    /// comparison fingerprint of the whole run (docs/gate.md) plus its
    /// sample count and load plan. Shards that differ are not merged.
    pub(crate) fingerprint: BTreeMap<String, serde_json::Value>,
    /// The whole run's settings, before they were split (the merged run's).
    pub(crate) run_settings: RunSettings,
    /// When the shard started (before its cold start) and ended, on its
    /// wall clock: µs since the epoch, and RFC 3339 for people.
    pub(crate) started_unix_us: i64,
    pub(crate) ended_unix_us: i64,
    pub(crate) started_at: String,
    pub(crate) ended_at: String,
    /// `--start-at`, when given: the instant every shard's load begins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) start_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) start_at_unix_us: Option<i64>,
    /// How late this shard's load began after `--start-at`, ms, on its own
    /// clock (the barrier's error; skew between machines' clocks adds to it
    /// unseen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) clock_offset_ms: Option<f64>,
    /// Per row of the summary's `levels`: when the level began on this
    /// shard's wall clock, µs since the epoch. Records' `start_us` count
    /// from there; the merge places every shard's records on one timeline.
    pub(crate) levels_started_unix_us: Vec<i64>,
}

/// One shard as the merged run's `shards.json` lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct MergedShard {
    /// `2/4`.
    pub(crate) shard: String,
    pub(crate) host: String,
    /// The directory it was read from.
    pub(crate) dir: String,
    pub(crate) started_at: String,
    pub(crate) ended_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) clock_offset_ms: Option<f64>,
    /// The shard's own run was interrupted.
    pub(crate) partial: bool,
}

/// `shards.json`: what a merged run was made of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct MergedManifest {
    /// [`SHARD_FORMAT`] at write time.
    pub(crate) format_version: u32,
    /// How many shards the run had.
    pub(crate) count: u32,
    /// The shards merged, in order.
    pub(crate) shards: Vec<MergedShard>,
    /// Shards that were missing (`--allow-missing`): the run is partial.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) missing: Vec<String>,
}

/// Reads `dir/shard.json`: `Ok(None)` when there is none, an error naming
/// the file when it cannot be read or a newer llmbench wrote it.
pub(crate) fn read_manifest(dir: &Path) -> Result<Option<ShardManifest>, String> {
    let path = dir.join(SHARD_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    // The version first, so a newer format is named as such rather than
    // reported as whatever field it changed.
    let version = serde_json::from_str::<serde_json::Value>(&text)
        .map_err(|e| format!("{}: not a shard manifest: {e}", path.display()))?
        .get("format_version")
        .and_then(serde_json::Value::as_u64);
    match version {
        Some(v) if v > u64::from(SHARD_FORMAT) => {
            return Err(format!(
                "{}: shard manifest format {v} (this llmbench reads {SHARD_FORMAT}; a newer llmbench wrote it: \
                 merge with that version)",
                path.display()
            ));
        }
        None => return Err(format!("{}: not a shard manifest (no format_version)", path.display())),
        Some(_) => {}
    }
    serde_json::from_str(&text).map(Some).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes `value` as `dir/name`, atomically (a temporary file, then a
/// rename), so a reader sees the old file or the new one.
pub(crate) fn write_json(dir: &Path, name: &str, value: &impl Serialize) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(value)?;
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, json)?;
    std::fs::rename(&tmp, dir.join(name))
}

/// This machine's name: the kernel's (a pod's name on Kubernetes), else
/// `$HOSTNAME`, else `unknown`.
pub(crate) fn host_name() -> String {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").ok();
    kernel
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn manifest(index: u32, count: u32) -> ShardManifest {
        ShardManifest {
            format_version: SHARD_FORMAT,
            shard: Shard::new(index, count).unwrap(),
            source: "--shard".into(),
            host: format!("host-{index}"),
            fingerprint: BTreeMap::from([("tool.version".to_owned(), serde_json::json!("0.1.0"))]),
            run_settings: crate::results::RunSummary::example().settings,
            started_unix_us: 1_000_000,
            ended_unix_us: 2_000_000,
            started_at: "1970-01-01T00:00:01Z".into(),
            ended_at: "1970-01-01T00:00:02Z".into(),
            start_at: None,
            start_at_unix_us: None,
            clock_offset_ms: None,
            levels_started_unix_us: vec![1_500_000],
        }
    }

    #[test]
    fn a_manifest_round_trips_and_a_newer_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_manifest(dir.path()), Ok(None));
        let m = manifest(2, 4);
        write_json(dir.path(), SHARD_FILE, &m).unwrap();
        assert_eq!(read_manifest(dir.path()), Ok(Some(m.clone())));
        let mut newer = serde_json::to_value(&m).unwrap();
        newer["format_version"] = 2.into();
        newer["shard"] = serde_json::json!("renamed in a later version");
        write_json(dir.path(), SHARD_FILE, &newer).unwrap();
        let e = read_manifest(dir.path()).unwrap_err();
        assert!(e.contains("shard manifest format 2") && e.contains("a newer llmbench wrote it"), "{e}");
        std::fs::write(dir.path().join(SHARD_FILE), "{]").unwrap();
        assert!(read_manifest(dir.path()).unwrap_err().contains("not a shard manifest"));
    }
}
