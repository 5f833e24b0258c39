//! The run history (`--history DIR`): every run of a benchmark × target
//! appended as one JSON line to `DIR/<bench>/<target>.jsonl`, with the git
//! commit and branch it measured, when, and on which host — what the
//! report's trend pages and `cargo llmbench history` read.
//!
//! One file per benchmark × target keeps appends from two branches apart
//! and merges of a committed history (this repository keeps
//! `reports/history/`) line-wise. Each line is a [`HistoryEntry`] of
//! version [`HISTORY_VERSION`]; a line from a newer llmbench is refused
//! with the file and line, never skipped, so a trend is never silently
//! missing runs. Documented in docs/exports.md.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::RunRef;
use super::{FORMAT_VERSION, RunSummary, file_safe};

/// The version of a history line written by this build. Adding an optional
/// field keeps it; changing or removing one bumps it.
pub const HISTORY_VERSION: u32 = 1;

/// One run of one benchmark × target, as appended to the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// [`HISTORY_VERSION`] at write time.
    pub history_version: u32,
    /// When the line was appended (RFC 3339 UTC).
    pub recorded_at: String,
    /// The commit measured, when the run happened in a git work tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitInfo>,
    /// The machine that measured.
    pub host: HostInfo,
    /// The baseline this run was saved as (`--save-baseline NAME`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_as: Option<String>,
    /// The run it was compared with, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_with: Option<RunRef>,
    /// The run's `summary.json`.
    pub summary: RunSummary,
}

/// The commit a run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GitInfo {
    /// The full commit id.
    pub commit: String,
    /// The branch (`HEAD` when detached and CI names none).
    pub branch: String,
    /// The work tree had uncommitted changes to tracked files.
    pub dirty: bool,
}

/// The machine a run measured on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    /// Its host name.
    pub name: String,
    /// `linux`, `macos`, …
    pub os: String,
    /// `x86_64`, `aarch64`, …
    pub arch: String,
    /// Cores available to the process.
    pub cpus: usize,
}

impl HostInfo {
    /// This machine.
    pub fn current() -> HostInfo {
        HostInfo {
            name: host_name(),
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
            cpus: std::thread::available_parallelism().map(usize::from).unwrap_or(1),
        }
    }
}

fn host_name() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for its length; gethostname writes at most that much.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            if let Ok(name) = std::str::from_utf8(&buf[..end])
                && !name.is_empty()
            {
                return name.to_owned();
            }
        }
    }
    std::env::var("COMPUTERNAME").or_else(|_| std::env::var("HOSTNAME")).unwrap_or_else(|_| "unknown".into())
}

impl GitInfo {
    /// The commit checked out in `dir`'s work tree; None outside git. CI
    /// checks out a detached commit: its branch then comes from
    /// `GITHUB_HEAD_REF` (pull requests) or `GITHUB_REF_NAME`.
    pub fn of(dir: &Path) -> Option<GitInfo> {
        let git = |args: &[&str]| -> Option<String> {
            let out = std::process::Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
            out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        };
        let commit = git(&["rev-parse", "HEAD"])?;
        let mut branch = git(&["rev-parse", "--abbrev-ref", "HEAD"]).unwrap_or_else(|| "HEAD".into());
        if branch == "HEAD"
            && let Some(ci) = ["GITHUB_HEAD_REF", "GITHUB_REF_NAME"]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|b| !b.is_empty()))
        {
            branch = ci;
        }
        let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
        Some(GitInfo { commit, branch, dirty })
    }

    /// The first 7 characters of the commit, as git shows it.
    pub fn short(&self) -> &str {
        self.commit.get(..7).unwrap_or(&self.commit)
    }
}

/// A history that cannot be read or written; the message names the file
/// and says what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HistoryError {
    /// A line written by a newer llmbench.
    #[error(
        "{path}:{line}: history format {found} is newer than this llmbench reads ({HISTORY_VERSION}); upgrade llmbench or use another --history directory"
    )]
    Newer {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// Its version.
        found: u64,
    },
    /// A line that is not a history entry.
    #[error("{path}:{line}: not a history entry ({reason}); fix or remove the line")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A file or directory that cannot be read or written.
    #[error("cannot {action} {path}: {reason}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        reason: String,
    },
}

/// The history file of a benchmark × target under `dir`.
pub fn file(dir: &Path, bench: &str, target: &str) -> PathBuf {
    dir.join(file_safe(bench)).join(format!("{}.jsonl", file_safe(target)))
}

/// The runs of one benchmark × target, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The benchmark id.
    pub bench: String,
    /// The target name.
    pub target: String,
    /// The file read.
    pub path: PathBuf,
    /// Its runs, by `summary.started_at`.
    pub entries: Vec<HistoryEntry>,
}

impl Series {
    /// The index of the baseline to mark: the run the latest run was
    /// compared with, else the latest run saved as a baseline.
    pub fn baseline(&self) -> Option<usize> {
        let latest = self.entries.last()?;
        if let Some(with) = &latest.compared_with
            && let Some(i) = self.entries.iter().position(|e| e.summary.started_at == with.started_at)
        {
            return Some(i);
        }
        self.entries.iter().rposition(|e| e.saved_as.is_some())
    }
}

/// Reads one history file; every line must be an entry this build reads.
pub fn read_file(path: &Path) -> Result<Vec<HistoryEntry>, HistoryError> {
    let text = fs::read_to_string(path).map_err(|e| HistoryError::Io {
        action: "read",
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let malformed = |reason: String| HistoryError::Malformed { path: path.to_owned(), line: i + 1, reason };
        let value: serde_json::Value = serde_json::from_str(line).map_err(|e| malformed(e.to_string()))?;
        let version = value.get("history_version").and_then(serde_json::Value::as_u64);
        let summary_version = value.pointer("/summary/format_version").and_then(serde_json::Value::as_u64);
        match version {
            None => return Err(malformed("no history_version".into())),
            Some(v) if v > u64::from(HISTORY_VERSION) => {
                return Err(HistoryError::Newer { path: path.to_owned(), line: i + 1, found: v });
            }
            _ => {}
        }
        if let Some(v) = summary_version.filter(|v| *v > u64::from(FORMAT_VERSION)) {
            return Err(malformed(format!(
                "its summary has results format {v}, newer than this llmbench reads ({FORMAT_VERSION}); upgrade llmbench"
            )));
        }
        entries.push(serde_json::from_value(value).map_err(|e| malformed(e.to_string()))?);
    }
    Ok(entries)
}

/// Every series under `dir` whose benchmark or target `keep` accepts,
/// ordered by benchmark then target. A missing directory is an empty
/// history.
pub fn read(dir: &Path, keep: impl Fn(&str, &str) -> bool) -> Result<Vec<Series>, HistoryError> {
    let mut out = Vec::new();
    if !dir.exists() {
        return Ok(out);
    }
    let io = |path: &Path, e: std::io::Error| HistoryError::Io {
        action: "read",
        path: path.to_owned(),
        reason: e.to_string(),
    };
    let mut files = Vec::new();
    for bench_dir in fs::read_dir(dir).map_err(|e| io(dir, e))?.filter_map(Result::ok) {
        let path = bench_dir.path();
        if !path.is_dir() {
            continue;
        }
        for f in fs::read_dir(&path).map_err(|e| io(&path, e))?.filter_map(Result::ok) {
            let p = f.path();
            if p.extension().is_some_and(|x| x == "jsonl") {
                files.push(p);
            }
        }
    }
    files.sort();
    for path in files {
        let mut entries = read_file(&path)?;
        let Some(first) = entries.first() else { continue };
        let (bench, target) = (first.summary.bench.id.clone(), first.summary.target.name.clone());
        if !keep(&bench, &target) {
            continue;
        }
        entries.sort_by(|a, b| a.summary.started_at.cmp(&b.summary.started_at));
        out.push(Series { bench, target, path, entries });
    }
    Ok(out)
}

/// Checks before a run that `dir` can take new lines: it can be created,
/// and no file in it is from a newer llmbench.
pub fn probe(dir: &Path) -> Result<(), HistoryError> {
    fs::create_dir_all(dir).map_err(|e| HistoryError::Io {
        action: "write",
        path: dir.to_owned(),
        reason: e.to_string(),
    })?;
    read(dir, |_, _| true).map(|_| ())
}

/// What a run adds to the history, beside its summary.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The commit measured.
    pub git: Option<GitInfo>,
    /// The machine.
    pub host: Option<HostInfo>,
}

impl Context {
    /// The git work tree of `dir` and this machine.
    pub fn current(dir: &Path) -> Context {
        Context { git: GitInfo::of(dir), host: Some(HostInfo::current()) }
    }
}

/// Appends one line per run; returns the files written.
pub fn append(
    dir: &Path,
    runs: &[(&RunSummary, Option<String>, Option<RunRef>)],
    context: &Context,
) -> Result<Vec<PathBuf>, HistoryError> {
    let recorded_at = super::rfc3339(std::time::SystemTime::now());
    let mut written = Vec::new();
    for (summary, saved_as, compared_with) in runs {
        let entry = HistoryEntry {
            history_version: HISTORY_VERSION,
            recorded_at: recorded_at.clone(),
            git: context.git.clone(),
            host: context.host.clone().unwrap_or_else(HostInfo::current),
            saved_as: saved_as.clone(),
            compared_with: compared_with.clone(),
            summary: (*summary).clone(),
        };
        let path = file(dir, &summary.bench.id, &summary.target.name);
        let fail =
            |e: &dyn std::fmt::Display| HistoryError::Io { action: "write", path: path.clone(), reason: e.to_string() };
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| fail(&e))?;
        }
        let mut line = serde_json::to_string(&entry).map_err(|e| fail(&e))?;
        line.push('\n');
        // A file whose last line lacks its newline (cut by hand) would glue two entries.
        if fs::read(&path).is_ok_and(|b| b.last().is_some_and(|c| *c != b'\n')) {
            line.insert(0, '\n');
        }
        let mut f = fs::OpenOptions::new().create(true).append(true).open(&path).map_err(|e| fail(&e))?;
        f.write_all(line.as_bytes()).map_err(|e| fail(&e))?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(bench: &str, started_at: &str) -> RunSummary {
        let mut s = RunSummary::example();
        s.bench.id = bench.into();
        s.started_at = started_at.into();
        s
    }

    #[test]
    fn runs_append_and_read_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = Context {
            git: Some(GitInfo { commit: "0123456789abcdef".into(), branch: "main".into(), dirty: false }),
            host: Some(HostInfo { name: "h".into(), os: "linux".into(), arch: "x86_64".into(), cpus: 2 }),
        };
        let (a, b) = (summary("b/x=1", "2026-01-02T00:00:00Z"), summary("b/x=1", "2026-01-01T00:00:00Z"));
        append(dir.path(), &[(&a, Some("main".into()), None)], &ctx).unwrap();
        let with = RunRef::new("main", &a);
        append(dir.path(), &[(&b, None, Some(with))], &ctx).unwrap();
        let series = read(dir.path(), |_, _| true).unwrap();
        assert_eq!(series.len(), 1);
        let s = &series[0];
        assert_eq!((s.bench.as_str(), s.target.as_str()), ("b/x=1", "t"));
        // A bench id that needs sanitising gets the results directories' injective
        // name (readable prefix, hash of the whole id), so `b/x=1` and `b?x=1`
        // never append to one file.
        let bench_dir = file_safe("b/x=1");
        assert!(bench_dir.starts_with("b_x=1-") && bench_dir != file_safe("b?x=1"), "{bench_dir}");
        assert_eq!(s.path, dir.path().join(bench_dir).join("t.jsonl"));
        let started: Vec<_> = s.entries.iter().map(|e| e.summary.started_at.as_str()).collect();
        assert_eq!(started, ["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"], "oldest first");
        assert_eq!(s.entries[0].git.as_ref().map(GitInfo::short), Some("0123456"));
        // The latest run (by start) was saved as the baseline: it is marked.
        assert_eq!(s.baseline(), Some(1));
        assert!(read(dir.path(), |bench, _| bench == "other").unwrap().is_empty());
    }

    #[test]
    fn a_newer_or_broken_line_is_refused_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let s = summary("b", "2026-01-01T00:00:00Z");
        append(dir.path(), &[(&s, None, None)], &Context::default()).unwrap();
        let path = file(dir.path(), "b", "t");
        let mut line: serde_json::Value =
            serde_json::from_str(fs::read_to_string(&path).unwrap().lines().next().unwrap()).unwrap();
        line["history_version"] = 99.into();
        fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(format!("{line}\n").as_bytes()).unwrap();
        let err = read(dir.path(), |_, _| true).unwrap_err();
        assert!(matches!(err, HistoryError::Newer { line: 2, found: 99, .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("t.jsonl:2") && text.contains("upgrade llmbench"), "{text}");
        assert!(probe(dir.path()).is_err(), "a run refuses before measuring");

        fs::write(&path, "{\"history_version\": 1}\nnot json\n").unwrap();
        let err = read_file(&path).unwrap_err().to_string();
        assert!(err.contains("t.jsonl:1: not a history entry"), "{err}");
    }

    #[test]
    fn a_missing_directory_is_an_empty_history() {
        assert!(read(Path::new("/nonexistent/llmbench-history"), |_, _| true).unwrap().is_empty());
    }
}
