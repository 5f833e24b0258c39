//! The per-request view of one run, read from `requests.jsonl`: sorted
//! samples per level for distributions, one point per request for the
//! timeline, and a few error messages and outputs to show as examples.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::value::RawValue;

#[cfg(test)]
use crate::record::RequestRecord;
use crate::record::{ErrorClass, Phase};
use crate::report::html::chart::PointKind;
use crate::results;

/// Error examples kept per class.
const ERROR_EXAMPLES: usize = 3;
/// Captured outputs kept per run.
const TEXT_EXAMPLES: usize = 3;
/// Characters of an example kept.
const EXAMPLE_CHARS: usize = 400;

/// One request on the timeline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Point {
    /// Scheduled time, seconds since the run's first request.
    pub(crate) t_s: f64,
    pub(crate) e2e_ms: f64,
    pub(crate) ttft_ms: Option<f64>,
    pub(crate) kind: PointKind,
}

/// The most ITL values a level keeps for its charts: a uniform sample of
/// that many when it had more (an hour at 200 requests/s of 32 tokens has
/// 22 million), so a long run's report needs no more than 8 MB for them.
const ITL_SAMPLE: usize = 1_000_000;

/// The measured, successful samples of one level: TTFT, TPOT and E2E
/// sorted ascending (for CDFs), ITL in arrival order (at most
/// [`ITL_SAMPLE`] of them, a uniform sample).
#[derive(Debug, Default)]
pub(crate) struct LevelSamples {
    pub(crate) ttft: Vec<f64>,
    pub(crate) tpot: Vec<f64>,
    pub(crate) e2e: Vec<f64>,
    pub(crate) itl: Vec<f64>,
    /// ITL values seen, kept or not.
    itl_seen: u64,
}

impl LevelSamples {
    /// Adds ITL values, keeping a uniform sample.
    fn add_itl(&mut self, values: &[f64], rng: &mut crate::rng::Rng) {
        for &v in values {
            self.itl_seen += 1;
            rng.keep_sample(&mut self.itl, ITL_SAMPLE, self.itl_seen, v);
        }
    }
}

/// A distinct error message and how often it occurred.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ErrorExample {
    pub(crate) class: ErrorClass,
    pub(crate) status: Option<u16>,
    pub(crate) message: String,
    pub(crate) count: u64,
}

/// One run's requests.
#[derive(Debug, Default)]
pub(crate) struct RunRequests {
    /// Levels in the order they ran.
    pub(crate) levels: Vec<LevelSamples>,
    /// Every request, in file order.
    pub(crate) points: Vec<Point>,
    /// Where each level begins on the timeline (seconds), and its index.
    pub(crate) level_starts: Vec<(f64, usize)>,
    /// Up to three distinct messages per error class.
    pub(crate) errors: Vec<ErrorExample>,
    /// Up to three captured outputs (truncated), when text was captured.
    pub(crate) texts: Vec<String>,
}

/// The fields of a request record the report reads. Deserialized straight
/// from each `requests.jsonl` line with borrowed strings, so reading skips
/// what the report never shows (and allocates little): reading is most of
/// the cost of a large report.
#[derive(Deserialize)]
struct Row<'a> {
    phase: Phase,
    #[serde(default)]
    concurrency: u32,
    start_us: u64,
    e2e_ms: f64,
    #[serde(default)]
    ttft_ms: Option<f64>,
    #[serde(default)]
    last_content_ms: Option<f64>,
    output_tokens: u64,
    #[serde(default, borrow)]
    gaps_us: Option<&'a RawValue>,
    #[serde(default, borrow)]
    error: Option<RowError<'a>>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RowError<'a> {
    class: ErrorClass,
    #[serde(default)]
    status: Option<u16>,
    #[serde(borrow)]
    message: Cow<'a, str>,
}

impl Row<'_> {
    fn end_us(&self) -> u64 {
        self.start_us.saturating_add((self.e2e_ms * 1e3) as u64)
    }

    /// As [`crate::record::RequestRecord::tpot_ms`].
    fn tpot_ms(&self) -> Option<f64> {
        match (self.ttft_ms, self.last_content_ms) {
            (Some(first), Some(last)) if self.output_tokens >= 2 => {
                Some((last - first) / (self.output_tokens - 1) as f64)
            }
            _ => None,
        }
    }
}

impl RunRequests {
    /// Reads `dir/requests.jsonl`; `expected` holds the measured requests
    /// of each level in order (the summary's `attempted`).
    pub(crate) fn load(dir: &Path, expected: &[u64]) -> Result<RunRequests, String> {
        use std::io::BufRead;
        let path = dir.join(results::REQUESTS_FILE);
        let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
        let file = std::io::BufReader::new(std::fs::File::open(&path).map_err(cannot)?);
        let mut builder = Builder { expected: expected.to_vec(), ..Builder::default() };
        // A line at a time: a long run's file is hundreds of megabytes.
        for (i, line) in file.lines().enumerate() {
            let line = line.map_err(cannot)?;
            if line.trim().is_empty() {
                continue;
            }
            let row: Row<'_> = serde_json::from_str(&line).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
            builder.push(i, &row);
        }
        Ok(builder.finish())
    }

    /// Builds the view from records in file order: the cold start first,
    /// then each level's warm-up and measured requests.
    #[cfg(test)]
    pub(crate) fn from_records(records: &[RequestRecord]) -> RunRequests {
        let mut builder = Builder::default();
        for (i, r) in records.iter().enumerate() {
            let row = Row {
                phase: r.phase,
                concurrency: r.concurrency,
                start_us: r.start_us,
                e2e_ms: r.e2e_ms,
                ttft_ms: r.ttft_ms,
                last_content_ms: r.last_content_ms,
                output_tokens: r.output_tokens,
                gaps_us: None,
                error: r.error.as_ref().map(|e| RowError {
                    class: e.class,
                    status: e.status,
                    message: Cow::Borrowed(&e.message),
                }),
                text: r.text.as_deref().map(Cow::Borrowed),
            };
            builder.push(i, &row);
            if r.phase == Phase::Measured
                && r.is_ok()
                && let Some(level) = builder.out.levels.last_mut()
            {
                level.itl.extend(r.gaps_us.iter().map(|&g| f64::from(g) / 1e3));
            }
        }
        builder.finish()
    }
}

/// Accumulates rows in file order.
#[derive(Default)]
struct Builder {
    out: RunRequests,
    errors: BTreeMap<(ErrorClass, String), (Option<u16>, u64, usize)>,
    // Levels restart their clocks; they are laid end to end after the cold start.
    offset_us: u64,
    level_end_us: u64,
    current: Option<u32>,
    /// Measured requests each level holds (from the summary), to find where
    /// one open-loop level ends and the next begins (their records all say
    /// concurrency 0).
    expected: Vec<u64>,
    measured_here: u64,
    last_phase: Option<Phase>,
    /// One request's gaps, ms (reused).
    gaps: Vec<f64>,
    rng: Option<crate::rng::Rng>,
}

impl Builder {
    fn push(&mut self, i: usize, r: &Row<'_>) {
        let out = &mut self.out;
        if r.phase == Phase::ColdStart {
            self.offset_us = self.offset_us.max(r.end_us());
        } else {
            let level = out.levels.len();
            let full = level > 0 && self.expected.get(level - 1).is_some_and(|&n| n > 0 && self.measured_here >= n);
            let warmup_again = r.phase == Phase::Warmup && self.last_phase == Some(Phase::Measured);
            if self.current != Some(r.concurrency) || full || warmup_again {
                self.offset_us += self.level_end_us;
                self.level_end_us = 0;
                self.measured_here = 0;
                self.current = Some(r.concurrency);
                out.level_starts.push((self.offset_us as f64 / 1e6, level));
                out.levels.push(LevelSamples::default());
            }
            if r.phase == Phase::Measured {
                self.measured_here += 1;
            }
        }
        self.last_phase = Some(r.phase);
        if r.phase != Phase::ColdStart {
            self.level_end_us = self.level_end_us.max(r.end_us());
        }
        let t_s = if r.phase == Phase::ColdStart {
            r.start_us as f64 / 1e6
        } else {
            self.offset_us.saturating_add(r.start_us) as f64 / 1e6
        };
        let kind = match (&r.error, r.phase) {
            (Some(e), _) => PointKind::Error(class_index(e.class)),
            (None, Phase::ColdStart) => PointKind::ColdStart,
            (None, Phase::Warmup) => PointKind::Warmup,
            (None, Phase::Measured) => PointKind::Measured,
        };
        out.points.push(Point { t_s, e2e_ms: r.e2e_ms, ttft_ms: r.ttft_ms, kind });
        if let Some(e) = &r.error {
            let entry = self.errors.entry((e.class, truncate(&e.message))).or_insert((e.status, 0, i));
            entry.1 += 1;
        }
        if let Some(text) = &r.text
            && out.texts.len() < TEXT_EXAMPLES
            && !text.is_empty()
        {
            out.texts.push(truncate(text));
        }
        if r.phase == Phase::Measured
            && r.error.is_none()
            && let Some(level) = out.levels.last_mut()
        {
            level.ttft.extend(r.ttft_ms);
            level.tpot.extend(r.tpot_ms());
            level.e2e.push(r.e2e_ms);
            if let Some(raw) = r.gaps_us {
                self.gaps.clear();
                push_gaps_ms(raw.get(), &mut self.gaps);
                level.add_itl(&self.gaps, self.rng.get_or_insert_with(|| crate::rng::Rng::new(0x17_5A3)));
            }
        }
    }

    fn finish(self) -> RunRequests {
        let mut out = self.out;
        for level in &mut out.levels {
            // ITL (tens of gaps per request) feeds only histograms: left unsorted.
            level.itl.retain(|x| x.is_finite());
            for v in [&mut level.ttft, &mut level.tpot, &mut level.e2e] {
                v.retain(|x| x.is_finite());
                v.sort_unstable_by(f64::total_cmp);
            }
        }
        // Per class: the most frequent messages first, then the earliest.
        let mut by_class: BTreeMap<ErrorClass, Vec<(usize, ErrorExample)>> = BTreeMap::new();
        for ((class, message), (status, count, first)) in self.errors {
            by_class.entry(class).or_default().push((first, ErrorExample { class, status, message, count }));
        }
        for (_, mut list) in by_class {
            list.sort_by_key(|(first, e)| (std::cmp::Reverse(e.count), *first));
            out.errors.extend(list.into_iter().take(ERROR_EXAMPLES).map(|(_, e)| e));
        }
        out
    }
}

/// Appends a JSON array of microsecond gaps (`[4012,3987,…]`) to `out`
/// as milliseconds. One pass over the bytes: this array is most of every
/// line, and a generic JSON visitor spends several times as long on it.
fn push_gaps_ms(raw: &str, out: &mut Vec<f64>) {
    let body = raw.trim().trim_start_matches('[').trim_end_matches(']');
    let (mut value, mut digits) = (0u64, 0usize);
    let start = out.len();
    for b in body.bytes() {
        match b {
            b'0'..=b'9' => {
                value = value * 10 + u64::from(b - b'0');
                digits += 1;
            }
            b',' if digits > 0 => {
                out.push(value as f64 / 1e3);
                (value, digits) = (0, 0);
            }
            b' ' | b'\n' | b'\r' | b'\t' => {}
            // Anything else (an exponent, a sign): let serde_json read it.
            _ => {
                out.truncate(start);
                if let Ok(v) = serde_json::from_str::<Vec<f64>>(raw) {
                    out.extend(v.into_iter().map(|g| g / 1e3));
                }
                return;
            }
        }
        if digits > 19 {
            out.truncate(start);
            return;
        }
    }
    if digits > 0 {
        out.push(value as f64 / 1e3);
    }
}

fn class_index(class: ErrorClass) -> usize {
    ErrorClass::ALL.iter().position(|c| *c == class).unwrap_or(0)
}

fn truncate(text: &str) -> String {
    match text.char_indices().nth(EXAMPLE_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Points kept for drawing, and a sentence saying how they were chosen.
///
/// Every failed, warm-up and cold-start request is kept (up to `cap`
/// failures, then every k-th). Measured successes beyond `cap` are thinned
/// honestly: every k-th request, plus the fastest and slowest of each of
/// 200 time slices, so neither the spikes nor the floor disappear.
pub(crate) fn downsample(
    points: &[Point],
    latency: impl Fn(&Point) -> Option<f64>,
    cap: usize,
) -> (Vec<Point>, String) {
    let with_y: Vec<&Point> = points.iter().filter(|p| latency(p).is_some()).collect();
    let measured: Vec<&Point> = with_y.iter().copied().filter(|p| p.kind == PointKind::Measured).collect();
    let failed: Vec<&Point> = with_y.iter().copied().filter(|p| matches!(p.kind, PointKind::Error(_))).collect();
    let mut keep: Vec<Point> =
        with_y.iter().filter(|p| matches!(p.kind, PointKind::Warmup | PointKind::ColdStart)).map(|p| **p).collect();
    let mut notes = Vec::new();
    if measured.len() <= cap {
        keep.extend(measured.iter().map(|p| **p));
        notes.push(format!("all {} measured requests", measured.len()));
    } else {
        let stride = measured.len().div_ceil(cap);
        let tmax = measured.iter().map(|p| p.t_s).fold(0.0, f64::max).max(1e-9);
        const SLICES: usize = 200;
        let mut extremes: Vec<Option<(usize, usize)>> = vec![None; SLICES];
        for (i, p) in measured.iter().enumerate() {
            let s = ((p.t_s / tmax) * (SLICES - 1) as f64) as usize;
            let y = latency(p).unwrap_or(0.0);
            let e = extremes[s].get_or_insert((i, i));
            if y < latency(measured[e.0]).unwrap_or(0.0) {
                e.0 = i;
            }
            if y > latency(measured[e.1]).unwrap_or(0.0) {
                e.1 = i;
            }
        }
        let mut chosen = vec![false; measured.len()];
        for i in (0..measured.len()).step_by(stride) {
            chosen[i] = true;
        }
        for (lo, hi) in extremes.into_iter().flatten() {
            chosen[lo] = true;
            chosen[hi] = true;
        }
        let shown = chosen.iter().filter(|c| **c).count();
        keep.extend(measured.iter().zip(&chosen).filter(|(_, c)| **c).map(|(p, _)| **p));
        notes.push(format!(
            "{shown} of {} measured requests: every {stride}th plus each time slice's fastest and slowest",
            measured.len()
        ));
    }
    if !failed.is_empty() {
        if failed.len() <= cap {
            keep.extend(failed.iter().map(|p| **p));
            notes.push(format!("all {} failures", failed.len()));
        } else {
            let stride = failed.len().div_ceil(cap);
            let before = keep.len();
            keep.extend(failed.iter().step_by(stride).map(|p| **p));
            notes.push(format!("{} of {} failures (every {stride}th)", keep.len() - before, failed.len()));
        }
    }
    (keep, format!("showing {}", notes.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{RequestError, TokenSource};

    pub(crate) fn rec(
        phase: Phase,
        concurrency: u32,
        start_us: u64,
        e2e_ms: f64,
        error: Option<ErrorClass>,
    ) -> RequestRecord {
        RequestRecord {
            phase,
            concurrency,
            start_us,
            ttfb_ms: Some(1.0),
            ttft_ms: error.is_none().then_some(e2e_ms / 4.0),
            last_content_ms: error.is_none().then_some(e2e_ms - 1.0),
            e2e_ms,
            chunks: 4,
            gaps_us: vec![2000, 3000, 1000],
            output_tokens: 4,
            output_source: TokenSource::Usage,
            input_tokens: Some(10),
            error: error.map(|c| RequestError::new(c, "slow down").with_status(429)),
            ..RequestRecord::default()
        }
    }

    #[test]
    fn levels_are_laid_end_to_end_after_the_cold_start() {
        let records = vec![
            rec(Phase::ColdStart, 1, 0, 500.0, None),
            rec(Phase::Warmup, 1, 0, 100.0, None),
            rec(Phase::Measured, 1, 100_000, 100.0, None),
            rec(Phase::Measured, 1, 200_000, 100.0, Some(ErrorClass::Throttled)),
            rec(Phase::Measured, 4, 0, 40.0, None),
            rec(Phase::Measured, 4, 0, 80.0, Some(ErrorClass::Throttled)),
        ];
        let rr = RunRequests::from_records(&records);
        assert_eq!(rr.level_starts, vec![(0.5, 0), (0.8, 1)]);
        assert_eq!(rr.levels.len(), 2);
        assert_eq!(rr.levels[0].e2e, vec![100.0]);
        assert_eq!(rr.levels[0].itl, vec![2.0, 3.0, 1.0]);
        assert_eq!(rr.levels[1].e2e, vec![40.0]);
        assert_eq!(rr.points[0].kind, PointKind::ColdStart);
        assert_eq!(rr.points[1].kind, PointKind::Warmup);
        assert_eq!(rr.points[3].kind, PointKind::Error(0));
        assert!((rr.points[4].t_s - 0.8).abs() < 1e-9);
        assert_eq!(
            rr.errors,
            vec![ErrorExample {
                class: ErrorClass::Throttled,
                status: Some(429),
                message: "slow down".into(),
                count: 2
            }]
        );
    }

    #[test]
    fn gap_arrays_parse_in_one_pass() {
        let mut out = vec![9.0];
        push_gaps_ms("[4012,3987, 5]", &mut out);
        assert_eq!(out, vec![9.0, 4.012, 3.987, 0.005]);
        push_gaps_ms("[]", &mut out);
        assert_eq!(out.len(), 4);
        push_gaps_ms("[1e3,2]", &mut out);
        assert_eq!(&out[4..], &[1.0, 0.002]);
    }

    #[test]
    fn a_level_keeps_a_bounded_uniform_sample_of_its_itl() {
        let mut level = LevelSamples::default();
        let mut rng = crate::rng::Rng::new(1);
        let n = ITL_SAMPLE + ITL_SAMPLE / 2;
        let values: Vec<f64> = (0..n).map(|i| i as f64).collect();
        for chunk in values.chunks(31) {
            level.add_itl(chunk, &mut rng);
        }
        assert_eq!(level.itl.len(), ITL_SAMPLE);
        // Uniform: the last third of the values holds about a third of the sample.
        let late = level.itl.iter().filter(|&&v| v >= ITL_SAMPLE as f64).count() as f64;
        assert!((late / ITL_SAMPLE as f64 - 1.0 / 3.0).abs() < 0.01, "{late} of the last third kept");
        // Fewer than the cap: every value, in order.
        let mut small = LevelSamples::default();
        small.add_itl(&[3.0, 1.0, 2.0], &mut rng);
        assert_eq!(small.itl, [3.0, 1.0, 2.0]);
    }

    #[test]
    fn loading_a_file_matches_building_from_records() {
        let records = vec![
            rec(Phase::ColdStart, 1, 0, 500.0, None),
            rec(Phase::Measured, 1, 100_000, 100.0, None),
            rec(Phase::Measured, 1, 200_000, 90.0, Some(ErrorClass::Throttled)),
        ];
        let dir = tempfile::tempdir().unwrap();
        let summary = crate::results::RunSummary::example();
        crate::results::write_run(dir.path(), &summary, &records).unwrap();
        let loaded = RunRequests::load(dir.path(), &[2]).unwrap();
        let built = RunRequests::from_records(&records);
        assert_eq!(loaded.levels[0].itl, built.levels[0].itl);
        assert_eq!(loaded.levels[0].itl, vec![2.0, 3.0, 1.0]);
        assert_eq!(loaded.levels[0].e2e, built.levels[0].e2e);
        assert_eq!(loaded.errors, built.errors);
        assert_eq!(loaded.points.len(), 3);
        std::fs::write(dir.path().join("requests.jsonl"), "{\"phase\": \"measured\"}\n").unwrap();
        let err = RunRequests::load(dir.path(), &[]).unwrap_err();
        assert!(err.contains("requests.jsonl:1:") && err.contains("missing field"), "{err}");
    }

    #[test]
    fn open_loop_levels_split_by_their_counts_and_warm_up() {
        // Open-loop levels all record concurrency 0.
        let mut records = vec![rec(Phase::ColdStart, 0, 0, 50.0, None)];
        for level in 0..3 {
            if level == 2 {
                records.push(rec(Phase::Warmup, 0, 0, 10.0, None));
            }
            for i in 0..4 {
                records.push(rec(Phase::Measured, 0, i * 1000, 10.0 + f64::from(level), None));
            }
        }
        let dir = tempfile::tempdir().unwrap();
        crate::results::write_run(dir.path(), &crate::results::RunSummary::example(), &records).unwrap();
        let rr = RunRequests::load(dir.path(), &[4, 4, 4]).unwrap();
        assert_eq!(rr.levels.len(), 3);
        assert_eq!(rr.levels[1].e2e, vec![11.0; 4]);
        // Without counts, the warm-up still marks a new level.
        assert_eq!(RunRequests::load(dir.path(), &[]).unwrap().levels.len(), 2);
    }

    #[test]
    fn downsampling_keeps_extremes_errors_and_says_so() {
        let mut points: Vec<Point> = (0..10_000)
            .map(|i| Point { t_s: i as f64 / 100.0, e2e_ms: 100.0, ttft_ms: Some(10.0), kind: PointKind::Measured })
            .collect();
        points[5_001].e2e_ms = 9_999.0; // one spike that a stride would miss
        points.push(Point { t_s: 3.0, e2e_ms: 50.0, ttft_ms: None, kind: PointKind::Error(0) });
        let (kept, note) = downsample(&points, |p| Some(p.e2e_ms), 1_000);
        assert!(kept.len() < 1_500, "{}", kept.len());
        assert!(kept.iter().any(|p| p.e2e_ms == 9_999.0));
        assert!(kept.iter().any(|p| p.kind == PointKind::Error(0)));
        assert!(note.contains("of 10000 measured requests"), "{note}");
        assert!(note.contains("all 1 failures"), "{note}");
        let (kept, note) = downsample(&points[..10], |p| p.ttft_ms, 1_000);
        assert_eq!(kept.len(), 10);
        assert_eq!(note, "showing all 10 measured requests");
    }
}
