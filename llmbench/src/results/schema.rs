//! `summary.json`, format version 2. Documented in `docs/results-schema.md`;
//! any change to these types bumps [`FORMAT_VERSION`]. Version 2 gave the
//! requests llmbench itself cut their own classes (`cut_at_end`,
//! `interrupted`, formerly `cut` with a message); version 1 runs and
//! baselines still load (see `results::read_requests`).

use serde::{Deserialize, Serialize};

use crate::config::TargetIdentity;
use crate::stats::LevelSummary;

/// The version of the results format written by this build.
pub const FORMAT_VERSION: u32 = 2;

/// The oldest results format this build reads.
pub const OLDEST_READABLE: u32 = 1;

/// One benchmark × target run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    /// [`FORMAT_VERSION`] at write time.
    pub format_version: u32,
    /// The tool that wrote it.
    pub tool: ToolInfo,
    /// Which benchmark.
    pub bench: BenchInfo,
    /// Which endpoint (no secrets).
    pub target: TargetIdentity,
    /// What was sent (the workload definition, seed included).
    pub workload: serde_json::Value,
    /// How it was run.
    pub settings: RunSettings,
    /// Start time, RFC 3339 UTC.
    pub started_at: String,
    /// Wall time of the whole run, seconds.
    pub duration_s: f64,
    /// The run was interrupted: levels hold what completed.
    pub partial: bool,
    /// The very first request, kept apart from the samples.
    pub cold_start: Option<ColdStart>,
    /// One entry per concurrency level.
    pub levels: Vec<LevelSummary>,
    /// The price the cost figures use; absent when no price is known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub price: Option<crate::cost::Price>,
    /// A sweep's knee and the most load meeting the SLOs (runs of two or
    /// more load levels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<crate::stats::SweepAnalysis>,
}

/// Which saved run a comparison used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRef {
    /// `new`, a baseline name (`main`), or a path given to `compare`.
    pub name: String,
    /// When that run started (RFC 3339).
    pub started_at: String,
    /// The llmbench version that wrote it.
    pub version: String,
}

impl RunRef {
    /// A reference to `run` under `name`.
    pub fn new(name: &str, run: &RunSummary) -> RunRef {
        RunRef { name: name.to_owned(), started_at: run.started_at.clone(), version: run.tool.version.clone() }
    }
}

/// The tool and version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolInfo {
    /// `llmbench`.
    pub name: String,
    /// Its version.
    pub version: String,
}

impl ToolInfo {
    /// This build.
    pub fn current() -> Self {
        ToolInfo { name: "llmbench".into(), version: env!("CARGO_PKG_VERSION").into() }
    }
}

/// Where the benchmark is declared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchInfo {
    /// The benchmark id.
    pub id: String,
    /// Its Rust module.
    pub module_path: String,
    /// Its source file.
    pub file: String,
    /// Its line.
    pub line: u32,
}

/// The settings a run used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// Measured requests per level.
    pub samples: u32,
    /// Warm-up requests per level.
    pub warmup: u32,
    /// Concurrency levels.
    pub concurrency: Vec<u32>,
    /// Per-request total deadline, ms.
    pub timeout_ms: u64,
    /// Deadline for the first content, ms.
    pub first_content_timeout_ms: u64,
    /// The load shape: mode, rates, arrival, stages, duration, sweep, SLOs
    /// (absent for a plain closed loop from an older version).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<serde_json::Value>,
    /// `warm` or `fresh` (setting `connections`; absent from older versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<String>,
}

/// The first request of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColdStart {
    /// Its TTFT, ms, if content arrived.
    pub ttft_ms: Option<f64>,
    /// Its E2E, ms.
    pub e2e_ms: f64,
    /// Its error class, if it failed.
    pub error: Option<String>,
}

impl RunSummary {
    #[cfg(test)]
    pub(crate) fn example() -> Self {
        RunSummary {
            format_version: FORMAT_VERSION,
            tool: ToolInfo::current(),
            bench: BenchInfo { id: "b".into(), module_path: "m".into(), file: "f.rs".into(), line: 1 },
            target: TargetIdentity {
                name: "t".into(),
                provider: "sim".into(),
                model: "sim".into(),
                endpoint: "sim".into(),
            },
            workload: serde_json::json!({"kind": "synthetic"}),
            settings: RunSettings {
                samples: 1,
                warmup: 0,
                concurrency: vec![1],
                timeout_ms: 1000,
                first_content_timeout_ms: 1000,
                load: None,
                connections: None,
            },
            started_at: "2026-01-01T00:00:00Z".into(),
            duration_s: 1.0,
            partial: false,
            cold_start: None,
            levels: Vec::new(),
            price: None,
            sweep: None,
        }
    }
}
