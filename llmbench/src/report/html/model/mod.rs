//! What a report shows, read from the results store: every
//! `<root>/<bench>/<target>/new/` run (its `summary.json` as the
//! [`RunSummary`] the run wrote, and the gate's [`Verdict`] on it), its
//! baseline beside it when one exists, and (per benchmark, when its page is
//! rendered) the per-request records. The HTML pages and the Markdown twin
//! are both views of this.
//!
//! Reading never fails the report: a run that cannot be read is listed as
//! skipped, with the reason.

pub(crate) mod requests;
pub(crate) mod verdict;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::results::{self, NEW_DIR, RunSummary, SUMMARY_FILE};
pub(crate) use verdict::Verdict;

/// The baseline directory shown beside `new/` when none is named
/// (criterion's default `--save-baseline` name).
pub(crate) const DEFAULT_BASELINE: &str = "base";

/// Everything found under a results root.
pub(crate) struct Report {
    /// The benchmarks, sorted by id.
    pub(crate) benches: Vec<BenchGroup>,
    /// Runs that could not be read: `path: reason`.
    pub(crate) skipped: Vec<String>,
}

/// One benchmark: its runs, one per target.
pub(crate) struct BenchGroup {
    /// The benchmark id.
    pub(crate) id: String,
    /// A file name for its page, unique within the report.
    pub(crate) slug: String,
    /// One run per target, sorted by target name.
    pub(crate) runs: Vec<Run>,
}

/// One benchmark × target run.
pub(crate) struct Run {
    /// Its `new/` directory.
    pub(crate) dir: PathBuf,
    /// Its summary.
    pub(crate) summary: RunSummary,
    /// The gate's verdict on it (`change/`), when it judged this run.
    pub(crate) verdict: Verdict,
    /// The baseline beside it, if any.
    pub(crate) baseline: Option<Baseline>,
}

/// A saved baseline run.
pub(crate) struct Baseline {
    /// Its directory name (e.g. `base`).
    pub(crate) name: String,
    /// Its directory.
    pub(crate) dir: PathBuf,
    /// Its summary.
    pub(crate) summary: RunSummary,
}

/// Reads every run under `root`. `baseline` names the baseline directory
/// to show; `None` means the one the gate compared with, else
/// [`DEFAULT_BASELINE`] when it exists. Named baselines are looked up in
/// `baseline_dir` first (`--baseline-dir`), then beside `new/`.
pub(crate) fn load(root: &Path, baseline: Option<&str>, baseline_dir: Option<&Path>) -> Report {
    let mut skipped = Vec::new();
    let mut by_bench: BTreeMap<String, Vec<Run>> = BTreeMap::new();
    for bench_dir in sorted_dirs(root) {
        for target_dir in sorted_dirs(&bench_dir) {
            let dir = target_dir.join(NEW_DIR);
            if !dir.join(SUMMARY_FILE).is_file() {
                continue;
            }
            match results::read_summary(&dir) {
                Ok(summary) => {
                    let verdict = Verdict::read(&target_dir.join(crate::baseline::CHANGE_DIR), &summary.started_at);
                    let name = baseline.or(verdict.baseline()).unwrap_or(DEFAULT_BASELINE);
                    let elsewhere = baseline_dir.zip(target_dir.strip_prefix(root).ok()).map(|(d, r)| d.join(r));
                    let baseline = elsewhere
                        .and_then(|dir| read_baseline(&dir, name, &mut skipped))
                        .or_else(|| read_baseline(&target_dir, name, &mut skipped));
                    by_bench.entry(summary.bench.id.clone()).or_default().push(Run { dir, summary, verdict, baseline });
                }
                Err(e) => skipped.push(e),
            }
        }
    }
    let mut used = std::collections::HashSet::new();
    let benches = by_bench
        .into_iter()
        .map(|(id, mut runs)| {
            runs.sort_by(|a, b| a.summary.target.name.cmp(&b.summary.target.name));
            let slug = unique_slug(&id, &mut used);
            BenchGroup { id, slug, runs }
        })
        .collect();
    Report { benches, skipped }
}

fn read_baseline(target_dir: &Path, name: &str, skipped: &mut Vec<String>) -> Option<Baseline> {
    let dir = target_dir.join(results::file_safe(name));
    if !dir.join(SUMMARY_FILE).is_file() {
        return None;
    }
    match results::read_summary(&dir) {
        Ok(summary) => Some(Baseline { name: name.to_owned(), dir, summary }),
        Err(e) => {
            skipped.push(e);
            None
        }
    }
}

pub(crate) fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| rd.filter_map(Result::ok).map(|e| e.path()).filter(|p| p.is_dir()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// A page name safe in a URL and on every file system: ASCII letters,
/// digits, `-`, `_` and `.`; anything else becomes `-`. Unique within a
/// report (a counter is appended on collision).
fn unique_slug(id: &str, used: &mut std::collections::HashSet<String>) -> String {
    let mut base: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' })
        .take(60)
        .collect();
    if base.trim_matches('.').is_empty() {
        base = "bench".into();
    }
    let mut slug = base.clone();
    let mut n = 2;
    while !used.insert(slug.to_ascii_lowercase()) {
        slug = format!("{base}-{n}");
        n += 1;
    }
    slug
}

/// The label of a run's level `index` (as [`summary_level_label`]).
pub(crate) fn level_label(run: &Run, index: usize) -> String {
    run.summary.levels.get(index).map_or_else(|| "c=0".to_owned(), summary_level_label)
}

/// The label of a level: its concurrency, or its offered rate when the
/// run was open-loop.
pub(crate) fn summary_level_label(level: &crate::stats::LevelSummary) -> String {
    match level.rate {
        Some(rate) => format!("rate {rate}/s"),
        None => format!("c={}", level.concurrency),
    }
}

/// Removes credentials from an endpoint before it is shown: user info
/// (`user:pass@`) and the query string (`?api-key=…`).
pub(crate) fn redact_endpoint(endpoint: &str) -> String {
    let mut out = endpoint.to_owned();
    if let Some(q) = out.find(['?', '#']) {
        out.truncate(q);
    }
    if let Some(scheme) = out.find("://") {
        let rest = scheme + 3;
        let host_end = out[rest..].find('/').map(|i| rest + i).unwrap_or(out.len());
        if let Some(at) = out[rest..host_end].rfind('@') {
            out.replace_range(rest..rest + at + 1, "");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_url_safe_and_unique() {
        let mut used = std::collections::HashSet::new();
        assert_eq!(unique_slug("summarise/temperature=0.7", &mut used), "summarise-temperature-0.7");
        assert_eq!(unique_slug("a b", &mut used), "a-b");
        assert_eq!(unique_slug("a?b", &mut used), "a-b-2");
        assert_eq!(unique_slug("A-B", &mut used), "A-B-3");
        assert_eq!(unique_slug("..", &mut used), "bench");
        assert_eq!(unique_slug("<script>", &mut used), "-script-");
    }

    #[test]
    fn endpoints_lose_their_credentials() {
        assert_eq!(redact_endpoint("https://user:secret@host:8000/v1/chat?api-key=k"), "https://host:8000/v1/chat");
        assert_eq!(redact_endpoint("http://127.0.0.1:8000/v1"), "http://127.0.0.1:8000/v1");
        assert_eq!(redact_endpoint("sim"), "sim");
    }
}
