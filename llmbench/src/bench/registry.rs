//! The benchmark registry: what `#[llm_bench]` submits through `inventory`.

use crate::workload::Workload;

/// One benchmark, as declared by `#[llm_bench]`.
///
/// Not public API: built only by the macro's expansion through
/// `llmbench::__private`. Every field is const-constructible so the macro can
/// hand it to `inventory::submit!`.
#[doc(hidden)]
#[derive(Debug)]
pub struct BenchDef {
    /// The benchmark id: the function name, or the `name = "…"` option.
    pub name: &'static str,
    /// `module_path!()` where the function lives.
    pub module_path: &'static str,
    /// `file!()` where the function lives.
    pub file: &'static str,
    /// `line!()` of the function.
    pub line: u32,
    /// Builds the workload.
    pub workload: fn() -> Workload,
    /// Measured requests per concurrency level (`samples = N`).
    pub samples: Option<u32>,
    /// Warm-up requests, discarded (`warmup = N`).
    pub warmup: Option<u32>,
    /// Concurrency levels (`concurrency = [1, 8]`); empty means the default.
    pub concurrency: &'static [u32],
    /// Targets this benchmark runs against by default (`targets = ["a"]`).
    pub targets: &'static [&'static str],
    /// Per-request total timeout in milliseconds (`timeout = "30s"`).
    pub timeout_ms: Option<u64>,
    /// Limits checked on every run (`limits = ["ttft.p90<=500ms"]`),
    /// validated when the benchmark binary starts.
    pub limits: &'static [&'static str],
    /// Skips the benchmark at runtime when it returns true (`ignore = expr`).
    pub ignore: Option<fn() -> bool>,
}

inventory::collect!(BenchDef);

/// Every registered benchmark, sorted by name then source location, so runs
/// and listings do not depend on link order (inventory's is unspecified).
pub(crate) fn all() -> Vec<&'static BenchDef> {
    let mut defs: Vec<&'static BenchDef> = inventory::iter::<BenchDef>.into_iter().collect();
    defs.sort_by(|a, b| (a.name, a.file, a.line).cmp(&(b.name, b.file, b.line)));
    defs
}
