//! Stages (k6-style): a load value — a rate or a concurrency — that moves
//! linearly from one target to the next over each stage's duration, and
//! the spike preset built from them.
//!
//! Semantics, as k6's `stages`: stage *i* ramps linearly from the value at
//! the end of stage *i − 1* to its own `target` over its `duration`. The
//! value before the first stage is `start`, which defaults to the first
//! stage's target (so the first stage holds). A `0s` stage is an instant
//! jump. The DSL used by the attribute, the config and `--stages`:
//!
//! ```text
//! 30s@5/s, 1m@50/s, 30s@50/s        hold 5/s for 30 s, ramp to 50/s over 1 min, hold 30 s
//! 0/s, 1m@100/s                     start at 0/s and ramp to 100/s over 1 min
//! 20s@4, 1m@32                      the same for concurrency (bare integers)
//! spike:10/s*5                      10/s, then 50/s, then 10/s (24 s, 12 s, 24 s)
//! spike:8*4:2m                      concurrency 8 → 32 → 8 over 2 minutes
//! ```

use std::time::Duration;

use serde::Serialize;

use super::Rate;
use crate::units::parse_duration;

/// The value a stage drives towards.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StageValue {
    /// Requests per second (open loop).
    Rate(f64),
    /// Requests in flight (closed loop).
    Concurrency(u32),
}

impl StageValue {
    /// Parses `50/s` (a rate) or `8` (a concurrency).
    pub fn parse(text: &str) -> Result<StageValue, String> {
        let t = text.trim();
        if t.contains('/') {
            // `0/s` is a valid start of a ramp; Rate::parse refuses zero.
            if t.split('/').next().and_then(|n| n.trim().parse::<f64>().ok()) == Some(0.0) {
                return Ok(StageValue::Rate(0.0));
            }
            return Rate::parse(t).map(|r| StageValue::Rate(r.per_s()));
        }
        t.parse::<u32>()
            .map(StageValue::Concurrency)
            .map_err(|_| format!("invalid stage target {t:?} (a rate like \"50/s\" or a concurrency like \"8\")"))
    }

    /// The value as a number (requests per second, or in flight).
    pub fn value(self) -> f64 {
        match self {
            StageValue::Rate(r) => r,
            StageValue::Concurrency(c) => f64::from(c),
        }
    }

    /// Whether it is a rate (open loop).
    pub fn is_rate(self) -> bool {
        matches!(self, StageValue::Rate(_))
    }

    /// The value times `factor` (a concurrency rounds, at least 1).
    pub fn scaled(self, factor: f64) -> StageValue {
        match self {
            StageValue::Rate(r) => StageValue::Rate(r * factor),
            StageValue::Concurrency(c) => StageValue::Concurrency((f64::from(c) * factor).round().max(1.0) as u32),
        }
    }
}

/// One stage: reach `target` linearly over `duration`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stage {
    /// How long the ramp (or hold) lasts.
    #[serde(serialize_with = "secs")]
    pub duration: Duration,
    /// The value at the end of the stage.
    pub target: StageValue,
}

fn secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// A parsed stages plan: where it starts and its stages.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StagesPlan {
    /// The value before the first stage.
    pub start: StageValue,
    /// The stages, in order.
    pub stages: Vec<Stage>,
}

impl StagesPlan {
    /// Parses the stages DSL (see the module docs).
    pub fn parse(text: &str) -> Result<StagesPlan, String> {
        let t = text.trim();
        if let Some(spec) = t.strip_prefix("spike:") {
            return spike(spec);
        }
        let mut start = None;
        let mut stages = Vec::new();
        for (i, item) in t.split(',').map(str::trim).enumerate() {
            if item.is_empty() {
                continue;
            }
            match item.split_once('@') {
                Some((d, v)) => {
                    let duration = parse_duration(d).map_err(|e| format!("stage {}: {e}", i + 1))?;
                    let target = StageValue::parse(v).map_err(|e| format!("stage {}: {e}", i + 1))?;
                    stages.push(Stage { duration, target });
                }
                None if i == 0 => start = Some(StageValue::parse(item)?),
                None => {
                    return Err(format!(
                        "stage {} {item:?} needs a duration: `<duration>@<target>`, e.g. \"30s@50/s\"",
                        i + 1
                    ));
                }
            }
        }
        let Some(first) = stages.first() else {
            return Err(format!("no stages in {text:?} (expected e.g. \"30s@5/s, 1m@50/s\")"));
        };
        let start = start.unwrap_or(first.target);
        if stages.iter().any(|s| s.target.is_rate() != start.is_rate()) {
            return Err(format!("stages {text:?} mix rates and concurrencies; use one kind"));
        }
        if stages.iter().all(|s| s.duration.is_zero()) {
            return Err(format!("stages {text:?} last no time"));
        }
        if let Some(s) = stages.iter().find(|s| s.target == StageValue::Concurrency(0)) {
            let _ = s;
            return Err("a concurrency stage target must be at least 1".into());
        }
        Ok(StagesPlan { start, stages })
    }

    /// Whether the stages drive a rate (open loop) rather than a concurrency.
    pub fn is_rate(&self) -> bool {
        self.start.is_rate()
    }

    /// The total duration.
    pub fn total(&self) -> Duration {
        self.stages.iter().map(|s| s.duration).sum()
    }
}

/// `spike:<base>*<factor>[:<total>]`: the base load for 40 % of the time,
/// an instant jump to base × factor for 20 %, and back to base for 40 %.
fn spike(spec: &str) -> Result<StagesPlan, String> {
    let usage = "expected `spike:<base>*<factor>[:<total>]`, e.g. \"spike:10/s*5\" or \"spike:8*4:2m\"";
    let (load, total) = match spec.split_once(':') {
        Some((load, total)) => (load, parse_duration(total)?),
        None => (spec, Duration::from_secs(60)),
    };
    let (base, factor) = load.split_once('*').ok_or_else(|| format!("invalid spike {spec:?}: {usage}"))?;
    let base = StageValue::parse(base)?;
    let factor: f64 = factor.trim().parse().map_err(|_| format!("invalid spike factor {factor:?}: {usage}"))?;
    if !(factor.is_finite() && factor > 0.0) || base.value() <= 0.0 || total.is_zero() {
        return Err(format!("invalid spike {spec:?}: base, factor and duration must be positive"));
    }
    let peak = base.scaled(factor);
    let part = |share: f64| Duration::from_secs_f64(total.as_secs_f64() * share);
    let stages = vec![
        Stage { duration: part(0.4), target: base },
        Stage { duration: Duration::ZERO, target: peak },
        Stage { duration: part(0.2), target: peak },
        Stage { duration: Duration::ZERO, target: base },
        Stage { duration: part(0.4), target: base },
    ];
    Ok(StagesPlan { start: base, stages })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dsl_parses() {
        let p = StagesPlan::parse("30s@5/s, 1m@50/s").unwrap();
        assert_eq!(p.start, StageValue::Rate(5.0));
        assert_eq!(p.stages.len(), 2);
        assert_eq!(p.total(), Duration::from_secs(90));
        assert!(p.is_rate());
        let p = StagesPlan::parse("0/s, 10s@10/s").unwrap();
        assert_eq!(p.start, StageValue::Rate(0.0));
        let c = StagesPlan::parse("20s@4, 1m@32").unwrap();
        assert!(!c.is_rate());
        assert!(StagesPlan::parse("").unwrap_err().contains("no stages"));
        assert!(StagesPlan::parse("30s@5/s, 1m@8").unwrap_err().contains("mix"));
        assert!(StagesPlan::parse("30s@5/s, 50/s").unwrap_err().contains("needs a duration"));
        assert!(StagesPlan::parse("soon@5/s").unwrap_err().contains("stage 1"));
        assert!(StagesPlan::parse("10s@0").unwrap_err().contains("at least 1"));
    }
}
