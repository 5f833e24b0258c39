//! The measured window of one level, shared by the closed and the open loop:
//! when it starts, when dispatching stops and when the requests still in
//! flight are cut (after the grace), the records as they finish, an
//! interruption, and the client's CPU use over it. The loops differ only in
//! how they dispatch.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Cancel, LevelOutcome, Observer, cpu, interrupt_in_flight};
use crate::record::RequestRecord;

/// One level's window, open while its requests run.
pub(super) struct Window<'a> {
    /// When the level starts: request start offsets count from here.
    pub(super) start: Instant,
    /// Fires when requests in flight must end now (the end of the grace,
    /// or an interruption); each then leaves a record saying why.
    pub(super) cut: Cancel,
    end: Option<Duration>,
    grace: Duration,
    client_cores: usize,
    observer: Arc<dyn Observer + 'a>,
    /// The records, unless the observer keeps them ([`Observer::keeps_records`]).
    records: Option<Vec<RequestRecord>>,
    /// The largest request index seen, plus one.
    indices: usize,
    interrupted: bool,
    cpu_before: Option<cpu::CpuSnapshot>,
}

impl<'a> Window<'a> {
    /// A window starting at `start` (a duration-bounded one stops
    /// dispatching `end` later and cuts `grace` after that).
    pub(super) fn open(
        start: Instant,
        end: Option<Duration>,
        grace: Duration,
        client_cores: usize,
        observer: Arc<dyn Observer + 'a>,
        expected: usize,
    ) -> Window<'a> {
        Window {
            cpu_before: cpu::CpuSnapshot::take(),
            start,
            cut: Cancel::default(),
            end,
            grace,
            client_cores,
            records: (!observer.keeps_records()).then(|| Vec::with_capacity(expected)),
            indices: 0,
            observer,
            interrupted: false,
        }
    }

    /// When dispatching stops, for a duration-bounded level.
    pub(super) fn end_at(&self) -> Option<Instant> {
        self.end.map(|d| self.start + d)
    }

    /// When the requests still in flight are cut, for a duration-bounded level.
    pub(super) fn cut_at(&self) -> Option<Instant> {
        self.end_at().map(|e| e + self.grace)
    }

    /// A request finished (ok or not).
    pub(super) fn accept(&mut self, record: RequestRecord) {
        self.indices = self.indices.max(record.index as usize + 1);
        self.observer.request_done(&record);
        if let Some(records) = &mut self.records {
            records.push(record);
        }
    }

    /// The run was interrupted: the requests in flight end now, each as a
    /// record saying why, so none is silently dropped.
    pub(super) fn interrupt(&mut self, cancel: &Cancel) {
        self.interrupted = true;
        interrupt_in_flight(cancel, &self.cut);
    }

    /// Whether [`interrupt`](Self::interrupt) was called.
    pub(super) fn interrupted(&self) -> bool {
        self.interrupted
    }

    /// The largest request index recorded, plus one.
    pub(super) fn indices(&self) -> usize {
        self.indices
    }

    /// The window closed: its records in index order (none when the
    /// observer kept them), and what the generator's self-check needs.
    pub(super) fn close(self, dispatch_lag_us: Vec<u64>) -> LevelOutcome {
        let mut records = self.records.unwrap_or_default();
        records.sort_by_key(|r| r.index);
        LevelOutcome {
            records,
            interrupted: self.interrupted,
            dispatch_lag_us,
            cpu: self.cpu_before.and_then(|b| b.since(self.client_cores)),
            start: self.start,
        }
    }
}
