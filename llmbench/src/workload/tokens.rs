//! Token-length distributions and the length-class presets.

use std::ops::{Range, RangeInclusive};

use serde::Serialize;

use super::TokenRange;
use crate::rng::Rng;

/// A distribution of token counts, drawn per request from the workload's
/// seed and the request index.
///
/// ```
/// use llmbench::workload::Tokens;
/// let fixed: Tokens = 150.into();
/// let uniform: Tokens = (100..=200).into();
/// let normal = Tokens::normal(800, 150);
/// # let _ = (fixed, uniform, normal);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Tokens {
    /// Always this many.
    Fixed(u32),
    /// Uniform between `min` and `max`, inclusive.
    Uniform {
        /// Fewest.
        min: u32,
        /// Most.
        max: u32,
    },
    /// Normal with `mean` and `stddev`, clamped to `[min, max]`.
    Normal {
        /// Mean.
        mean: u32,
        /// Standard deviation.
        stddev: u32,
        /// Fewest (default 1).
        min: u32,
        /// Most (default mean + 4 stddev).
        max: u32,
    },
}

impl Tokens {
    /// A normal distribution, clamped to `[1, mean + 4·stddev]`.
    pub fn normal(mean: u32, stddev: u32) -> Tokens {
        Tokens::Normal { mean, stddev, min: 1, max: mean.saturating_add(stddev.saturating_mul(4)) }
    }

    /// One draw.
    pub(crate) fn sample(&self, rng: &mut Rng) -> u32 {
        match *self {
            Tokens::Fixed(n) => n,
            Tokens::Uniform { min, max } => rng.range_u64(min.into(), max.into()) as u32,
            Tokens::Normal { mean, stddev, min, max } => {
                let v = f64::from(mean) + f64::from(stddev) * rng.normal();
                (v.round().max(0.0) as u32).clamp(min, max.max(min))
            }
        }
    }

    /// The largest value it can draw.
    pub fn max(&self) -> u32 {
        match *self {
            Tokens::Fixed(n) => n,
            Tokens::Uniform { max, .. } => max,
            Tokens::Normal { min, max, .. } => max.max(min),
        }
    }
}

impl From<u32> for Tokens {
    fn from(n: u32) -> Self {
        Tokens::Fixed(n)
    }
}

impl From<RangeInclusive<u32>> for Tokens {
    fn from(r: RangeInclusive<u32>) -> Self {
        TokenRange::from(r).into()
    }
}

impl From<Range<u32>> for Tokens {
    fn from(r: Range<u32>) -> Self {
        TokenRange::from(r).into()
    }
}

impl From<TokenRange> for Tokens {
    fn from(r: TokenRange) -> Self {
        if r.min == r.max { Tokens::Fixed(r.min) } else { Tokens::Uniform { min: r.min, max: r.max } }
    }
}

/// Token-length classes: presets of input and output lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LengthClass {
    /// 100–200 input tokens, 128 output: chat questions.
    Short,
    /// 500–1000 input tokens, 256 output: a page to summarise.
    Medium,
    /// 2000–4000 input tokens, 512 output: long documents, RAG contexts.
    Long,
}

impl LengthClass {
    /// The input length of the class.
    pub fn input(self) -> Tokens {
        match self {
            LengthClass::Short => Tokens::Uniform { min: 100, max: 200 },
            LengthClass::Medium => Tokens::Uniform { min: 500, max: 1000 },
            LengthClass::Long => Tokens::Uniform { min: 2000, max: 4000 },
        }
    }

    /// The output target of the class.
    pub fn output(self) -> Tokens {
        match self {
            LengthClass::Short => Tokens::Fixed(128),
            LengthClass::Medium => Tokens::Fixed(256),
            LengthClass::Long => Tokens::Fixed(512),
        }
    }

    /// Parses `short`, `medium` or `long`.
    pub fn parse(text: &str) -> Result<LengthClass, String> {
        match text.trim() {
            "short" => Ok(LengthClass::Short),
            "medium" => Ok(LengthClass::Medium),
            "long" => Ok(LengthClass::Long),
            other => Err(format!("unknown length class {other:?} (use short, medium or long)")),
        }
    }
}

/// The default mix: mostly short, some medium, a few long.
pub const DEFAULT_MIX: [(LengthClass, u32); 3] =
    [(LengthClass::Short, 6), (LengthClass::Medium, 3), (LengthClass::Long, 1)];

/// Picks a class by weight.
pub(crate) fn pick(mix: &[(LengthClass, u32)], rng: &mut Rng) -> LengthClass {
    let total: u64 = mix.iter().map(|(_, w)| u64::from(*w)).sum();
    if total == 0 {
        return mix.first().map_or(LengthClass::Short, |m| m.0);
    }
    let mut x = rng.range_u64(0, total - 1);
    for (class, w) in mix {
        if x < u64::from(*w) {
            return *class;
        }
        x -= u64::from(*w);
    }
    mix[mix.len() - 1].0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions() {
        let mut rng = Rng::new(1);
        let n = Tokens::normal(800, 100);
        let draws: Vec<u32> = (0..5000).map(|_| n.sample(&mut rng)).collect();
        let mean = draws.iter().map(|&d| f64::from(d)).sum::<f64>() / 5000.0;
        assert!((mean - 800.0).abs() < 10.0, "{mean}");
        assert!(draws.iter().all(|&d| d <= 1200));
        assert_eq!(Tokens::from(5), Tokens::Fixed(5));
        assert_eq!(Tokens::from(5..=9), Tokens::Uniform { min: 5, max: 9 });
        assert!((0..100).all(|_| (5..=9).contains(&Tokens::from(5..=9).sample(&mut rng))));
        assert_eq!(LengthClass::parse("long"), Ok(LengthClass::Long));
        assert!(LengthClass::parse("huge").is_err());
    }

    #[test]
    fn the_mix_follows_its_weights() {
        let mut rng = Rng::new(2);
        let picks: Vec<LengthClass> = (0..10_000).map(|_| pick(&DEFAULT_MIX, &mut rng)).collect();
        let share = |c| picks.iter().filter(|&&p| p == c).count() as f64 / 10_000.0;
        assert!((share(LengthClass::Short) - 0.6).abs() < 0.02);
        assert!((share(LengthClass::Long) - 0.1).abs() < 0.02);
    }
}
