//! The metric catalog: every metric's key (`ttft`, `error_rate`), its
//! statistics (`p50` … `max`), unit and which way is better — the names
//! used by limits, SLOs, comparisons and reports, defined as in
//! docs/metrics.md. How a metric is *read* from a run lives with its reader
//! (`gate`, `stats`); this module only knows the names.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which way is better for a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Latency, error rate, cost.
    LowerIsBetter,
    /// Throughput, goodput, decode speed.
    HigherIsBetter,
}

/// How a change is expressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// `current / baseline − 1` (0.05 is +5%).
    Relative,
    /// `current − baseline`, for rates (0.01 is +1 percentage point).
    Absolute,
}

/// Distribution metrics (docs/metrics.md keys), their unit and direction.
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
    ("thinking", Unit::Ms, Direction::LowerIsBetter),
    ("reasoning_tokens", Unit::Count, Direction::LowerIsBetter),
    ("answer_tokens", Unit::Count, Direction::HigherIsBetter),
    ("ttftc", Unit::Ms, Direction::LowerIsBetter),
    ("tool_call", Unit::Ms, Direction::LowerIsBetter),
    ("ttft_cache_hit", Unit::Ms, Direction::LowerIsBetter),
    ("ttft_cache_miss", Unit::Ms, Direction::LowerIsBetter),
    ("input_tokens_requested", Unit::Count, Direction::LowerIsBetter),
    ("input_tokens_generated", Unit::Count, Direction::LowerIsBetter),
];

/// Statistics of a distribution metric, with the fewest values each needs
/// (a p99 needs 100 values to mean anything).
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
    ("cache_hit_ratio", Unit::Fraction, Direction::HigherIsBetter, Scale::Absolute),
];

/// Scalars compared only when a run has them (goodput needs SLOs, cost a
/// price, the cache ratio a server that reports caching).
const OPTIONAL: &[&str] = &["goodput", "cost_per_ok_request", "cache_hit_ratio"];

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
            Unit::Usd => crate::units::format_usd(v),
        }
    }
}

/// A metric a comparison or limit is about: `ttft.p90`, `error_rate`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MetricId {
    /// The docs/metrics.md key.
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
}
