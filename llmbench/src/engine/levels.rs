//! Runs a benchmark's load levels — closed or open loop, count- or
//! duration-bounded, fixed, swept (automatically too) or staged — and turns
//! each into a [`LevelSummary`] with its self-check, goodput, correctness
//! and warnings; then analyses a sweep for its knee.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::load::closed::Concurrency;
use crate::load::schedule::{self, Rate};
use crate::load::stages::{Stage, StageValue, StagesPlan};
use crate::load::sweep::{self, Level};
use crate::load::{self, Cancel, ClosedPlan, Drive, Observer, OpenPlan, RequestOptions};
use crate::provider::{GenRequest, Provider, is_connection_failure};
use crate::record::{Phase, RequestRecord};
use crate::report::terminal::progress::LevelProgress;
use crate::results::partial::PartialSink;
use crate::settings::value::Connections;
use crate::settings::{LoadPlan, Shape};
use crate::stats::selfcheck::LevelLoad;
use crate::stats::{LevelSummary, StageInfo, SweepAnalysis, knee};
use crate::workload::{CheckFn, Workload};

use super::collect::{self, Checks, Collector, RowSpan, RowTally, Setup};

/// Requests prepared for a duration-bounded level (cycled), when the sample
/// count is smaller.
const DURATION_POOL: u64 = 256;
/// Below this share of the requested output tokens (on average), a level
/// warns that TPOT and throughput are not comparable.
const OUTPUT_SHORTFALL: f64 = 0.5;

/// What one benchmark × target run needs to run its levels.
pub(crate) struct LevelsInput<'a> {
    pub(crate) label: String,
    pub(crate) workload: &'a Workload,
    pub(crate) check: Option<CheckFn>,
    pub(crate) samples: u32,
    pub(crate) warmup: u32,
    /// `warm`: a closed-loop level of concurrency above 1 warms up with at
    /// least as many requests as it keeps in flight, so its measured
    /// requests find open connections (the cold start opened the first).
    pub(crate) connections: Connections,
    pub(crate) load: &'a LoadPlan,
    pub(crate) opts: RequestOptions,
    pub(crate) client_cores: usize,
    pub(crate) progress: bool,
    /// What the target costs, if known: each level gets its cost figures.
    pub(crate) price: Option<&'a crate::cost::Price>,
    /// The target's provider (how it reports cache tokens).
    pub(crate) provider: &'a str,
    /// `--project`: the volume to project cost to.
    pub(crate) project: Option<crate::cost::Volume>,
    /// `--message-format json`: the benchmark id and target of the
    /// `progress` event sent as each level finishes.
    pub(crate) events: Option<(&'a str, &'a str)>,
    /// Where each finished request goes as it finishes, for the run's
    /// crash-safe records (`results::partial`).
    pub(crate) records: Option<PartialSink>,
}

/// What the levels produced.
pub(crate) struct LevelsOutput {
    pub(crate) levels: Vec<LevelSummary>,
    /// Every record (`complete`), or a bounded uniform sample of a long
    /// run's ([`collect::KEPT_RECORDS`] a stretch): all are in the run's
    /// crash-safe records.
    pub(crate) records: Vec<RequestRecord>,
    pub(crate) complete: bool,
    /// Per row of `levels`: its latency histograms (`histograms.json`).
    pub(crate) histograms: crate::results::histograms::Decoded,
    pub(crate) partial: bool,
    pub(crate) sweep: Option<SweepAnalysis>,
    /// Per row of `levels`: when its level began on the wall clock, µs
    /// since the epoch (what a shard's records are placed by when shards
    /// are merged).
    pub(crate) started_unix_us: Vec<i64>,
}

/// Requests prepared for a level: measured request `i` sends workload
/// request `i`, so levels (and runs) compare like with like; warm-up
/// requests come first and use the indices after the measured ones.
pub(super) struct Pool {
    pub(super) requests: Arc<Vec<GenRequest>>,
    pub(super) ids: Vec<u64>,
}

fn pool(workload: &Workload, measured: u64, warmup: u64) -> Pool {
    let ids: Vec<u64> = (measured..measured + warmup).chain(0..measured).collect();
    Pool { requests: Arc::new(ids.iter().map(|&i| workload.request(i)).collect()), ids }
}

/// What runs as one stretch of load: a level, or the whole of a staged run
/// (one load, reported per stage).
#[derive(Clone, Copy)]
pub(super) enum Stretch<'a> {
    /// A level; `k` seeds its arrival schedule.
    Level(Level, u64),
    /// Every stage.
    Stages(&'a StagesPlan),
}

/// A stretch ready to run: its requests, how load is driven, its label and
/// how many requests it sends (when known).
pub(super) struct Prepared {
    pub(super) pool: Pool,
    pub(super) drive: Drive,
    pub(super) label: String,
    pub(super) total: Option<u64>,
}

/// Runs every level of `input.load`.
pub(crate) async fn run_levels(input: &LevelsInput<'_>, provider: Arc<Provider>, cancel: &Cancel) -> LevelsOutput {
    let mut out = LevelsOutput {
        levels: Vec::new(),
        records: Vec::new(),
        complete: true,
        histograms: Vec::new(),
        partial: false,
        sweep: None,
        started_unix_us: Vec::new(),
    };
    match &input.load.shape {
        Shape::Levels(levels) => {
            for (k, &level) in levels.iter().enumerate() {
                if !run_stretch(input, &provider, cancel, Stretch::Level(level, k as u64), &mut out).await {
                    break;
                }
            }
        }
        Shape::Auto(start) => search(input, &provider, cancel, *start, &mut out).await,
        Shape::Stages(stages) => {
            run_stretch(input, &provider, cancel, Stretch::Stages(stages), &mut out).await;
        }
    }
    if out.levels.len() >= 2 && !matches!(input.load.shape, Shape::Stages(_)) {
        let mut sweep = knee::analyse(&out.levels);
        if matches!(input.load.shape, Shape::Auto(_)) {
            sweep.search = Some(knee::search(&out.levels, sweep::SEARCH_TOLERANCE));
        }
        out.sweep = Some(sweep);
    }
    out
}

/// A capacity search: a ladder doubling from `start` to the first level
/// that fails (its SLOs, or the generator's self-check), then a bisection
/// between the highest passing and the lowest failing level until they are
/// within [`sweep::SEARCH_TOLERANCE`] (concurrency: one apart).
async fn search(
    input: &LevelsInput<'_>,
    provider: &Arc<Provider>,
    cancel: &Cancel,
    start: Level,
    out: &mut LevelsOutput,
) {
    let (mut pass, mut fail): (Option<Level>, Option<Level>) = (None, None);
    let mut next = Some(start);
    let mut k = 0;
    while let Some(level) = next {
        if !run_stretch(input, provider, cancel, Stretch::Level(level, k), out).await {
            return;
        }
        k += 1;
        let passed = out.levels.last().is_some_and(knee::passes);
        if passed {
            pass = Some(level);
        } else {
            fail = Some(level);
        }
        next = match (pass, fail) {
            (_, None) if (k as usize) < sweep::AUTO_MAX_LEVELS => sweep::auto_next(level),
            (Some(p), Some(f)) if (k as usize) < sweep::AUTO_MAX_LEVELS + sweep::SEARCH_MAX_LEVELS => midpoint(p, f),
            _ => None,
        };
    }
}

/// The level halfway between a passing and a failing one, unless they are
/// already close enough.
fn midpoint(pass: Level, fail: Level) -> Option<Level> {
    match (pass, fail) {
        (Level::Concurrency(p), Level::Concurrency(f)) => (f > p + 1).then(|| Level::Concurrency(p + (f - p) / 2)),
        (Level::Rate(p), Level::Rate(f)) => {
            (f - p > p * sweep::SEARCH_TOLERANCE).then(|| Level::Rate(((p + f) / 2.0 * 100.0).round() / 100.0))
        }
        _ => None,
    }
}

/// Runs one stretch and analyses each row it reports; false when the run
/// was interrupted.
async fn run_stretch(
    input: &LevelsInput<'_>,
    provider: &Arc<Provider>,
    cancel: &Cancel,
    stretch: Stretch<'_>,
    out: &mut LevelsOutput,
) -> bool {
    if cancel.is_cancelled() {
        out.partial = true;
        return false;
    }
    let prepared = prepare(input, stretch);
    let progress = Arc::new(LevelProgress::new(&prepared.label, prepared.total.unwrap_or(0), input.progress));
    let requests = prepared.pool.requests.clone();
    // A search stops a level once it can no longer meet its SLOs; the run's
    // own cancel (an interruption) reaches the level through the same token.
    let level = Cancel::default();
    let forward = {
        let (run, level) = (cancel.clone(), level.clone());
        tokio::spawn(async move {
            run.cancelled().await;
            level.cancel_because(run.reason().unwrap_or(load::INTERRUPTED));
        })
    };
    let open = match &prepared.drive {
        Drive::Open(_) => true,
        Drive::Sessions(s) => matches!(s.starts, load::sessions::Starts::Open(_)),
        Drive::Closed(_) => false,
    };
    let rows = rows(stretch, open, drive_end(&prepared.drive));
    let collector = Arc::new(Collector::new(
        observer(input, &prepared, &progress, &level),
        Setup {
            first_row: out.levels.len() as u32,
            rows: rows.iter().map(|r| r.span).collect(),
            open,
            horizon_us: (input.opts.deadlines.total + Duration::from_secs(1)).as_micros() as u64,
            provider: input.provider,
            slo: &input.load.slo,
            checks: (input.workload.has_checks() || input.check.is_some()).then_some(Checks {
                workload: input.workload,
                extra: input.check,
                ids: &prepared.pool.ids,
            }),
            requests: (!input.workload.is_dataset()).then_some(prepared.pool.requests.as_slice()),
            sink: input.records.clone(),
        },
    ));
    let outcome =
        load::run_level(provider.clone(), requests, &prepared.drive, request_options(input), collector.clone(), &level)
            .await;
    forward.abort();
    progress.finish();
    let started_unix_us = crate::settings::instant_unix_us(outcome.start);
    // The level stopped, and not for the search: the run was interrupted.
    let interrupted = outcome.interrupted && cancel.is_cancelled();
    let mut collected = collector.finish();
    for (row, tally) in rows.iter().zip(&mut collected.rows) {
        let plan = input.load;
        let load = LevelLoad {
            open,
            // A replay's arrivals are the trace's own.
            arrival: open.then(|| if input.workload.is_trace() { "trace".into() } else { plan.arrival.to_string() }),
            max_in_flight: if open { plan.max_in_flight } else { None },
            duration_s: row.duration_s.or(plan.duration.map(|d| d.as_secs_f64())),
            grace_s: (row.duration_s.is_some() || plan.duration.is_some()).then_some(plan.grace.as_secs_f64()),
            cpu: outcome.cpu,
        };
        let mut summary = analyse(input, tally, row.concurrency, &load);
        (summary.rate, summary.stage) = (row.rate, row.stage.clone());
        if input.workload.is_trace() {
            // A replay is open loop at the trace's (scaled) rate, whatever
            // level it ran as.
            (summary.concurrency, summary.rate) = (0, super::replay::offered_rate(&prepared.drive).or(summary.rate));
        }
        if !interrupted {
            note_stop(level.reason(), &mut summary, collected.last_connection_failure.as_deref());
        }
        level_done(input, &summary, tally.requests);
        out.histograms.push(collect::histograms(&tally.summary));
        out.levels.push(summary);
        out.started_unix_us.push(started_unix_us);
    }
    let dead = !interrupted && level.reason() == Some(load::DEAD_ENDPOINT);
    if dead {
        announce_dead(&prepared.label, collected.last_connection_failure.as_deref());
    }
    out.complete &= collected.complete;
    out.records.append(&mut collected.kept);
    out.partial |= interrupted;
    // The levels after a dead endpoint's would meet it too: not run.
    !interrupted && !dead
}

/// When a drive stops dispatching, for a duration-bounded one.
fn drive_end(drive: &Drive) -> Option<Duration> {
    match drive {
        Drive::Closed(p) => p.end,
        Drive::Open(p) => p.end,
        Drive::Sessions(p) => p.end,
    }
}

/// What sees a stretch's finished requests before they are collected: its
/// progress, a capacity search's [`Hopeless`] watch, and always the
/// [`DeadEndpoint`] watch.
fn observer(
    input: &LevelsInput<'_>,
    prepared: &Prepared,
    progress: &Arc<LevelProgress>,
    level: &Cancel,
) -> Arc<dyn Observer> {
    let inner: Arc<dyn Observer> = match (&input.load.shape, prepared.total) {
        (Shape::Auto(_), Some(_)) => Arc::new(Hopeless::new(input, progress.clone(), level.clone())),
        _ => progress.clone(),
    };
    Arc::new(DeadEndpoint { inner, failures: AtomicU32::new(0), stop: level.clone() })
}

/// Marks a level llmbench stopped early (`stopped_early`, a warning), when
/// `reason` (the level's stop) says it did.
fn note_stop(reason: Option<&str>, summary: &mut LevelSummary, last_failure: Option<&str>) {
    let attempted = summary.requests.attempted;
    let (why, warning) = match reason {
        Some(load::STOPPED_EARLY) => (
            "slo_unreachable",
            format!("stopped early after {attempted} measured requests: it could no longer meet its SLOs"),
        ),
        Some(load::DEAD_ENDPOINT) => (
            "dead_endpoint",
            format!(
                "stopped early after {attempted} measured requests: the endpoint looks dead ({DEAD_AFTER} connection \
                 failures in a row, the last: {}); the requests not sent are not counted",
                safe_failure(last_failure)
            ),
        ),
        _ => return,
    };
    summary.stopped_early = Some(why.to_owned());
    summary.warnings.push(warning);
}

/// The message of the last request whose connection failed, made safe
/// for a terminal.
fn safe_failure(last: Option<&str>) -> String {
    crate::term::safe(last.unwrap_or_default()).into_owned()
}

/// Says on stderr, whatever `--quiet`, that a stretch stopped at a dead
/// endpoint and its benchmark × target runs no more levels.
fn announce_dead(label: &str, last_failure: Option<&str>) {
    eprintln!(
        "warning: {}: stopped after {DEAD_AFTER} connection failures in a row, the endpoint looks dead ({}); the \
         remaining requests and levels were not sent",
        crate::term::safe(label),
        safe_failure(last_failure)
    );
}

/// Connection failures in a row (warm-up or measured) after which a
/// level's endpoint is taken for dead and the level stops: enough that a
/// blip (a restart refusing a few connections) does not stop it, few
/// enough that a dead endpoint costs a moment, not the level's samples.
pub(crate) const DEAD_AFTER: u32 = 10;

/// Watches every finished request of a stretch and stops it once
/// [`DEAD_AFTER`] in a row failed to connect ([`is_connection_failure`]):
/// a refused port fails requests as fast as they are sent, and would burn
/// the level's samples measuring nothing. The requests in flight are cut
/// (class `cut_at_end`, not failures); the rest are never sent.
struct DeadEndpoint {
    inner: Arc<dyn Observer>,
    failures: AtomicU32,
    stop: Cancel,
}

impl Observer for DeadEndpoint {
    fn request_done(&self, record: &RequestRecord) {
        self.inner.request_done(record);
        match &record.error {
            // llmbench's own cuts say nothing of the endpoint.
            Some(e) if e.class.is_llmbench_cut() => {}
            Some(e) if is_connection_failure(e) => {
                let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
                if failures >= DEAD_AFTER && !self.stop.is_cancelled() {
                    self.stop.cancel_because(load::DEAD_ENDPOINT);
                }
            }
            _ => self.failures.store(0, Ordering::Relaxed),
        }
    }
}

/// Watches a search level's measured requests and stops the level once too
/// many were not good for it to meet its goodput target, whatever the rest
/// would do: its verdict is already known.
struct Hopeless {
    slo: crate::stats::goodput::Slo,
    /// Bad requests the level may have and still meet its target.
    allowed: u64,
    bad: std::sync::atomic::AtomicU64,
    stop: Cancel,
    progress: Arc<LevelProgress>,
}

impl Hopeless {
    fn new(input: &LevelsInput<'_>, progress: Arc<LevelProgress>, stop: Cancel) -> Hopeless {
        let slo = input.load.slo.clone();
        let allowed = ((1.0 - slo.goodput) * f64::from(input.samples)).floor() as u64;
        Hopeless { slo, allowed, bad: Default::default(), stop, progress }
    }
}

impl Observer for Hopeless {
    fn request_done(&self, record: &RequestRecord) {
        self.progress.request_done(record);
        let cut = record.error.as_ref().is_some_and(|e| e.class.is_llmbench_cut());
        if record.phase != Phase::Measured || cut || self.slo.is_good(record) {
            return;
        }
        let bad = self.bad.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        if bad > self.allowed && !self.stop.is_cancelled() {
            self.stop.cancel_because(load::STOPPED_EARLY);
        }
    }
}

/// The requests and the load driver of a stretch: the one place closed
/// and open loops, count- and time-bounded levels and stages are told apart.
fn prepare(input: &LevelsInput<'_>, stretch: Stretch<'_>) -> Prepared {
    if input.workload.is_conversation() {
        return super::conversation::prepare(input, stretch);
    }
    if input.workload.is_trace() {
        return super::replay::prepare(input, stretch);
    }
    let plan = input.load;
    let (samples, warmup) = (u64::from(input.samples), u64::from(input.warmup));
    let cores = input.client_cores;
    let closed = |warmup, concurrency, total: Option<u64>, end| {
        Drive::Closed(ClosedPlan { warmup, concurrency, total, end, grace: plan.grace, client_cores: cores })
    };
    let open = |offsets: Vec<Duration>, end: Option<Duration>| {
        let n = offsets.len() as u64;
        // A time-bounded level cycles through a pool like a closed loop's:
        // an hour at 200/s would otherwise build 720,000 prompts up front.
        let measured = n.saturating_sub(warmup).max(1);
        let measured = if end.is_some() { measured.min(samples.max(DURATION_POOL)) } else { measured };
        let pool = pool(input.workload, measured, warmup.min(n));
        let drive = Drive::Open(OpenPlan {
            offsets: offsets.into(),
            warmup,
            max_in_flight: plan.max_in_flight,
            end,
            grace: plan.grace,
            client_cores: cores,
        });
        (pool, drive, Some(n))
    };
    let (label, (pool, drive, total)) = match stretch {
        Stretch::Level(Level::Concurrency(c), _) => {
            // The cold start's connection serves one stream; more need
            // warming, or the level's first wave pays for opening them.
            let warmup = match input.connections {
                Connections::Warm if c > 1 => warmup.max(u64::from(c)),
                Connections::Warm | Connections::Fresh => warmup,
            };
            let total = plan.duration.is_none().then_some(samples + warmup);
            let measured = if plan.duration.is_some() { samples.max(DURATION_POOL) } else { samples };
            let drive = closed(warmup, Concurrency::Fixed(c), total, plan.duration);
            (level_label(input, stretch), (pool(input.workload, measured, warmup), drive, total))
        }
        Stretch::Level(Level::Rate(r), k) => {
            let seed = plan.arrival_seed(0x5EED_0000 + k);
            let offsets = match plan.duration {
                Some(d) => schedule::profiled(&constant_rate(r, d).profile(), plan.arrival, seed),
                None => schedule::stationary(Rate(r), plan.arrival, samples + warmup, seed),
            };
            let offsets = plan.shard_offsets(offsets, r, plan.duration);
            (level_label(input, stretch), open(offsets, plan.duration))
        }
        Stretch::Stages(stages) if stages.is_rate() => {
            let offsets = schedule::profiled(&stages.profile(), plan.arrival, plan.arrival_seed(0x5EED_57A6));
            (level_label(input, stretch), open(offsets, Some(stages.total())))
        }
        Stretch::Stages(stages) => {
            let pool = pool(input.workload, samples.max(DURATION_POOL), warmup);
            let drive = closed(warmup, Concurrency::Profile(stages.profile()), None, Some(stages.total()));
            (level_label(input, stretch), (pool, drive, None))
        }
    };
    Prepared { pool, drive, label, total }
}

pub(super) fn level_label(input: &LevelsInput<'_>, stretch: Stretch<'_>) -> String {
    match stretch {
        Stretch::Level(level, _) => format!("{} {level}", input.label),
        Stretch::Stages(_) => format!("{} stages", input.label),
    }
}

/// A constant rate for a time-bounded level, as a one-stage profile.
pub(super) fn constant_rate(r: f64, d: Duration) -> StagesPlan {
    StagesPlan { start: StageValue::Rate(r), stages: vec![Stage { duration: d, target: StageValue::Rate(r) }] }
}

/// One row of a stretch's report: a level, or one stage of a staged run.
/// A summary row of a stretch: a level, or a stage of a staged run.
struct Row {
    concurrency: u32,
    rate: Option<f64>,
    stage: Option<StageInfo>,
    duration_s: Option<f64>,
    span: RowSpan,
}

/// The rows of a stretch; `end`: when a duration-bounded level stops dispatching.
fn rows(stretch: Stretch<'_>, open: bool, end: Option<Duration>) -> Vec<Row> {
    let stages = match stretch {
        Stretch::Level(level, _) => {
            let (concurrency, rate) = match level {
                Level::Concurrency(c) => (c, None),
                Level::Rate(r) => (0, Some(r)),
            };
            let span = RowSpan { starts: None, window_end_us: end.map(|d| d.as_micros() as u64) };
            return vec![Row { concurrency, rate, stage: None, duration_s: None, span }];
        }
        Stretch::Stages(stages) => stages,
    };
    let mut out = Vec::new();
    let (mut t0, mut from) = (0.0, stages.start.value());
    for (i, stage) in stages.stages.iter().enumerate() {
        let (t1, to) = (t0 + stage.duration.as_secs_f64(), stage.target.value());
        if stage.duration.is_zero() {
            from = to;
            continue;
        }
        let (lo, hi) = ((t0 * 1e6) as u64, (t1 * 1e6) as u64);
        let info = StageInfo { index: i as u32 + 1, start_s: t0, duration_s: stage.duration.as_secs_f64(), from, to };
        out.push(Row {
            concurrency: if open { 0 } else { from.max(to).round() as u32 },
            rate: open.then_some((from + to) / 2.0),
            stage: Some(info),
            duration_s: Some(stage.duration.as_secs_f64()),
            span: RowSpan { starts: Some((lo, hi)), window_end_us: Some(hi) },
        });
        (t0, from) = (t1, to);
    }
    out
}

fn request_options(input: &LevelsInput<'_>) -> RequestOptions {
    let mut opts = input.opts;
    opts.capture_text |= input.workload.has_checks() || input.check.is_some();
    opts
}

/// The `progress` event of a finished level (`--message-format json`).
fn level_done(input: &LevelsInput<'_>, level: &LevelSummary, records: u64) {
    if let Some((bench, target)) = input.events {
        let fields = serde_json::json!({
            "bench": bench,
            "target": target,
            "level": crate::report::terminal::load_label(level),
            "concurrency": level.concurrency,
            "done": records,
            "total": records,
        });
        crate::report::ci::events::emit(true, "progress", fields);
    }
}

/// Response checks, off the measured path: a completed response that fails
/// one becomes class `check`. Text is kept only for failed checks.
/// A row's summary from its tallies, with its self-check, goodput,
/// correctness, cost and warnings.
fn analyse(input: &LevelsInput<'_>, row: &mut RowTally, concurrency: u32, load: &LevelLoad) -> LevelSummary {
    let mut s = row.summary.finish(concurrency);
    if let Some(window) = &row.window {
        window.apply(&mut s);
    }
    s.load = Some(row.load.finish(load));
    s.goodput = Some(row.good.goodput(&input.load.slo, &s));
    if input.workload.has_checks() || input.check.is_some() {
        s.correctness = Some(row.good.correctness());
    }
    if let Some(w) = output_shortfall(row.shortfall) {
        s.warnings.push(w);
    }
    if let Some(c) = s.load.as_ref().filter(|c| c.cut_at_end > 0) {
        s.warnings.push(format!(
            "{} request(s) were still in flight {:.0} s after the level's end and were cut (class `cut`)",
            c.cut_at_end,
            c.grace_s.unwrap_or(0.0)
        ));
    }
    if let Some(price) = input.price {
        s.cost = Some(row.cost.finish(price, &s, input.project));
    }
    s
}

/// The warning when the server returned less than [`OUTPUT_SHORTFALL`] of
/// the output asked for, on average over (Σ share, requests).
fn output_shortfall((sum, n): (f64, u64)) -> Option<String> {
    let mean = (n > 0).then(|| sum / n as f64)?;
    (mean < OUTPUT_SHORTFALL).then(|| {
        format!(
            "the server returned {:.0}% of the requested output tokens on average: TPOT and throughput are not comparable \
             with runs that generate the full length (try exact_output = true on the target)",
            mean * 100.0
        )
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::load::closed::tests::{opts, provider};
    use crate::load::schedule::Arrival;
    use crate::record::{ErrorClass, RequestError};
    use crate::sim::{Delay, SimConfig, SimServer};
    use crate::stats::goodput::Slo;

    /// TTFT 60 ms, a request ~70 ms: below capacity TTFT stays ~60 ms, past
    /// it a request waits for a slot (~130 ms), with 40 ms to spare either
    /// side of the 100 ms SLO for a loaded machine's noise.
    async fn sim(capacity: u32) -> SimServer {
        let config = SimConfig {
            ttft: Delay::ms(60),
            itl: Delay::ms(2),
            output_tokens: Some(5),
            capacity: Some(capacity),
            ..SimConfig::default()
        };
        SimServer::start(config).await.unwrap()
    }

    pub(in crate::engine) fn plan(shape: Shape) -> LoadPlan {
        LoadPlan {
            shape,
            sweep: None,
            arrival: Arrival::Poisson,
            duration: None,
            grace: std::time::Duration::from_secs(1),
            max_in_flight: None,
            replay_speed: None,
            slo: Slo::parse("ttft <= 100ms, goodput >= 90%").unwrap(),
            shard: None,
        }
    }

    pub(in crate::engine) fn input<'a>(workload: &'a Workload, load: &'a LoadPlan, samples: u32) -> LevelsInput<'a> {
        LevelsInput {
            label: "t".into(),
            workload,
            check: None,
            samples,
            warmup: 4,
            connections: Connections::Warm,
            load,
            opts: opts(),
            client_cores: 1,
            progress: false,
            price: None,
            provider: "sim",
            project: None,
            events: None,
            records: None,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_sweep_finds_the_capacity_knee_within_one_step() {
        let sim = sim(4).await;
        let workload = Workload::synthetic().input_tokens(16);
        let load = plan(Shape::Levels([1, 2, 4, 8, 16].map(Level::Concurrency).to_vec()));
        let out =
            run_levels(&input(&workload, &load, 40), Arc::new(provider(sim.base_url())), &Cancel::default()).await;
        assert_eq!(out.levels.len(), 5);
        let sweep = out.sweep.expect("a sweep of 5 levels is analysed");
        let knee = sweep.knee.expect("capacity 4 makes a knee");
        assert_eq!((knee.previous, knee.level), (4.0, 8.0), "{knee:?}");
        assert_eq!(knee.metric, "ttft");
        assert_eq!(
            sweep.max_load_meeting_slo,
            Some(4.0),
            "{:?}",
            out.levels.iter().map(|l| &l.goodput).collect::<Vec<_>>()
        );
        assert!(out.levels.iter().all(|l| l.load.as_ref().is_some_and(|c| c.mode == "closed")));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_automatic_sweep_finds_the_capacity() {
        let sim = sim(2).await;
        let workload = Workload::synthetic().input_tokens(16);
        let load = plan(Shape::Auto(Level::Concurrency(1)));
        let out =
            run_levels(&input(&workload, &load, 24), Arc::new(provider(sim.base_url())), &Cancel::default()).await;
        let loads: Vec<u32> = out.levels.iter().map(|l| l.concurrency).collect();
        assert_eq!(loads, [1, 2, 4, 3], "the ladder stops at the first failure past capacity 2, then bisects");
        let sweep = out.sweep.unwrap();
        let search = sweep.search.expect("an automatic sweep searches");
        assert_eq!((search.answer, search.bracket), (Some(2.0), Some([2.0, 3.0])), "{search:?}");
        assert_eq!(search.levels_tried, 4);
        // A level past capacity stops once it cannot meet its SLOs any more.
        let over = &out.levels[2];
        assert!(over.requests.attempted < 24, "{:?}", over.requests);
        assert!(over.warnings.iter().any(|w| w.starts_with("stopped early")), "{:?}", over.warnings);
        assert!(!out.partial, "stopping a hopeless level is not an interruption");
    }

    #[test]
    fn a_long_timed_level_cycles_a_bounded_pool_of_requests() {
        let workload = Workload::synthetic().input_tokens(16);
        let mut load = plan(Shape::Levels(vec![Level::Rate(200.0)]));
        load.duration = Some(std::time::Duration::from_secs(3600));
        let prepared = prepare(&input(&workload, &load, 40), Stretch::Level(Level::Rate(200.0), 0));
        assert!(prepared.total.is_some_and(|n| n > 700_000), "an hour at 200/s is scheduled: {:?}", prepared.total);
        assert_eq!(prepared.pool.requests.len() as u64, DURATION_POOL + 4, "256 measured + 4 warm-up, cycled");
        load.duration = None;
        let prepared = prepare(&input(&workload, &load, 40), Stretch::Level(Level::Rate(200.0), 0));
        assert_eq!(prepared.pool.requests.len(), 44, "a count-bounded level prepares each of its requests");
    }

    /// A port nothing listens on: bound, then let go.
    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").port()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dead_endpoint_stops_the_level_early_saying_why() {
        let workload = Workload::synthetic().input_tokens(16);
        let load = plan(Shape::Levels(vec![Level::Concurrency(4), Level::Concurrency(8)]));
        let provider = Arc::new(provider(format!("http://127.0.0.1:{}/v1", closed_port())));
        let started = std::time::Instant::now();
        let out = run_levels(&input(&workload, &load, 5000), provider, &Cancel::default()).await;
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
        assert_eq!(out.levels.len(), 1, "the levels after a dead endpoint's are not run");
        assert!(!out.partial, "stopping at a dead endpoint is not an interruption");
        let level = &out.levels[0];
        assert_eq!(level.stopped_early.as_deref(), Some("dead_endpoint"));
        assert!(
            level.warnings.iter().any(|w| w.contains("the endpoint looks dead") && w.contains("connection failed")),
            "{:?}",
            level.warnings
        );
        // At most the run of failures, what was in flight, and one more
        // dispatched as the stop came.
        let n = out.records.len() as u64;
        assert!((u64::from(DEAD_AFTER)..=u64::from(DEAD_AFTER) + 9).contains(&n), "{n} records");
        let measured = out.records.iter().filter(|r| r.phase == Phase::Measured).count() as u64;
        let c = &level.requests;
        assert_eq!(c.attempted + c.cut_by_llmbench, measured, "{c:?}");
        assert_eq!((c.failed, c.by_class.get("server").copied().unwrap_or(0)), (c.attempted, c.attempted), "{c:?}");
        for r in &out.records {
            let e = r.error.as_ref().expect("nothing succeeds against a closed port");
            let cut = e.class == ErrorClass::CutAtEnd && e.message == load::DEAD_ENDPOINT;
            assert!(cut || is_connection_failure(e), "{e}");
        }
    }

    #[test]
    fn only_an_unbroken_run_of_connection_failures_is_a_dead_endpoint() {
        let stop = Cancel::default();
        let watch = DeadEndpoint { inner: Arc::new(load::Quiet), failures: AtomicU32::new(0), stop: stop.clone() };
        let with = |class, message: &str| RequestRecord {
            error: Some(RequestError::new(class, message)),
            ..RequestRecord::default()
        };
        let refused = with(ErrorClass::Server, "connection failed: tcp connect error: Connection refused");
        for _ in 1..DEAD_AFTER {
            watch.request_done(&refused);
        }
        // A success, or a failure from a server that answered, breaks the run.
        watch.request_done(&RequestRecord::default());
        for _ in 1..DEAD_AFTER {
            watch.request_done(&refused);
        }
        watch.request_done(&with(ErrorClass::Server, "internal server error"));
        for _ in 1..DEAD_AFTER {
            watch.request_done(&refused);
        }
        // llmbench's own cuts neither break nor extend it.
        watch.request_done(&with(ErrorClass::CutAtEnd, load::CUT_AT_END));
        assert!(!stop.is_cancelled());
        watch.request_done(&with(ErrorClass::Timeout, "connect timed out: deadline"));
        assert!(stop.is_cancelled());
        assert_eq!(stop.reason(), Some(load::DEAD_ENDPOINT));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn finished_requests_reach_the_partial_records_before_the_run_is_written() {
        use crate::results::partial::{FLUSH_EVERY, PartialRecords};
        let sim = sim(64).await;
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let partial = PartialRecords::start(&tmp.path().join("new")).expect("the partial records");
        let workload = Workload::synthetic().input_tokens(16);
        let load = plan(Shape::Levels(vec![Level::Concurrency(2), Level::Concurrency(4)]));
        let mut levels = input(&workload, &load, 12);
        levels.records = partial.sink();
        let out = run_levels(&levels, Arc::new(provider(sim.base_url())), &Cancel::default()).await;
        // The process dies here, before the run is written: within a
        // second, every finished request is on disk, one JSON line each.
        tokio::time::sleep(FLUSH_EVERY + std::time::Duration::from_millis(300)).await;
        let text = std::fs::read_to_string(tmp.path().join("new.partial.jsonl")).expect("the partial file");
        let mut kept: Vec<RequestRecord> =
            text.lines().map(|l| serde_json::from_str(l).expect("each line a whole record")).collect();
        let key = |r: &RequestRecord| (r.level, r.index);
        kept.sort_by_key(key);
        let mut expected = out.records.clone();
        expected.sort_by_key(key);
        assert_eq!(kept.len(), 2 * (12 + 4), "warm-up and measured requests of both levels");
        assert_eq!(kept.iter().map(key).collect::<Vec<_>>(), expected.iter().map(key).collect::<Vec<_>>());
        assert!(kept.iter().zip(&expected).all(|(k, e)| k.e2e_ms == e.e2e_ms && k.phase == e.phase));
    }

    #[test]
    fn bisection_stops_within_the_tolerance() {
        use Level::{Concurrency as C, Rate as R};
        assert_eq!(midpoint(C(8), C(16)), Some(C(12)));
        assert_eq!(midpoint(C(8), C(9)), None, "one apart: done");
        assert_eq!(midpoint(R(10.0), R(20.0)), Some(R(15.0)));
        assert_eq!(midpoint(R(10.0), R(10.4)), None, "within 5%: done");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn open_levels_and_checks_end_to_end() {
        let sim = sim(64).await;
        let workload = Workload::synthetic().input_tokens(16).check_regex("^never matches$");
        let load = plan(Shape::Levels(vec![Level::Rate(100.0)]));
        let out =
            run_levels(&input(&workload, &load, 30), Arc::new(provider(sim.base_url())), &Cancel::default()).await;
        let level = &out.levels[0];
        assert_eq!(level.rate, Some(100.0));
        assert_eq!(level.concurrency, 0);
        assert_eq!(level.requests.by_class.get("check"), Some(&30));
        let c = level.correctness.as_ref().unwrap();
        assert_eq!((c.checked, c.passed), (30, 0));
        assert_eq!(level.goodput.as_ref().unwrap().good, 0, "wrong answers are never good");
        let check = level.load.as_ref().unwrap();
        assert_eq!(check.mode, "open");
        assert!((check.offered_rate.unwrap() - 100.0).abs() < 1.0, "{check:?}");
        assert!(
            out.records.iter().filter(|r| r.phase == Phase::Measured).all(|r| r.text.is_some()),
            "failed checks keep their text"
        );
    }
}
