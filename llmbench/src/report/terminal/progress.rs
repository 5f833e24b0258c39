//! The progress bar shown while a benchmark runs (hidden with `--quiet` or
//! when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::load::Observer;
use crate::record::{Phase, RequestRecord};

/// A bar over one concurrency level's requests.
pub(crate) struct LevelProgress {
    bar: ProgressBar,
}

impl LevelProgress {
    /// A bar for `total` requests labelled `label`.
    pub(crate) fn new(label: &str, total: u64, visible: bool) -> Self {
        let target = if visible { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(label.to_owned());
        LevelProgress { bar }
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Observer for LevelProgress {
    fn request_done(&self, record: &RequestRecord) {
        self.bar.inc(1);
        if record.phase == Phase::Warmup {
            self.bar.set_message("warm-up");
        } else {
            self.bar.set_message("measuring");
        }
    }
}
