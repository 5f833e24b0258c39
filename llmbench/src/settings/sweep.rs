//! Sweeps: the load levels a benchmark runs at, one after another, to find
//! the knee and the most load that meets the SLOs (the analysis itself is
//! `stats::knee`). The DSL used by the attribute, the config and `--sweep`:
//!
//! ```text
//! 1,2,4,8,16        closed loop at these concurrencies
//! 5/s,10/s,20/s     open loop at these rates
//! auto              capacity search: concurrency 1, 2, 4, … doubling to the first level that fails
//!                   its SLOs (at most 256), then bisecting to within 5% of the highest that meets them
//! auto:rate         the same for rates 1/s, 2/s, 4/s, … (at most 4096/s)
//! auto:5/s          the same from 5/s; `auto:4` from concurrency 4
//! 3x:20/s           "3× expected load": 0.25, 0.5, 1, 2 and 3 × 20/s
//! 3x:8              the same for concurrency 8
//! ```

use serde::Serialize;

use super::Rate;

/// One level of a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Closed loop, this many in flight.
    Concurrency(u32),
    /// Open loop, this many requests per second.
    Rate(f64),
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Level::Concurrency(c) => write!(f, "c={c}"),
            Level::Rate(r) => write!(f, "{}", Rate(*r)),
        }
    }
}

/// The most levels the ladder of an automatic sweep runs.
pub const AUTO_MAX_LEVELS: usize = 12;
/// The most levels the bisection of an automatic sweep runs after it.
pub const SEARCH_MAX_LEVELS: usize = 8;
/// The bisection stops once the failing level is within this share of the
/// passing one (or, for concurrency, one apart).
pub const SEARCH_TOLERANCE: f64 = 0.05;
/// The highest concurrency an automatic sweep tries.
pub const AUTO_MAX_CONCURRENCY: u32 = 256;
/// The highest rate an automatic sweep tries, per second.
pub const AUTO_MAX_RATE: f64 = 4096.0;
/// The multiples of the expected load that `3x:<load>` runs.
pub const EXPECTED_MULTIPLES: [f64; 5] = [0.25, 0.5, 1.0, 2.0, 3.0];

/// A parsed sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum SweepSpec {
    /// These levels, in this order.
    Levels {
        /// The levels.
        levels: Vec<Level>,
    },
    /// Doubling from `start` until the knee, failed SLOs or an invalid level.
    Auto {
        /// The first level.
        start: Level,
    },
    /// Multiples of an expected load, up to 3×.
    Expected {
        /// The expected load.
        expected: Level,
        /// The levels run.
        levels: Vec<Level>,
    },
}

impl SweepSpec {
    /// Parses the sweep DSL (see the module docs).
    pub fn parse(text: &str) -> Result<SweepSpec, String> {
        let t = text.trim();
        if let Some(rest) = t.strip_prefix("auto") {
            let start = match rest.trim_start_matches(':').trim() {
                "" | "concurrency" => Level::Concurrency(1),
                "rate" => Level::Rate(1.0),
                other => level(other)?,
            };
            return Ok(SweepSpec::Auto { start });
        }
        if let Some(expected) = t.strip_prefix("3x:") {
            let expected = level(expected)?;
            let levels = EXPECTED_MULTIPLES
                .iter()
                .map(|m| match expected {
                    Level::Concurrency(c) => Level::Concurrency((f64::from(c) * m).round().max(1.0) as u32),
                    Level::Rate(r) => Level::Rate(r * m),
                })
                .fold(Vec::new(), |mut v, l| {
                    if !v.contains(&l) {
                        v.push(l);
                    }
                    v
                });
            return Ok(SweepSpec::Expected { expected, levels });
        }
        let levels: Vec<Level> =
            t.split(',').map(str::trim).filter(|s| !s.is_empty()).map(level).collect::<Result<_, _>>()?;
        if levels.is_empty() {
            return Err(format!(
                "empty sweep {text:?} (expected e.g. \"1,2,4,8\", \"5/s,10/s\", \"auto\" or \"3x:20/s\")"
            ));
        }
        if levels.iter().any(|l| matches!(l, Level::Rate(_)))
            && levels.iter().any(|l| matches!(l, Level::Concurrency(_)))
        {
            return Err(format!("sweep {text:?} mixes rates and concurrencies; use one kind"));
        }
        Ok(SweepSpec::Levels { levels })
    }

    /// The levels known before running (an automatic sweep: its first).
    pub fn initial_levels(&self) -> Vec<Level> {
        match self {
            SweepSpec::Levels { levels } | SweepSpec::Expected { levels, .. } => levels.clone(),
            SweepSpec::Auto { start } => vec![*start],
        }
    }
}

fn level(text: &str) -> Result<Level, String> {
    let t = text.trim();
    if t.contains('/') {
        return Rate::parse(t).map(|r| Level::Rate(r.per_s()));
    }
    match t.parse::<u32>() {
        Ok(0) => Err("a concurrency level must be at least 1".into()),
        Ok(c) => Ok(Level::Concurrency(c)),
        Err(_) => Err(format!("invalid sweep level {t:?} (a concurrency like \"8\" or a rate like \"20/s\")")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dsl_parses() {
        assert_eq!(
            SweepSpec::parse("1, 2,4").unwrap().initial_levels(),
            vec![Level::Concurrency(1), Level::Concurrency(2), Level::Concurrency(4)]
        );
        assert_eq!(SweepSpec::parse("5/s,10/s").unwrap().initial_levels(), vec![Level::Rate(5.0), Level::Rate(10.0)]);
        assert_eq!(SweepSpec::parse("auto").unwrap(), SweepSpec::Auto { start: Level::Concurrency(1) });
        assert_eq!(SweepSpec::parse("auto:rate").unwrap(), SweepSpec::Auto { start: Level::Rate(1.0) });
        assert_eq!(SweepSpec::parse("auto:5/s").unwrap(), SweepSpec::Auto { start: Level::Rate(5.0) });
        assert_eq!(
            SweepSpec::parse("3x:20/s").unwrap().initial_levels(),
            [5.0, 10.0, 20.0, 40.0, 60.0].map(Level::Rate).to_vec()
        );
        assert_eq!(
            SweepSpec::parse("3x:2").unwrap().initial_levels(),
            [1, 2, 4, 6].map(Level::Concurrency).to_vec(),
            "duplicates after rounding are dropped"
        );
        assert!(SweepSpec::parse("1,5/s").unwrap_err().contains("mixes"));
        assert!(SweepSpec::parse("").unwrap_err().contains("empty sweep"));
        assert!(SweepSpec::parse("0").unwrap_err().contains("at least 1"));
        assert!(SweepSpec::parse("lots").unwrap_err().contains("invalid sweep level"));
        assert_eq!(Level::Rate(2.5).to_string(), "2.5/s");
    }
}
