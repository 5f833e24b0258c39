//! The HTML report: an index of every run under a results root, a page per
//! benchmark and a Markdown twin of the index, all self-contained (inline
//! CSS and SVG charts, no scripts, no network).
//!
//! How the pieces fit: `model` reads the results (`summary.json` as
//! `RunSummary`, the gate's verdicts, `requests.jsonl`); `view` formats
//! every table cell, shared by the HTML and the Markdown; `figures` turns
//! the model into `chart`'s inputs; `pages` renders the minijinja
//! `templates`. What each page shows is described in docs/reports.md.

mod chart;
mod cost_latency;
mod definitions;
mod figures;
pub(crate) mod fixture;
mod model;
mod pages;
mod trends;
mod view;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use figures::RunData;
use model::requests::RunRequests;

/// The report's directory under a results root.
pub(crate) const REPORT_DIR: &str = "report";

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
    /// The run history (`--history DIR`): a trend page per benchmark ×
    /// target that has one.
    pub history: Option<PathBuf>,
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
    let mut report = model::load(root, options.baseline.as_deref(), options.baseline_dir.as_deref());
    // A history that cannot be read costs the trend pages, not the report.
    let history = match options.history.as_deref().map(|d| crate::results::history::read(d, |_, _| true)) {
        Some(Ok(series)) => series,
        Some(Err(e)) => {
            report.skipped.push(format!("the run history: {e}"));
            Vec::new()
        }
        None => Vec::new(),
    };
    let trend_links = trends::links(&history);
    let generated_at = crate::results::rfc3339(SystemTime::now());
    let env = pages::environment()?;
    let colors = view::target_colors(&report);
    let bench_dir = out.join("bench");
    create_dir(&bench_dir)?;
    let mut written = write_pages(&env, &report, &colors, &trend_links, &bench_dir, &generated_at)?;
    remove_stale_pages(&bench_dir, &written.pages);
    let trends_dir = out.join("trends");
    let mut trend_pages = Vec::new();
    for (series, link) in history.iter().zip(&trend_links) {
        let html = pages::trends(&env, trends::page(series, link), &generated_at)?;
        create_dir(&trends_dir)?;
        let path = trends_dir.join(format!("{}.html", link.slug));
        write_atomic(&path, html.as_bytes())?;
        written.bytes += html.len() as u64;
        written.largest = written.largest.max(html.len() as u64);
        trend_pages.push(path);
    }
    remove_stale_pages(&trends_dir, &trend_pages);
    written.pages.extend(trend_pages);

    let index_view = view::index(&report, &generated_at);
    let index_html = pages::index(&env, &index_view, &trend_links)?;
    let markdown = pages::markdown(&env, &index_view)?;
    let md_path = out.join("report.md");
    write_atomic(&md_path, markdown.as_bytes())?;
    let index = out.join("index.html");
    write_atomic(&index, index_html.as_bytes())?;
    Ok(WrittenReport {
        index,
        markdown: md_path,
        runs: report.benches.iter().map(|b| b.runs.len()).sum(),
        skipped: report.skipped,
        total_bytes: written.bytes + (index_html.len() + markdown.len()) as u64,
        largest_page_bytes: written.largest.max(index_html.len() as u64),
        pages: written.pages,
        read_time: written.read_time,
        render_time: written.render_time,
        elapsed: started.elapsed(),
    })
}

/// The benchmark pages written, in benchmark order.
struct WrittenPages {
    pages: Vec<PathBuf>,
    bytes: u64,
    largest: u64,
    read_time: Duration,
    render_time: Duration,
}

/// Renders and writes every benchmark's page, in parallel: each worker
/// reads one benchmark's requests, renders its page and drops the data
/// before taking the next.
fn write_pages(
    env: &minijinja::Environment<'_>,
    report: &model::Report,
    colors: &BTreeMap<String, usize>,
    trends: &[trends::TrendLink],
    bench_dir: &Path,
    generated_at: &str,
) -> Result<WrittenPages, ReportError> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, PageResult)>> = Mutex::new(Vec::new());
    let read_time = Mutex::new(Duration::ZERO);
    let render_time = Mutex::new(Duration::ZERO);
    let add = |total: &Mutex<Duration>, t: Duration| *total.lock().unwrap_or_else(|e| e.into_inner()) += t;
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(report.benches.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(bench) = report.benches.get(i) else { break };
                    let t = Instant::now();
                    let (reqs, base) = read_requests(bench);
                    add(&read_time, t.elapsed());
                    let t = Instant::now();
                    let links: Vec<&trends::TrendLink> = trends.iter().filter(|t| t.bench == bench.id).collect();
                    let page = render_bench(env, bench, &reqs, &base, colors, &links, generated_at).and_then(|html| {
                        let path = bench_dir.join(format!("{}.html", bench.slug));
                        write_atomic(&path, html.as_bytes()).map(|()| (path, html.len() as u64))
                    });
                    add(&render_time, t.elapsed());
                    results.lock().unwrap_or_else(|e| e.into_inner()).push((i, page));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);
    let mut written = WrittenPages {
        pages: Vec::new(),
        bytes: 0,
        largest: 0,
        read_time: read_time.into_inner().unwrap_or_else(|e| e.into_inner()),
        render_time: render_time.into_inner().unwrap_or_else(|e| e.into_inner()),
    };
    for (_, page) in results {
        let (path, bytes) = page?;
        written.bytes += bytes;
        written.largest = written.largest.max(bytes);
        written.pages.push(path);
    }
    Ok(written)
}

/// The requests of a benchmark's runs (or why they could not be read) and
/// of their baselines.
fn read_requests(bench: &model::BenchGroup) -> (Vec<Result<RunRequests, String>>, Vec<Option<RunRequests>>) {
    let reqs = bench.runs.iter().map(|r| RunRequests::load(&r.dir, &attempted(&r.summary))).collect();
    let base = bench
        .runs
        .iter()
        .map(|r| r.baseline.as_ref().and_then(|b| RunRequests::load(&b.dir, &attempted(&b.summary)).ok()))
        .collect();
    (reqs, base)
}

/// A page written (path, bytes), or why not.
type PageResult = Result<(PathBuf, u64), ReportError>;

fn render_bench(
    env: &minijinja::Environment<'_>,
    bench: &model::BenchGroup,
    reqs: &[Result<RunRequests, String>],
    base: &[Option<RunRequests>],
    colors: &BTreeMap<String, usize>,
    trends: &[&trends::TrendLink],
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
    let charts = figures::charts(bench, &data);
    Ok(pages::bench(env, &view, charts, trends, generated_at)?)
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
