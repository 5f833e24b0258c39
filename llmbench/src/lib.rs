//! Criterion-style benchmarks for LLM inference endpoints.
//!
//! Declare prompt workloads with [`llm_bench`] in `benches/`, run them with
//! `cargo llmbench`, and get TTFT, TPOT, ITL, E2E, throughput and errors per
//! benchmark and per endpoint. See the README for a quickstart.
#![warn(missing_docs)]

#[doc(hidden)]
pub mod calibrate;
pub mod exit_code;
pub(crate) mod metric;
pub mod record;
pub(crate) mod units;
pub mod workload;

pub(crate) mod baseline;
pub(crate) mod cli;
pub(crate) mod config;
pub mod cost;
pub(crate) mod delay;
pub(crate) mod engine;
pub mod gate;
pub(crate) mod interrupt;
pub(crate) mod load;
#[cfg(any(feature = "mock", all(test, feature = "_eventstream")))]
pub mod mock;
pub(crate) mod process;
pub(crate) mod provider;
pub(crate) mod redact;
pub mod report;
pub(crate) mod request;
pub mod results;
pub(crate) mod rng;
pub(crate) mod settings;
pub mod sim;
pub mod stats;
pub(crate) mod term;
pub mod tokenizer;
pub(crate) mod wire;

pub use engine::registry::BenchDef;
pub use llmbench_macros::llm_bench;
pub use request::{GenRequest, Image, Message, ReasoningEffort, Role, Tool, ToolCall};
pub use workload::{Check, LengthClass, Response, Tokens, Workload};

/// Everything a benchmark file needs: `use llmbench::prelude::*;`.
pub mod prelude {
    pub use crate::llm_bench;
    pub use crate::request::{ReasoningEffort, Tool};
    pub use crate::sim::Delay;
    pub use crate::workload::{Check, LengthClass, Response, Tokens, Workload};
}

/// Expands to the `main` of a benchmark binary (`harness = false`).
///
/// ```ignore
/// use llmbench::prelude::*;
/// #[llm_bench]
/// fn hello() -> Workload { Workload::synthetic() }
/// llmbench::main!();
/// ```
#[macro_export]
macro_rules! main {
    () => {
        fn main() {
            ::std::process::exit($crate::__private::bench_main(env!("CARGO_MANIFEST_DIR")));
        }
    };
}

/// Runs `cargo llmbench` with the process arguments; the `cargo-llmbench`
/// binary is this call and nothing else.
pub fn cargo_llmbench_main() -> i32 {
    cli::main()
}

/// Not public API: the entry points of the fuzz targets (`fuzz/`) and of
/// the corpus replay test; wrappers over the harness's own input paths.
#[doc(hidden)]
#[path = "fuzz.rs"]
pub mod __fuzz;

#[cfg(test)]
mod layers_tests;

/// Not public API: what `#[llm_bench]` and `main!` expand to.
#[doc(hidden)]
pub mod __private {
    pub use crate::engine::registry::BenchDef;
    pub use crate::settings::setting_keys;
    pub use crate::workload::{CheckOutcome, Response, Workload};
    pub use inventory;

    /// Gives a `check = |resp| …` closure its parameter type.
    pub fn as_check<F, R>(f: F) -> F
    where
        F: Fn(&Response<'_>) -> R,
        R: CheckOutcome,
    {
        f
    }

    /// A check's return value as `Ok` or the reason it failed.
    pub fn check_outcome<R: CheckOutcome>(r: R) -> Result<(), String> {
        r.into_outcome()
    }

    /// The settings of a benchmark's attribute as the JSON llmbench reads
    /// them, or the error it would report (exit 2).
    pub fn settings_json(def: &BenchDef) -> Result<serde_json::Value, String> {
        def.layer().map(|l| serde_json::Value::Object(l.to_map())).map_err(|e| e.to_string())
    }

    /// The registered benchmarks, sorted.
    pub fn registry() -> Vec<&'static BenchDef> {
        crate::engine::registry::all()
    }

    /// The body of a benchmark binary's `main`; returns the exit code.
    pub fn bench_main(manifest_dir: &'static str) -> i32 {
        crate::cli::bench::main(manifest_dir)
    }
}
