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
    /// Open-loop rate(s) (`rate = "20/s"`; a list is a sweep of rates).
    pub rate: Option<&'static str>,
    /// Arrival process (`arrival = "poisson"`).
    pub arrival: Option<&'static str>,
    /// Duration-bounded levels, in milliseconds (`duration = "30s"`).
    pub duration_ms: Option<u64>,
    /// Grace after a duration-bounded level, in milliseconds (`grace = "10s"`).
    pub grace_ms: Option<u64>,
    /// Stages DSL (`stages = "30s@5/s, 1m@50/s"`).
    pub stages: Option<&'static str>,
    /// Sweep DSL (`sweep = [1, 2, 4]`, `"auto"`, `"3x:20/s"`).
    pub sweep: Option<&'static str>,
    /// Cap on requests in flight in open loop (`max_in_flight = 64`).
    pub max_in_flight: Option<u32>,
    /// SLO list (`slo = "ttft <= 500ms, goodput >= 99%"`).
    pub slo: Option<&'static str>,
    /// A response check (`check = |resp| …`).
    pub check: Option<crate::workload::CheckFn>,
    /// A parameter grid (`params = { temperature = [0.0, 0.7] }`): each
    /// combination is a sub-benchmark `name/key=value/…`.
    pub params: &'static [(&'static str, &'static [&'static str])],
}

inventory::collect!(BenchDef);

/// Every registered benchmark, sorted by name then source location, so runs
/// and listings do not depend on link order (inventory's is unspecified).
pub(crate) fn all() -> Vec<&'static BenchDef> {
    let mut defs: Vec<&'static BenchDef> = inventory::iter::<BenchDef>.into_iter().collect();
    defs.sort_by(|a, b| (a.name, a.file, a.line).cmp(&(b.name, b.file, b.line)));
    defs
}
