//! Where a stretch's finished requests go as they finish: each is checked
//! (response checks), placed in its summary row (a staged run's stage),
//! counted into that row's tallies, sent to the run's crash-safe records,
//! and kept in memory only as part of a bounded uniform sample. So a level
//! of any length is summarized in constant memory (docs/metrics.md
//! "Long runs"), and nothing it measured is lost: every record is on disk.
//!
//! Runs on the level's dispatcher once a request ended (never in the
//! request's own task, so never on the measured path); the writing is the
//! crash-safe records' thread's.

use std::sync::{Arc, Mutex};

use crate::load::Observer;
use crate::provider::{GenRequest, is_connection_failure};
use crate::record::{ErrorClass, Phase, RequestError, RequestRecord, TokenSource};
use crate::results::partial::PartialSink;
use crate::rng::Rng;
use crate::stats::goodput::{GoodTally, Slo};
use crate::stats::selfcheck::{LoadTally, WindowTally};
use crate::stats::{SummaryTally, summary::Distribution};
use crate::workload::{CheckFn, Workload};

/// The most records a stretch keeps in memory: all of a shorter one, a
/// uniform sample of a longer one (for the gate's bootstrap comparisons,
/// which need per-request values). Its summaries never use the sample.
pub(crate) const KEPT_RECORDS: usize = crate::baseline::KEPT_RECORDS;

/// The figures of one summary row, gathered as its requests finish.
pub(super) struct RowTally {
    pub(super) summary: SummaryTally,
    pub(super) window: Option<WindowTally>,
    pub(super) load: LoadTally,
    pub(super) good: GoodTally,
    pub(super) cost: crate::cost::CostTally,
    /// Σ (output tokens / asked) and how many, for the shortfall warning.
    pub(super) shortfall: (f64, u64),
    /// Requests of the row, warm-up included.
    pub(super) requests: u64,
}

/// What the response checks need.
pub(super) struct Checks<'a> {
    pub(super) workload: &'a Workload,
    pub(super) extra: Option<CheckFn>,
    /// Request `i` of the level sends workload request `ids[i % len]`.
    pub(super) ids: &'a [u64],
}

/// Which requests a summary row takes, and where its load window ends.
#[derive(Debug, Clone, Copy)]
pub(super) struct RowSpan {
    /// The start instants it covers, µs from the level's start (`[from,
    /// to)`, a stage's); `None`: every request.
    pub(super) starts: Option<(u64, u64)>,
    /// Its load window's end for throughput, when it has one.
    pub(super) window_end_us: Option<u64>,
}

/// What a collector is set up with.
pub(super) struct Setup<'a> {
    /// The rows' first index in the run's `levels`.
    pub(super) first_row: u32,
    pub(super) rows: Vec<RowSpan>,
    pub(super) open: bool,
    /// The longest a request can last (its hard deadline), µs.
    pub(super) horizon_us: u64,
    pub(super) provider: &'a str,
    pub(super) slo: &'a Slo,
    pub(super) checks: Option<Checks<'a>>,
    /// The level's requests, for the output each asked for.
    pub(super) requests: Option<&'a [GenRequest]>,
    pub(super) sink: Option<PartialSink>,
}

/// What a stretch produced, once its requests are all in.
pub(super) struct Collected {
    pub(super) rows: Vec<RowTally>,
    /// Every record when there were at most [`KEPT_RECORDS`], else a
    /// uniform sample of that many, in index order.
    pub(super) kept: Vec<RequestRecord>,
    /// Whether `kept` holds every record of the stretch.
    pub(super) complete: bool,
    /// The message of the last request whose connection failed.
    pub(super) last_connection_failure: Option<String>,
}

/// The observer a stretch's records end in (see the module docs).
pub(super) struct Collector<'a> {
    inner: Arc<dyn Observer + 'a>,
    setup: Setup<'a>,
    state: Mutex<State>,
}

struct State {
    rows: Vec<RowTally>,
    kept: Vec<RequestRecord>,
    seen: u64,
    rng: Rng,
    last_connection_failure: Option<String>,
}

impl<'a> Collector<'a> {
    pub(super) fn new(inner: Arc<dyn Observer + 'a>, setup: Setup<'a>) -> Collector<'a> {
        let rows = setup
            .rows
            .iter()
            .map(|row| RowTally {
                summary: SummaryTally::new(Some(setup.horizon_us)),
                window: row.window_end_us.map(WindowTally::new),
                load: LoadTally::new(setup.open),
                good: GoodTally::default(),
                cost: crate::cost::CostTally::new(setup.provider),
                shortfall: (0.0, 0),
                requests: 0,
            })
            .collect();
        let state = State { rows, kept: Vec::new(), seen: 0, rng: Rng::new(0x5A3_9E5E), last_connection_failure: None };
        Collector { inner, setup, state: Mutex::new(state) }
    }

    /// Everything the stretch's records added up to.
    pub(super) fn finish(&self) -> Collected {
        let mut guard = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let state = &mut *guard;
        let mut kept = std::mem::take(&mut state.kept);
        kept.sort_by_key(|r| r.index);
        Collected {
            rows: std::mem::take(&mut state.rows),
            complete: state.seen as usize == kept.len(),
            kept,
            last_connection_failure: state.last_connection_failure.take(),
        }
    }

    /// The row a request belongs to, by when it was scheduled.
    fn row_of(&self, r: &RequestRecord) -> Option<usize> {
        self.setup.rows.iter().position(|row| row.starts.is_none_or(|(lo, hi)| r.start_us >= lo && r.start_us < hi))
    }

    /// Runs the response checks on an ok request: a failed one becomes a
    /// `check` error; a passed one drops its text (kept only to check it).
    fn check(&self, r: &mut RequestRecord) {
        let Some(checks) = &self.setup.checks else { return };
        if !r.is_ok() {
            return;
        }
        let n = checks.ids.len().max(1) as u64;
        let id = r.session.or_else(|| checks.ids.get((r.index % n) as usize).copied()).unwrap_or(r.index);
        match checks.workload.check_record(id, r, checks.extra) {
            Ok(()) => (r.text, r.tool_call_text) = (None, Vec::new()),
            Err(why) => r.error = Some(crate::redact::redact_error(RequestError::new(ErrorClass::Check, why))),
        }
    }

    /// The share of its asked output a request got, when it counts.
    fn output_share(&self, r: &RequestRecord) -> Option<f64> {
        let requests = self.setup.requests.filter(|q| !q.is_empty())?;
        if r.phase != Phase::Measured || !r.is_ok() || r.output_source != TokenSource::Usage {
            return None;
        }
        let asked = requests[(r.index % requests.len() as u64) as usize].max_tokens?;
        (asked > 0).then(|| r.output_tokens as f64 / f64::from(asked))
    }
}

impl Observer for Collector<'_> {
    fn request_done(&self, record: &RequestRecord) {
        self.inner.request_done(record);
        let mut r = record.clone();
        self.check(&mut r);
        let row = self.row_of(&r);
        r.level = self.setup.first_row + row.unwrap_or(0) as u32;
        let share = self.output_share(&r);
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(e) = r.error.as_ref().filter(|e| is_connection_failure(e)) {
            state.last_connection_failure = Some(e.to_string());
        }
        if let Some(t) = row.map(|i| &mut state.rows[i]) {
            t.requests += 1;
            t.summary.add(&r);
            if let Some(w) = &mut t.window {
                w.add(&r);
            }
            t.load.add(&r);
            t.good.add(self.setup.slo, &r);
            t.cost.add(&r);
            if let Some(s) = share {
                t.shortfall = (t.shortfall.0 + s, t.shortfall.1 + 1);
            }
        }
        if let Some(sink) = &self.setup.sink {
            sink.send(r.clone());
        }
        state.seen += 1;
        let State { rng, kept, seen, .. } = &mut *state;
        rng.keep_sample(kept, KEPT_RECORDS, *seen, r);
    }

    fn keeps_records(&self) -> bool {
        true
    }
}

/// A row's histograms for `histograms.json` (the metrics it keeps).
pub(super) fn histograms(tally: &SummaryTally) -> std::collections::BTreeMap<String, hdrhistogram::Histogram<u64>> {
    crate::results::histograms::METRIC_NAMES
        .iter()
        .filter_map(|&name| {
            let d: &Distribution = tally.distribution(name)?;
            (d.count() > 0).then(|| (name.to_owned(), d.histogram().clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Quiet;
    use crate::record::ErrorClass;
    use crate::stats::summarize_level;

    fn setup(slo: &Slo) -> Setup<'_> {
        Setup {
            first_row: 0,
            rows: vec![RowSpan { starts: None, window_end_us: Some(60_000_000) }],
            open: true,
            horizon_us: 2_000_000,
            provider: "sim",
            slo,
            checks: None,
            requests: None,
            sink: None,
        }
    }

    /// `n` measured requests 1 ms apart, lasting 50–549 ms, one in 50 throttled.
    fn records(n: u64) -> Vec<RequestRecord> {
        let mut rng = Rng::new(7);
        let mut out: Vec<RequestRecord> = (0..n)
            .map(|i| {
                let e2e = 50.0 + rng.range_u64(0, 499) as f64;
                let error = (i % 50 == 7).then(|| RequestError::new(ErrorClass::Throttled, "429"));
                RequestRecord {
                    index: i,
                    start_us: i * 1000,
                    queue_ms: rng.range_u64(0, 2000) as f64 / 1e3,
                    ttft_ms: Some(e2e / 5.0),
                    last_content_ms: Some(e2e - 1.0),
                    e2e_ms: e2e,
                    gaps_us: vec![1000 + rng.range_u64(0, 100) as u32; 3],
                    output_tokens: 4,
                    output_source: TokenSource::Usage,
                    dispatch_lag_us: Some(rng.range_u64(0, 500)),
                    error,
                    ..RequestRecord::default()
                }
            })
            .collect();
        // They reach the collector as they end.
        out.sort_by_key(RequestRecord::end_us);
        out
    }

    #[test]
    fn a_long_stretch_is_summarized_exactly_while_memory_keeps_a_bounded_sample() {
        let slo = Slo::default();
        let collector = Collector::new(Arc::new(Quiet), setup(&slo));
        let all = records(KEPT_RECORDS as u64 + 5_000);
        all.iter().for_each(|r| collector.request_done(r));
        let mut collected = collector.finish();

        // The summary of every request, as if all had been kept.
        let streamed = collected.rows[0].summary.finish(0);
        assert_eq!(streamed, summarize_level(0, &all));
        assert_eq!(streamed.requests.attempted, all.len() as u64);
        assert!(streamed.in_flight.max > 100, "{:?}", streamed.in_flight);

        // A uniform sample, in index order, reaching the last requests too.
        assert!(!collected.complete);
        assert_eq!(collected.kept.len(), KEPT_RECORDS);
        assert!(collected.kept.windows(2).all(|w| w[0].index < w[1].index));
        let late = collected.kept.iter().filter(|r| r.index >= KEPT_RECORDS as u64).count();
        let expected = 5_000.0 * KEPT_RECORDS as f64 / all.len() as f64;
        assert!(
            (late as f64 - expected).abs() < expected * 0.2,
            "{late} of the last 5000 kept, expected ~{expected:.0}"
        );
        assert_eq!(collected.last_connection_failure, None);
    }

    #[test]
    fn a_short_stretch_keeps_every_record_with_its_row() {
        let slo = Slo::default();
        let collector = Collector::new(Arc::new(Quiet), Setup { first_row: 3, ..setup(&slo) });
        let all = records(100);
        all.iter().for_each(|r| collector.request_done(r));
        let collected = collector.finish();
        assert!(collected.complete);
        assert_eq!(collected.kept.len(), 100);
        assert!(collected.kept.iter().all(|r| r.level == 3));
        assert_eq!(collected.rows[0].requests, 100);
        assert_eq!(collected.rows[0].good.correctness().checked, 98);
    }
}
