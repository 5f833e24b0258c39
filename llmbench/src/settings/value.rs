//! Setting values as people write them: `"30s"`, `"20/s"`, `[1, 8]`,
//! `"ttft <= 500ms"`. Each is parsed once, by one grammar, whichever view it
//! came through (a flag, a key of `llmbench.toml`, an `#[llm_bench]` option),
//! and keeps its text so it can be shown and passed on unchanged.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// A type with a text grammar: what a [`Spec`] holds.
pub trait Grammar: Sized + Clone + fmt::Debug + Send + Sync + 'static {
    /// Parses `text`; the error says what was expected.
    fn parse(text: &str) -> Result<Self, String>;
}

/// A parsed setting value and the text it was parsed from.
///
/// In `llmbench.toml` a value may be a string, a number, a boolean or a list
/// of those (joined with `, ` before parsing), so `sweep = [1, 2, 4]` and
/// `sweep = "1, 2, 4"` are the same setting.
#[derive(Clone)]
pub struct Spec<T> {
    text: String,
    value: T,
}

impl<T> Spec<T> {
    /// The parsed value.
    pub fn get(&self) -> &T {
        &self.value
    }

    /// The text as written (lists joined with `, `).
    #[cfg(test)]
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl<T: Grammar> Spec<T> {
    /// Parses `text`.
    pub fn parse(text: &str) -> Result<Spec<T>, String> {
        Ok(Spec { value: T::parse(text)?, text: text.trim().to_owned() })
    }
}

impl<T: Grammar> FromStr for Spec<T> {
    type Err = String;

    fn from_str(text: &str) -> Result<Spec<T>, String> {
        Spec::parse(text)
    }
}

impl<T> PartialEq for Spec<T> {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl<T> fmt::Display for Spec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl<T> fmt::Debug for Spec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.text)
    }
}

impl<T> Serialize for Spec<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de, T: Grammar> Deserialize<'de> for Spec<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Spec<T>, D::Error> {
        let text = d.deserialize_any(TextVisitor)?;
        Spec::parse(&text).map_err(de::Error::custom)
    }
}

/// Reads a scalar or a list of scalars as one text.
struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, a number, a boolean or a list of them")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<String, E> {
        Ok(float_text(v))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<String, A::Error> {
        let mut parts = Vec::new();
        while let Some(part) = seq.next_element::<Scalar>()? {
            parts.push(part.0);
        }
        if parts.is_empty() {
            return Err(de::Error::custom("the list is empty"));
        }
        Ok(parts.join(", "))
    }
}

/// One element of a list value, as text (`0.7`, `"poisson"` → `poisson`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Scalar(pub String);

impl Serialize for Scalar {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.to_owned()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(float_text(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A float as TOML writes it: `0.0` stays `0.0` (it names sub-benchmarks
/// such as `temperature=0.0`, so the text must not change).
fn float_text(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 { format!("{v:.1}") } else { v.to_string() }
}

/// A parameter grid as written: keys in the order they appear (they name
/// sub-benchmarks `name/key=value/…`), each with its values.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grid(pub Vec<(String, Vec<Scalar>)>);

impl Serialize for Grid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Grid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Grid, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Grid;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a table of parameter lists, e.g. { temperature = [0.0, 0.7] }")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Grid, A::Error> {
                let mut out: Vec<(String, Vec<Scalar>)> = Vec::new();
                while let Some((key, values)) = map.next_entry::<String, OneOrMany>()? {
                    if out.iter().any(|(k, _)| *k == key) {
                        return Err(de::Error::custom(format!("param {key} is listed twice")));
                    }
                    out.push((key, values.0));
                }
                Ok(Grid(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// A list of scalars, or one.
struct OneOrMany(Vec<Scalar>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<OneOrMany, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Many(Vec<Scalar>),
            One(Scalar),
        }
        Ok(OneOrMany(match Either::deserialize(d)? {
            Either::Many(v) => v,
            Either::One(s) => vec![s],
        }))
    }
}

/// A list of strings' values, or one string standing for a list of one
/// (`targets = "local"`); an item's own error is kept.
pub fn one_or_many<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct V<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or a list of strings")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<T>, E> {
            use serde::de::IntoDeserializer;
            T::deserialize(v.into_deserializer()).map(|t| vec![t])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element()? {
                out.push(item);
            }
            Ok(out)
        }
    }
    d.deserialize_any(V(std::marker::PhantomData))
}

pub use crate::units::MAX_DURATION;
/// The most requests in flight a setting accepts.
pub const MAX_CONCURRENCY: u32 = 1_000_000;
/// The highest request rate a setting accepts, per second.
pub const MAX_RATE: f64 = 1_000_000.0;

/// How requests use connections (`connections`, docs/settings.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Connections {
    /// Reused from a pool that warm-up fills to the level's in-flight
    /// count, so measured requests do not pay for a handshake.
    #[default]
    Warm,
    /// A new connection for every request: the handshake measured on purpose.
    Fresh,
}

impl Connections {
    /// `warm` or `fresh`.
    pub fn as_str(self) -> &'static str {
        match self {
            Connections::Warm => "warm",
            Connections::Fresh => "fresh",
        }
    }
}

impl Grammar for Connections {
    fn parse(text: &str) -> Result<Connections, String> {
        match text.trim() {
            "warm" => Ok(Connections::Warm),
            "fresh" => Ok(Connections::Fresh),
            other => Err(format!("unknown connections {other:?} (use warm or fresh)")),
        }
    }
}

/// A count of zero or more (`warmup = 0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count(pub u32);

impl Grammar for Count {
    fn parse(text: &str) -> Result<Count, String> {
        text.trim().parse::<u32>().map(Count).map_err(|_| format!("{text:?} is not a whole number ≥ 0"))
    }
}

/// A count of one or more (`samples = 100`, `max_in_flight = 64`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Positive(pub u32);

impl Grammar for Positive {
    fn parse(text: &str) -> Result<Positive, String> {
        match text.trim().parse::<u32>() {
            Ok(0) => Err("must be at least 1".into()),
            Ok(n) if n > MAX_CONCURRENCY => Err(format!("{n} is more than the {MAX_CONCURRENCY} llmbench accepts")),
            Ok(n) => Ok(Positive(n)),
            Err(_) => Err(format!("{text:?} is not a whole number ≥ 1")),
        }
    }
}

/// Concurrency levels (`[1, 8, 32]`, `--concurrency 1,8,32`): distinct, each ≥ 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Levels(pub Vec<u32>);

impl Grammar for Levels {
    fn parse(text: &str) -> Result<Levels, String> {
        let mut levels = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let Positive(n) = Positive::parse(part).map_err(|e| format!("concurrency level {part:?}: {e}"))?;
            if levels.contains(&n) {
                return Err(format!("concurrency level {n} is listed twice"));
            }
            levels.push(n);
        }
        if levels.is_empty() {
            return Err("needs at least one level, e.g. [1, 8]".into());
        }
        Ok(Levels(levels))
    }
}

/// A duration (`"500ms"`, `"30s"`, `"2m"`; a bare number is seconds), at
/// most [`MAX_DURATION`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time(pub Duration);

impl Grammar for Time {
    fn parse(text: &str) -> Result<Time, String> {
        let d = crate::units::parse_duration(text)?;
        if d > MAX_DURATION {
            return Err(format!(
                "{text:?} is longer than the {} days llmbench accepts",
                MAX_DURATION.as_secs() / 86_400
            ));
        }
        Ok(Time(d))
    }
}

/// A delay distribution as text (`think_time`): `2s`, `uniform(1s..3s)`,
/// `normal(2s, 500ms)` (or `normal(2s ± 500ms)`, as it is displayed) or
/// `exponential(2s)`; each duration at most [`MAX_DURATION`].
impl Grammar for crate::delay::Delay {
    fn parse(text: &str) -> Result<crate::delay::Delay, String> {
        use crate::delay::Delay;
        let time = |t: &str| Time::parse(t).map(|t| t.0);
        let text = text.trim();
        let expected = || {
            format!(
                "{text:?} is not a delay: expected a duration (`2s`), `uniform(1s..3s)`, `normal(2s, 500ms)` or `exponential(2s)`"
            )
        };
        let Some((kind, args)) = text.strip_suffix(')').and_then(|t| t.split_once('(')) else {
            return time(text).map(Delay::Fixed);
        };
        let two = |sep: &[&str]| {
            sep.iter().find_map(|s| args.split_once(s)).ok_or_else(expected).and_then(|(a, b)| Ok((time(a)?, time(b)?)))
        };
        let delay = match kind.trim() {
            "fixed" => Delay::Fixed(time(args)?),
            "exponential" => Delay::Exponential { mean: time(args)? },
            "uniform" => two(&["..=", ".."]).map(|(min, max)| Delay::Uniform { min, max })?,
            "normal" => two(&[",", "±"]).map(|(mean, stddev)| Delay::Normal { mean, stddev })?,
            _ => return Err(expected()),
        };
        match delay.problem() {
            Some(problem) => Err(problem),
            None => Ok(delay),
        }
    }
}

/// A duration greater than zero (`timeout`, `duration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositiveTime(pub Duration);

impl Grammar for PositiveTime {
    fn parse(text: &str) -> Result<PositiveTime, String> {
        match Time::parse(text)?.0 {
            d if d.is_zero() => Err("must be greater than zero".into()),
            d => Ok(PositiveTime(d)),
        }
    }
}

/// One or more open-loop rates (`"20/s"`, `["5/s", "10/s"]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rates(pub Vec<super::Rate>);

impl Grammar for Rates {
    fn parse(text: &str) -> Result<Rates, String> {
        let rates = text
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(super::Rate::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if rates.is_empty() {
            return Err("needs at least one rate, e.g. \"20/s\"".into());
        }
        if let Some(r) = rates.iter().find(|r| r.per_s() > MAX_RATE) {
            return Err(format!("{r} is more than the {MAX_RATE}/s llmbench accepts"));
        }
        Ok(Rates(rates))
    }
}

impl Grammar for super::Arrival {
    fn parse(text: &str) -> Result<Self, String> {
        super::Arrival::parse(text)
    }
}

impl Grammar for super::StagesPlan {
    fn parse(text: &str) -> Result<Self, String> {
        let plan = super::StagesPlan::parse(text)?;
        if plan.total() > MAX_DURATION {
            return Err(format!(
                "the stages last longer than the {} days llmbench accepts",
                MAX_DURATION.as_secs() / 86_400
            ));
        }
        Ok(plan)
    }
}

impl Grammar for super::SweepSpec {
    fn parse(text: &str) -> Result<Self, String> {
        super::SweepSpec::parse(text)
    }
}

impl Grammar for super::Slo {
    fn parse(text: &str) -> Result<Self, String> {
        super::Slo::parse(text)
    }
}

impl Grammar for super::Limit {
    fn parse(text: &str) -> Result<Self, String> {
        super::Limit::parse(text).map_err(|e| e.to_string())
    }
}

impl Grammar for super::Volume {
    fn parse(text: &str) -> Result<Self, String> {
        text.parse()
    }
}

/// A size in bytes (`"16MiB"`, `"10MB"`, `"65536"`): from 1 KiB to 1 GiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size(pub usize);

impl Size {
    /// The smallest size accepted: below it a typo is likelier than intent.
    pub const MIN: usize = 1 << 10;
    /// The largest size accepted: one event held in memory per request.
    pub const MAX: usize = 1 << 30;
}

impl Grammar for Size {
    fn parse(text: &str) -> Result<Size, String> {
        let t = text.trim();
        let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        let unit_bytes: f64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1.0,
            "kb" => 1e3,
            "kib" => 1024.0,
            "mb" => 1e6,
            "mib" => 1024.0 * 1024.0,
            "gb" => 1e9,
            "gib" => 1024.0 * 1024.0 * 1024.0,
            other => return Err(format!("unknown size unit {other:?} (use B, KB, KiB, MB, MiB, GB or GiB)")),
        };
        let n: f64 = number.parse().map_err(|_| format!("{text:?} is not a size (e.g. \"16MiB\" or \"10MB\")"))?;
        let bytes = n * unit_bytes;
        if !(Size::MIN as f64..=Size::MAX as f64).contains(&bytes) {
            return Err(format!("{text:?} is outside 1KiB..=1GiB"));
        }
        Ok(Size(bytes as usize))
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            n if n % (1 << 20) == 0 => write!(f, "{} MiB", n >> 20),
            n if n % (1 << 10) == 0 => write!(f, "{} KiB", n >> 10),
            n => write!(f, "{n} bytes"),
        }
    }
}

impl Grammar for String {
    fn parse(text: &str) -> Result<String, String> {
        match text.trim() {
            "" => Err("cannot be empty".into()),
            t => Ok(t.to_owned()),
        }
    }
}

impl Grammar for bool {
    fn parse(text: &str) -> Result<bool, String> {
        match text.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            other => Err(format!("{other:?} is not true or false")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_grammar() {
        use crate::delay::Delay;
        let ms = Duration::from_millis;
        let p = |t: &str| <Delay as Grammar>::parse(t);
        assert_eq!(p("2s"), Ok(Delay::Fixed(ms(2000))));
        assert_eq!(p(" uniform(1s..3s) "), Ok(Delay::Uniform { min: ms(1000), max: ms(3000) }));
        assert_eq!(p("uniform(1s..=3s)"), Ok(Delay::Uniform { min: ms(1000), max: ms(3000) }));
        assert_eq!(p("normal(2s, 500ms)"), Ok(Delay::Normal { mean: ms(2000), stddev: ms(500) }));
        assert_eq!(p("exponential(2s)"), Ok(Delay::Exponential { mean: ms(2000) }));
        // What Display writes reads back.
        for d in [Delay::Normal { mean: ms(100), stddev: ms(20) }, Delay::Uniform { min: ms(5), max: ms(9) }] {
            assert_eq!(p(&d.to_string()), Ok(d));
        }
        for bad in ["", "x", "gamma(1s)", "uniform(1s)", "uniform(3s..1s)", "normal(1s)", "exponential(99999999999h)"] {
            assert!(p(bad).is_err(), "{bad}");
        }
    }

    #[derive(Debug, Deserialize)]
    struct Doc {
        v: Spec<Levels>,
    }

    #[test]
    fn lists_and_scalars_read_the_same() {
        let a: Doc = toml::from_str("v = [1, 8]").unwrap();
        let b: Doc = toml::from_str("v = \"1, 8\"").unwrap();
        assert_eq!(a.v.get(), b.v.get());
        assert_eq!(a.v.text(), "1, 8");
        assert_eq!("1,8".parse::<Spec<Levels>>().unwrap().get(), &Levels(vec![1, 8]));
        let e = toml::from_str::<Doc>("v = [1, 0]").unwrap_err().to_string();
        assert!(e.contains("at least 1"), "{e}");
        assert!(toml::from_str::<Doc>("v = []").is_err());
    }

    #[test]
    fn a_grid_keeps_its_order() {
        #[derive(Debug, Deserialize)]
        struct G {
            p: Grid,
        }
        let g: G = toml::from_str("p = { temperature = [0.0, 0.7], max_tokens = [256, 1024], seed = 3 }").unwrap();
        let keys: Vec<&str> = g.p.0.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["temperature", "max_tokens", "seed"]);
        assert_eq!(g.p.0[0].1, [Scalar("0.0".into()), Scalar("0.7".into())]);
        let json = serde_json::to_string(&g.p).unwrap();
        assert_eq!(json, r#"{"temperature":["0.0","0.7"],"max_tokens":["256","1024"],"seed":["3"]}"#);
        let back: Grid = serde_json::from_str(&json).unwrap();
        assert_eq!(back, g.p);
    }

    #[test]
    fn bounds_hold_in_every_view() {
        assert!(Spec::<PositiveTime>::parse("0s").unwrap_err().contains("greater than zero"));
        assert!(Spec::<Time>::parse("99999999h").unwrap_err().contains("days"));
        assert!(Spec::<Positive>::parse("10000000").unwrap_err().contains("1000000"));
        assert!(Spec::<Rates>::parse("1e300/s").is_err());
        assert_eq!(Spec::<Rates>::parse("5/s, 10/s").unwrap().get().0.len(), 2);
        assert_eq!(serde_json::to_string(&Spec::<Time>::parse(" 30s ").unwrap()).unwrap(), "\"30s\"");
        assert_eq!(Spec::<Size>::parse("16MiB").unwrap().get().0, 16 << 20);
        assert_eq!(Spec::<Size>::parse("10 MB").unwrap().get().0, 10_000_000);
        assert_eq!(Spec::<Size>::parse("65536").unwrap().get().0, 65536);
        assert!(Spec::<Size>::parse("2GiB").unwrap_err().contains("outside"));
        assert!(Spec::<Size>::parse("5 parsecs").unwrap_err().contains("unit"));
        assert_eq!(Size(8 << 20).to_string(), "8 MiB");
    }
}
