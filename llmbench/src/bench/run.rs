//! Runs selected benchmarks against their targets: test mode (one request
//! each) or bench mode (cold start, then warm-up and samples per
//! concurrency level), then writes and prints the results.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use serde_json::json;

use super::Failure;
use super::args::BenchArgs;
use super::gate::Gate;
use super::levels::{LevelsInput, run_levels};
use super::load_plan::{self, LoadPlan, Shape};
use super::registry::BenchDef;
use super::sim_host::SimHost;
use crate::config::file::Config;
use crate::config::{Connection, Target};
use crate::cost::{Price, PriceBook};
use crate::exit_code;
use crate::gate::SourcedLimit;
use crate::load::{self, Cancel, RequestOptions};
use crate::provider::Provider;
use crate::record::{Phase, RequestRecord};
use crate::report::ci::events;
use crate::report::terminal;
use crate::results::{self, BenchInfo, ColdStart, FORMAT_VERSION, RunSettings, RunSummary, ToolInfo};
use crate::workload::Workload;

/// Measured requests per level when nothing else says.
pub(crate) const DEFAULT_SAMPLES: u32 = 100;
/// Warm-up requests per level when nothing else says.
pub(crate) const DEFAULT_WARMUP: u32 = 10;

/// One benchmark × target, fully resolved before any request is sent.
struct Job {
    def: &'static BenchDef,
    /// The benchmark id: its name, plus `/key=value…` for a grid combination.
    id: String,
    workload: Workload,
    target: Target,
    samples: u32,
    warmup: u32,
    concurrency: Vec<u32>,
    /// What the target costs; `None` when no price is known.
    price: Option<Price>,
    load: LoadPlan,
    check: Option<crate::workload::CheckFn>,
    limits: Vec<SourcedLimit>,
}

/// Runs `selected` as `args` say; returns the exit code.
pub(super) fn run(args: &BenchArgs, config: &Config, selected: &[&'static BenchDef]) -> Result<i32, Failure> {
    let prices = PriceBook::load(config).map_err(|e| Failure::Usage(e.to_string()))?;
    let mut jobs = Vec::new();
    for def in selected {
        if def.ignore.is_some_and(|ignore| ignore()) {
            println!("Ignoring {} (ignore = true)", def.name);
            continue;
        }
        jobs.extend(
            plan(args, config, &prices, def)?.into_iter().filter(|j| super::selects_job(args, def.name, &j.id)),
        );
    }
    if jobs.is_empty() {
        return Ok(exit_code::OK);
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
/// and parameter-grid combination). Flags win over `[benches.NAME]` in
/// llmbench.toml, which wins over the attribute, which wins over
/// `[defaults]`.
fn plan(args: &BenchArgs, config: &Config, prices: &PriceBook, def: &'static BenchDef) -> Result<Vec<Job>, Failure> {
    let d = &config.defaults;
    let bc = config.benches.get(def.name).map(|s| s.get_ref());
    let names: Vec<String> = if !args.targets.is_empty() {
        args.targets.clone()
    } else if let Some(t) = bc.and_then(|b| b.targets.clone()) {
        t
    } else if !def.targets.is_empty() {
        def.targets.iter().map(|s| s.to_string()).collect()
    } else if let Some(names) = &d.targets {
        names.clone()
    } else {
        vec![crate::config::DEFAULT_TARGET.to_owned()]
    };
    let bc_timeout = bc.and_then(|b| b.timeout.as_deref()).and_then(|t| crate::units::parse_duration(t).ok());
    let timeout = args.timeout.or(bc_timeout).or(def.timeout_ms.map(std::time::Duration::from_millis));
    let samples =
        args.sample_size.or(bc.and_then(|b| b.samples)).or(def.samples).or(d.samples).unwrap_or(DEFAULT_SAMPLES);
    let warmup = args.warm_up.or(bc.and_then(|b| b.warmup)).or(def.warmup).or(d.warmup).unwrap_or(DEFAULT_WARMUP);
    let base = (def.workload)();
    // A parameter grid: [benches.NAME] params replace the attribute's.
    let grid: Vec<(String, Vec<String>)> = match bc.and_then(|b| b.params_text()) {
        Some(p) => p,
        None => def.params.iter().map(|(k, vs)| (k.to_string(), vs.iter().map(|v| v.to_string()).collect())).collect(),
    };
    let mut variants = vec![(def.name.to_owned(), base)];
    for (key, values) in &grid {
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
    let limits = Gate::limits(args, config, def)?;
    let mut jobs = Vec::new();
    for name in &names {
        let target = crate::config::resolve(config, name, timeout).map_err(|e| Failure::Usage(e.to_string()))?;
        let price = prices.price_for(name, &target.identity).map_err(|e| Failure::Usage(e.to_string()))?;
        let load = load_plan::resolve(args, bc, def, d, target.deadlines.total)?;
        let needed = match (&load.shape, load.duration) {
            (Shape::Stages(_), _) | (_, Some(_)) => None,
            _ => Some(u64::from(samples) + u64::from(warmup)),
        };
        for (id, workload) in &variants {
            workload.validate(needed).map_err(|e| Failure::Usage(format!("benchmark {id}: {e}")))?;
            jobs.push(Job {
                def,
                id: id.clone(),
                workload: workload.clone(),
                target: target.clone(),
                samples,
                warmup,
                concurrency: load.concurrencies(),
                load: load.clone(),
                check: def.check,
                price: price.clone(),
                limits: limits.clone(),
            });
        }
    }
    Ok(jobs)
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
        print!("Testing {} · {name}", job.id);
        let _ = std::io::stdout().flush();
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
        if let Some(why) = checked {
            failed += 1;
            println!("\nFAILED: check: {why}");
            continue;
        }
        match &record.error {
            None if record.chunks > 0 => println!(
                "\nSuccess ({} output tokens, TTFT {:.1} ms)",
                record.output_tokens,
                record.ttft_ms.unwrap_or(0.0)
            ),
            None => {
                failed += 1;
                println!("\nFAILED: the response had no content");
            }
            Some(e) => {
                failed += 1;
                println!("\nFAILED: {e}");
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
    let watcher = {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("\ninterrupted: keeping the requests that completed");
                cancel.cancel();
            }
        })
    };
    let root = results::default_root();
    let mut code = exit_code::OK;
    for job in jobs {
        let provider = providers[&job.target.identity.name].clone();
        let summary = bench_one(args, gate.json(), job, provider, &cancel, reserved).await;
        let dir = results::run_dir(&root, &job.id, &job.target.identity.name, results::NEW_DIR);
        let (summary, records) = summary;
        gate.human(&terminal::table(&summary));
        // Compares with the previous new/ before replacing it, then saves.
        gate.judge(&summary, &records, &job.limits)?;
        if let Some(log) = args.results_log.as_ref().filter(|_| !args.discard_baseline) {
            append_line(log, &dir.join(results::SUMMARY_FILE).display().to_string())
                .map_err(|e| Failure::Error(format!("cannot append to {}: {e}", log.display())))?;
        }
        if !args.quiet && !args.discard_baseline {
            gate.human(&format!("results: {}\n", dir.display()));
        }
        if summary.partial {
            code = exit_code::ERROR;
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
                first.map(ToString::to_string).unwrap_or_default()
            );
            code = exit_code::ERROR;
        }
    }
    watcher.abort();
    // Run alone (`cargo bench`), the binary writes the report itself;
    // under `cargo llmbench` (which passes a results log) that writes one for all.
    if args.results_log.is_none() && !args.noplot {
        crate::report::write_and_announce(&root, args.baseline_dir.as_deref());
    }
    gate.finish(code)
}

/// `--load-baseline NAME`: judges saved runs against the baseline without
/// sending a request.
fn load_all(args: &BenchArgs, gate: &mut Gate, jobs: &[Job], name: &str) -> Result<i32, Failure> {
    let store = crate::baseline::Store::new(results::default_root(), args.baseline_dir.clone());
    for job in jobs {
        let saved = store.load(&job.id, &job.target.identity.name, name).map_err(Failure::Error)?.ok_or_else(|| {
            Failure::Usage(format!("no saved run {name:?} for {} · {}", job.id, job.target.identity.name))
        })?;
        gate.human(&terminal::table(&saved.summary));
        gate.judge(&saved.summary, &saved.records, &job.limits)?;
        if let Some(log) = &args.results_log {
            append_line(log, &saved.dir.join(results::SUMMARY_FILE).display().to_string())
                .map_err(|e| Failure::Error(format!("cannot append to {}: {e}", log.display())))?;
        }
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
            samples: job.samples,
            warmup: job.warmup,
            concurrency: job.concurrency.clone(),
            timeout_ms: job.target.deadlines.total.as_millis() as u64,
            first_content_timeout_ms: job.target.deadlines.first_content.as_millis() as u64,
            load: Some(job.load.describe()),
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
    let started_event = json!({ "bench": bench, "target": target, "samples": job.samples, "warmup": job.warmup, "concurrency": job.concurrency });
    events::emit(json, "bench-started", started_event);
    let started_at = SystemTime::now();
    let started = Instant::now();
    let opts = options(job, false);
    let mut all_records = Vec::new();
    let cold =
        load::run_one(&provider, &job.workload.request(u64::MAX), 0, Phase::ColdStart, opts, Instant::now()).await;
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
        samples: job.samples,
        warmup: job.warmup,
        load: &job.load,
        opts,
        client_cores: crate::load::cpu::client_cores(reserved),
        progress: !args.quiet,
        price: job.price.as_ref(),
        provider: &job.target.identity.provider,
        project: args.project,
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

fn append_line(path: &std::path::Path, line: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    writeln!(f, "{line}")
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

    fn def(
        workload: fn() -> Workload,
        params: &'static [(&'static str, &'static [&'static str])],
    ) -> &'static BenchDef {
        Box::leak(Box::new(BenchDef {
            name: "summarise",
            module_path: "m",
            file: "benches/b.rs",
            line: 3,
            workload,
            samples: Some(5),
            warmup: Some(0),
            concurrency: &[],
            targets: &[],
            timeout_ms: None,
            limits: &[],
            ignore: None,
            rate: None,
            arrival: None,
            duration_ms: None,
            grace_ms: None,
            stages: None,
            sweep: None,
            max_in_flight: None,
            slo: None,
            check: None,
            params,
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
        let bench = Box::leak(Box::new(BenchDef { limits: &["ttft<=5ms"], ..*def(grid_workload, &[]) }));
        let Err(Failure::Usage(message)) = plan(&args(), &config, &prices, bench) else {
            panic!("expected a usage error (exit 2)")
        };
        assert!(message.starts_with("#[llm_bench] limits of summarise (benches/b.rs:3): "), "{message}");
        assert!(message.contains("\"ttft<=5ms\""), "{message}");
    }

    #[test]
    fn a_parameter_grid_expands_into_sub_benchmarks() {
        let params: &'static [(&'static str, &'static [&'static str])] =
            &[("temperature", &["0.0", "0.7"]), ("max_tokens", &["256", "1024"])];
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
