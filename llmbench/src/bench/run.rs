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
use super::registry::BenchDef;
use super::sim_host::SimHost;
use crate::exit_code;
use crate::gate::SourcedLimit;
use crate::load::{self, Cancel, RequestOptions};
use crate::provider::openai::{OpenAiProvider, OpenAiSettings};
use crate::provider::{GenRequest, Provider};
use crate::record::{Phase, RequestRecord};
use crate::report::events;
use crate::report::{progress::LevelProgress, terminal};
use crate::results::{self, BenchInfo, ColdStart, FORMAT_VERSION, RunSettings, RunSummary, ToolInfo};
use crate::stats::summarize_level;
use crate::target::config::Config;
use crate::target::{self, Connection, Target};
use crate::workload::Workload;

/// Measured requests per level when nothing else says.
pub(crate) const DEFAULT_SAMPLES: u32 = 100;
/// Warm-up requests per level when nothing else says.
pub(crate) const DEFAULT_WARMUP: u32 = 10;

/// One benchmark × target, fully resolved before any request is sent.
struct Job {
    def: &'static BenchDef,
    workload: Workload,
    target: Target,
    samples: u32,
    warmup: u32,
    concurrency: Vec<u32>,
    limits: Vec<SourcedLimit>,
}

/// Runs `selected` as `args` say; returns the exit code.
pub(super) fn run(args: &BenchArgs, config: &Config, selected: &[&'static BenchDef]) -> Result<i32, Failure> {
    let mut jobs = Vec::new();
    for def in selected {
        if def.ignore.is_some_and(|ignore| ignore()) {
            println!("Ignoring {} (ignore = true)", def.name);
            continue;
        }
        jobs.extend(plan(args, config, def)?);
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
    let mut providers: BTreeMap<String, Arc<Provider>> = BTreeMap::new();
    for job in &jobs {
        let name = &job.target.identity.name;
        if providers.contains_key(name) {
            continue;
        }
        let settings = match &job.target.connection {
            Connection::OpenAi(settings) => settings.clone(),
            Connection::Sim { sim, endpoint } => {
                let host = SimHost::start(sim.clone()).map_err(|e| Failure::Error(format!("cannot start the simulator: {e}")))?;
                let settings = OpenAiSettings {
                    base_url: host.base_url(),
                    model: "sim".into(),
                    api_key: None,
                    endpoint: *endpoint,
                    connect_timeout: job.target.connect_timeout,
                    include_usage: true,
                    send_min_tokens: job.target.exact_output,
                    extra_body: None,
                };
                sims.insert(name.clone(), host);
                settings
            }
        };
        let provider = OpenAiProvider::new(settings).map_err(|e| Failure::Error(format!("target {name}: {e}")))?;
        providers.insert(name.clone(), Arc::new(Provider::OpenAi(provider)));
    }

    let runtime =
        load::client_runtime(sims.len()).map_err(|e| Failure::Error(format!("cannot start the async runtime: {e}")))?;
    let code = runtime.block_on(async {
        if args.test_mode() {
            test_all(&jobs, &providers).await
        } else {
            bench_all(args, &mut gate, &jobs, &providers).await
        }
    });
    drop(runtime);
    drop(sims);
    code
}

/// Resolves the targets and settings of one benchmark. Flags win over the
/// attribute, which wins over `[defaults]`.
fn plan(args: &BenchArgs, config: &Config, def: &'static BenchDef) -> Result<Vec<Job>, Failure> {
    let d = &config.defaults;
    let names: Vec<String> = if !args.targets.is_empty() {
        args.targets.clone()
    } else if !def.targets.is_empty() {
        def.targets.iter().map(|s| s.to_string()).collect()
    } else if let Some(names) = &d.targets {
        names.clone()
    } else {
        vec![target::DEFAULT_TARGET.to_owned()]
    };
    let timeout = args.timeout.or(def.timeout_ms.map(std::time::Duration::from_millis));
    let samples = args.sample_size.or(def.samples).or(d.samples).unwrap_or(DEFAULT_SAMPLES);
    let warmup = args.warm_up.or(def.warmup).or(d.warmup).unwrap_or(DEFAULT_WARMUP);
    let concurrency = if !args.concurrency.is_empty() {
        args.concurrency.clone()
    } else if !def.concurrency.is_empty() {
        def.concurrency.to_vec()
    } else {
        d.concurrency.clone().unwrap_or_else(|| vec![1])
    };
    let workload = (def.workload)();
    let limits = Gate::limits(args, config, def)?;
    names
        .iter()
        .map(|name| {
            let target = target::resolve(config, name, timeout).map_err(|e| Failure::Usage(e.to_string()))?;
            Ok(Job {
                def,
                workload: workload.clone(),
                target,
                samples,
                warmup,
                concurrency: concurrency.clone(),
                limits: limits.clone(),
            })
        })
        .collect()
}

fn options(job: &Job, capture_text: bool) -> RequestOptions {
    RequestOptions {
        deadlines: job.target.deadlines,
        expected_chunks: job.workload.max_output_tokens() as usize,
        capture_text,
    }
}

/// Test mode: one request per benchmark × target, success or failure.
async fn test_all(jobs: &[Job], providers: &BTreeMap<String, Arc<Provider>>) -> Result<i32, Failure> {
    let mut failed = 0;
    for job in jobs {
        let name = &job.target.identity.name;
        print!("Testing {} · {name}", job.def.name);
        let _ = std::io::stdout().flush();
        let record = load::run_one(&providers[name], &job.workload.request(0), 0, Phase::Measured, options(job, true), Instant::now()).await;
        match &record.error {
            None if record.chunks > 0 => println!("\nSuccess ({} output tokens, TTFT {:.1} ms)", record.output_tokens, record.ttft_ms.unwrap_or(0.0)),
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
        let summary = bench_one(args, gate.json(), job, provider, &cancel).await;
        let dir = results::run_dir(&root, job.def.name, &job.target.identity.name, results::NEW_DIR);
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
    }
    watcher.abort();
    gate.finish(code)
}

/// `--load-baseline NAME`: judges saved runs against the baseline without
/// sending a request.
fn load_all(args: &BenchArgs, gate: &mut Gate, jobs: &[Job], name: &str) -> Result<i32, Failure> {
    let store = crate::baseline::Store::new(results::default_root(), args.baseline_dir.clone());
    for job in jobs {
        let saved =
            store.load(job.def.name, &job.target.identity.name, name).map_err(Failure::Error)?.ok_or_else(|| {
                Failure::Usage(format!("no saved run {name:?} for {} · {}", job.def.name, job.target.identity.name))
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
            id: job.def.name.to_owned(),
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
        },
        started_at: String::new(),
        duration_s: 0.0,
        partial: false,
        cold_start: None,
        levels: Vec::new(),
    }
}

/// One benchmark × target: cold start, then each concurrency level.
async fn bench_one(
    args: &BenchArgs,
    json: bool,
    job: &Job,
    provider: Arc<Provider>,
    cancel: &Cancel,
) -> (RunSummary, Vec<RequestRecord>) {
    let (bench, target) = (job.def.name, &job.target.identity.name);
    let started_event = json!({ "bench": bench, "target": target, "samples": job.samples, "warmup": job.warmup, "concurrency": job.concurrency });
    events::emit(json, "bench-started", started_event);
    let started_at = SystemTime::now();
    let started = Instant::now();
    let opts = options(job, false);
    let mut all_records = Vec::new();
    let cold = load::run_one(&provider, &job.workload.request(u64::MAX), 0, Phase::ColdStart, opts, Instant::now()).await;
    let cold_start = Some(ColdStart {
        ttft_ms: cold.ttft_ms,
        e2e_ms: cold.e2e_ms,
        error: cold.error.as_ref().map(|e| e.class.as_str().to_owned()),
    });
    all_records.push(cold);

    // Measured request i of every level sends prompt i, so levels (and runs)
    // compare like with like; warm-up prompts come after them.
    let samples = u64::from(job.samples);
    let warmup = u64::from(job.warmup);
    let requests: Arc<Vec<GenRequest>> = Arc::new(
        (samples..samples + warmup).chain(0..samples).map(|i| job.workload.request(i)).collect(),
    );
    let mut levels = Vec::new();
    let mut partial = false;
    for &concurrency in &job.concurrency {
        if cancel.is_cancelled() {
            partial = true;
            break;
        }
        let label = format!("{} · {} c={concurrency}", job.def.name, job.target.identity.name);
        let progress = Arc::new(LevelProgress::new(&label, requests.len() as u64, !args.quiet));
        let outcome = load::closed_loop(provider.clone(), requests.clone(), warmup, concurrency, opts, progress.clone(), cancel).await;
        progress.finish();
        let done = json!({ "bench": bench, "target": target, "concurrency": concurrency, "done": outcome.records.len(), "total": requests.len() });
        events::emit(json, "progress", done);
        levels.push(summarize_level(concurrency, &outcome.records));
        all_records.extend(outcome.records);
        if outcome.interrupted {
            partial = true;
            break;
        }
    }
    let summary = RunSummary {
        started_at: crate::results::rfc3339(started_at),
        duration_s: started.elapsed().as_secs_f64(),
        partial,
        cold_start,
        levels,
        ..planned_summary(job)
    };
    (summary, all_records)
}

fn append_line(path: &std::path::Path, line: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    writeln!(f, "{line}")
}
