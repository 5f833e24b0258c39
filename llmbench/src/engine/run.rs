//! Runs selected benchmarks against their targets: test mode (one request
//! each) or bench mode (cold start, then warm-up and samples per
//! concurrency level), then writes and prints the results.

use std::collections::BTreeMap;

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use serde_json::json;

use super::levels::{LevelsInput, run_levels};
use super::plan::{Job, descriptors_needed, plan};
use super::shard::{self, Sharding, Timing};
use super::sim_host::SimHost;
use super::verdict::Gate;
use super::{BenchSpec, Filter, Invocation, RunError};
use crate::config::Connection;
use crate::config::file::Config;
use crate::cost::PriceBook;
use crate::exit_code;
use crate::load::{self, Cancel, RequestOptions};
use crate::provider::Provider;
use crate::record::{Phase, RequestRecord};
use crate::report::ci::events;
use crate::report::terminal;
use crate::results::partial::PartialRecords;
use crate::results::{self, BenchInfo, ColdStart, FORMAT_VERSION, RunSettings, RunSummary, ToolInfo};
use crate::term;

/// Runs `benches` as `args` asks; returns the exit code.
pub(crate) fn run(args: &Invocation, config: &Config, benches: Vec<BenchSpec>) -> Result<i32, RunError> {
    let prices = PriceBook::load(config)?;
    let filter = Filter::new(&args.run)?;
    let mut jobs = Vec::new();
    for spec in benches.into_iter().map(Arc::new) {
        let planned = plan(&args.flags, config, &prices, &spec)?;
        jobs.extend(planned.into_iter().filter(|j| filter.selects_job(&spec.name, &j.id)));
    }
    if jobs.is_empty() {
        if let Some(f) = filter.text() {
            eprintln!("no benchmark matched {f:?}");
        }
        return Ok(exit_code::NO_BENCHMARKS);
    }
    let sharding = shard_jobs(args, &mut jobs)?;
    // Before anything is sent: a run that would run out of descriptors
    // would blame the endpoint for the client's limit.
    let fd_limit = crate::process::raise_fd_limit();
    if let Some(problem) = crate::process::fd_shortage(fd_limit, descriptors_needed(&jobs)) {
        return Err(RunError::Usage(problem));
    }
    let mut gate = Gate::new(args)?;
    if !args.test_mode {
        gate.preflight(&jobs.iter().map(planned_summary).collect::<Vec<_>>())?;
        if let Some(name) = gate.loading().map(str::to_owned) {
            return load_all(args, &mut gate, &jobs, &name);
        }
    }
    // Simulators and clients are built before the runtime starts: one
    // simulator per sim target, shared by the benchmarks that use it.
    let sims = start_sims(&jobs)?;
    let runtime = load::client_runtime(sims.len())
        .map_err(|e| RunError::Failed(format!("cannot start the async runtime: {e}")))?;
    // Clients are built on the runtime that will drive them (the AWS SDK
    // resolves credentials and region asynchronously).
    let providers = runtime.block_on(async {
        let mut providers: BTreeMap<String, Arc<Provider>> = BTreeMap::new();
        for job in &jobs {
            let name = &job.target.identity.name;
            if providers.contains_key(name) {
                continue;
            }
            let provider = super::connect::connect(&job.target, sims.get(name))
                .await
                .map_err(|e| RunError::Usage(format!("target {name}: {e}")))?;
            providers.insert(name.clone(), Arc::new(provider));
        }
        Ok::<_, RunError>(providers)
    })?;

    let code = runtime.block_on(async {
        if args.test_mode {
            test_all(&jobs, &providers).await
        } else {
            bench_all(args, &mut gate, &jobs, &providers, sims.len(), sharding.start_at).await
        }
    });
    drop(runtime);
    drop(sims);
    code
}

/// With `--shard`, each job becomes this shard's part of it.
fn shard_jobs(args: &Invocation, jobs: &mut [Job]) -> Result<Sharding, RunError> {
    let sharding = Sharding::resolve(args)?;
    if let Some(found) = &sharding.found {
        for job in jobs.iter_mut() {
            let whole = planned_summary(job);
            shard::split(job, found, &whole)?;
        }
        if !args.run.quiet {
            eprintln!(
                "shard {} (from {}): this process runs its part of each benchmark; merge the shards' results with \
                 `cargo llmbench merge`",
                found.shard, found.source
            );
        }
    }
    Ok(sharding)
}

/// One simulator per sim target, shared by the benchmarks that use it.
fn start_sims(jobs: &[Job]) -> Result<BTreeMap<String, SimHost>, RunError> {
    let mut sims: BTreeMap<String, SimHost> = BTreeMap::new();
    for job in jobs {
        let name = &job.target.identity.name;
        if let Connection::Sim { sim, .. } = &job.target.connection
            && !sims.contains_key(name)
        {
            let host = SimHost::start(sim.clone())
                .map_err(|e| RunError::Failed(format!("cannot start the simulator: {e}")))?;
            sims.insert(name.clone(), host);
        }
    }
    Ok(sims)
}

fn options(job: &Job, capture_text: bool) -> RequestOptions {
    RequestOptions {
        deadlines: job.target.deadlines,
        expected_chunks: job.workload.max_output_tokens() as usize,
        capture_text: capture_text || job.workload.has_checks() || job.bench.check.is_some(),
    }
}

/// Test mode: one request per benchmark × target, success or failure.
async fn test_all(jobs: &[Job], providers: &BTreeMap<String, Arc<Provider>>) -> Result<i32, RunError> {
    let mut failed = 0;
    for job in jobs {
        let name = &job.target.identity.name;
        term::print(&format!("Testing {} · {name}", job.id));
        let record = load::run_one(
            &providers[name],
            &job.workload.request(0),
            0,
            Phase::Measured,
            options(job, true),
            Instant::now(),
        )
        .await;
        let checked = match (&record.error, &record.text) {
            (None, Some(_)) if job.workload.has_checks() || job.bench.check.is_some() => {
                job.workload.check_record(0, &record, job.bench.check).err()
            }
            _ => None,
        };
        // Server and model text is redacted and made terminal-safe: it may
        // echo a key or carry escape sequences.
        if let Some(why) = checked {
            failed += 1;
            term::println(&format!("\nFAILED: check: {}", term::safe(&crate::redact::redact(&why))));
            continue;
        }
        match &record.error {
            None if record.chunks > 0 => term::println(&format!(
                "\nSuccess ({} output tokens, TTFT {:.1} ms)",
                record.output_tokens,
                record.ttft_ms.unwrap_or(0.0)
            )),
            None => {
                failed += 1;
                term::println("\nFAILED: the response had no content");
            }
            Some(e) => {
                failed += 1;
                term::println(&format!("\nFAILED: {}", term::safe(&e.to_string())));
            }
        }
    }
    Ok(if failed > 0 { exit_code::ERROR } else { exit_code::OK })
}

/// Bench mode: every job, results written and printed as each finishes.
async fn bench_all(
    args: &Invocation,
    gate: &mut Gate,
    jobs: &[Job],
    providers: &BTreeMap<String, Arc<Provider>>,
    reserved: usize,
    start_at: Option<crate::settings::StartAt>,
) -> Result<i32, RunError> {
    let cancel = Cancel::default();
    // SIGINT, SIGTERM, SIGHUP, a closed stdout: stop, keep, write (crate::interrupt).
    let watcher = crate::interrupt::watch(cancel.clone());
    // Descriptors kept back while requests run, so results can be written
    // even when the run exhausted them.
    let mut reserve = crate::process::FdReserve::hold();
    let root = args.results_root();
    let mut code = exit_code::OK;
    for (k, job) in jobs.iter().enumerate() {
        let provider = providers[&job.target.identity.name].clone();
        // The barrier lines up the first benchmark's load; later ones
        // follow on each shard as the one before ends.
        let barrier = start_at.filter(|_| k == 0);
        let out = bench_one(args, gate.json(), job, provider, &cancel, reserved, barrier).await;
        let dir = results::run_dir(&root, &job.id, &job.target.identity.name, results::NEW_DIR);
        let Measured { summary, mut records, complete, histograms, timing, mut partial } = out;
        gate.human(&terminal::table(&summary));
        reserve.release();
        let shard_label = job.shard.as_ref().map(|s| s.found.shard.label());
        if let Some(label) = &shard_label {
            records.iter_mut().for_each(|r| r.shard = Some(label.clone()));
        }
        // A long run keeps a sample in memory: every record is in its
        // crash-safe records, which the saved run is written from.
        let lines = if complete { None } else { partial.as_mut().and_then(PartialRecords::finish_writing) };
        let requests = match lines {
            Some(path) => results::Requests::Lines { path, shard: shard_label.as_deref() },
            None => {
                if !complete && !args.gate.discard_baseline {
                    eprintln!(
                        "warning: {} · {}: requests.jsonl holds a uniform sample of {} of the run's records (the file \
                         of all of them could not be written)",
                        job.id,
                        job.target.identity.name,
                        records.len()
                    );
                }
                results::Requests::Memory(&records)
            }
        };
        // Compares with the previous new/ before replacing it, then saves.
        gate.judge(&summary, &records, requests, &job.settings.limits)?;
        if let Some(s) = job.shard.as_ref().filter(|_| !args.gate.discard_baseline) {
            shard::write(&dir, s, timing, barrier, &summary, &histograms)?;
        }
        // Written whole: the records kept as they finished are not needed.
        // (A failed write above returned first and left them for recovery.)
        if let Some(partial) = partial {
            partial.remove();
        }
        reserve = crate::process::FdReserve::hold();
        if !args.run.quiet && !args.gate.discard_baseline {
            gate.human(&format!("results: {}\n", dir.display()));
        }
        if summary.partial {
            code = crate::interrupt::requested().map_or(exit_code::ERROR, |stop| stop.exit_code());
            break;
        }
        code = exit_code::combine(&[code, job_verdict(job, &summary, &records)]);
    }
    watcher.abort();
    reserve.release();
    // Run alone (`cargo bench`), the binary writes the report itself;
    // under `cargo llmbench` that writes one for all.
    if !args.under_parent && !args.run.noplot {
        crate::report::write_and_announce(
            &root,
            args.gate.baseline_dir.as_deref(),
            args.run.history.as_deref(),
            args.run.human_to_stderr(),
        );
    }
    gate.finish(code)
}

/// The exit code one finished benchmark × target earns by its failures,
/// saying why on stderr: [`exit_code::ENDPOINT_FAILED`] when the endpoint
/// failed the run ([`endpoint_failed`]), else [`exit_code::ERROR`] when some
/// level had no successful request (it measured nothing), else OK.
fn job_verdict(job: &Job, summary: &RunSummary, records: &[RequestRecord]) -> i32 {
    let target = &job.target.identity.name;
    let mut code = exit_code::OK;
    for level in summary.levels.iter().filter(|l| l.requests.attempted > 0 && l.requests.ok == 0) {
        let first = records.iter().filter(|r| r.concurrency == level.concurrency).find_map(|r| r.error.as_ref());
        eprintln!(
            "error: no request to {target} succeeded at concurrency {} ({})",
            level.concurrency,
            crate::term::safe(&first.map(ToString::to_string).unwrap_or_default())
        );
        code = exit_code::ERROR;
    }
    if let Some(why) = endpoint_failed(summary) {
        eprintln!(
            "error: {} · {target}: the endpoint failed the run: {why} (exit code {})",
            job.id,
            exit_code::ENDPOINT_FAILED
        );
        code = exit_code::ENDPOINT_FAILED;
    }
    code
}

/// Why the endpoint failed a run, if it did: a level stopped early at a
/// dead endpoint, or every level that sent requests failed at least
/// [`exit_code::FAILING_ERROR_RATE`] of them (every class counts, `check`
/// included; requests llmbench cut do not).
fn endpoint_failed(summary: &RunSummary) -> Option<String> {
    if let Some(dead) = summary.levels.iter().find(|l| l.stopped_early.as_deref() == Some("dead_endpoint")) {
        return Some(format!("it looks dead (level {} stopped after connection failures in a row)", dead.label()));
    }
    let tried: Vec<_> = summary.levels.iter().filter(|l| l.requests.attempted > 0).collect();
    let lowest = tried.iter().map(|l| l.error_rate).fold(f64::INFINITY, f64::min);
    (!tried.is_empty() && lowest >= exit_code::FAILING_ERROR_RATE).then(|| {
        format!(
            "every level failed at least {:.0}% of its requests (the best: {:.0}%)",
            exit_code::FAILING_ERROR_RATE * 100.0,
            lowest * 100.0
        )
    })
}

/// `--load-baseline NAME`: judges saved runs against the baseline without
/// sending a request.
fn load_all(args: &Invocation, gate: &mut Gate, jobs: &[Job], name: &str) -> Result<i32, RunError> {
    let store = crate::baseline::Store::new(args.results_root(), args.gate.baseline_dir.clone());
    for job in jobs {
        let saved =
            store.load(&job.id, &job.target.identity.name, name).map_err(RunError::Failed)?.ok_or_else(|| {
                RunError::Usage(format!("no saved run {name:?} for {} · {}", job.id, job.target.identity.name))
            })?;
        gate.human(&terminal::table(&saved.summary));
        gate.judge(&saved.summary, &saved.records, results::Requests::Memory(&saved.records), &job.settings.limits)?;
    }
    gate.finish(exit_code::OK)
}

/// A job's summary before it runs: everything but the measurements (what
/// the fingerprint is made of).
fn planned_summary(job: &Job) -> RunSummary {
    RunSummary {
        format_version: FORMAT_VERSION,
        tool: ToolInfo::current(),
        bench: BenchInfo {
            id: job.id.clone(),
            module_path: job.bench.module_path.clone(),
            file: job.bench.file.clone(),
            line: job.bench.line,
        },
        target: job.target.identity.clone(),
        workload: job.workload.describe(),
        settings: RunSettings {
            samples: job.settings.samples,
            warmup: job.settings.warmup,
            concurrency: job.settings.load.concurrencies(),
            timeout_ms: job.target.deadlines.total.as_millis() as u64,
            first_content_timeout_ms: job.target.deadlines.first_content.as_millis() as u64,
            load: Some(job.settings.load.describe()),
            connections: Some(job.settings.connections.as_str().to_owned()),
        },
        started_at: String::new(),
        duration_s: 0.0,
        partial: false,
        cold_start: None,
        levels: Vec::new(),
        price: job.price.clone(),
        sweep: None,
    }
}

/// What one benchmark × target measured.
struct Measured {
    summary: RunSummary,
    /// Every record (`complete`), or a long run's bounded sample.
    records: Vec<RequestRecord>,
    complete: bool,
    /// Per row of the summary's levels: its latency histograms.
    histograms: crate::results::histograms::Decoded,
    timing: Timing,
    /// The crash-safe records (every record), when kept.
    partial: Option<PartialRecords>,
}

/// One benchmark × target: cold start, then (at `barrier`, if given) each
/// concurrency level.
async fn bench_one(
    args: &Invocation,
    json: bool,
    job: &Job,
    provider: Arc<Provider>,
    cancel: &Cancel,
    reserved: usize,
    barrier: Option<crate::settings::StartAt>,
) -> Measured {
    let (bench, target) = (&job.id, &job.target.identity.name);
    let kept = partial_records(args, job);
    let sink = kept.as_ref().and_then(PartialRecords::sink);
    let s = &job.settings;
    let started_event = json!({ "bench": bench, "target": target, "samples": s.samples, "warmup": s.warmup, "concurrency": s.load.concurrencies() });
    events::emit(json, "bench-started", started_event);
    let started_at = SystemTime::now();
    let started = Instant::now();
    let opts = options(job, false);
    let mut all_records = Vec::new();
    // Built before the clock starts: the first prompt may load the tokenizer
    // (o200k_base's ranks take a while), which is not the target's cold start
    // and could use up the first-content timeout before anything is sent.
    let cold_request = job.workload.request(u64::MAX);
    // An interruption cuts the cold start too, rather than wait out its timeout.
    let now = Instant::now();
    let cold = load::measure(&provider, &cold_request, 0, Phase::ColdStart, opts, now, now, Some(cancel)).await;
    let cold_start = Some(ColdStart {
        ttft_ms: cold.ttft_ms,
        e2e_ms: cold.e2e_ms,
        error: cold.error.as_ref().map(|e| e.class.as_str().to_owned()),
    });
    if let Some(sink) = &sink {
        sink.send(cold.clone());
    }
    all_records.push(cold);
    let clock_offset_ms = match barrier {
        Some(at) => wait_for(args, at, cancel).await,
        None => None,
    };

    let input = LevelsInput {
        label: format!("{} · {}", job.id, job.target.identity.name),
        workload: &job.workload,
        check: job.bench.check,
        samples: s.samples,
        warmup: s.warmup,
        connections: s.connections,
        load: &s.load,
        opts,
        client_cores: crate::load::cpu::client_cores(reserved),
        progress: !args.run.quiet,
        price: job.price.as_ref(),
        provider: &job.target.identity.provider,
        project: s.project,
        events: json.then_some((bench.as_str(), target.as_str())),
        records: sink,
    };
    let out = run_levels(&input, provider, cancel).await;
    all_records.extend(out.records);
    let (complete, histograms) = (out.complete, out.histograms);
    let timing = Timing {
        started_unix_us: crate::settings::unix_us(started_at),
        ended_unix_us: crate::settings::unix_us(SystemTime::now()),
        levels_started_unix_us: out.started_unix_us,
        clock_offset_ms,
    };
    let (levels, partial, sweep) = (out.levels, out.partial, out.sweep);
    let summary = RunSummary {
        started_at: crate::results::rfc3339(started_at),
        duration_s: started.elapsed().as_secs_f64(),
        partial,
        cold_start,
        levels,
        sweep,
        ..planned_summary(job)
    };
    Measured { summary, records: all_records, complete, histograms, timing, partial: kept }
}

/// The crash-safe records of a benchmark × target's run (`results::partial`),
/// beside the `new/` it will be written to; none when nothing is saved
/// (`--discard-baseline`) or the file cannot be made (the run goes on).
fn partial_records(args: &Invocation, job: &Job) -> Option<PartialRecords> {
    if args.gate.discard_baseline {
        return None;
    }
    let dir = results::run_dir(&args.results_root(), &job.id, &job.target.identity.name, results::NEW_DIR);
    PartialRecords::start(&dir)
        .map_err(|e| {
            let path = results::partial_path(&dir);
            eprintln!("warning: cannot keep this run's records as they finish in {}: {e}", path.display());
        })
        .ok()
}

/// `--start-at`: says what it waits for, waits, and warns when the load
/// began late (the cold start ran past the instant).
async fn wait_for(args: &Invocation, at: crate::settings::StartAt, cancel: &Cancel) -> Option<f64> {
    let left = (at.unix_us - crate::settings::unix_us(SystemTime::now())) as f64 / 1e6;
    if !args.run.quiet && left > 0.0 {
        eprintln!("waiting until {} (--start-at, in {left:.1} s)", at.rfc3339());
    }
    let offset = shard::wait_until(at, cancel).await;
    if let Some(late) = offset.filter(|&ms| ms > 1000.0) {
        eprintln!(
            "warning: the load began {:.1} s after --start-at (the cold start ran past it): this shard's window starts \
             late; give the shards more time",
            late / 1e3
        );
    }
    offset
}
