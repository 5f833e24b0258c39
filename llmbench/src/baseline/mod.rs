//! Saved runs and baselines, criterion's way.
//!
//! ```text
//! <results root>/<bench>/<target>/new/          the latest run (always written,
//!                                                unless --discard-baseline)
//! <baseline dir>/<bench>/<target>/<NAME>/       a saved baseline: summary.json
//!                                                and requests.jsonl, so any
//!                                                analysis can be redone
//! <results root>/<bench>/<target>/change/comparison.json   the latest comparison
//! ```
//!
//! The baseline dir is the results root unless `--baseline-dir PATH` points
//! elsewhere (a directory committed to the repository, e.g.
//! `reports/baselines/`, so CI compares with what main committed).
//!
//! | flag | compares with | then saves |
//! | --- | --- | --- |
//! | (none) | the previous `new/`, if any | `new/` |
//! | `--save-baseline NAME` | NAME, if it exists | `new/` and NAME |
//! | `--baseline NAME` | NAME; missing is an error (exit 2) | `new/` |
//! | `--baseline-lenient NAME` | NAME where it exists | `new/` |
//! | `--load-baseline CUR --baseline NAME` | NAME, judging the saved run CUR; sends no request | nothing |
//! | `--discard-baseline` | as above | nothing |

use std::path::{Path, PathBuf};

use crate::record::RequestRecord;
use crate::results::{self, RunSummary};

/// The directory of the latest comparison, beside `new/`.
pub const CHANGE_DIR: &str = "change";
/// The comparison file in [`CHANGE_DIR`].
pub const COMPARISON_FILE: &str = "comparison.json";
/// The limits file in [`CHANGE_DIR`]: `{"started_at", "limits": [LimitOutcome]}`.
pub const LIMITS_FILE: &str = "limits.json";

/// Where runs and baselines live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Store {
    /// Where `new/` goes (`target/llmbench`).
    pub results_root: PathBuf,
    /// Where named baselines go (`--baseline-dir`, else the results root).
    pub baseline_root: PathBuf,
}

/// A run read back from disk.
#[derive(Debug, Clone)]
pub struct SavedRun {
    /// `summary.json`.
    pub summary: RunSummary,
    /// `requests.jsonl`.
    pub records: Vec<RequestRecord>,
}

/// What the baseline flags ask for (table in the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Mode {
    /// Compare with the previous `new/`.
    #[default]
    Previous,
    /// Compare with NAME if present, then save as NAME.
    Save(String),
    /// Compare with NAME; it must exist.
    Strict(String),
    /// Compare with NAME where it exists.
    Lenient(String),
}

impl Mode {
    /// The baseline to compare with.
    pub fn compare_with(&self) -> &str {
        match self {
            Mode::Previous => results::NEW_DIR,
            Mode::Save(n) | Mode::Strict(n) | Mode::Lenient(n) => n,
        }
    }
}

/// Checks a baseline name: one path component, not a reserved name.
pub fn check_name(name: &str, saving: bool) -> Result<(), String> {
    if name.is_empty() || name.trim() != name {
        return Err(format!("baseline name {name:?} must be non-empty, without surrounding spaces"));
    }
    if results::file_safe(name) != name || name.starts_with('.') {
        return Err(format!(
            "baseline name {name:?} must be usable as a directory name (no / \\ : * ? \" < > | ^, not starting with .)"
        ));
    }
    if name == CHANGE_DIR || (saving && name == results::NEW_DIR) {
        return Err(format!("baseline name {name:?} is reserved; choose another"));
    }
    Ok(())
}

impl Store {
    /// A store with baselines beside the results unless `baseline_dir`.
    pub fn new(results_root: PathBuf, baseline_dir: Option<PathBuf>) -> Store {
        let baseline_root = baseline_dir.unwrap_or_else(|| results_root.clone());
        Store { results_root, baseline_root }
    }

    /// The directory of run `name` (`new` lives in the results root, named
    /// baselines in the baseline root).
    pub fn dir(&self, bench: &str, target: &str, name: &str) -> PathBuf {
        let root = if name == results::NEW_DIR { &self.results_root } else { &self.baseline_root };
        let dir = results::run_dir(root, bench, target, name);
        // Runs saved before names were made injective (results::file_safe)
        // are read where they are until a new run is saved.
        let legacy = || {
            let safe = results::legacy_file_safe;
            root.join(safe(bench)).join(safe(target)).join(safe(name))
        };
        if !dir.join(results::SUMMARY_FILE).is_file() && legacy().join(results::SUMMARY_FILE).is_file() {
            return legacy();
        }
        dir
    }

    /// Whether run `name` exists for this benchmark × target.
    pub fn exists(&self, bench: &str, target: &str, name: &str) -> bool {
        self.dir(bench, target, name).join(results::SUMMARY_FILE).is_file()
    }

    /// Reads run `name`; `Ok(None)` when it does not exist.
    pub fn load(&self, bench: &str, target: &str, name: &str) -> Result<Option<SavedRun>, String> {
        let dir = self.dir(bench, target, name);
        if !dir.join(results::SUMMARY_FILE).is_file() {
            return Ok(None);
        }
        load_dir(&dir).map(Some)
    }

    /// Writes a run as `name` (atomically: the old one is replaced whole).
    pub fn save(&self, name: &str, summary: &RunSummary, records: &[RequestRecord]) -> std::io::Result<PathBuf> {
        self.save_from(name, summary, results::Requests::Memory(records))
    }

    /// [`save`](Self::save) with the records from `requests`.
    pub fn save_from(
        &self,
        name: &str,
        summary: &RunSummary,
        requests: results::Requests<'_>,
    ) -> std::io::Result<PathBuf> {
        // Always the injective name, never a legacy directory `dir` may read.
        let root = if name == results::NEW_DIR { &self.results_root } else { &self.baseline_root };
        let dir = results::run_dir(root, &summary.bench.id, &summary.target.name, name);
        results::write_run_from(&dir, summary, requests)?;
        Ok(dir)
    }

    /// Writes (or, with `None`, removes) a file of the latest verdict on a
    /// benchmark × target's `new/` run, so none outlives the run it judged.
    pub fn save_change(&self, bench: &str, target: &str, file: &str, json: Option<&[u8]>) -> std::io::Result<PathBuf> {
        let dir = results::run_dir(&self.results_root, bench, target, CHANGE_DIR);
        let path = dir.join(file);
        match json {
            Some(json) => {
                std::fs::create_dir_all(&dir)?;
                write_atomic(&path, json)?;
            }
            None => match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
                _ => {}
            },
        }
        Ok(path)
    }

    /// Every `<bench>/<target>` that has run `name`, sorted.
    pub fn list(&self, name: &str) -> Vec<(String, String)> {
        let root = if name == results::NEW_DIR { &self.results_root } else { &self.baseline_root };
        let mut out = Vec::new();
        for bench in subdirs(root) {
            for target in subdirs(&bench) {
                if target.join(name).join(results::SUMMARY_FILE).is_file() {
                    let file = |p: &Path| p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    out.push((file(&bench), file(&target)));
                }
            }
        }
        out.sort();
        out
    }
}

/// Reads a run directory (`summary.json` and `requests.jsonl`): every
/// record of a run of up to [`KEPT_RECORDS`], a uniform sample of that many
/// of a longer one (what comparisons resample; the summary has the figures
/// of all).
pub fn load_dir(dir: &Path) -> Result<SavedRun, String> {
    let summary = results::read_summary(dir)?;
    let records = results::read_requests_sample(dir, KEPT_RECORDS)?;
    Ok(SavedRun { summary, records })
}

/// The most request records a loaded run keeps in memory.
pub const KEPT_RECORDS: usize = 20_000;

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect()
}

/// Writes `bytes` to `path` through a temporary sibling and a rename.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::model_run;
    use crate::sim::SimConfig;

    fn run(bench: &str, seed: u64) -> (RunSummary, Vec<RequestRecord>) {
        model_run(&SimConfig { seed, ..SimConfig::default() }, bench, 5, &[1], 4)
    }

    #[test]
    fn layout_is_criterions_beside_new() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().to_owned(), None);
        let (s, r) = run("chat/short", 1);
        let new = store.save("new", &s, &r).unwrap();
        let main = store.save("main", &s, &r).unwrap();
        let bench = results::file_safe("chat/short");
        assert!(bench.starts_with("chat_short-"), "{bench}");
        assert_eq!(new, tmp.path().join(&bench).join("sim/new"));
        assert_eq!(main, tmp.path().join(&bench).join("sim/main"));
        let loaded = store.load("chat/short", "sim", "main").unwrap().unwrap();
        // (floats round-trip through JSON to the last digit or so)
        assert_eq!(
            (loaded.summary.bench.id.as_str(), loaded.summary.started_at.as_str()),
            ("chat/short", s.started_at.as_str())
        );
        assert_eq!(loaded.records.len(), r.len());
        assert_eq!(loaded.records[2].gaps_us, r[2].gaps_us);
        assert!(store.load("chat/short", "sim", "other").unwrap().is_none());
        assert_eq!(store.list("main"), [(bench.clone(), "sim".to_owned())]);
        let path = store.save_change("chat/short", "sim", COMPARISON_FILE, Some(b"{}")).unwrap();
        assert_eq!(path, tmp.path().join(&bench).join("sim/change/comparison.json"));
    }

    #[test]
    fn a_baseline_saved_under_the_old_name_is_still_found() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().to_owned(), None);
        let (s, r) = run("chat/short", 1);
        // Where llmbench saved it before directory names were injective.
        results::write_run(&tmp.path().join("chat_short/sim/main"), &s, &r).unwrap();
        assert!(store.exists("chat/short", "sim", "main"));
        assert_eq!(store.load("chat/short", "sim", "main").unwrap().unwrap().records.len(), r.len());
        // A new save goes to the injective name, which is then read first.
        let saved = store.save("main", &s, &r).unwrap();
        assert_eq!(saved, tmp.path().join(results::file_safe("chat/short")).join("sim/main"));
        assert_eq!(store.dir("chat/short", "sim", "main"), saved);
    }

    #[test]
    fn a_baseline_dir_holds_named_baselines_only() {
        let results = tempfile::tempdir().unwrap();
        let committed = tempfile::tempdir().unwrap();
        let store = Store::new(results.path().to_owned(), Some(committed.path().to_owned()));
        let (s, r) = run("b", 1);
        store.save("new", &s, &r).unwrap();
        store.save("main", &s, &r).unwrap();
        assert!(results.path().join("b/sim/new/summary.json").is_file());
        assert!(committed.path().join("b/sim/main/requests.jsonl").is_file());
        assert!(!results.path().join("b/sim/main").exists());
        assert!(store.exists("b", "sim", "main") && store.exists("b", "sim", "new"));
    }

    #[test]
    fn saving_again_replaces_the_baseline() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().to_owned(), None);
        let (a, ra) = run("b", 1);
        let (mut b, rb) = run("b", 2);
        b.started_at = "later".into();
        store.save("base", &a, &ra).unwrap();
        store.save("base", &b, &rb).unwrap();
        assert_eq!(store.load("b", "sim", "base").unwrap().unwrap().summary.started_at, "later");
    }

    #[test]
    fn a_corrupt_baseline_is_an_error_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().to_owned(), None);
        let (s, r) = run("b", 1);
        let dir = store.save("main", &s, &r).unwrap();
        std::fs::write(dir.join("requests.jsonl"), "{\"not\": \"a record\"}\n").unwrap();
        let err = store.load("b", "sim", "main").unwrap_err();
        assert!(err.contains("requests.jsonl:1:"), "{err}");
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("main", true).is_ok());
        assert!(check_name("new", false).is_ok());
        assert!(check_name("new", true).unwrap_err().contains("reserved"));
        assert!(check_name("change", false).is_err());
        assert!(check_name("a/b", true).unwrap_err().contains("directory name"));
        assert!(check_name("", true).is_err());
        assert!(check_name(".hidden", true).is_err());
    }
}
