//! `--export FORMAT=PATH` (repeatable): the gathered outcomes of a run (or
//! of `cargo llmbench compare`) written in formats other tools read, at the
//! end, from the same `RunSummary`s and request records the terminal shows.
//!
//! | format | file | module |
//! | --- | --- | --- |
//! | `bmf` | Bencher Metric Format JSON | [`bmf`] |
//! | `gab-smaller`, `gab-bigger` | github-action-benchmark `customSmallerIsBetter` / `customBiggerIsBetter` JSON | [`gab`] |
//! | `openmetrics` | OpenMetrics text exposition, histograms from the records | [`openmetrics`] |
//! | `emf` | CloudWatch Embedded Metric Format, one JSON line per level | [`emf`] |
//! | `otlp-json` | an OTLP `ExportMetricsServiceRequest` as JSON (GenAI semantic conventions) | [`otlp`] |
//! | `otlp` | the same request POSTed to an OTLP/HTTP collector (cargo feature `otlp`) | [`otlp`] |
//!
//! Every format and the names other tools give its metrics are documented in
//! docs/exports.md. Paths are checked before anything runs ([`probe`]), so a
//! typo costs no benchmark time; an unknown format or unwritable path is a
//! usage error (exit 2) naming it.

pub(crate) mod bmf;
pub(crate) mod emf;
pub(crate) mod gab;
mod histogram;
pub(crate) mod openmetrics;
pub(crate) mod otlp;
#[cfg(test)]
mod tests;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::record::RequestRecord;
use crate::results::RunSummary;
pub(crate) use crate::settings::{ExportSpec, Format};
use crate::stats::LevelSummary;

/// Checks, before anything runs, that every export file can be written:
/// its directory is created and the file opened for writing (a file that
/// did not exist is removed again). The error names the flag and the cause.
pub(crate) fn probe(specs: &[ExportSpec]) -> Result<(), String> {
    for spec in specs.iter().filter(|s| s.is_file()) {
        let path = &spec.path;
        let fail = |e: &dyn fmt::Display| format!("cannot write --export {spec}: {e}");
        if path.is_dir() {
            return Err(fail(&"it is a directory; name a file"));
        }
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        let existed = path.exists();
        std::fs::OpenOptions::new().append(true).create(true).open(path).map_err(|e| fail(&e))?;
        if !existed {
            let _ = std::fs::remove_file(path);
        }
    }
    Ok(())
}

/// One benchmark × target run to export: its summary and, when they were
/// kept, its request records (histograms need them; without them the
/// histogram families are left out and [`write_all`] says so).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExportRun<'a> {
    pub(crate) summary: &'a RunSummary,
    pub(crate) records: Option<&'a [RequestRecord]>,
}

/// Owned runs, for callers that read the records from disk.
#[derive(Debug, Clone)]
pub(crate) struct LoadedRun {
    pub(crate) summary: RunSummary,
    pub(crate) records: Option<Vec<RequestRecord>>,
}

impl LoadedRun {
    /// `summary` with the records of the run directory `dir`, when there is one.
    pub(crate) fn load(summary: RunSummary, dir: Option<&Path>) -> LoadedRun {
        let records = dir.and_then(|d| crate::results::read_requests(d).ok());
        LoadedRun { summary, records }
    }

    pub(crate) fn as_run(&self) -> ExportRun<'_> {
        ExportRun { summary: &self.summary, records: self.records.as_deref() }
    }
}

/// Writes every export; returns the notes people should see (histograms
/// left out). An error names the export that failed.
pub(crate) fn write_all(specs: &[ExportSpec], runs: &[ExportRun<'_>]) -> Result<Vec<String>, String> {
    let mut notes = Vec::new();
    if specs.iter().any(|s| matches!(s.format, Format::OpenMetrics | Format::OtlpJson | Format::Otlp)) {
        for r in runs.iter().filter(|r| r.records.is_none()) {
            notes.push(format!(
                "exports: no request records for {} · {} (not saved), so its histograms are left out",
                r.summary.bench.id, r.summary.target.name
            ));
        }
    }
    for spec in specs {
        let bytes = match spec.format {
            Format::Bmf => json_bytes(&bmf::render(runs))?,
            Format::GabSmaller => json_bytes(&gab::render(runs, gab::Direction::Smaller))?,
            Format::GabBigger => json_bytes(&gab::render(runs, gab::Direction::Bigger))?,
            Format::OpenMetrics => openmetrics::render(runs).into_bytes(),
            Format::Emf => emf::render(runs)?.into_bytes(),
            Format::OtlpJson => json_bytes(&otlp::render(runs))?,
            Format::Otlp => {
                otlp::push(&spec.path.to_string_lossy(), &otlp::render(runs))
                    .map_err(|e| format!("--export {spec}: {e}"))?;
                continue;
            }
        };
        write_atomic(&spec.path, &bytes).map_err(|e| format!("cannot write --export {spec}: {e}"))?;
    }
    Ok(notes)
}

/// Writes every export of `outcomes`, reading each run's records from its
/// directory in `dirs` (None: the run was not saved). Nothing is written
/// when there is no outcome (`--list`, test mode).
pub(crate) fn write_outcomes(
    specs: &[ExportSpec],
    outcomes: &[crate::gate::Outcome],
    dirs: &[Option<PathBuf>],
) -> Result<Vec<String>, String> {
    if specs.is_empty() || outcomes.is_empty() {
        return Ok(Vec::new());
    }
    let loaded: Vec<LoadedRun> = outcomes
        .iter()
        .enumerate()
        .map(|(i, o)| LoadedRun::load(o.summary.clone(), dirs.get(i).and_then(Option::as_deref)))
        .collect();
    let runs: Vec<ExportRun<'_>> = loaded.iter().map(LoadedRun::as_run).collect();
    write_all(specs, &runs)
}

fn json_bytes(value: &serde_json::Value) -> Result<Vec<u8>, String> {
    let mut bytes = serde_json::to_vec_pretty(value).map_err(|e| format!("cannot encode an export: {e}"))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Temp file, then rename: a dashboard polling the file never reads half of it.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path)).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// A level of a run, with the name every format gives it:
/// `bench/target/level` (the level's label: `c=8`, `20/s`, `s2 5→50/s`).
pub(crate) struct Series<'a> {
    pub(crate) run: &'a RunSummary,
    pub(crate) level: &'a LevelSummary,
    /// The measured records of this level (None: not kept).
    pub(crate) records: Option<Vec<&'a RequestRecord>>,
}

impl Series<'_> {
    pub(crate) fn name(&self) -> String {
        format!("{}/{}/{}", self.run.bench.id, self.run.target.name, self.level.label())
    }

    /// Ok measured records (the ones latency is taken over).
    pub(crate) fn ok(&self) -> Option<impl Iterator<Item = &RequestRecord>> {
        self.records.as_ref().map(|r| r.iter().copied().filter(|r| r.is_ok()))
    }

    /// A figure of the level by its `LevelSummary::metric_value` key.
    pub(crate) fn value(&self, key: &str) -> Option<f64> {
        self.level.metric_value(key).filter(|v| v.is_finite())
    }

    /// Measured requests by outcome: `ok`, each error class, and (results
    /// format 2) `cut_by_llmbench` for the requests llmbench itself cut at
    /// the end of a level or on an interruption, which count neither as
    /// attempted nor as failed.
    pub(crate) fn outcomes(&self) -> Vec<(&str, u64)> {
        let r = &self.level.requests;
        let mut out = vec![("ok", r.ok)];
        out.extend(r.by_class.iter().map(|(c, n)| (c.as_str(), *n)));
        if r.cut_by_llmbench > 0 {
            out.push((CUT_BY_LLMBENCH, r.cut_by_llmbench));
        }
        out
    }

    pub(crate) fn goodput_ratio(&self) -> Option<f64> {
        self.level.goodput.as_ref().map(|g| g.ratio)
    }

    /// Whether any ok request of the level reasoned (it then has `thinking`).
    pub(crate) fn reasoned(&self) -> bool {
        self.level.thinking.is_some()
    }

    /// The latencies this level exports: [`LATENCIES`], and where requests
    /// reasoned TTFO (time to the first answer token) after TTFT — elsewhere
    /// TTFO is TTFT and would only repeat it.
    pub(crate) fn latencies(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = LATENCIES.to_vec();
        if self.reasoned() {
            out.insert(1, ("ttfo", "TTFO"));
        }
        out
    }
}

/// Every level of every run, in order.
pub(crate) fn series<'a>(runs: &'a [ExportRun<'a>]) -> Vec<Series<'a>> {
    runs.iter()
        .flat_map(|r| {
            r.summary.levels.iter().enumerate().map(move |(row, level)| Series {
                run: r.summary,
                level,
                records: r.records.map(|recs| crate::gate::metric::level_records(recs, row)),
            })
        })
        .collect()
}

/// The outcome of the requests llmbench itself cut (results format 2).
pub(crate) const CUT_BY_LLMBENCH: &str = "cut_by_llmbench";

/// The latency metrics every format exports, by key, with a display name
/// (a level whose requests reasoned adds TTFO: [`Series::latencies`]).
pub(crate) const LATENCIES: [(&str, &str); 4] = [("ttft", "TTFT"), ("tpot", "TPOT"), ("itl", "ITL"), ("e2e", "E2E")];

/// A run's start as milliseconds since the Unix epoch (`started_at` is the
/// RFC 3339 UTC text `results::rfc3339` writes); None if it is not.
pub(crate) fn epoch_ms(started_at: &str) -> Option<u64> {
    let b = started_at.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| started_at.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days from civil (Howard Hinnant's algorithm), the inverse of rfc3339.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(((days * 86_400) + hh * 3600 + mm * 60 + ss) * 1000).ok()
}
