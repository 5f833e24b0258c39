//! How a trace workload's stretch is driven: open loop at the trace's own
//! timestamps, its clock scaled by `replay_speed` — or, at a rate level, to
//! that mean rate — so bursts and lulls are replayed as they happened, and
//! latency counts from each request's traced instant like every open loop
//! (coordinated omission). Request `i` of the level is the trace's `i`-th;
//! the first `warmup` are warm-up (docs/load.md "Trace replay").

use std::sync::Arc;
use std::time::Duration;

use super::levels::{LevelsInput, Pool, Prepared, Stretch};
use crate::load::sweep::Level;
use crate::load::{Drive, OpenPlan};
use crate::settings::ReplaySpeed;

/// The most requests a duration-bounded replay schedules.
const MAX_REPLAY: u64 = 1_000_000;

/// The replayed requests of a stretch and their schedule.
pub(super) fn prepare(input: &LevelsInput<'_>, stretch: Stretch<'_>) -> Prepared {
    let plan = input.load;
    let (samples, warmup) = (u64::from(input.samples), u64::from(input.warmup));
    let speed = match stretch {
        Stretch::Level(Level::Rate(r), _) => ReplaySpeed::Rate(r),
        _ => plan.replay_speed.unwrap_or_default(),
    };
    let end = match stretch {
        Stretch::Stages(stages) => Some(stages.total()),
        Stretch::Level(..) => plan.duration,
    };
    // A shard replays its own requests of the trace (every `stride`-th from
    // `first`, as its requests are numbered) at their traced instants.
    let (stride, first) = input.workload.shard_stride();
    let traced = |n: u64| -> Vec<Duration> {
        let all = input.workload.trace_offsets(n.saturating_mul(stride), speed);
        all.into_iter().skip(first as usize).step_by(stride as usize).collect()
    };
    let offsets: Vec<Duration> = match end {
        None => traced(samples + warmup),
        Some(end) => {
            // Every traced request due inside the window (the trace is
            // replayed again from its start if it is shorter).
            let mut n = input.workload.trace_len().unwrap_or(1) as u64;
            loop {
                let offsets = traced(n);
                if offsets.last().is_none_or(|o| *o >= end) || n >= MAX_REPLAY {
                    break offsets.into_iter().filter(|o| *o < end).collect();
                }
                n = (n * 2).min(MAX_REPLAY);
            }
        }
    };
    let n = offsets.len() as u64;
    let ids: Vec<u64> = (0..n).collect();
    let requests = Arc::new(ids.iter().map(|&i| input.workload.request(i)).collect());
    let drive = Drive::Open(OpenPlan {
        offsets: offsets.into(),
        warmup: warmup.min(n),
        max_in_flight: plan.max_in_flight,
        end,
        grace: plan.grace,
        client_cores: input.client_cores,
    });
    Prepared { pool: Pool { requests, ids }, drive, label: format!("{} replay {speed}", input.label), total: Some(n) }
}

/// The mean rate a replay offered: requests over the span of their
/// schedule, per second.
pub(super) fn offered_rate(drive: &Drive) -> Option<f64> {
    let Drive::Open(plan) = drive else { return None };
    let span = plan.offsets.last()?.as_secs_f64();
    (plan.offsets.len() > 1 && span > 0.0).then(|| (plan.offsets.len() - 1) as f64 / span)
}
