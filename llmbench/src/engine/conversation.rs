//! How a conversation workload's stretch is driven: sessions instead of
//! requests. A concurrency level keeps that many sessions in flight, a rate
//! level starts that many sessions per second (turns then follow their
//! think times), stages follow their profile; `samples` and `warmup` count
//! sessions (docs/load.md "Conversations").

use std::sync::Arc;

use super::levels::{LevelsInput, Pool, Prepared, Stretch, constant_rate, level_label};
use crate::load::Drive;
use crate::load::closed::Concurrency;
use crate::load::schedule::{self, Rate};
use crate::load::sessions::{SessionPlan, Starts};
use crate::load::sweep::Level;

/// The sessions of a stretch and how they start.
pub(super) fn prepare(input: &LevelsInput<'_>, stretch: Stretch<'_>) -> Prepared {
    let plan = input.load;
    let (samples, warmup) = (u64::from(input.samples), u64::from(input.warmup));
    let workload = Arc::new(input.workload.clone());
    let sessions = |starts, total, end| {
        Drive::Sessions(SessionPlan {
            workload: workload.clone(),
            warmup,
            starts,
            total,
            end,
            grace: plan.grace,
            client_cores: input.client_cores,
        })
    };
    let drive = match stretch {
        Stretch::Level(Level::Concurrency(c), _) => {
            let total = plan.duration.is_none().then_some(samples + warmup);
            sessions(Starts::Closed(Concurrency::Fixed(c)), total, plan.duration)
        }
        Stretch::Level(Level::Rate(r), k) => {
            let seed = 0x5E55_0000 + k;
            let offsets = match plan.duration {
                Some(d) => schedule::profiled(&constant_rate(r, d).profile(), plan.arrival, seed),
                None => schedule::stationary(Rate(r), plan.arrival, samples + warmup, seed),
            };
            sessions(Starts::Open(offsets.into()), None, plan.duration)
        }
        Stretch::Stages(stages) if stages.is_rate() => {
            let offsets = schedule::profiled(&stages.profile(), plan.arrival, 0x5E55_57A6);
            sessions(Starts::Open(offsets.into()), None, Some(stages.total()))
        }
        Stretch::Stages(stages) => {
            sessions(Starts::Closed(Concurrency::Profile(stages.profile())), None, Some(stages.total()))
        }
    };
    let pool = Pool { requests: Arc::new(Vec::new()), ids: Vec::new() };
    // Progress counts requests, and a session's turn count is drawn as it
    // runs: no total to count towards.
    Prepared { pool, drive, label: level_label(input, stretch), total: None }
}
