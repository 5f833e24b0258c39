//! Limits: absolute thresholds (SLOs, k6-style) and budgets relative to the
//! baseline (iai-callgrind-style), checked on every level of every
//! benchmark × target. A failed limit makes the run exit 3.
//!
//! # Grammar
//!
//! ```text
//! limit     = metric op value                 spaces around op are allowed
//! metric    = key [ "." stat ]                ttft.p90, error_rate, output_tok_per_s
//! stat      = p50 | p90 | p95 | p99 | p999 | mean | min | max
//! op        = "<=" | "<" | ">=" | ">"         absolute: the measured value
//!           | "="                             relative: a budget against the baseline
//! absolute  = number [ unit ]                 ms (default for latencies), s, us;
//!                                             % or a fraction for rates; a bare
//!                                             number for tokens and tokens/s
//! relative  = [ "+" | "-" ] number "%"        how far the metric may move the bad way
//! ```
//!
//! Examples: `ttft.p90<=500ms`, `tpot.p50<100ms`, `error_rate<=1%`,
//! `output_tok_per_s>=100`, `ttft.p50=+5%` (p50 TTFT may grow by at most
//! 5%), `output_tok_per_s=-5%` (throughput may drop by at most 5%),
//! `error_rate=+1%` (at most one percentage point more errors).
//!
//!
//! How a limit is checked against a run is `gate::limits`.

use std::fmt;

use crate::metric::{Direction, MetricId, Unit};

/// A parsed limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Limit {
    /// The limit as written.
    pub(crate) text: String,
    /// The metric it bounds.
    pub(crate) metric: MetricId,
    /// What it checks.
    pub(crate) check: Check,
}

/// What a limit checks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Check {
    /// The measured value against a threshold.
    Absolute {
        /// The comparison.
        op: Op,
        /// The threshold, in the metric's unit.
        value: f64,
    },
    /// The budget, as a non-negative change in the bad direction.
    Relative {
        /// How far the metric may move the bad way.
        budget: f64,
    },
}

/// A threshold's comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<=`
    Le,
    /// `<`
    Lt,
    /// `>=`
    Ge,
    /// `>`
    Gt,
}

impl Op {
    /// Whether `measured` meets `value`.
    pub fn holds(self, measured: f64, value: f64) -> bool {
        match self {
            Op::Le => measured <= value,
            Op::Lt => measured < value,
            Op::Ge => measured >= value,
            Op::Gt => measured > value,
        }
    }
}

/// A limit that does not parse: names the limit and says what to write.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid limit {text:?}: {reason}")]
pub struct LimitError {
    /// The limit as written.
    pub text: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Limit {
    type Err = LimitError;

    fn from_str(text: &str) -> Result<Limit, LimitError> {
        Limit::parse(text)
    }
}

impl Limit {
    /// Parses a limit (grammar in the module docs).
    pub fn parse(text: &str) -> Result<Limit, LimitError> {
        let err = |reason: String| LimitError { text: text.to_owned(), reason };
        let t = text.trim();
        let Some(at) = t.find(['<', '>', '=']) else {
            return Err(err("expected `metric<=value`, `metric>=value` or `metric=+N%` (e.g. ttft.p90<=500ms)".into()));
        };
        let (name, rest) = t.split_at(at);
        let (op, value) = ["<=", ">=", "<", ">", "="]
            .iter()
            .find_map(|op| rest.strip_prefix(op).map(|v| (*op, v.trim())))
            .ok_or_else(|| err("unknown operator".into()))?;
        if value.starts_with(['<', '>', '=']) {
            return Err(err(format!("unknown operator `{op}{}` (use <=, <, >=, > or =)", &value[..1])));
        }
        let metric = MetricId::parse(name.trim()).map_err(err)?;
        if value.is_empty() {
            return Err(err("missing value after the operator".into()));
        }
        let check = if op == "=" {
            Check::Relative { budget: budget(&metric, value).map_err(err)? }
        } else {
            let op = match op {
                "<=" => Op::Le,
                "<" => Op::Lt,
                ">=" => Op::Ge,
                _ => Op::Gt,
            };
            Check::Absolute { op, value: absolute(&metric, value).map_err(err)? }
        };
        Ok(Limit { text: t.to_owned(), metric, check })
    }

    /// The metric it is about.
    pub(crate) fn metric_id(&self) -> MetricId {
        self.metric
    }

    /// Whether the limit needs a baseline.
    pub fn is_relative(&self) -> bool {
        matches!(self.check, Check::Relative { .. })
    }
}

fn number(text: &str) -> Result<f64, String> {
    let v: f64 = text.trim().parse().map_err(|_| format!("{:?} is not a number", text.trim()))?;
    if !v.is_finite() || v < 0.0 {
        return Err(format!("{:?} must be a finite number ≥ 0", text.trim()));
    }
    Ok(v)
}

fn absolute(metric: &MetricId, value: &str) -> Result<f64, String> {
    let value = if metric.unit == Unit::Usd { value.strip_prefix('$').unwrap_or(value).trim_start() } else { value };
    let split = value.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(value.len());
    let (num, unit) = value.split_at(split);
    let unit = unit.trim();
    if num.is_empty() {
        return Err(format!("{value:?} is not a number"));
    }
    let v = number(num)?;
    match (metric.unit, unit) {
        (Unit::Ms, "" | "ms") => Ok(v),
        (Unit::Ms, "s") => Ok(v * 1e3),
        (Unit::Ms, "us" | "µs") => Ok(v / 1e3),
        (Unit::Ms, other) => Err(format!("unknown unit {other:?} for {metric} (use ms, s or us)")),
        (Unit::Fraction, "%") => Ok(v / 100.0),
        (Unit::Fraction, "") if v <= 1.0 => Ok(v),
        (Unit::Fraction, "") => Err(format!("{metric} is a fraction: write {v}% or a number ≤ 1")),
        (Unit::Fraction, other) => Err(format!("unknown unit {other:?} for {metric} (use % or a fraction)")),
        (Unit::PerSecond, "" | "/s") | (Unit::Count | Unit::Usd, "") => Ok(v),
        (_, other) => Err(format!("unknown unit {other:?} for {metric} (write a bare number)")),
    }
}

fn budget(metric: &MetricId, value: &str) -> Result<f64, String> {
    let Some(num) = value.strip_suffix('%') else {
        return Err(format!("a relative limit is a percentage, e.g. {metric}=+5%; for a threshold use <= or >="));
    };
    let (sign, num) = match num.trim().strip_prefix('+') {
        Some(n) => (Some(1.0), n),
        None => match num.trim().strip_prefix('-') {
            Some(n) => (Some(-1.0), n),
            None => (None, num),
        },
    };
    let v = number(num)?;
    let bad = if metric.direction == Direction::LowerIsBetter { 1.0 } else { -1.0 };
    if let Some(sign) = sign
        && sign != bad
        && v != 0.0
    {
        let (way, example) = if bad > 0.0 { ("grow", "+") } else { ("drop", "-") };
        return Err(format!(
            "{metric} is {}: a budget says how much it may {way}, e.g. {metric}={example}{v}%",
            if bad > 0.0 { "lower-is-better" } else { "higher-is-better" }
        ));
    }
    Ok(v / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Limit {
        Limit::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn bad(text: &str) -> String {
        let e = Limit::parse(text).unwrap_err();
        assert_eq!(e.text, text);
        e.to_string()
    }

    #[test]
    fn the_documented_examples_parse() {
        assert_eq!(ok("ttft.p90<=500ms").check, Check::Absolute { op: Op::Le, value: 500.0 });
        assert_eq!(ok("tpot.p50 < 0.1s").check, Check::Absolute { op: Op::Lt, value: 100.0 });
        assert_eq!(ok("itl.p99<=800us").check, Check::Absolute { op: Op::Le, value: 0.8 });
        assert_eq!(ok("e2e.p50<=300").check, Check::Absolute { op: Op::Le, value: 300.0 });
        assert_eq!(ok("error_rate<=1%").check, Check::Absolute { op: Op::Le, value: 0.01 });
        assert_eq!(ok("error_rate<0.05").check, Check::Absolute { op: Op::Lt, value: 0.05 });
        assert_eq!(ok("output_tok_per_s>=100").check, Check::Absolute { op: Op::Ge, value: 100.0 });
        assert_eq!(ok("req_per_s > 2/s").check, Check::Absolute { op: Op::Gt, value: 2.0 });
        assert_eq!(ok("ttft.p50=+5%").check, Check::Relative { budget: 0.05 });
        assert_eq!(ok("ttft.p50=5%").check, Check::Relative { budget: 0.05 });
        assert_eq!(ok("output_tok_per_s=-5%").check, Check::Relative { budget: 0.05 });
        assert_eq!(ok("error_rate=+1%").check, Check::Relative { budget: 0.01 });
        assert_eq!(ok("goodput>=99%").check, Check::Absolute { op: Op::Ge, value: 0.99 });
        assert_eq!(ok("cost_per_ok_request<=$0.002").check, Check::Absolute { op: Op::Le, value: 0.002 });
        assert_eq!(ok("cost_per_ok_request<=0.002").check, Check::Absolute { op: Op::Le, value: 0.002 });
        assert_eq!(ok("cost_per_ok_request=+10%").check, Check::Relative { budget: 0.1 });
        assert!(ok(" ttft.p50 = +5% ").is_relative());
        assert_eq!(ok(" ttft.p90 <= 1s ").to_string(), "ttft.p90 <= 1s");
    }

    #[test]
    fn bad_limits_say_what_to_write() {
        assert!(bad("ttft.p90").contains("expected `metric<=value`"));
        assert!(bad("ttft<=5ms").contains("ttft needs a statistic, e.g. ttft.p90"));
        assert!(bad("latency.p50<=5ms").contains("unknown metric \"latency\""));
        assert!(bad("ttft.p90<=").contains("missing value"));
        assert!(bad("ttft.p90<=fast").contains("\"fast\" is not a number"));
        assert!(bad("ttft.p90<=5h").contains("unknown unit \"h\" for ttft.p90"));
        assert!(bad("ttft.p90=<5ms").contains("unknown operator `=<`"));
        assert!(bad("ttft.p90==5%").contains("unknown operator `==`"));
        assert!(bad("ttft.p50=5ms").contains("a relative limit is a percentage"));
        assert!(bad("ttft.p50=-5%").contains("lower-is-better: a budget says how much it may grow, e.g. ttft.p50=+5%"));
        assert!(bad("output_tok_per_s=+5%").contains("may drop, e.g. output_tok_per_s=-5%"));
        assert!(bad("error_rate<=2").contains("write 2% or a number ≤ 1"));
        assert!(bad("ttft.p50<=-5ms").contains("is not a number"));
        assert!(bad("output_tok_per_s>=100ms").contains("write a bare number"));
        assert_eq!(
            bad("x"),
            "invalid limit \"x\": expected `metric<=value`, `metric>=value` or `metric=+N%` (e.g. ttft.p90<=500ms)"
        );
    }
}
