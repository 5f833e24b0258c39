//! The metrics the gate knows: their names (`ttft.p90`, `error_rate`), which
//! way is better, their units, and how to read them from a run — a point
//! value from a [`LevelSummary`], or a per-request [`Sample`] for the
//! bootstrap.
//!
//! This table is the one place to extend when a new per-level figure lands
//! in [`LevelSummary`]: add it to [`SCALARS`], [`MetricId::value`] and
//! [`MetricId::sample`].

use std::fmt;

use crate::cost::Price;
use crate::record::{Phase, RequestRecord};
use crate::stats::LevelSummary;
use crate::stats::compare::{Direction, Sample, Scale, Statistic};
use crate::stats::goodput::Slo;

/// Distribution metrics (METRICS.md keys), their unit and direction.
pub(crate) const DISTRIBUTIONS: &[(&str, Unit, Direction)] = &[
    ("ttft", Unit::Ms, Direction::LowerIsBetter),
    ("ttfo", Unit::Ms, Direction::LowerIsBetter),
    ("ttfb", Unit::Ms, Direction::LowerIsBetter),
    ("queue", Unit::Ms, Direction::LowerIsBetter),
    ("tpot", Unit::Ms, Direction::LowerIsBetter),
    ("ntpot", Unit::Ms, Direction::LowerIsBetter),
    ("itl", Unit::Ms, Direction::LowerIsBetter),
    ("e2e", Unit::Ms, Direction::LowerIsBetter),
    ("decode_tps", Unit::PerSecond, Direction::HigherIsBetter),
    ("output_tokens", Unit::Count, Direction::HigherIsBetter),
    ("input_tokens", Unit::Count, Direction::LowerIsBetter),
    ("server_latency", Unit::Ms, Direction::LowerIsBetter),
    ("server_first_byte", Unit::Ms, Direction::LowerIsBetter),
    ("network_overhead", Unit::Ms, Direction::LowerIsBetter),
];

/// Statistics of a distribution metric, with the fewest values each needs
/// (the rule of [`crate::stats::LatencySummary`]: p99 needs 100).
pub(crate) const STATS: &[(&str, Option<f64>, usize)] = &[
    ("p50", Some(0.50), 1),
    ("p90", Some(0.90), 10),
    ("p95", Some(0.95), 20),
    ("p99", Some(0.99), 100),
    ("p999", Some(0.999), 1000),
    ("mean", None, 1),
    ("min", Some(0.0), 1),
    ("max", Some(1.0), 1),
];

/// Values beyond a percentile that a comparison of it needs.
pub(crate) const TAIL_VALUES: usize = 10;

/// Per-run figures: unit, direction, and whether changes are relative.
pub(crate) const SCALARS: &[(&str, Unit, Direction, Scale)] = &[
    ("error_rate", Unit::Fraction, Direction::LowerIsBetter, Scale::Absolute),
    ("output_tok_per_s", Unit::PerSecond, Direction::HigherIsBetter, Scale::Relative),
    ("req_per_s", Unit::PerSecond, Direction::HigherIsBetter, Scale::Relative),
    ("goodput", Unit::Fraction, Direction::HigherIsBetter, Scale::Absolute),
    ("cost_per_ok_request", Unit::Usd, Direction::LowerIsBetter, Scale::Relative),
];

/// Scalars compared only when a run has them (goodput needs SLOs, cost a price).
const OPTIONAL: &[&str] = &["goodput", "cost_per_ok_request"];

/// The metrics compared by default, per level (goodput and cost when the
/// runs have them).
pub(crate) const DEFAULT_SET: &[&str] = &[
    "ttft.p50",
    "ttft.p90",
    "ttft.p99",
    "ttfo.p50",
    "ttfo.p90",
    "ttfo.p99",
    "tpot.p50",
    "tpot.p90",
    "tpot.p99",
    "itl.p50",
    "itl.p90",
    "itl.p99",
    "e2e.p50",
    "e2e.p90",
    "e2e.p99",
    "output_tok_per_s",
    "error_rate",
    "goodput",
    "cost_per_ok_request",
];

/// The unit of a metric's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Milliseconds.
    Ms,
    /// Per second (tokens or requests).
    PerSecond,
    /// A count (tokens).
    Count,
    /// A fraction in [0, 1], shown as a percentage.
    Fraction,
    /// US dollars.
    Usd,
}

impl Unit {
    /// The unit as written after a value (`ms`, `/s`, ``, `%`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Unit::Ms => "ms",
            Unit::PerSecond => "/s",
            Unit::Count => "",
            Unit::Fraction => "%",
            Unit::Usd => "$",
        }
    }

    /// A value with its unit, for people.
    pub(crate) fn format(self, v: f64) -> String {
        match self {
            Unit::Ms => crate::units::format_ms(v),
            Unit::PerSecond => format!("{v:.1}/s"),
            Unit::Count => format!("{v:.1}"),
            Unit::Fraction => format!("{:.2}%", v * 100.0),
            Unit::Usd => crate::report::terminal::cost::usd(v),
        }
    }
}

/// A metric a comparison or limit is about: `ttft.p90`, `error_rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MetricId {
    /// The METRICS.md key.
    pub(crate) key: &'static str,
    /// The statistic, for distribution metrics.
    pub(crate) stat: Option<&'static str>,
    pub(crate) unit: Unit,
    pub(crate) direction: Direction,
    pub(crate) scale: Scale,
}

impl fmt::Display for MetricId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.stat {
            Some(stat) => write!(f, "{}.{stat}", self.key),
            None => f.write_str(self.key),
        }
    }
}

fn names<T>(table: &[T], key: impl Fn(&T) -> &'static str) -> String {
    table.iter().map(key).collect::<Vec<_>>().join(", ")
}

impl MetricId {
    /// Parses `ttft.p90` or `error_rate`; the error says what is known.
    pub(crate) fn parse(text: &str) -> Result<MetricId, String> {
        let (key, stat) = match text.split_once('.') {
            Some((k, s)) => (k, Some(s)),
            None => (text, None),
        };
        if let Some(&(key, unit, direction, scale)) = SCALARS.iter().find(|s| s.0 == key) {
            if let Some(stat) = stat {
                return Err(format!("{key} is a single figure per run: remove `.{stat}`"));
            }
            return Ok(MetricId { key, stat: None, unit, direction, scale });
        }
        let Some(&(key, unit, direction)) = DISTRIBUTIONS.iter().find(|d| d.0 == key) else {
            return Err(format!(
                "unknown metric {key:?} (known: {}, {})",
                names(SCALARS, |s| s.0),
                names(DISTRIBUTIONS, |d| d.0)
            ));
        };
        let stats = names(STATS, |s| s.0);
        let Some(stat) = stat else {
            return Err(format!("{key} needs a statistic, e.g. {key}.p90 ({stats})"));
        };
        let Some(&(stat, _, _)) = STATS.iter().find(|s| s.0 == stat) else {
            return Err(format!("unknown statistic {stat:?} of {key} (known: {stats})"));
        };
        Ok(MetricId { key, stat: Some(stat), unit, direction, scale: Scale::Relative })
    }

    /// The bootstrap statistic.
    pub(crate) fn statistic(&self) -> Statistic {
        match self.stat.and_then(|s| STATS.iter().find(|x| x.0 == s)) {
            Some((_, Some(q), _)) => Statistic::Quantile(*q),
            Some((_, None, _)) => Statistic::Mean,
            None if self.scale == Scale::Absolute => Statistic::Mean,
            None => Statistic::Ratio,
        }
    }

    /// The fewest values for a *comparison* of the statistic: what the
    /// summary needs to report it, and at least [`TAIL_VALUES`] values
    /// beyond a percentile — the bootstrap of an extreme order statistic
    /// (p99 of 100 values is the second largest) is unreliable, and
    /// `examples/stat_check.rs` measured 1.7% false regressions with
    /// exponential TTFT at 100 samples before this rule, 0% after.
    pub(crate) fn min_values(&self) -> usize {
        let Some((_, q, reported)) = self.stat.and_then(|s| STATS.iter().find(|x| x.0 == s)) else { return 1 };
        match q {
            Some(q) if *q > 0.5 && *q < 1.0 => (*reported).max((TAIL_VALUES as f64 / (1.0 - q) - 1e-9).ceil() as usize),
            _ => *reported,
        }
    }

    /// Whether a run without this figure (no SLOs, no price) just leaves
    /// it out of a comparison.
    pub(crate) fn is_optional(&self) -> bool {
        OPTIONAL.contains(&self.key)
    }

    /// The point value of a level, as its summary reports it (so it agrees
    /// with the tables), or why it has none.
    pub(crate) fn value(&self, level: &LevelSummary) -> Result<f64, String> {
        match self.stat {
            None => match self.key {
                "goodput" => level.goodput.as_ref().map(|g| g.ratio).ok_or_else(|| "goodput was not computed".into()),
                "cost_per_ok_request" => level
                    .cost
                    .as_ref()
                    .and_then(|c| c.cost_per_ok_request)
                    .ok_or_else(|| "no cost per ok request (no price known, or no request succeeded)".into()),
                key => level.metric_value(key).ok_or_else(|| format!("{key} is missing")),
            },
            Some(stat) => {
                let Some(summary) = level.metric(self.key) else {
                    return Err(format!("{} was not measured (no successful request reported it)", self.key));
                };
                summary.get(stat).ok_or_else(|| match summary.missing.get(stat) {
                    Some(why) => format!("{self} {why}"),
                    None => format!("{self} is missing"),
                })
            }
        }
    }

    /// The per-request sample of a level's measured records; `price` is the
    /// run's (for cost).
    pub(crate) fn sample(&self, level: &LevelSummary, records: &[&RequestRecord], price: Option<&Price>) -> Sample {
        let ok = || records.iter().filter(|r| r.is_ok());
        let flag = |good: bool| if good { 1.0 } else { 0.0 };
        match self.key {
            "error_rate" => Sample::Values(records.iter().map(|r| flag(!r.is_ok())).collect()),
            "goodput" => {
                let slo = level.goodput.as_ref().and_then(|g| Slo::parse(&g.slo.join(", ")).ok());
                match slo {
                    Some(slo) => Sample::Values(records.iter().map(|r| flag(slo.is_good(r))).collect()),
                    None => Sample::Values(Vec::new()),
                }
            }
            "cost_per_ok_request" => {
                // Σ cost / Σ ok, each request weighed by what it is billed
                // for: its tokens, or its share of instance time.
                let weight = |r: &RequestRecord| match price {
                    Some(Price::PerToken { rates, .. }) => {
                        r.input_tokens.unwrap_or(0) as f64 * rates.input + r.output_tokens as f64 * rates.output
                    }
                    _ => r.e2e_ms.max(0.0),
                };
                let pairs: Vec<(f64, f64)> = records.iter().map(|r| (weight(r), flag(r.is_ok()))).collect();
                let (num, den) = pairs.iter().fold((0.0, 0.0), |(n, d), p| (n + p.0, d + p.1));
                let measured = self.value(level).unwrap_or(0.0);
                let scale = if num > 0.0 && den > 0.0 { measured / (num / den) } else { 1.0 };
                Sample::Ratio { pairs, scale }
            }
            "output_tok_per_s" | "req_per_s" => {
                let per = |r: &RequestRecord| match (r.is_ok(), self.key) {
                    (false, _) => 0.0,
                    (true, "req_per_s") => 1.0,
                    (true, _) => r.output_tokens as f64,
                };
                let pairs: Vec<(f64, f64)> = records.iter().map(|r| (per(r), r.e2e_ms.max(0.0))).collect();
                let (num, den) = pairs.iter().fold((0.0, 0.0), |(n, d), p| (n + p.0, d + p.1));
                let measured = if self.key == "req_per_s" { level.req_per_s } else { level.output_tok_per_s };
                // Little's law: throughput = in flight × Σ work / Σ time.
                let scale = if num > 0.0 && den > 0.0 { measured / (num / den) } else { 1.0 };
                Sample::Ratio { pairs, scale }
            }
            "itl" => Sample::Clusters(
                ok().filter(|r| !r.gaps_us.is_empty())
                    .map(|r| r.gaps_us.iter().map(|&g| f64::from(g) / 1e3).collect())
                    .collect(),
            ),
            key => Sample::Values(ok().filter_map(|r| per_request(key, r)).filter(|v| v.is_finite()).collect()),
        }
    }
}

/// A distribution metric's value for one ok request (as `summarize_level`).
fn per_request(key: &str, r: &RequestRecord) -> Option<f64> {
    match key {
        "ttft" => r.ttft_ms,
        "ttfo" => r.ttfo_ms,
        "ttfb" => r.ttfb_ms,
        "queue" => Some(r.queue_ms),
        "tpot" => r.tpot_ms(),
        "ntpot" => r.ntpot_ms(),
        "e2e" => Some(r.e2e_ms),
        "decode_tps" => r.decode_tps(),
        "output_tokens" => Some(r.output_tokens as f64),
        "input_tokens" => r.input_tokens.map(|n| n as f64),
        "server_latency" => r.server_latency_ms,
        "server_first_byte" => r.server_first_byte_ms,
        "network_overhead" => r.network_overhead_ms(),
        _ => None,
    }
}

/// The measured records of the level at row `row` of the summary.
pub(crate) fn level_records(records: &[RequestRecord], row: usize) -> Vec<&RequestRecord> {
    records.iter().filter(|r| r.phase == Phase::Measured && r.level as usize == row).collect()
}

/// Values in the sample, pooled (what a percentile is taken over).
pub(crate) fn value_count(sample: &Sample) -> usize {
    match sample {
        Sample::Clusters(c) => c.iter().map(Vec::len).sum(),
        other => other.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_with_helpful_errors() {
        let m = MetricId::parse("ttft.p90").unwrap();
        assert_eq!((m.key, m.stat, m.direction), ("ttft", Some("p90"), Direction::LowerIsBetter));
        assert_eq!(m.statistic(), Statistic::Quantile(0.9));
        assert_eq!(MetricId::parse("output_tok_per_s").unwrap().statistic(), Statistic::Ratio);
        assert_eq!(MetricId::parse("error_rate").unwrap().scale, Scale::Absolute);
        assert_eq!(MetricId::parse("e2e.mean").unwrap().statistic(), Statistic::Mean);
        assert!(MetricId::parse("ttft").unwrap_err().contains("needs a statistic, e.g. ttft.p90"));
        assert!(MetricId::parse("ttft.p42").unwrap_err().contains("unknown statistic \"p42\""));
        assert!(
            MetricId::parse("latency.p50").unwrap_err().starts_with("unknown metric \"latency\" (known: error_rate")
        );
        assert!(MetricId::parse("error_rate.p50").unwrap_err().contains("remove `.p50`"));
        assert_eq!(MetricId::parse("ttft.p50").unwrap().min_values(), 1);
        assert_eq!(MetricId::parse("ttft.p90").unwrap().min_values(), 100);
        assert_eq!(MetricId::parse("ttft.p99").unwrap().min_values(), 1000);
        assert_eq!(MetricId::parse("ttft.mean").unwrap().min_values(), 1);
        for name in DEFAULT_SET {
            assert_eq!(MetricId::parse(name).unwrap().to_string(), *name);
        }
    }
}
