//! Runs selected benchmarks against their targets: test mode (one request
//! each) or bench mode (cold start, then warm-up and samples per
//! concurrency level), then writes and prints the results.

use std::collections::BTreeMap;

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use serde_json::json;

use super::Failure;
use super::args::BenchArgs;
use super::gate::Gate;
use super::levels::{LevelsInput, run_levels};
use super::registry::BenchDef;
use super::sim_host::SimHost;
use crate::config::file::Config;
use crate::config::{Connection, Target};
use crate::cost::{Price, PriceBook};
use crate::exit_code;
use crate::load::{self, Cancel, RequestOptions};
use crate::provider::Provider;
use crate::record::{Phase, RequestRecord};
use crate::report::ci::events;
use crate::report::terminal;
use crate::results::{self, BenchInfo, ColdStart, FORMAT_VERSION, RunSettings, RunSummary, ToolInfo};
use crate::settings::{Layer, Settings, SettingsError, Shape};
use crate::term;
use crate::workload::Workload;

/// One benchmark × target, fully resolved before any request is sent.
struct Job {
    def: &'static BenchDef,
    /// The benchmark id: its name, plus `/key=value…` for a grid combination.
    id: String,
    workload: Workload,
    target: Target,
    /// The settings of this benchmark × target.
    settings: Settings,
    /// What the target costs; `None` when no price is known.
    price: Option<Price>,
    check: Option<crate::workload::CheckFn>,
}

/// Runs `selected` as `args` say; returns the exit code.
pub(super) fn run(args: &BenchArgs, config: &Config, selected: &[&'static BenchDef]) -> Result<i32, Failure> {
    let prices = PriceBook::load(config).map_err(|e| Failure::Usage(e.to_string()))?;
    let mut jobs = Vec::new();
    for def in selected {
        if def.ignore.is_some_and(|ignore| ignore()) {
            term::println(&format!("Ignoring {} (ignore = true)", def.name));
            continue;
        }
        jobs.extend(
            plan(args, config, &prices, def)?.into_iter().filter(|j| super::selects_job(args, def.name, &j.id)),
        );
    }
    if jobs.is_empty() {
        return Ok(exit_code::OK);
    }
    // Before anything is sent: a run that would run out of descriptors
    // would blame the endpoint for the client's limit.
    let fd_limit = crate::process::raise_fd_limit();
    if let Some(problem) = crate::process::fd_shortage(fd_limit, descriptors_needed(&jobs)) {
        return Err(Failure::Usage(problem));
    }
    let mut gate = Gate::new(args)?;
    if !args.test_mode() {
        gate.preflight(&jobs.iter().map(planned_summary).collect::<Vec<_>>())?;
        if let Some(name) = gate.loading().map(str::to_owned) {
            return load_all(args, &mut gate, &jobs, &name);
        }
    }
    // Simulators and clients are built before the runtime starts: one
    // simulator per sim target, shared by the benchmarks that use it.
    let mut sims: BTreeMap<String, SimHost> = BTreeMap::new();
    for job in &jobs {
        let name = &job.target.identity.name;
        if let Connection::Sim { sim, .. } = &job.target.connection
            && !sims.contains_key(name)
        {
            let host =
                SimHost::start(sim.clone()).map_err(|e| Failure::Error(format!("cannot start the simulator: {e}")))?;
            sims.insert(name.clone(), host);
        }
    }
    let runtime =
        load::client_runtime(sims.len()).map_err(|e| Failure::Error(format!("cannot start the async runtime: {e}")))?;
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
                .map_err(|e| Failure::Usage(format!("target {name}: {e}")))?;
            providers.insert(name.clone(), Arc::new(provider));
        }
        Ok::<_, Failure>(providers)
    })?;

    let code = runtime.block_on(async {
        if args.test_mode() {
            test_all(&jobs, &providers).await
        } else {
            bench_all(args, &mut gate, &jobs, &providers, sims.len()).await
        }
    });
    drop(runtime);
    drop(sims);
    code
}

/// Resolves the targets and settings of one benchmark (one job per target
/// and parameter-grid combination), by the precedence of `settings`.
fn plan(args: &BenchArgs, config: &Config, prices: &PriceBook, def: &'static BenchDef) -> Result<Vec<Job>, Failure> {
    let attribute = def.layer().map_err(usage)?;
    let attr_source = def.source();
    let bench = config.bench_layer(def.name);
    let defaults = config.defaults_layer();
    let resolve = |target: Option<&(crate::settings::Source, crate::settings::SettingsLayer)>| {
        let mut layers = vec![Layer { source: &crate::settings::Source::Flags, settings: &args.settings }];
        if let Some((source, settings)) = &bench {
            layers.push(Layer { source, settings });
        }
        layers.push(Layer { source: &attr_source, settings: &attribute });
        if let Some((source, settings)) = target {
            layers.push(Layer { source, settings });
        }
        layers.push(Layer { source: &defaults.0, settings: defaults.1 });
        Settings::resolve(&layers, |key, value| Workload::synthetic().with_param(key, value).map(drop)).map_err(usage)
    };
    let base = resolve(None)?;
    let variants = grid(def, &base)?;
    let mut jobs = Vec::new();
    for name in &base.targets {
        let settings = resolve(config.target_layer(name).as_ref())?;
        let target = crate::config::resolve(config, name, &settings).map_err(|e| Failure::Usage(e.to_string()))?;
        let price = prices.price_for(name, &target.identity).map_err(|e| Failure::Usage(e.to_string()))?;
        let needed = match (&settings.load.shape, settings.load.duration) {
            (Shape::Stages(_), _) | (_, Some(_)) => None,
            _ => Some(u64::from(settings.samples) + u64::from(settings.warmup)),
        };
        for (id, workload) in &variants {
            workload.validate(needed).map_err(|e| Failure::Usage(format!("benchmark {id}: {e}")))?;
            jobs.push(Job {
                def,
                id: id.clone(),
                workload: workload.clone(),
                target: target.clone(),
                settings: settings.clone(),
                check: def.check,
                price: price.clone(),
            });
        }
    }
    Ok(jobs)
}

fn usage(e: SettingsError) -> Failure {
    Failure::Usage(e.to_string())
}

/// The workload of `def` for each combination of its parameter grid, with
/// the sub-benchmark id (`name/key=value/…`).
fn grid(def: &'static BenchDef, settings: &Settings) -> Result<Vec<(String, Workload)>, Failure> {
    let mut variants = vec![(def.name.to_owned(), (def.workload)())];
    for (key, values) in &settings.params {
        let mut next = Vec::with_capacity(variants.len() * values.len());
        for (id, w) in &variants {
            for v in values {
                let w = w
                    .clone()
                    .with_param(key, v)
                    .map_err(|e| Failure::Usage(format!("{}:{}: {}: {e}", def.file, def.line, def.name)))?;
                next.push((format!("{id}/{key}={v}"), w));
            }
        }
        variants = next;
    }
    Ok(variants)
}

/// About how many file descriptors the largest job needs: one per
/// connection it may hold open (its highest concurrency, plus the open-loop
/// cap), two for a simulator in this process (it holds the other end), and
/// [`crate::process::FD_RESERVE`].
fn descriptors_needed(jobs: &[Job]) -> u64 {
    let per_job = |job: &Job| {
        let load = &job.settings.load;
        let staged = match &load.shape {
            Shape::Stages(stages) if !stages.is_rate() => {
                let most = stages.stages.iter().map(|s| s.target.value()).fold(stages.start.value(), f64::max);
                most.ceil() as u64
            }
            _ => 0,
        };
        let closed = load.concurrencies().iter().copied().max().map_or(1, u64::from).max(staged);
        let connections = closed + load.max_in_flight.map_or(0, u64::from);
        let ends = if matches!(job.target.connection, Connection::Sim { .. }) { 2 } else { 1 };
        connections * ends
    };
    jobs.iter().map(per_job).max().unwrap_or(0) + crate::process::FD_RESERVE
}

fn options(job: &Job, capture_text: bool) -> RequestOptions {
    RequestOptions {
        deadlines: job.target.deadlines,
        expected_chunks: job.workload.max_output_tokens() as usize,
        capture_text: capture_text || job.workload.has_checks() || job.check.is_some(),
    }
}

/// Test mode: one request per benchmark × target, success or failure.
async fn test_all(jobs: &[Job], providers: &BTreeMap<String, Arc<Provider>>) -> Result<i32, Failure> {
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
            (None, Some(text)) if job.workload.has_checks() || job.check.is_some() => {
                job.workload.check_response(0, text, record.output_tokens, job.check).err()
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
    args: &BenchArgs,
    gate: &mut Gate,
    jobs: &[Job],
    providers: &BTreeMap<String, Arc<Provider>>,
    reserved: usize,
) -> Result<i32, Failure> {
    let cancel = Cancel::default();
    // SIGINT, SIGTERM, SIGHUP, a closed stdout: stop, keep, write (crate::interrupt).
    let watcher = crate::interrupt::watch(cancel.clone());
    // Descriptors kept back while requests run, so results can be written
    // even when the run exhausted them.
    let mut reserve = crate::process::FdReserve::hold();
    let root = results::default_root();
    let mut code = exit_code::OK;
    for job in jobs {
        let provider = providers[&job.target.identity.name].clone();
        let summary = bench_one(args, gate.json(), job, provider, &cancel, reserved).await;
        let dir = results::run_dir(&root, &job.id, &job.target.identity.name, results::NEW_DIR);
        let (summary, records) = summary;
        gate.human(&terminal::table(&summary));
        reserve.release();
        // Compares with the previous new/ before replacing it, then saves.
        gate.judge(&summary, &records, &job.settings.limits)?;
        reserve = crate::process::FdReserve::hold();
        if !args.run.quiet && !args.gate.discard_baseline {
            gate.human(&format!("results: {}\n", dir.display()));
        }
        if summary.partial {
            code = crate::interrupt::requested().map_or(exit_code::ERROR, |stop| stop.exit_code());
            break;
        }
        // A level where nothing succeeded measured nothing: say so and fail,
        // so a CI job notices a dead endpoint instead of passing on no data.
        for level in summary.levels.iter().filter(|l| l.requests.attempted > 0 && l.requests.ok == 0) {
            let first = records.iter().filter(|r| r.concurrency == level.concurrency).find_map(|r| r.error.as_ref());
            eprintln!(
                "error: no request to {} succeeded at concurrency {} ({})",
                job.target.identity.name,
                level.concurrency,
                crate::term::safe(&first.map(ToString::to_string).unwrap_or_default())
            );
            code = exit_code::ERROR;
        }
    }
    watcher.abort();
    reserve.release();
    // Run alone (`cargo bench`), the binary writes the report itself;
    // under `cargo llmbench` that writes one for all.
    if !args.under_parent && !args.run.noplot {
        crate::report::write_and_announce(&root, args.gate.baseline_dir.as_deref(), args.run.history.as_deref());
    }
    gate.finish(code)
}

/// `--load-baseline NAME`: judges saved runs against the baseline without
/// sending a request.
fn load_all(args: &BenchArgs, gate: &mut Gate, jobs: &[Job], name: &str) -> Result<i32, Failure> {
    let store = crate::baseline::Store::new(results::default_root(), args.gate.baseline_dir.clone());
    for job in jobs {
        let saved = store.load(&job.id, &job.target.identity.name, name).map_err(Failure::Error)?.ok_or_else(|| {
            Failure::Usage(format!("no saved run {name:?} for {} · {}", job.id, job.target.identity.name))
        })?;
        gate.human(&terminal::table(&saved.summary));
        gate.judge(&saved.summary, &saved.records, &job.settings.limits)?;
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
            module_path: job.def.module_path.to_owned(),
            file: job.def.file.to_owned(),
            line: job.def.line,
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

/// One benchmark × target: cold start, then each concurrency level.
async fn bench_one(
    args: &BenchArgs,
    json: bool,
    job: &Job,
    provider: Arc<Provider>,
    cancel: &Cancel,
    reserved: usize,
) -> (RunSummary, Vec<RequestRecord>) {
    let (bench, target) = (&job.id, &job.target.identity.name);
    let s = &job.settings;
    let started_event = json!({ "bench": bench, "target": target, "samples": s.samples, "warmup": s.warmup, "concurrency": s.load.concurrencies() });
    events::emit(json, "bench-started", started_event);
    let started_at = SystemTime::now();
    let started = Instant::now();
    let opts = options(job, false);
    let mut all_records = Vec::new();
    // An interruption cuts the cold start too, rather than wait out its timeout.
    let now = Instant::now();
    let cold_request = job.workload.request(u64::MAX);
    let cold = load::measure(&provider, &cold_request, 0, Phase::ColdStart, opts, now, now, Some(cancel)).await;
    let cold_start = Some(ColdStart {
        ttft_ms: cold.ttft_ms,
        e2e_ms: cold.e2e_ms,
        error: cold.error.as_ref().map(|e| e.class.as_str().to_owned()),
    });
    all_records.push(cold);

    let input = LevelsInput {
        label: format!("{} · {}", job.id, job.target.identity.name),
        workload: &job.workload,
        check: job.check,
        samples: s.samples,
        warmup: s.warmup,
        load: &s.load,
        opts,
        client_cores: crate::load::cpu::client_cores(reserved),
        progress: !args.run.quiet,
        price: job.price.as_ref(),
        provider: &job.target.identity.provider,
        project: s.project,
        events: json.then_some((bench.as_str(), target.as_str())),
    };
    let out = run_levels(&input, provider, cancel).await;
    all_records.extend(out.records);
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
    (summary, all_records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn bad_dataset() -> Workload {
        Workload::dataset_str("data/tickets.jsonl", "{\"prompt\": \"ok\"}\n{\"prompt\": 42}\n")
    }

    fn grid_workload() -> Workload {
        Workload::synthetic()
    }

    fn def(workload: fn() -> Workload, settings: &'static [(&'static str, &'static str, u32)]) -> &'static BenchDef {
        let base: &'static [(&'static str, &'static str, u32)] = &[("samples", "5", 3), ("warmup", "0", 3)];
        let settings: &'static [_] = Box::leak([base, settings].concat().into_boxed_slice());
        Box::leak(Box::new(BenchDef {
            name: "summarise",
            module_path: "m",
            file: "benches/b.rs",
            line: 3,
            workload,
            ignore: None,
            check: None,
            settings,
        }))
    }

    fn args() -> BenchArgs {
        BenchArgs::try_parse_from(["bench", "--bench"]).unwrap()
    }

    #[test]
    fn a_bad_dataset_line_is_a_usage_error_naming_file_and_line() {
        let config = Config::default();
        let prices = PriceBook::load(&config).unwrap();
        let Err(Failure::Usage(message)) = plan(&args(), &config, &prices, def(bad_dataset, &[])) else {
            panic!("expected a usage error (exit 2)")
        };
        assert_eq!(message, "benchmark summarise: data/tickets.jsonl:2: `prompt` must be a string, not 42");
    }

    #[test]
    fn a_malformed_attribute_limit_is_a_usage_error_naming_the_bench() {
        let config = Config::default();
        let prices = PriceBook::load(&config).unwrap();
        let bench = def(grid_workload, &[("limits", r#"["ttft<=5ms"]"#, 4)]);
        let Err(Failure::Usage(message)) = plan(&args(), &config, &prices, bench) else {
            panic!("expected a usage error (exit 2)")
        };
        assert!(message.starts_with("benches/b.rs:4: #[llm_bench(...)]: limits: invalid limit"), "{message}");
        assert!(message.contains("\"ttft<=5ms\""), "{message}");
    }

    #[test]
    fn descriptors_needed_follow_the_largest_job() {
        let config = Config::default();
        let prices = PriceBook::load(&config).unwrap();
        let args = BenchArgs::try_parse_from(["bench", "--bench", "--concurrency", "1,500"]).unwrap();
        let jobs = plan(&args, &config, &prices, def(grid_workload, &[])).unwrap();
        // 500 connections to the in-process simulator hold both their ends.
        assert_eq!(descriptors_needed(&jobs), 2 * 500 + crate::process::FD_RESERVE);
        let message = crate::process::fd_shortage(Some(256), descriptors_needed(&jobs)).unwrap();
        assert!(message.contains("the limit is 256") && message.contains("1064"), "{message}");
    }

    #[test]
    fn a_parameter_grid_expands_into_sub_benchmarks() {
        let params: &'static [(&'static str, &'static str, u32)] =
            &[("params", "{ temperature = [0.0, 0.7], max_tokens = [256, 1024] }", 3)];
        let config = Config::default();
        let prices = PriceBook::load(&config).unwrap();
        let jobs = plan(&args(), &config, &prices, def(grid_workload, params)).unwrap();
        let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "summarise/temperature=0.0/max_tokens=256",
                "summarise/temperature=0.0/max_tokens=1024",
                "summarise/temperature=0.7/max_tokens=256",
                "summarise/temperature=0.7/max_tokens=1024",
            ]
        );
        let r = jobs[3].workload.request(0);
        assert_eq!((r.temperature, r.max_tokens), (Some(0.7), Some(1024)));
    }
}
