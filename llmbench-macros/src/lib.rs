//! The `#[llm_bench]` attribute of [llmbench](https://docs.rs/llmbench).
//!
//! Depend on `llmbench` and use the attribute as `llmbench::llm_bench` (or
//! through `llmbench::prelude`); this crate is an implementation detail whose
//! expansion only makes sense next to `llmbench`'s hidden `__private` module.
#![warn(missing_docs)]

mod attr;
mod expand;

use proc_macro::TokenStream;

/// Registers a function returning a [`Workload`] as a benchmark.
///
/// The function is kept as written. The attribute adds a registration that
/// `llmbench::main!()` finds at startup (through `inventory`), so a bench file
/// needs no list of its benchmarks:
///
/// ```ignore
/// // benches/chat.rs   ([[bench]] name = "chat", harness = false)
/// use llmbench::prelude::*;
///
/// /// What users really send: short questions.
/// #[llm_bench(samples = 100, warmup = 10, concurrency = [1, 8, 32])]
/// fn short_questions() -> Workload {
///     Workload::synthetic().input_tokens(100..=200).output_tokens(200)
/// }
///
/// llmbench::main!();
/// ```
///
/// The function must be a free function with no parameters, not `async`,
/// `unsafe`, `extern` or generic, returning [`Workload`]: it only describes
/// what to send, and llmbench sends it. It may live in any module of the bench
/// file. Benchmarks are run and listed sorted by name, whatever their order in
/// the source.
///
/// # Options
///
/// Four options belong to the attribute: [`name`](#name), [`check`](#check),
/// [`ignore`](#ignore) and [`crate`](#crate). Every other option is a
/// [setting](#settings) of the benchmark, the same key as in `llmbench.toml`.
/// Each option may be given once.
///
/// A mistake the compiler can see is a compile error pointing at the option,
/// and the function itself still compiles so the rest of the file keeps
/// working in an IDE: an unknown option (with rustc's suggestion of the
/// nearest one), a duplicate, a value that is not a literal. A setting's
/// value is then checked by the same grammar as `llmbench.toml` and the
/// flags when the benchmark binary starts, before any request is sent: a bad
/// one is an error naming this file, line and key (exit code 2). Applying the
/// attribute twice to one function is an error.
///
/// ## `name`
///
/// The benchmark id used in listings, filters, result directories and
/// reports. Defaults to the function name; must be a non-empty string
/// literal.
///
/// ```ignore
/// #[llm_bench(name = "chat/short")]
/// fn short_questions() -> Workload {
///     Workload::synthetic().output_tokens(200)
/// }
/// ```
///
/// ## Settings
///
/// Every other option sets what `llmbench.toml` and the flags can set too;
/// flags and `[benches.NAME]` override the attribute, which overrides
/// `[targets.NAME]` and `[defaults]`. The keys, their values and defaults
/// are listed in docs/settings.md (and in `cargo llmbench --help`):
/// `samples`, `warmup`, `concurrency`, `targets`, `timeout`,
/// `first_content_timeout`, `connect_timeout`, `rate`, `arrival`,
/// `duration`, `grace`, `stages`, `sweep`, `max_in_flight`, `replay_speed`, `slo`,
/// `limits`, `project` and `params`. A value is a literal — a string, a
/// number, a boolean — or a list of them, read as in `llmbench.toml`; an
/// integer with a unit suffix is the duration it spells (`timeout = 30s`).
///
/// ```ignore
/// // Measured requests, discarded warm-up, closed-loop levels, targets.
/// #[llm_bench(samples = 500, warmup = 10, concurrency = [1, 8, 32], targets = ["local", "haiku"])]
/// fn under_load() -> Workload {
///     Workload::synthetic().output_tokens(200)
/// }
///
/// // Open loop: Poisson arrivals at two rates, each level two minutes.
/// #[llm_bench(rate = ["5/s", "10/s"], arrival = "poisson", duration = "2m", grace = "10s")]
/// fn steady_traffic() -> Workload {
///     Workload::synthetic()
/// }
///
/// // A spike, a sweep for the knee under SLOs.
/// #[llm_bench(stages = "spike:10/s*5:1m")]
/// fn flash_sale() -> Workload {
///     Workload::synthetic()
/// }
/// #[llm_bench(sweep = "3x:20/s", slo = "ttft <= 800ms, goodput >= 99%")]
/// fn capacity_plan() -> Workload {
///     Workload::synthetic()
/// }
///
/// // Limits that fail the run (exit 3), and a parameter grid: every
/// // combination runs as a sub-benchmark `name/key=value/…`.
/// #[llm_bench(
///     limits = ["ttft.p90<=500ms", "error_rate<=1%", "ttft.p50=+10%"],
///     params = { temperature = [0.0, 0.7], max_tokens = [256, 1024] }
/// )]
/// fn summarise() -> Workload {
///     Workload::synthetic().input_tokens(800)
/// }
/// ```
///
/// ## `check`
///
/// A check of every response: a closure or function taking
/// `&llmbench::Response` (its `text`, the dataset's `expected`,
/// `output_tokens`, `index`) and returning `bool` or `Result<(), E:
/// Display>`. A response that fails is class `check`, counted in the
/// level's correctness and never in its goodput.
///
/// ```ignore
/// #[llm_bench(check = |resp| resp.text.contains("refund"))]
/// fn refunds() -> Workload {
///     Workload::prompts(["My card was charged twice."])
/// }
/// ```
///
/// ## `ignore`
///
/// Skips the benchmark, reporting it as ignored, when the expression is
/// `true`. The expression is any `bool` expression; it is evaluated when the
/// benchmark binary runs, not at compile time, so it can check for a missing
/// API key or endpoint. Paths in it resolve as at the function's location.
///
/// ```ignore
/// #[llm_bench(targets = ["haiku"], ignore = std::env::var("AWS_PROFILE").is_err())]
/// fn bedrock_only() -> Workload {
///     Workload::synthetic().output_tokens(200)
/// }
/// ```
///
/// ## `crate`
///
/// The path to the `llmbench` crate, for when it is renamed in `Cargo.toml`
/// or re-exported by another crate. Defaults to `::llmbench`.
///
/// ```ignore
/// // Cargo.toml: bench = { package = "llmbench", version = "0.1" }
/// use bench::prelude::*;
///
/// #[llm_bench(crate = ::bench)]
/// fn renamed() -> Workload {
///     Workload::synthetic().output_tokens(200)
/// }
/// ```
///
/// [`Workload`]: https://docs.rs/llmbench/latest/llmbench/workload/struct.Workload.html
#[proc_macro_attribute]
pub fn llm_bench(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::llm_bench(args.into(), item.into()).into()
}
