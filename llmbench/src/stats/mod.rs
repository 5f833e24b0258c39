//! Statistics over request records: HdrHistogram summaries per metric and
//! the per-level figures of docs/metrics.md. Knows nothing of providers.

pub mod compare;
mod connections;
pub(crate) mod goodput;
pub(crate) mod knee;
mod level;
pub(crate) mod level_cost;
pub(crate) mod selfcheck;
pub(crate) mod sessions;
pub(crate) mod summary;
mod traffic;

pub use crate::load::cpu::CpuUse;
pub use compare::ChangeKind;
pub use connections::ConnectionSummary;
pub use goodput::{Correctness, Goodput};
pub use knee::{Knee, Search, SweepAnalysis};
pub use level::{InFlight, LevelSummary, RequestCounts};
pub(crate) use level::{SummaryTally, short_number, summarize_level};
pub use selfcheck::LoadCheck;
pub use sessions::{RequestFigures, SessionsSummary, TurnSummary};
pub use summary::LatencySummary;
pub use traffic::CacheSummary;

/// Which stage of a staged (or spike) run a level row covers.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StageInfo {
    /// 1-based stage number.
    pub index: u32,
    /// When the stage starts, seconds from the level's start.
    pub start_s: f64,
    /// How long it lasts, seconds.
    pub duration_s: f64,
    /// The load at its start (requests/s or concurrency).
    pub from: f64,
    /// The load at its end.
    pub to: f64,
}
