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
/// Every option is checked at compile time (except the value of `ignore`,
/// which is evaluated when the benchmark runs, and the text of `rate`,
/// `stages`, `sweep` and `slo`, which the same parser as `llmbench.toml` and
/// the flags checks before any request is sent, naming this file and line,
/// exit code 2); a mistake is a compile error
/// pointing at the option, and the function itself still compiles so the
/// rest of the file keeps working in an IDE. Applying the attribute twice to
/// one function is an error.
///
/// # Options
///
/// - [`name`](#name): the benchmark id, instead of the function name
/// - [`samples`](#samples): measured requests per concurrency level
/// - [`warmup`](#warmup): discarded warm-up requests
/// - [`concurrency`](#concurrency): the concurrency levels to sweep
/// - [`targets`](#targets): the endpoints to run against by default
/// - [`timeout`](#timeout): the per-request deadline
/// - [`rate`](#rate): open loop at a request rate (or a list of rates)
/// - [`arrival`](#arrival): how open-loop arrivals are spread (constant, Poisson, gamma)
/// - [`duration`](#duration) and [`grace`](#grace): time-bounded levels and how they end
/// - [`stages`](#stages): ramps, holds and spikes of rate or concurrency
/// - [`sweep`](#sweep): load levels to find the knee and the most load meeting the SLOs
/// - [`max_in_flight`](#max_in_flight): a cap on open-loop requests in flight
/// - [`slo`](#slo): the SLOs that goodput counts
/// - [`check`](#check): a Rust check of every response
/// - [`params`](#params): a parameter grid, one sub-benchmark per combination
/// - [`limits`](#limits): thresholds and budgets that fail the run (exit 3)
/// - [`ignore`](#ignore): skip the benchmark when a condition holds at run time
/// - [`crate`](#crate): where to find `llmbench` when it is renamed
///
/// An option left out takes its value from `llmbench.toml` or the command
/// line, then from llmbench's defaults. Each option may be given once.
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
/// ## `samples`
///
/// How many requests are measured at each concurrency level: an integer
/// literal, at least 1. Percentiles need many samples (p99 means little below
/// 100), so raise it for tail latencies.
///
/// ```ignore
/// #[llm_bench(samples = 500)]
/// fn tail_latency() -> Workload {
///     Workload::synthetic().output_tokens(50)
/// }
/// ```
///
/// ## `warmup`
///
/// How many requests are sent and discarded before measuring, to get past
/// cold starts, connection set-up and caches: an integer literal, 0 or more.
/// `warmup = 0` measures from the very first request.
///
/// ```ignore
/// #[llm_bench(warmup = 10)]
/// fn warmed_up() -> Workload {
///     Workload::synthetic().output_tokens(200)
/// }
/// ```
///
/// ## `concurrency`
///
/// The concurrency levels to run, in order: how many requests are kept in
/// flight at once (closed loop). A list of distinct integer literals, each at
/// least 1; a single level may be written without brackets
/// (`concurrency = 4`). Each level is measured and reported separately.
///
/// ```ignore
/// #[llm_bench(concurrency = [1, 8, 32])]
/// fn under_load() -> Workload {
///     Workload::synthetic().output_tokens(200)
/// }
/// ```
///
/// ## `targets`
///
/// The targets (endpoints declared in `llmbench.toml`) this benchmark runs
/// against when the command line names none. A list of distinct, non-empty
/// string literals; a single target may be written without brackets. Leave it
/// out to use the configured default target.
///
/// ```ignore
/// #[llm_bench(targets = ["local", "haiku"])]
/// fn side_by_side() -> Workload {
///     Workload::synthetic().output_tokens(200)
/// }
/// ```
///
/// ## `timeout`
///
/// The deadline of each request, from its start to the end of the stream; a
/// request past it counts as a `timeout` error. A string of an integer and a
/// unit, `ms`, `s` or `m` (`"500ms"`, `"30s"`, `"2m"`), or an integer
/// literal of seconds (`timeout = 30`). It must be greater than zero.
///
/// ```ignore
/// #[llm_bench(timeout = "2m")]
/// fn long_answers() -> Workload {
///     Workload::synthetic().output_tokens(4000)
/// }
/// ```
///
/// ## `rate`
///
/// Open loop: requests start on a schedule, whatever the server does, as
/// independent users would; latency counts from each request's scheduled
/// instant. A string such as `"20/s"`, `"1200/m"`, or a list of them
/// (`rate = ["5/s", "10/s"]`), one level per rate. Checked when the
/// benchmark runs (a bad value names this file and line).
///
/// ```ignore
/// #[llm_bench(rate = "20/s", samples = 500)]
/// fn steady_traffic() -> Workload {
///     Workload::synthetic().output_tokens(200)
/// }
/// ```
///
/// ## `arrival`
///
/// How open-loop arrivals are spread: `"constant"` (exactly every 1/rate),
/// `"poisson"` (the default) or `"gamma:<burstiness>"`, vLLM's
/// `--burstiness`: gaps are Gamma(shape = b, scale = 1/(rate·b)), so b < 1
/// is burstier than Poisson and b > 1 smoother.
///
/// ```ignore
/// #[llm_bench(rate = "20/s", arrival = "gamma:0.5")]
/// fn bursty() -> Workload {
///     Workload::synthetic()
/// }
/// ```
///
/// ## `duration`
///
/// Run each level for this long instead of a number of requests (`"30s"`,
/// `"2m"`, or an integer of seconds). Requests still in flight at the end
/// get the [`grace`](#grace) period, then are recorded as class `cut`;
/// throughput counts only what completed inside the window.
///
/// ## `grace`
///
/// How long requests in flight at the end of a duration-bounded level may
/// still finish before they are cut. Default 30 s, at most the timeout.
///
/// ```ignore
/// #[llm_bench(rate = "50/s", duration = "2m", grace = "10s")]
/// fn two_minutes() -> Workload {
///     Workload::synthetic()
/// }
/// ```
///
/// ## `stages`
///
/// k6-style stages: each `<duration>@<target>` ramps linearly from the
/// previous target to its own over its duration (the first holds; a leading
/// bare target sets the start; `0s` is a jump). Rates (`"30s@5/s, 1m@50/s"`)
/// drive an open loop, bare integers (`"20s@4, 1m@32"`) a closed one.
/// `"spike:<base>*<factor>[:<total>]"` is the spike preset: the base load,
/// an instant jump to base × factor for 20 % of the time, and back. Each
/// stage is reported as its own row.
///
/// ```ignore
/// #[llm_bench(stages = "spike:10/s*5:1m")]
/// fn flash_sale() -> Workload {
///     Workload::synthetic()
/// }
/// ```
///
/// ## `sweep`
///
/// Load levels run in turn and analysed for the knee (where p99 TTFT or
/// E2E jumps) and the most load meeting the SLOs: a list of concurrencies
/// (`sweep = [1, 2, 4, 8]`), of rates (`sweep = ["5/s", "10/s"]`), `"auto"`
/// (doubling until the knee; `"auto:rate"` for rates) or `"3x:<expected>"`
/// (0.25×, 0.5×, 1×, 2× and 3× an expected load).
///
/// ```ignore
/// #[llm_bench(sweep = "3x:20/s", slo = "ttft <= 800ms, goodput >= 99%")]
/// fn capacity_plan() -> Workload {
///     Workload::synthetic()
/// }
/// ```
///
/// ## `max_in_flight`
///
/// Open loop: at most this many requests in flight; later ones wait for a
/// slot, and the wait counts in their latency. An integer, at least 1.
///
/// ## `slo`
///
/// The SLOs goodput counts: per request (`"ttft <= 500ms"`; metrics ttft,
/// ttfo, tpot, ntpot, e2e, queue, itl), per level (`"p99 e2e <= 2s"`) and
/// the share of good requests a level needs (`"goodput >= 99%"`); a string
/// or a list of strings. Default `ttft <= 500ms, tpot <= 100ms, goodput >= 99%`.
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
/// ## `params`
///
/// A grid of generation parameters (`temperature`, `top_p`, `max_tokens`,
/// `output_tokens`, `input_tokens`, `seed`, `exact_output`), each with a
/// list of literal values. Every combination runs as a sub-benchmark with
/// the id `name/key=value/key=value`, compared side by side.
///
/// ```ignore
/// #[llm_bench(params = { temperature = [0.0, 0.7], max_tokens = [256, 1024] })]
/// fn summarise() -> Workload {
///     Workload::synthetic().input_tokens(800)
/// }
/// ```
///
/// ## `limits`
///
/// Limits checked on every run of this benchmark, on every target and
/// load level, besides those of `llmbench.toml` and `--limit`. A list
/// of distinct string literals (or a single one); each is an absolute
/// threshold (`"ttft.p90<=500ms"`, `"error_rate<=1%"`,
/// `"output_tok_per_s>=100"`) or a budget relative to the baseline
/// (`"ttft.p50=+5%"`). A failed limit makes the run exit with code 3 and
/// says which limit, the measured value and the baseline. The grammar is in
/// `llmbench::gate` (docs/gate.md); a string that is not a limit is a
/// compile error, a malformed one an error (exit 2) when the benchmark
/// binary starts, before any request is sent.
///
/// ```ignore
/// #[llm_bench(limits = ["ttft.p90<=500ms", "error_rate<=1%", "ttft.p50=+10%"])]
/// fn with_an_slo() -> Workload {
///     Workload::synthetic().output_tokens(200)
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
