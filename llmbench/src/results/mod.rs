//! The on-disk results store and its versioned JSON schema.
//!
//! ```text
//! <root>/<bench>/<target>/new/summary.json    one run's summary
//! <root>/<bench>/<target>/new/requests.jsonl  one line per request
//! <root>/<bench>/<target>/new.partial.jsonl   while a run runs (`partial`)
//! ```
//!
//! `<root>` is `$LLMBENCH_HOME`, else `$CARGO_TARGET_DIR/llmbench`, else the
//! cargo target directory of the running benchmark binary, else
//! `target/llmbench`. Every write is atomic (temp file, then rename), and a
//! run directory is replaced whole, so a reader never sees half a run.

pub(crate) mod histograms;
pub mod history;
pub(crate) mod merge;
pub(crate) mod partial;
mod schema;
pub(crate) mod shard;

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub use crate::config::TargetIdentity;
pub(crate) use crate::units::rfc3339;
pub use partial::partial_path;
pub use schema::{BenchInfo, ColdStart, FORMAT_VERSION, OLDEST_READABLE, RunRef, RunSettings, RunSummary, ToolInfo};

use crate::record::RequestRecord;

/// The directory of the run in progress, beside saved baselines.
pub const NEW_DIR: &str = "new";
/// The summary file of a run.
pub const SUMMARY_FILE: &str = "summary.json";
/// The per-request file of a run.
pub const REQUESTS_FILE: &str = "requests.jsonl";

/// Where results go, by the rule in the module docs.
pub fn default_root() -> PathBuf {
    if let Some(home) = std::env::var_os("LLMBENCH_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(home);
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir).join("llmbench");
    }
    // A benchmark binary lives at <target>/<profile>/deps/<name>-<hash>.
    if let Ok(exe) = std::env::current_exe()
        && let Some(target) = exe.ancestors().nth(3)
        && exe.parent().and_then(Path::file_name).is_some_and(|d| d == "deps")
    {
        return target.join("llmbench");
    }
    PathBuf::from("target").join("llmbench")
}

/// Makes an id safe as one path component, and different ids different
/// components: an id that is already safe (at most 64 bytes, no reserved
/// character) is its own name, so existing results keep their directories;
/// any other becomes its criterion-style name (reserved characters as `_`,
/// cut to fit) plus `-` and a hash of the whole id, so `a<b` and `a>b` no
/// longer share `a_b` and overwrite each other's runs. A safe id that looks
/// like such a name is hashed too, so it cannot meet one.
pub fn file_safe(id: &str) -> String {
    let legacy = legacy_file_safe(id);
    if legacy == id && !has_hash_suffix(id) {
        return legacy;
    }
    let suffix = format!("-{:016x}", fnv1a(id.as_bytes()));
    let mut out = legacy;
    let mut cut = out.len().min(64 - suffix.len());
    while !out.is_char_boundary(cut) {
        cut -= 1;
    }
    out.truncate(cut);
    out.push_str(&suffix);
    out
}

/// Whether `name` ends as [`file_safe`] ends the names it hashes.
fn has_hash_suffix(name: &str) -> bool {
    let Some((_, tail)) = name.rsplit_once('-') else { return false };
    tail.len() == 16 && tail.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// FNV-1a, 64 bits: stable across releases and platforms (std's hasher
/// is not), which a directory name must be.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// The name [`file_safe`] gave every id before it was made injective:
/// still where older results of ids that needed sanitising are read from.
pub fn legacy_file_safe(id: &str) -> String {
    let mut out: String = id
        .chars()
        .map(|c| {
            if matches!(c, '?' | '"' | '/' | '\\' | '*' | '<' | '>' | ':' | '|' | '^') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if out.len() > 64 {
        let mut cut = 64;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    if out.is_empty() || out == "." || out == ".." {
        out = "_".to_owned();
    }
    out
}

/// The directory of `run` (e.g. `new`) for a benchmark and target.
pub fn run_dir(root: &Path, bench: &str, target: &str, run: &str) -> PathBuf {
    root.join(file_safe(bench)).join(file_safe(target)).join(file_safe(run))
}

/// Where the request records of a run being written come from.
#[derive(Debug, Clone, Copy)]
pub enum Requests<'a> {
    /// All of them, in memory.
    Memory(&'a [RequestRecord]),
    /// A file of JSON lines (a long run's crash-safe records, which hold
    /// every record while memory holds a sample), each record labelled
    /// with `shard` when given.
    Lines {
        /// The file.
        path: &'a Path,
        /// The shard label to give each record.
        shard: Option<&'a str>,
    },
}

impl Requests<'_> {
    /// Writes the records as `requests.jsonl` to `out`: in memory, as they
    /// are; from a file, in the order a run in memory has — the cold start,
    /// then each summary row's warm-up and then its measured requests (the
    /// file has them as they finished) — by way of one scratch file per
    /// group in `scratch`, so that no more than a line is ever in memory.
    fn write_to(&self, out: &mut impl Write, scratch: &Path) -> std::io::Result<()> {
        match *self {
            Requests::Memory(records) => {
                for r in records {
                    serde_json::to_writer(&mut *out, r)?;
                    out.write_all(b"\n")?;
                }
                Ok(())
            }
            Requests::Lines { path, shard } => write_grouped(path, shard, out, scratch),
        }
    }
}

/// What [`write_grouped`] reads of a line to place it.
#[derive(serde::Deserialize)]
struct Placement {
    phase: crate::record::Phase,
    #[serde(default)]
    level: u32,
}

fn write_grouped(path: &Path, shard: Option<&str>, out: &mut impl Write, scratch: &Path) -> std::io::Result<()> {
    use std::collections::BTreeMap;
    use std::io::BufRead;

    use crate::record::Phase;
    let named = |e: String| std::io::Error::other(format!("{}: {e}", path.display()));
    let file = std::io::BufReader::new(fs::File::open(path).map_err(|e| named(e.to_string()))?);
    let mut groups: BTreeMap<(u8, u32, u8), (PathBuf, BufWriter<fs::File>)> = BTreeMap::new();
    for (i, line) in file.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |e: serde_json::Error| named(format!("line {}: {e}", i + 1));
        let place: Placement = serde_json::from_str(&line).map_err(bad)?;
        let key = match place.phase {
            Phase::ColdStart => (0, 0, 0),
            Phase::Warmup => (1, place.level, 0),
            Phase::Measured => (1, place.level, 1),
        };
        let (_, group) = match groups.entry(key) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => {
                let file = scratch.join(format!("group-{}-{}-{}.jsonl", key.0, key.1, key.2));
                let writer = BufWriter::new(fs::File::create(&file)?);
                e.insert((file, writer))
            }
        };
        match shard {
            None => group.write_all(line.as_bytes())?,
            Some(label) => {
                let mut r: RequestRecord = serde_json::from_str(&line).map_err(bad)?;
                r.shard = Some(label.to_owned());
                serde_json::to_writer(&mut *group, &r)?;
            }
        }
        group.write_all(b"\n")?;
    }
    for (_, (file, writer)) in groups {
        drop(writer.into_inner().map_err(|e| e.into_error())?);
        std::io::copy(&mut fs::File::open(&file)?, out)?;
        fs::remove_file(&file)?;
    }
    Ok(())
}

/// Writes a run: `summary.json` and `requests.jsonl` into a temporary
/// directory, then swaps it in for `dir` so readers see the old run or the
/// new one, never a mix.
pub fn write_run(dir: &Path, summary: &RunSummary, records: &[RequestRecord]) -> std::io::Result<()> {
    write_run_from(dir, summary, Requests::Memory(records))
}

/// [`write_run`] with the records from `requests`.
pub fn write_run_from(dir: &Path, summary: &RunSummary, requests: Requests<'_>) -> std::io::Result<()> {
    let parent = dir.parent().ok_or_else(|| std::io::Error::other("results directory has no parent"))?;
    fs::create_dir_all(parent)?;
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("run");
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp)?;
    }
    fs::create_dir_all(&tmp)?;
    {
        let mut out = BufWriter::new(fs::File::create(tmp.join(REQUESTS_FILE))?);
        requests.write_to(&mut out, &tmp)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    }
    let json = serde_json::to_vec_pretty(summary)?;
    fs::write(tmp.join(SUMMARY_FILE), json)?;
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    if dir.exists() {
        fs::rename(dir, &old)?;
    }
    fs::rename(&tmp, dir)?;
    if old.exists() {
        fs::remove_dir_all(&old)?;
    }
    Ok(())
}

/// Reads a run's summary: this format or an older one it can read; a newer
/// one is an error saying so.
pub fn read_summary(dir: &Path) -> Result<RunSummary, String> {
    let path = dir.join(SUMMARY_FILE);
    let text = fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_summary(&text, &path)
}

/// Parses the text of a `summary.json` read from `path` (named in errors):
/// this format or an older one it can read; a newer one is an error saying so.
pub fn parse_summary(text: &str, path: &Path) -> Result<RunSummary, String> {
    let summary: RunSummary = serde_json::from_str(text).map_err(|e| format!("{}: {e}", path.display()))?;
    if !(OLDEST_READABLE..=FORMAT_VERSION).contains(&summary.format_version) {
        return Err(format!(
            "{}: results format {} (this llmbench reads {OLDEST_READABLE} to {FORMAT_VERSION}; a newer llmbench wrote it)",
            path.display(),
            summary.format_version
        ));
    }
    Ok(summary)
}

/// Reads a run's request records (of any readable format: version 1's
/// `cut` records that llmbench itself cut get their version 2 classes).
pub fn read_requests(dir: &Path) -> Result<Vec<RequestRecord>, String> {
    let path = dir.join(REQUESTS_FILE);
    let text = fs::read_to_string(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    parse_requests(&text, &path)
}

/// Reads a run's request records as [`read_requests`] does, keeping at
/// most `cap` of them: all of a smaller run, a uniform sample (in file
/// order) of a larger one, read line by line so memory stays bounded.
pub fn read_requests_sample(dir: &Path, cap: usize) -> Result<Vec<RequestRecord>, String> {
    use std::io::BufRead;
    let path = dir.join(REQUESTS_FILE);
    let named = |e: &dyn std::fmt::Display| format!("cannot read {}: {e}", path.display());
    let file = std::io::BufReader::new(fs::File::open(&path).map_err(|e| named(&e))?);
    let mut rng = crate::rng::Rng::new(0x5A3_9E5E);
    let (mut kept, mut seen): (Vec<(u64, RequestRecord)>, u64) = (Vec::new(), 0);
    for (i, line) in file.lines().enumerate() {
        let line = line.map_err(|e| named(&e))?;
        if line.trim().is_empty() {
            continue;
        }
        let r: RequestRecord =
            serde_json::from_str(&line).map(upgrade).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
        seen += 1;
        rng.keep_sample(&mut kept, cap, seen, (seen, r));
    }
    kept.sort_by_key(|(n, _)| *n);
    Ok(kept.into_iter().map(|(_, r)| r).collect())
}

/// Parses the text of a `requests.jsonl` read from `path` (named in errors).
pub fn parse_requests(text: &str, path: &Path) -> Result<Vec<RequestRecord>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map(upgrade).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1)))
        .collect()
}

/// A version 1 record in version 2's terms.
fn upgrade(mut r: RequestRecord) -> RequestRecord {
    use crate::record::ErrorClass;
    if let Some(e) = r.error.as_mut().filter(|e| e.class == ErrorClass::Cut) {
        if e.message == crate::load::CUT_AT_END {
            e.class = ErrorClass::CutAtEnd;
        } else if e.message.starts_with("in flight when llmbench was interrupted") {
            e.class = ErrorClass::Interrupted;
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Phase;

    /// A record of `phase` in summary row `level`.
    fn placed(index: u64, phase: Phase, level: u32) -> RequestRecord {
        RequestRecord { index, phase, level, e2e_ms: 1.0, ..RequestRecord::default() }
    }

    #[test]
    fn a_run_written_from_its_records_file_is_grouped_as_one_written_from_memory() {
        let root = tempfile::tempdir().unwrap();
        // As requests finished: warm-up and measured, and two rows, interleaved.
        let finished = [
            placed(0, Phase::ColdStart, 0),
            placed(1, Phase::Measured, 0),
            placed(0, Phase::Warmup, 0),
            placed(3, Phase::Measured, 1),
            placed(2, Phase::Measured, 0),
            placed(1, Phase::Warmup, 1),
        ];
        let lines = root.path().join("new.partial.jsonl");
        let text: String = finished.iter().map(|r| serde_json::to_string(r).unwrap() + "\n").collect();
        fs::write(&lines, text).unwrap();
        let dir = run_dir(root.path(), "b", "t", NEW_DIR);
        let requests = Requests::Lines { path: &lines, shard: Some("2/3") };
        write_run_from(&dir, &RunSummary::example(), requests).unwrap();
        let read = read_requests(&dir).unwrap();
        let order: Vec<(Phase, u32, u64)> = read.iter().map(|r| (r.phase, r.level, r.index)).collect();
        assert_eq!(
            order,
            [
                (Phase::ColdStart, 0, 0),
                (Phase::Warmup, 0, 0),
                (Phase::Measured, 0, 1),
                (Phase::Measured, 0, 2),
                (Phase::Warmup, 1, 1),
                (Phase::Measured, 1, 3)
            ]
        );
        assert!(read.iter().all(|r| r.shard.as_deref() == Some("2/3")));
        let left: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left.len(), 2, "summary.json and requests.jsonl only: {left:?}");
        // Read back whole, or as a bounded sample in file order.
        assert_eq!(read_requests_sample(&dir, 100).unwrap(), read);
        let sample = read_requests_sample(&dir, 4).unwrap();
        assert_eq!(sample.len(), 4);
        assert!(sample.iter().all(|r| read.contains(r)));
    }

    #[test]
    fn version_1_runs_read_in_version_2_terms() {
        let root = tempfile::tempdir().unwrap();
        let dir = run_dir(root.path(), "b", "t", NEW_DIR);
        let mut summary = RunSummary::example();
        summary.format_version = 1;
        write_run(&dir, &summary, &[]).unwrap();
        let v1 = [
            r#"{"class":"cut","message":"still in flight at the end of the run (duration + grace): cut"}"#,
            r#"{"class":"cut","message":"in flight when llmbench was interrupted (SIGTERM): cut"}"#,
            r#"{"class":"cut","message":"stream closed before data: [DONE]"}"#,
        ];
        let lines: Vec<String> = v1
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let mut r = serde_json::to_value(crate::stats::goodput::tests::rec(10.0, 20.0, 4, None)).unwrap();
                r["index"] = i.into();
                r["error"] = serde_json::from_str(e).unwrap();
                r.to_string()
            })
            .collect();
        fs::write(dir.join(REQUESTS_FILE), lines.join("\n")).unwrap();
        assert_eq!(read_summary(&dir).unwrap().format_version, 1, "version 1 still loads");
        let classes: Vec<_> = read_requests(&dir).unwrap().into_iter().map(|r| r.error.unwrap().class).collect();
        use crate::record::ErrorClass;
        assert_eq!(classes, [ErrorClass::CutAtEnd, ErrorClass::Interrupted, ErrorClass::Cut]);
        summary.format_version = FORMAT_VERSION + 1;
        write_run(&dir, &summary, &[]).unwrap();
        assert!(read_summary(&dir).unwrap_err().contains("a newer llmbench wrote it"));
    }

    #[test]
    fn file_safe_names() {
        // Safe ids keep today's names, so existing baselines are found.
        for id in ["short_questions", "sim", "sim-bedrock", "temperature=0.7", "main"] {
            assert_eq!(file_safe(id), id);
        }
        let hashed = file_safe("summarise/temperature=0.7");
        assert!(hashed.starts_with("summarise_temperature=0.7-"), "{hashed}");
        assert_eq!(legacy_file_safe("summarise/temperature=0.7"), "summarise_temperature=0.7");
        assert!(file_safe("..").starts_with("_-"));
        assert!(file_safe(&"é".repeat(40)).len() <= 64);
        assert_eq!(legacy_file_safe(&"é".repeat(40)).len(), 64);
    }

    #[test]
    fn different_ids_never_share_a_directory() {
        let ids = [
            "a<b",
            "a>b",
            "a_b",
            "a:b",
            "a|b",
            "a/b",
            "..",
            ".",
            "_",
            "",
            "a_b-0000000000000000",
            &"x".repeat(64),
            &"x".repeat(65),
            &"x".repeat(66),
        ];
        let names: std::collections::BTreeSet<String> = ids.iter().map(|id| file_safe(id)).collect();
        assert_eq!(names.len(), ids.len(), "{names:?}");
        for name in &names {
            assert!(name.len() <= 64 && !name.contains(['/', '<', '>', ':']), "{name}");
        }
        // The same id, the same name, in every run and release.
        assert_eq!(file_safe("a<b"), file_safe("a<b"));
        assert_eq!(file_safe("a<b"), "a_b-e64db119048f9eb6");
    }

    #[test]
    fn two_targets_that_sanitise_alike_keep_their_own_runs() {
        let root = tempfile::tempdir().unwrap();
        let mut first = RunSummary::example();
        first.duration_s = 1.0;
        let mut second = RunSummary::example();
        second.duration_s = 2.0;
        write_run(&run_dir(root.path(), "b", "a<b", NEW_DIR), &first, &[]).unwrap();
        write_run(&run_dir(root.path(), "b", "a>b", NEW_DIR), &second, &[]).unwrap();
        assert_eq!(read_summary(&run_dir(root.path(), "b", "a<b", NEW_DIR)).unwrap().duration_s, 1.0);
        assert_eq!(read_summary(&run_dir(root.path(), "b", "a>b", NEW_DIR)).unwrap().duration_s, 2.0);
    }

    #[test]
    fn write_run_replaces_the_whole_directory() {
        let root = tempfile::tempdir().unwrap();
        let dir = run_dir(root.path(), "b", "t", NEW_DIR);
        let summary = RunSummary::example();
        write_run(&dir, &summary, &[]).unwrap();
        fs::write(dir.join("stale.txt"), "x").unwrap();
        write_run(&dir, &summary, &[]).unwrap();
        assert!(!dir.join("stale.txt").exists());
        assert_eq!(read_summary(&dir).unwrap(), summary);
        assert!(read_requests(&dir).unwrap().is_empty());
        let leftovers: Vec<_> = fs::read_dir(dir.parent().unwrap()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("new")]);
    }
}
