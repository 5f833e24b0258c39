//! [`Delay`]: the distributions of the simulator's TTFT and inter-token
//! gaps and of a conversation's think time, their config syntax, and
//! sampling them from a seeded generator. Below both `sim` and `workload`,
//! which use it (public as `llmbench::sim::Delay`).

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use crate::rng::Rng;
use crate::units::parse_duration;

/// How long the simulator waits: before the first token (`ttft`) or between
/// chunks (`itl`). Each wait is sampled afresh from the distribution.
///
/// In config a fixed delay is a duration string; a random one is a table
/// with a single key naming the distribution:
///
/// ```toml
/// ttft = "80ms"                                           # always 80 ms
/// ttft = { uniform = ["50ms", "150ms"] }                  # [min, max]
/// ttft = { normal = { mean = "100ms", stddev = "20ms" } } # clamped at 0
/// ttft = { exponential = "100ms" }                        # the mean
/// ```
///
/// `{ fixed = "80ms" }` is accepted too. Durations take the units of
/// the duration grammar of docs/settings.md (`us`, `ms`, `s`, …).
///
/// ```
/// use std::time::Duration;
/// use llmbench::sim::Delay;
///
/// #[derive(serde::Deserialize)]
/// struct Cfg { itl: Delay }
/// let cfg: Cfg = toml::from_str(r#"itl = { uniform = ["10ms", "20ms"] }"#).unwrap();
/// assert_eq!(cfg.itl, Delay::Uniform {
///     min: Duration::from_millis(10),
///     max: Duration::from_millis(20),
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Delay {
    /// Always the same.
    Fixed(Duration),
    /// Uniform between `min` and `max` (inclusive of `min`).
    Uniform {
        /// The shortest delay.
        min: Duration,
        /// The longest delay; at least `min`.
        max: Duration,
    },
    /// Normal (Gaussian), with negative draws clamped to zero, so the real
    /// mean is slightly above `mean` when `stddev` is a large share of it.
    Normal {
        /// Mean before clamping.
        mean: Duration,
        /// Standard deviation before clamping.
        stddev: Duration,
    },
    /// Exponential with the given mean: memoryless, with a long tail.
    Exponential {
        /// The mean delay.
        mean: Duration,
    },
}

impl Delay {
    /// No delay at all.
    pub const ZERO: Delay = Delay::Fixed(Duration::ZERO);

    /// A fixed delay of `ms` milliseconds.
    pub const fn ms(ms: u64) -> Delay {
        Delay::Fixed(Duration::from_millis(ms))
    }

    /// Draws one delay.
    pub(crate) fn sample(&self, rng: &mut Rng) -> Duration {
        match *self {
            Delay::Fixed(d) => d,
            Delay::Uniform { min, max } => min + max.saturating_sub(min).mul_f64(rng.next_f64()),
            Delay::Normal { mean, stddev } => {
                let secs = mean.as_secs_f64() + stddev.as_secs_f64() * rng.normal();
                Duration::from_secs_f64(secs.max(0.0))
            }
            Delay::Exponential { mean } => mean.mul_f64(rng.exponential()),
        }
    }

    /// Why this delay is unusable, if it is.
    pub(crate) fn problem(&self) -> Option<String> {
        match *self {
            Delay::Uniform { min, max } if min > max => {
                Some(format!("uniform delay min {min:?} is greater than max {max:?}"))
            }
            _ => None,
        }
    }
}

impl fmt::Display for Delay {
    /// `80ms`, `uniform(50ms..150ms)`, `normal(100ms ± 20ms)`, `exponential(100ms)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Delay::Fixed(d) => write!(f, "{d:?}"),
            Delay::Uniform { min, max } => write!(f, "uniform({min:?}..{max:?})"),
            Delay::Normal { mean, stddev } => write!(f, "normal({mean:?} ± {stddev:?})"),
            Delay::Exponential { mean } => write!(f, "exponential({mean:?})"),
        }
    }
}

const EXPECTING: &str = r#"a duration like "80ms", or a table like { uniform = ["50ms", "150ms"] }, { normal = { mean = "100ms", stddev = "20ms" } } or { exponential = "100ms" }"#;
const KINDS: &[&str] = &["fixed", "uniform", "normal", "exponential"];

impl<'de> Deserialize<'de> for Delay {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DelayVisitor)
    }
}

struct DelayVisitor;

impl<'de> Visitor<'de> for DelayVisitor {
    type Value = Delay;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(EXPECTING)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Delay, E> {
        parse_duration(text).map(Delay::Fixed).map_err(E::custom)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Delay, A::Error> {
        let Some(kind) = map.next_key::<String>()? else {
            return Err(de::Error::custom(format!("empty delay table; expected {EXPECTING}")));
        };
        let delay = match kind.as_str() {
            "fixed" => Delay::Fixed(map.next_value::<Dur>()?.0),
            "uniform" => {
                let [Dur(min), Dur(max)] = map.next_value::<[Dur; 2]>()?;
                Delay::Uniform { min, max }
            }
            "normal" => {
                let NormalParams { mean, stddev } = map.next_value()?;
                Delay::Normal { mean: mean.0, stddev: stddev.0 }
            }
            "exponential" => Delay::Exponential { mean: map.next_value::<Dur>()?.0 },
            other => return Err(de::Error::unknown_variant(other, KINDS)),
        };
        if let Some(extra) = map.next_key::<String>()? {
            return Err(de::Error::custom(format!("a delay table has exactly one key, found {kind:?} and {extra:?}")));
        }
        match delay.problem() {
            Some(problem) => Err(de::Error::custom(problem)),
            None => Ok(delay),
        }
    }
}

/// A duration written as a string, inside a delay table.
struct Dur(Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DurVisitor;
        impl Visitor<'_> for DurVisitor {
            type Value = Dur;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(r#"a duration string like "80ms""#)
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Dur, E> {
                parse_duration(text).map(Dur).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(DurVisitor)
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NormalParams {
    mean: Dur,
    stddev: Dur,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Wrap {
        d: Delay,
    }

    fn parse(toml_value: &str) -> Result<Delay, String> {
        toml::from_str::<Wrap>(&format!("d = {toml_value}")).map(|w| w.d).map_err(|e| e.to_string())
    }

    const fn ms(ms: u64) -> Duration {
        Duration::from_millis(ms)
    }

    #[test]
    fn parses_every_shape() {
        assert_eq!(parse(r#""80ms""#), Ok(Delay::Fixed(ms(80))));
        assert_eq!(parse(r#"{ fixed = "1s" }"#), Ok(Delay::Fixed(ms(1000))));
        assert_eq!(parse(r#"{ uniform = ["50ms", "150ms"] }"#), Ok(Delay::Uniform { min: ms(50), max: ms(150) }));
        assert_eq!(
            parse(r#"{ normal = { mean = "100ms", stddev = "20ms" } }"#),
            Ok(Delay::Normal { mean: ms(100), stddev: ms(20) })
        );
        assert_eq!(parse(r#"{ exponential = "100ms" }"#), Ok(Delay::Exponential { mean: ms(100) }));
        // serde_json works the same way (config can come from anywhere).
        let json: Delay = serde_json::from_str(r#"{"uniform":["1ms","2ms"]}"#).unwrap();
        assert_eq!(json, Delay::Uniform { min: ms(1), max: ms(2) });
    }

    #[test]
    fn bad_input_says_what_is_expected() {
        let cases = [
            ("80", "expected a duration like"),
            (r#""fast""#, "invalid duration"),
            (r#"{ gamma = "1ms" }"#, "unknown variant `gamma`, expected one of `fixed`, `uniform`"),
            (r#"{ uniform = ["1ms"] }"#, "invalid length 1"),
            (r#"{ uniform = ["2ms", "1ms"] }"#, "min 2ms is greater than max 1ms"),
            (r#"{ normal = { mean = "1ms" } }"#, "missing field `stddev`"),
            (r#"{ normal = { mean = "1ms", stddev = "1ms", skew = 1 } }"#, "unknown field `skew`"),
            (r#"{ exponential = "1ms", fixed = "1ms" }"#, "exactly one key"),
            ("{}", "empty delay table"),
            (r#"{ exponential = 5 }"#, r#"a duration string like "80ms""#),
        ];
        for (input, expected) in cases {
            let err = parse(input).expect_err(input);
            assert!(err.contains(expected), "{input}: {err}");
        }
    }

    #[test]
    fn samples_follow_the_distribution() {
        let mut rng = Rng::new(3);
        let n = 20_000;
        let mean_ms =
            |d: Delay, rng: &mut Rng| (0..n).map(|_| d.sample(rng).as_secs_f64()).sum::<f64>() / n as f64 * 1e3;
        assert_eq!(Delay::ms(7).sample(&mut rng), ms(7));
        let uniform = Delay::Uniform { min: ms(50), max: ms(150) };
        assert!((0..1000).all(|_| (ms(50)..=ms(150)).contains(&uniform.sample(&mut rng))));
        assert!((mean_ms(uniform, &mut rng) - 100.0).abs() < 2.0);
        let normal = Delay::Normal { mean: ms(100), stddev: ms(20) };
        assert!((mean_ms(normal, &mut rng) - 100.0).abs() < 1.0);
        // Clamped: never negative, even with a stddev far above the mean.
        let wide = Delay::Normal { mean: ms(1), stddev: ms(100) };
        assert!((0..1000).any(|_| wide.sample(&mut rng) == Duration::ZERO));
        let exp = Delay::Exponential { mean: ms(100) };
        assert!((mean_ms(exp, &mut rng) - 100.0).abs() < 4.0);
    }

    #[test]
    fn displays_compactly() {
        assert_eq!(Delay::ms(80).to_string(), "80ms");
        assert_eq!(Delay::Uniform { min: ms(5), max: ms(9) }.to_string(), "uniform(5ms..9ms)");
    }
}
