//! Statistics over request records: HdrHistogram summaries per metric and
//! the per-level figures of METRICS.md. Knows nothing of providers.

pub mod compare;
mod level;
mod summary;

pub use level::{InFlight, LevelSummary, RequestCounts};
pub(crate) use level::summarize_level;
pub use summary::LatencySummary;
pub use compare::ChangeKind;
