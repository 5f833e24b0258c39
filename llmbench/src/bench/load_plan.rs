//! Resolves a benchmark's load shape from its layers — flags, then
//! `[benches.NAME]`, then the `#[llm_bench]` attribute, then `[defaults]`.
//!
//! The *shape* (stages, a sweep, rates or concurrencies) comes whole from
//! the first layer that sets any of `stages`, `sweep`, `rate` or
//! `concurrency` (in that order of preference within the layer), so
//! `--concurrency 4` overrides an attribute's `rate = "20/s"` and vice
//! versa. Every other key (`arrival`, `duration`, `grace`,
//! `max_in_flight`, `slo`) is taken from the first layer that sets it.

use std::time::Duration;

use serde_json::json;

use super::Failure;
use super::args::BenchArgs;
use super::registry::BenchDef;
use crate::config::bench_config::BenchConfig;
use crate::config::file::Defaults;
use crate::load::schedule::{Arrival, Rate};
use crate::load::stages::StagesPlan;
use crate::load::sweep::{Level, SweepSpec};
use crate::stats::goodput::Slo;
use crate::units::parse_duration;

/// The default grace after a duration-bounded level (aiperf's too), capped
/// at the request timeout.
pub(crate) const DEFAULT_GRACE: Duration = Duration::from_secs(30);

/// What loads a benchmark runs at.
#[derive(Debug, Clone)]
pub(crate) enum Shape {
    /// These levels, one after another.
    Levels(Vec<Level>),
    /// Doubling from this level until the knee (an automatic sweep).
    Auto(Level),
    /// One run following a profile; each stage is reported as a level.
    Stages(StagesPlan),
}

/// A benchmark's resolved load.
#[derive(Debug, Clone)]
pub(crate) struct LoadPlan {
    pub(crate) shape: Shape,
    /// The sweep as written, if the shape came from one.
    pub(crate) sweep: Option<SweepSpec>,
    pub(crate) arrival: Arrival,
    pub(crate) duration: Option<Duration>,
    pub(crate) grace: Duration,
    pub(crate) max_in_flight: Option<u32>,
    pub(crate) slo: Slo,
}

impl LoadPlan {
    /// Whether any level is open loop.
    pub(crate) fn is_open(&self) -> bool {
        match &self.shape {
            Shape::Levels(levels) => levels.iter().any(|l| matches!(l, Level::Rate(_))),
            Shape::Auto(level) => matches!(level, Level::Rate(_)),
            Shape::Stages(s) => s.is_rate(),
        }
    }

    /// The concurrency levels, for the `settings.concurrency` of results.
    pub(crate) fn concurrencies(&self) -> Vec<u32> {
        match &self.shape {
            Shape::Levels(levels) => levels
                .iter()
                .filter_map(|l| match l {
                    Level::Concurrency(c) => Some(*c),
                    Level::Rate(_) => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    /// The plan as JSON, for `settings.load` in results.
    pub(crate) fn describe(&self) -> serde_json::Value {
        let shape = match &self.shape {
            Shape::Levels(levels) => json!({ "levels": levels }),
            Shape::Auto(start) => json!({ "auto_from": start }),
            Shape::Stages(stages) => json!({ "stages": stages }),
        };
        json!({
            "mode": if self.is_open() { "open" } else { "closed" },
            "shape": shape,
            "sweep": self.sweep,
            "arrival": self.is_open().then(|| self.arrival.to_string()),
            "duration_s": self.duration.map(|d| d.as_secs_f64()),
            "grace_s": self.duration.map(|_| self.grace.as_secs_f64()),
            "max_in_flight": self.max_in_flight,
            "slo": self.slo.describe(),
        })
    }
}

/// One layer's view of the load keys.
struct Layer<'a> {
    /// Where the values come from, for error messages.
    origin: String,
    rate: Option<&'a str>,
    arrival: Option<&'a str>,
    duration: Option<&'a str>,
    grace: Option<&'a str>,
    stages: Option<&'a str>,
    sweep: Option<&'a str>,
    max_in_flight: Option<u32>,
    slo: Option<&'a str>,
    concurrency: Option<Vec<u32>>,
}

/// Resolves the load of `def`. Flag and config values were checked when
/// parsed; the attribute's DSL strings are checked here, and an error names
/// the benchmark's file and line.
pub(crate) fn resolve(
    args: &BenchArgs,
    bench: Option<&BenchConfig>,
    def: &BenchDef,
    defaults: &Defaults,
    timeout: Duration,
) -> Result<LoadPlan, Failure> {
    let ms = |v: Option<u64>| v.map(|ms| format!("{ms}ms"));
    let (attr_duration, attr_grace) = (ms(def.duration_ms), ms(def.grace_ms));
    let layers = [
        Layer {
            origin: "the command line".into(),
            rate: args.rate.as_deref(),
            arrival: args.arrival.as_deref(),
            duration: args.duration.as_deref(),
            grace: args.grace.as_deref(),
            stages: args.stages.as_deref(),
            sweep: args.sweep.as_deref(),
            max_in_flight: args.max_in_flight,
            slo: args.slo.as_deref(),
            concurrency: (!args.concurrency.is_empty()).then(|| args.concurrency.clone()),
        },
        match bench {
            Some(b) => Layer {
                origin: format!("[benches.{}] in llmbench.toml", def.name),
                rate: b.rate.as_deref(),
                arrival: b.arrival.as_deref(),
                duration: b.duration.as_deref(),
                grace: b.grace.as_deref(),
                stages: b.stages.as_deref(),
                sweep: b.sweep.as_deref(),
                max_in_flight: b.max_in_flight,
                slo: b.slo.as_deref(),
                concurrency: b.concurrency.clone(),
            },
            None => Layer::empty(),
        },
        Layer {
            origin: format!("{}:{}: #[llm_bench(...)]", def.file, def.line),
            rate: def.rate,
            arrival: def.arrival,
            duration: attr_duration.as_deref(),
            grace: attr_grace.as_deref(),
            stages: def.stages,
            sweep: def.sweep,
            max_in_flight: def.max_in_flight,
            slo: def.slo,
            concurrency: (!def.concurrency.is_empty()).then(|| def.concurrency.to_vec()),
        },
        Layer {
            origin: "[defaults] in llmbench.toml".into(),
            rate: defaults.rate.as_deref(),
            arrival: defaults.arrival.as_deref(),
            duration: defaults.duration.as_deref(),
            grace: defaults.grace.as_deref(),
            stages: defaults.stages.as_deref(),
            sweep: defaults.sweep.as_deref(),
            max_in_flight: defaults.max_in_flight,
            slo: defaults.slo.as_deref(),
            concurrency: defaults.concurrency.clone(),
        },
    ];
    let usage = |layer: &Layer<'_>, key: &str, e: String| Failure::Usage(format!("{}: {key}: {e}", layer.origin));

    let mut shape = None;
    let mut sweep = None;
    for layer in &layers {
        if let Some(s) = layer.stages {
            shape = Some(Shape::Stages(StagesPlan::parse(s).map_err(|e| usage(layer, "stages", e))?));
        } else if let Some(s) = layer.sweep {
            let spec = SweepSpec::parse(s).map_err(|e| usage(layer, "sweep", e))?;
            shape = Some(match &spec {
                SweepSpec::Auto { start } => Shape::Auto(*start),
                other => Shape::Levels(other.initial_levels()),
            });
            sweep = Some(spec);
        } else if let Some(r) = layer.rate {
            let rates: Vec<Level> = r
                .split(',')
                .map(|p| Rate::parse(p).map(|r| Level::Rate(r.per_s())))
                .collect::<Result<_, _>>()
                .map_err(|e| usage(layer, "rate", e))?;
            shape = Some(Shape::Levels(rates));
        } else if let Some(c) = &layer.concurrency {
            shape = Some(Shape::Levels(c.iter().map(|&c| Level::Concurrency(c.max(1))).collect()));
        }
        if shape.is_some() {
            break;
        }
    }
    let shape = shape.unwrap_or(Shape::Levels(vec![Level::Concurrency(1)]));

    let first = |get: &dyn Fn(&Layer<'_>) -> Option<String>| layers.iter().find_map(|l| get(l).map(|v| (l, v)));
    let arrival = match first(&|l| l.arrival.map(str::to_owned)) {
        Some((layer, a)) => Arrival::parse(&a).map_err(|e| usage(layer, "arrival", e))?,
        None => Arrival::default(),
    };
    let duration = match first(&|l| l.duration.map(str::to_owned)) {
        Some((layer, d)) => Some(parse_duration(&d).map_err(|e| usage(layer, "duration", e))?),
        None => None,
    };
    let grace = match first(&|l| l.grace.map(str::to_owned)) {
        Some((layer, g)) => parse_duration(&g).map_err(|e| usage(layer, "grace", e))?,
        None => DEFAULT_GRACE.min(timeout),
    };
    let slo = match first(&|l| l.slo.map(str::to_owned)) {
        Some((layer, s)) => Slo::parse(&s).map_err(|e| usage(layer, "slo", e))?,
        None => Slo::default(),
    };
    let max_in_flight = layers.iter().find_map(|l| l.max_in_flight);
    // Stages set their own length; a duration beside them does not apply.
    let duration = if matches!(shape, Shape::Stages(_)) { None } else { duration };
    Ok(LoadPlan { shape, sweep, arrival, duration, grace, max_in_flight, slo })
}

impl Layer<'_> {
    fn empty() -> Self {
        Layer {
            origin: String::new(),
            rate: None,
            arrival: None,
            duration: None,
            grace: None,
            stages: None,
            sweep: None,
            max_in_flight: None,
            slo: None,
            concurrency: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(a: &[&str]) -> BenchArgs {
        BenchArgs::try_parse_from(std::iter::once("bench").chain(a.iter().copied())).unwrap()
    }

    fn def() -> BenchDef {
        BenchDef {
            name: "b",
            module_path: "m",
            file: "benches/b.rs",
            line: 7,
            workload: crate::Workload::synthetic,
            samples: None,
            warmup: None,
            concurrency: &[1, 8],
            targets: &[],
            timeout_ms: None,
            limits: &[],
            ignore: None,
            rate: Some("20/s"),
            arrival: None,
            duration_ms: Some(30_000),
            grace_ms: None,
            stages: None,
            sweep: None,
            max_in_flight: None,
            slo: None,
            check: None,
            params: &[],
        }
    }

    const T: Duration = Duration::from_secs(10);

    #[test]
    fn layers_resolve_in_order() {
        let d = Defaults { arrival: Some("constant".into()), max_in_flight: Some(4), ..Defaults::default() };
        let p = resolve(&args(&[]), None, &def(), &d, T).unwrap();
        assert!(matches!(&p.shape, Shape::Levels(l) if l == &[Level::Rate(20.0)]), "rate beats concurrency in a layer");
        assert_eq!((p.arrival, p.max_in_flight), (Arrival::Constant, Some(4)));
        assert_eq!((p.duration, p.grace), (Some(Duration::from_secs(30)), T), "grace capped at the timeout");
        let p = resolve(&args(&["--concurrency", "2"]), None, &def(), &d, T).unwrap();
        assert!(matches!(&p.shape, Shape::Levels(l) if l == &[Level::Concurrency(2)]), "flags win as a whole shape");
        let bench = BenchConfig { sweep: Some("auto".into()), ..BenchConfig::default() };
        let p = resolve(&args(&[]), Some(&bench), &def(), &d, T).unwrap();
        assert!(matches!(p.shape, Shape::Auto(Level::Concurrency(1))));
        let p = resolve(&args(&["--stages", "spike:5/s*2"]), None, &def(), &d, T).unwrap();
        assert!(matches!(p.shape, Shape::Stages(_)) && p.duration.is_none() && p.is_open());
        assert!(p.describe()["shape"]["stages"].is_object());
    }

    #[test]
    fn a_bad_attribute_value_names_the_file_and_line() {
        let bad = BenchDef { stages: Some("30s@5/s, 1m@8"), ..def() };
        let Err(Failure::Usage(m)) = resolve(&args(&[]), None, &bad, &Defaults::default(), T) else { panic!() };
        assert!(m.starts_with("benches/b.rs:7: #[llm_bench(...)]: stages:") && m.contains("mix"), "{m}");
        let bad = BenchDef { slo: Some("latency <= 1s"), ..def() };
        assert!(resolve(&args(&[]), None, &bad, &Defaults::default(), T).is_err());
    }
}
