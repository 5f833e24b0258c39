//! The cost figures of a level as its summary carries them
//! ([`LevelSummary::cost`](super::LevelSummary::cost)). Plain data: `cost`
//! computes them from the records and a price, and re-exports them.

use serde::{Deserialize, Serialize};

/// Tokens billed at one level, by kind (per-token billing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BilledTokens {
    /// Prompt tokens billed at the input rate (cache reads and writes excluded).
    pub input: u64,
    /// Prompt tokens billed at the cache-read rate.
    pub cache_read: u64,
    /// Prompt tokens billed at the cache-write rate.
    pub cache_write: u64,
    /// Output tokens (reasoning included).
    pub output: u64,
    /// Requests whose usage was priced (ok or failed).
    pub requests: u64,
}

/// The cost at a stated volume (`--project 1000/h`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Projection {
    /// The volume: successful requests per hour.
    pub requests_per_hour: f64,
    /// USD per hour at that volume.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cost_per_hour: Option<f64>,
    /// USD per month ([`HOURS_PER_MONTH`](crate::settings::HOURS_PER_MONTH) hours) at that volume.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cost_per_month: Option<f64>,
    /// Per-instance-hour billing: instances needed to serve the volume.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub instances_needed: Option<u64>,
    /// How the figures were reached, in words.
    pub basis: String,
}

/// The cost figures of one concurrency level (`cost` in `summary.json`).
/// A figure that cannot be computed (no ok request, nothing priced) is
/// absent rather than zero.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LevelCost {
    /// USD for the level's measured requests: Σ billed tokens × rates, or
    /// window × instances × rate.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cost_total: Option<f64>,
    /// `cost_total` / attempted.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cost_per_request: Option<f64>,
    /// `cost_total` / ok: failures still cost money; the number to budget on.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cost_per_ok_request: Option<f64>,
    /// `cost_total` / Σ output tokens of ok requests × 10⁶.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cost_per_1m_output_tokens: Option<f64>,
    /// Per-token billing: the tokens priced.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub billed_tokens: Option<BilledTokens>,
    /// Per-instance-hour billing: window × instances, hours.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub instance_hours: Option<f64>,
    /// The figures at `--project`'s volume.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub projection: Option<Projection>,
    /// What makes the figures approximate (usage missing, unpriced cache tokens…).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub warnings: Vec<String>,
}

impl LevelCost {
    /// A figure by its docs/metrics.md key (`cost_total`, `cost_per_request`,
    /// `cost_per_ok_request`, `cost_per_1m_output_tokens`), or a projection
    /// figure (`cost_per_hour`, `cost_per_month`, `instances_needed`).
    pub fn value(&self, key: &str) -> Option<f64> {
        let projection = self.projection.as_ref();
        match key {
            "cost_total" => self.cost_total,
            "cost_per_request" => self.cost_per_request,
            "cost_per_ok_request" => self.cost_per_ok_request,
            "cost_per_1m_output_tokens" => self.cost_per_1m_output_tokens,
            "cost_per_hour" => projection.and_then(|p| p.cost_per_hour),
            "cost_per_month" => projection.and_then(|p| p.cost_per_month),
            "instances_needed" => projection.and_then(|p| p.instances_needed).map(|n| n as f64),
            _ => None,
        }
    }
}
