//! What people read: the terminal table and progress bar, and the report —
//! self-contained HTML pages (inline CSS and SVG charts, no scripts, no
//! network) with a Markdown twin, rendered from the results on disk; and
//! what CI reads: the gate's Markdown summary, JUnit and NDJSON events.
//!
//! ```no_run
//! let root = llmbench::results::default_root();
//! let report = llmbench::report::write_report(&root, &llmbench::report::ReportOptions::default())?;
//! println!("{}", report.index.display());
//! # Ok::<(), llmbench::report::ReportError>(())
//! ```

pub(crate) mod change;
pub(crate) mod chart;
pub(crate) mod cost;
pub(crate) mod events;
#[doc(hidden)]
pub mod fixture;
pub(crate) mod html;
pub(crate) mod junit;
pub(crate) mod markdown;
pub(crate) mod model;
pub(crate) mod progress;
pub(crate) mod terminal;
pub(crate) mod view;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use html::charts::RunData;
use model::requests::RunRequests;

/// The report's directory under a results root.
pub const REPORT_DIR: &str = "report";

/// Where and how to write the report.
#[derive(Debug, Clone, Default)]
pub struct ReportOptions {
    /// The output directory; default `<root>/report`.
    pub out_dir: Option<PathBuf>,
    /// The baseline directory shown beside each `new/` run (overlaid on the
    /// CDFs, compared in a table); default `base` when it exists.
    pub baseline: Option<String>,
    /// Where named baselines live (`--baseline-dir`): a baseline is looked
    /// up there first, then beside `new/`.
    pub baseline_dir: Option<PathBuf>,
}

/// What [`write_report`] wrote.
#[derive(Debug, Clone)]
pub struct WrittenReport {
    /// `index.html`.
    pub index: PathBuf,
    /// `report.md`, the Markdown twin of the index.
    pub markdown: PathBuf,
    /// One page per benchmark.
    pub pages: Vec<PathBuf>,
    /// Benchmark × target runs in the report.
    pub runs: usize,
    /// Runs that could not be read, with the reason (also listed in the report).
    pub skipped: Vec<String>,
    /// Bytes written, all files.
    pub total_bytes: u64,
    /// Bytes of the largest page.
    pub largest_page_bytes: u64,
    /// Time spent reading `requests.jsonl` files, summed over threads.
    pub read_time: Duration,
    /// Time spent computing charts and rendering pages, summed over threads.
    pub render_time: Duration,
    /// Wall time of the whole call.
    pub elapsed: Duration,
}

/// Why the report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A template failed to render (a bug: please report it).
    #[error("report template error: {0:#}")]
    Template(#[from] minijinja::Error),
}

/// Renders every run under `root` (`<root>/<bench>/<target>/new/`) into
/// `index.html`, `report.md` and `bench/<id>.html` in the output directory.
/// Pages of benchmarks that no longer have results are removed.
pub fn write_report(root: &Path, options: &ReportOptions) -> Result<WrittenReport, ReportError> {
    let started = Instant::now();
    let out = options.out_dir.clone().unwrap_or_else(|| root.join(REPORT_DIR));
    let report = model::load(root, options.baseline.as_deref(), options.baseline_dir.as_deref());
    let generated_at = crate::results::rfc3339(SystemTime::now());
    let env = html::environment()?;
    let colors = view::target_colors(&report);
    let bench_dir = out.join("bench");
    create_dir(&bench_dir)?;

    // Pages in parallel: each worker reads one benchmark's requests, renders
    // its page and drops the data before taking the next.
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, PageResult)>> = Mutex::new(Vec::new());
    let read_time = Mutex::new(Duration::ZERO);
    let render_time = Mutex::new(Duration::ZERO);
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(report.benches.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(bench) = report.benches.get(i) else { break };
                    let t = Instant::now();
                    let reqs: Vec<Result<RunRequests, String>> =
                        bench.runs.iter().map(|r| RunRequests::load(&r.dir, &attempted(&r.summary))).collect();
                    let base: Vec<Option<RunRequests>> = bench
                        .runs
                        .iter()
                        .map(|r| {
                            r.baseline.as_ref().and_then(|b| RunRequests::load(&b.dir, &attempted(&b.summary)).ok())
                        })
                        .collect();
                    *read_time.lock().unwrap_or_else(|e| e.into_inner()) += t.elapsed();
                    let t = Instant::now();
                    let page = render_bench(&env, bench, &reqs, &base, &colors, &generated_at).and_then(|html| {
                        let path = bench_dir.join(format!("{}.html", bench.slug));
                        write_atomic(&path, html.as_bytes()).map(|()| (path, html.len() as u64))
                    });
                    *render_time.lock().unwrap_or_else(|e| e.into_inner()) += t.elapsed();
                    results.lock().unwrap_or_else(|e| e.into_inner()).push((i, page));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);
    let mut pages = Vec::new();
    let (mut total_bytes, mut largest_page_bytes) = (0u64, 0u64);
    for (_, page) in results {
        let (path, bytes) = page?;
        total_bytes += bytes;
        largest_page_bytes = largest_page_bytes.max(bytes);
        pages.push(path);
    }
    remove_stale_pages(&bench_dir, &pages);

    let index_view = view::index(&report, &generated_at);
    let index_html = html::index(&env, &index_view)?;
    let markdown = html::markdown(&env, &index_view)?;
    let md_path = out.join("report.md");
    write_atomic(&md_path, markdown.as_bytes())?;
    let index = out.join("index.html");
    write_atomic(&index, index_html.as_bytes())?;
    total_bytes += (index_html.len() + markdown.len()) as u64;
    largest_page_bytes = largest_page_bytes.max(index_html.len() as u64);
    Ok(WrittenReport {
        index,
        markdown: md_path,
        pages,
        runs: report.benches.iter().map(|b| b.runs.len()).sum(),
        skipped: report.skipped,
        total_bytes,
        largest_page_bytes,
        read_time: read_time.into_inner().unwrap_or_else(|e| e.into_inner()),
        render_time: render_time.into_inner().unwrap_or_else(|e| e.into_inner()),
        elapsed: started.elapsed(),
    })
}

/// Writes the report of everything under `root` to `<root>/report/` and
/// prints where it is; a failure is a warning (the results themselves are
/// already safe on disk). Does nothing when `root` holds no results.
/// `baseline_dir` is `--baseline-dir`, where the compared baselines live.
pub(crate) fn write_and_announce(root: &Path, baseline_dir: Option<&Path>) {
    if !root.is_dir() {
        return;
    }
    let options = ReportOptions { baseline_dir: baseline_dir.map(Path::to_owned), ..ReportOptions::default() };
    match write_report(root, &options) {
        Ok(r) if r.runs == 0 => {}
        Ok(r) => {
            for s in &r.skipped {
                eprintln!("warning: the report skips {s}");
            }
            crate::term::println(&format!("Report: {}", r.index.display()));
        }
        Err(e) => eprintln!("warning: no report: {e}"),
    }
}

/// A page written (path, bytes), or why not.
type PageResult = Result<(PathBuf, u64), ReportError>;

fn render_bench(
    env: &minijinja::Environment<'_>,
    bench: &model::BenchGroup,
    reqs: &[Result<RunRequests, String>],
    base: &[Option<RunRequests>],
    colors: &std::collections::BTreeMap<String, usize>,
    generated_at: &str,
) -> Result<String, ReportError> {
    let view = view::bench(bench, reqs, colors);
    let data: Vec<RunData<'_>> = bench
        .runs
        .iter()
        .zip(reqs.iter().zip(base))
        .map(|(run, (r, b))| RunData {
            run,
            color: colors.get(&run.summary.target.name).copied().unwrap_or(0),
            requests: r.as_ref().ok(),
            baseline: b.as_ref(),
        })
        .collect();
    let charts = html::charts::charts(bench, &data);
    Ok(html::bench(env, &view, charts, generated_at)?)
}

/// Measured requests per level, in order.
fn attempted(summary: &crate::results::RunSummary) -> Vec<u64> {
    summary.levels.iter().map(|l| l.requests.attempted).collect()
}

fn create_dir(dir: &Path) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Write { path: dir.to_owned(), source })
}

/// Temp file, then rename: a reader never sees half a page.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path)).map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        ReportError::Write { path: path.to_owned(), source }
    })
}

fn remove_stale_pages(dir: &Path, keep: &[PathBuf]) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.filter_map(Result::ok) {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "html") && !keep.contains(&p) {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests;
