//! Planning: one job per benchmark × target × parameter-grid combination,
//! every setting resolved by the precedence of `settings`, every target and
//! price found, every workload checked — before any request is sent.

use std::sync::Arc;

use super::{BenchSpec, RunError};
use crate::config::file::Config;
use crate::config::{Connection, Target};
use crate::cost::{Price, PriceBook};
use crate::settings::{Layer, Settings, SettingsLayer, Shape, Source};
use crate::workload::Workload;

/// One benchmark × target, fully resolved before any request is sent.
pub(super) struct Job {
    /// The benchmark.
    pub(super) bench: Arc<BenchSpec>,
    /// The benchmark id: its name, plus `/key=value…` for a grid combination.
    pub(super) id: String,
    pub(super) workload: Workload,
    pub(super) target: Target,
    /// The settings of this benchmark × target.
    pub(super) settings: Settings,
    /// What the target costs; `None` when no price is known.
    pub(super) price: Option<Price>,
}

/// Resolves the targets and settings of one benchmark (one job per target
/// and parameter-grid combination), by the precedence of `settings`.
pub(super) fn plan(
    flags: &SettingsLayer,
    config: &Config,
    prices: &PriceBook,
    spec: &Arc<BenchSpec>,
) -> Result<Vec<Job>, RunError> {
    let bench = config.bench_layer(&spec.name);
    let defaults = config.defaults_layer();
    let resolve = |target: Option<&(Source, SettingsLayer)>| {
        let mut layers = vec![Layer { source: &Source::Flags, settings: flags }];
        if let Some((source, settings)) = &bench {
            layers.push(Layer { source, settings });
        }
        layers.push(Layer { source: &spec.source, settings: &spec.layer });
        if let Some((source, settings)) = target {
            layers.push(Layer { source, settings });
        }
        layers.push(Layer { source: &defaults.0, settings: defaults.1 });
        Settings::resolve(&layers, |key, value| Workload::synthetic().with_param(key, value).map(drop))
    };
    let base = resolve(None)?;
    let variants = grid(spec, &base)?;
    let mut jobs = Vec::new();
    for name in &base.targets {
        let settings = resolve(config.target_layer(name).as_ref())?;
        let target = crate::config::resolve(config, name, &settings)?;
        let price = prices.price_for(name, &target.identity)?;
        let needed = match (&settings.load.shape, settings.load.duration) {
            (Shape::Stages(_), _) | (_, Some(_)) => None,
            _ => Some(u64::from(settings.samples) + u64::from(settings.warmup)),
        };
        for (id, workload) in &variants {
            workload.validate(needed).map_err(|e| RunError::Usage(format!("benchmark {id}: {e}")))?;
            jobs.push(Job {
                bench: spec.clone(),
                id: id.clone(),
                // A target's tokenizer sizes and counts its prompts.
                workload: match &target.tokenizer {
                    Some(tokenizer) => workload.clone().tokenizer(tokenizer.clone()),
                    None => workload.clone(),
                },
                target: target.clone(),
                settings: settings.clone(),
                price: price.clone(),
            });
        }
    }
    Ok(jobs)
}

/// The workload of `def` for each combination of its parameter grid, with
/// the sub-benchmark id (`name/key=value/…`).
fn grid(spec: &BenchSpec, settings: &Settings) -> Result<Vec<(String, Workload)>, RunError> {
    let mut variants = vec![(spec.name.clone(), spec.workload.clone())];
    for (key, values) in &settings.params {
        let mut next = Vec::with_capacity(variants.len() * values.len());
        for (id, w) in &variants {
            for v in values {
                let w = w
                    .clone()
                    .with_param(key, v)
                    .map_err(|e| RunError::Usage(format!("{}:{}: {}: {e}", spec.file, spec.line, spec.name)))?;
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
pub(super) fn descriptors_needed(jobs: &[Job]) -> u64 {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::registry::BenchDef;

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

    /// Plans `def` as a run with these flags would.
    fn plan_of(flags: &[&str], def: &BenchDef) -> Result<Vec<Job>, RunError> {
        let flags: SettingsLayer = toml::from_str(&flags.join("\n")).unwrap();
        let config = Config::default();
        let prices = PriceBook::load(&config).unwrap();
        plan(&flags, &config, &prices, &Arc::new(def.spec()?))
    }

    #[test]
    fn a_bad_dataset_line_is_a_usage_error_naming_file_and_line() {
        let Err(RunError::Usage(message)) = plan_of(&[], def(bad_dataset, &[])) else {
            panic!("expected a usage error (exit 2)")
        };
        assert_eq!(message, "benchmark summarise: data/tickets.jsonl:2: `prompt` must be a string, not 42");
    }

    #[test]
    fn a_malformed_attribute_limit_is_a_usage_error_naming_the_bench() {
        let bench = def(grid_workload, &[("limits", r#"["ttft<=5ms"]"#, 4)]);
        let Err(RunError::Usage(message)) = plan_of(&[], bench) else { panic!("expected a usage error (exit 2)") };
        assert!(message.starts_with("benches/b.rs:4: #[llm_bench(...)]: limits: invalid limit"), "{message}");
        assert!(message.contains("\"ttft<=5ms\""), "{message}");
    }

    #[test]
    fn descriptors_needed_follow_the_largest_job() {
        let jobs = plan_of(&["concurrency = [1, 500]"], def(grid_workload, &[])).unwrap();
        // 500 connections to the in-process simulator hold both their ends.
        assert_eq!(descriptors_needed(&jobs), 2 * 500 + crate::process::FD_RESERVE);
        let message = crate::process::fd_shortage(Some(256), descriptors_needed(&jobs)).unwrap();
        assert!(message.contains("the limit is 256") && message.contains("1064"), "{message}");
    }

    #[test]
    fn a_parameter_grid_expands_into_sub_benchmarks() {
        let params: &'static [(&'static str, &'static str, u32)] =
            &[("params", "{ temperature = [0.0, 0.7], max_tokens = [256, 1024] }", 3)];
        let jobs = plan_of(&[], def(grid_workload, params)).unwrap();
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
