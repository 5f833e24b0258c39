//! What people and CI read, by audience:
//!
//! - `terminal`: the summary tables, the progress bar, the cost lines and
//!   the change block printed under a run;
//! - `html`: the report — self-contained HTML pages (inline CSS and SVG
//!   charts, no scripts, no network) with a Markdown twin, rendered from
//!   the results on disk ([`write_report`]);
//! - `ci`: machine outputs of the gate — the Markdown summary, JUnit XML and
//!   NDJSON events.
//!
//! ```no_run
//! let root = llmbench::results::default_root();
//! let report = llmbench::report::write_report(&root, &llmbench::report::ReportOptions::default())?;
//! println!("{}", report.index.display());
//! # Ok::<(), llmbench::report::ReportError>(())
//! ```

pub(crate) mod ci;
pub(crate) mod html;
pub(crate) mod pareto;
pub(crate) mod terminal;

use std::path::Path;

pub use html::{ReportError, ReportOptions, WrittenReport, write_report};

/// Not public API: synthetic results for `examples/report.rs` and
/// `scripts/browser-check.sh`, which render the report without sending a
/// request. May change or go away in any release.
#[doc(hidden)]
pub mod __fixture {
    pub use super::html::fixture::{FixtureSpec, write};
}

/// Writes the report of everything under `root` to `<root>/report/` and
/// prints where it is; a failure is a warning (the results themselves are
/// already safe on disk). Does nothing when `root` holds no results.
/// `baseline_dir` is `--baseline-dir`, where the compared baselines live.
/// `history` is `--history DIR`: trend pages are drawn from it.
/// `to_stderr`: stdout carries Markdown or JSON events, which a line about
/// the report would corrupt.
pub(crate) fn write_and_announce(root: &Path, baseline_dir: Option<&Path>, history: Option<&Path>, to_stderr: bool) {
    if !root.is_dir() {
        return;
    }
    let options = ReportOptions {
        baseline_dir: baseline_dir.map(Path::to_owned),
        history: history.map(Path::to_owned),
        ..ReportOptions::default()
    };
    match write_report(root, &options) {
        Ok(r) if r.runs == 0 => {}
        Ok(r) => {
            for s in &r.skipped {
                eprintln!("warning: the report skips {s}");
            }
            let line = format!("Report: {}", r.index.display());
            if to_stderr { eprintln!("{line}") } else { crate::term::println(&line) }
        }
        Err(e) => eprintln!("warning: no report: {e}"),
    }
}
