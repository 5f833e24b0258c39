//! Shards: one run split across processes or machines that an existing
//! engine starts (a Kubernetes Indexed Job, an AWS Batch array or
//! multi-node job, a CI matrix), and merged after (`cargo llmbench merge`).
//!
//! The grammars of `--shard` (`2/4`, 1-based like nextest's and
//! Playwright's, or `auto`) and `--start-at` (RFC 3339 or unix seconds),
//! where `auto` finds its index and count, and how a shard's part of the
//! load is dealt out (`split`). They are invocation flags, not settings of
//! a benchmark (see `ShardArgs` in `invocation.rs` for why).

mod split;

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::value::Grammar;

/// Shard `index` of `count`, 1-based: `2/4` is the second of four.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// Which shard, from 1.
    pub index: u32,
    /// How many shards the run has.
    pub count: u32,
}

/// The most shards a run can have: far beyond any real deployment, low
/// enough that a typo (`2/40000`) is caught.
pub const MAX_SHARDS: u32 = 10_000;

impl Shard {
    /// Shard `index` (1-based) of `count`, checked.
    pub fn new(index: u32, count: u32) -> Result<Shard, String> {
        if count == 0 || count > MAX_SHARDS {
            return Err(format!("a run has 1 to {MAX_SHARDS} shards, not {count}"));
        }
        if index == 0 || index > count {
            return Err(format!("shard {index}/{count} does not exist: shards are numbered 1 to {count}"));
        }
        Ok(Shard { index, count })
    }

    /// This shard's share of `total` things dealt out one at a time: every
    /// shard gets `total / count`, and the first `total % count` shards one
    /// more, so the shares always add up to `total`.
    pub fn share(self, total: u32) -> u32 {
        total / self.count + u32::from(self.index - 1 < total % self.count)
    }

    /// The label records and manifests carry: `2/4`.
    pub fn label(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("invalid shard {text:?} (expected INDEX/COUNT from 1, e.g. \"2/4\", or \"auto\")");
        let (i, n) = text.trim().split_once('/').ok_or_else(bad)?;
        let (i, n) = (i.trim().parse::<u32>().map_err(|_| bad())?, n.trim().parse::<u32>().map_err(|_| bad())?);
        Shard::new(i, n)
    }
}

/// `--shard`: a fixed shard, or `auto` (from the engine's environment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardSpec {
    /// `2/4`.
    Fixed(Shard),
    /// `auto`: see [`ShardSpec::resolve`].
    Auto,
}

impl Grammar for ShardSpec {
    fn parse(text: &str) -> Result<ShardSpec, String> {
        if text.trim().eq_ignore_ascii_case("auto") {
            return Ok(ShardSpec::Auto);
        }
        text.parse().map(ShardSpec::Fixed)
    }
}

/// The variable that says how many shards a Kubernetes Indexed Job or an
/// AWS Batch array job has (neither engine tells its pods); `--shard-count`
/// reads it.
pub const SHARD_COUNT_ENV: &str = "LLMBENCH_SHARD_COUNT";

/// Where `--shard auto` looks for the index, in order: the variable, what
/// sets it, and whether the engine also says how many there are.
const ENGINES: [(&str, &str, Option<&str>); 3] = [
    ("JOB_COMPLETION_INDEX", "a Kubernetes Indexed Job", None),
    ("AWS_BATCH_JOB_NODE_INDEX", "an AWS Batch multi-node job", Some("AWS_BATCH_JOB_NUM_NODES")),
    ("AWS_BATCH_JOB_ARRAY_INDEX", "an AWS Batch array job", None),
];

/// A resolved shard and how it was found, for the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundShard {
    /// The shard.
    pub shard: Shard,
    /// `--shard` or the variable the index came from.
    pub source: String,
}

impl ShardSpec {
    /// The shard this process runs. `count` is `--shard-count` (or
    /// [`SHARD_COUNT_ENV`]); `env` reads the environment. The engines
    /// number from 0; shards number from 1.
    pub fn resolve(self, count: Option<u32>, env: &dyn Fn(&str) -> Option<String>) -> Result<FoundShard, String> {
        let shard = match self {
            ShardSpec::Fixed(shard) => {
                if let Some(n) = count.filter(|&n| n != shard.count) {
                    return Err(format!("--shard {shard} disagrees with --shard-count {n} ({SHARD_COUNT_ENV})"));
                }
                return Ok(FoundShard { shard, source: "--shard".into() });
            }
            ShardSpec::Auto => ENGINES.iter().find_map(|&(var, engine, total)| {
                let index = env(var).filter(|v| !v.trim().is_empty())?;
                Some((var, engine, index, total.and_then(|t| env(t).map(|v| (t, v)))))
            }),
        };
        let Some((var, engine, index, total)) = shard else {
            let vars: Vec<&str> = ENGINES.iter().map(|e| e.0).collect();
            return Err(format!(
                "--shard auto found no shard index in the environment (looked for {}): pass --shard INDEX/COUNT",
                vars.join(", ")
            ));
        };
        let index: u32 =
            index.trim().parse().map_err(|_| format!("{var}={index:?} ({engine}) is not a shard index (0, 1, …)"))?;
        let count = match (count, total) {
            (Some(n), _) => n,
            (None, Some((t, v))) => v.trim().parse().map_err(|_| format!("{t}={v:?} ({engine}) is not a count"))?,
            (None, None) => {
                return Err(format!(
                    "--shard auto found {var}={index} ({engine}) but not how many shards there are: \
                     set {SHARD_COUNT_ENV} (the Job's completions, the array's size) or pass --shard-count"
                ));
            }
        };
        let shard = Shard::new(index.saturating_add(1), count).map_err(|e| format!("{var}={index} ({engine}): {e}"))?;
        Ok(FoundShard { shard, source: var.to_owned() })
    }
}

/// `--start-at`: a wall-clock instant, µs since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StartAt {
    /// Microseconds since 1970-01-01T00:00:00Z.
    pub unix_us: i64,
}

impl Grammar for StartAt {
    fn parse(text: &str) -> Result<StartAt, String> {
        let t = text.trim();
        let bad = |why: &str| {
            format!(
                "invalid start time {t:?}: {why} (expected RFC 3339 like \"2026-11-28T09:30:00Z\" or unix seconds like \"1795830600\")"
            )
        };
        let unix_us = if t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
            let secs: f64 = t.parse().map_err(|_| bad("not a number"))?;
            (secs * 1e6).round() as i64
        } else {
            rfc3339_us(t).map_err(|why| bad(&why))?
        };
        // Years past 9999 do not fit RFC 3339; nothing waits that long.
        if !(0..=253_402_300_799_000_000).contains(&unix_us) {
            return Err(bad("out of range"));
        }
        Ok(StartAt { unix_us })
    }
}

impl StartAt {
    /// The instant as a [`SystemTime`].
    pub fn time(self) -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(self.unix_us.max(0) as u64)
    }

    /// RFC 3339 UTC with milliseconds: `2026-11-28T09:30:00.000Z`.
    pub fn rfc3339(self) -> String {
        let secs = crate::units::rfc3339(self.time());
        format!("{}.{:03}Z", secs.trim_end_matches('Z'), self.unix_us.rem_euclid(1_000_000) / 1000)
    }

    /// Refuses an instant that is not in the future of `now`: a shard
    /// that started too late cannot meet the others.
    pub fn check_future(self, now: SystemTime) -> Result<(), String> {
        let now_us = unix_us(now);
        if self.unix_us > now_us {
            return Ok(());
        }
        Err(format!(
            "--start-at {} is {:.1} s in the past (now {}): give every shard a later time",
            self.rfc3339(),
            (now_us - self.unix_us) as f64 / 1e6,
            StartAt { unix_us: now_us }.rfc3339()
        ))
    }
}

/// Microseconds since the Unix epoch (0 before it).
pub fn unix_us(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros().min(i64::MAX as u128) as i64)
}

/// The wall-clock time of a monotonic instant, µs since the epoch: now on
/// the wall clock, less how long ago `at` was on the monotonic one.
pub fn instant_unix_us(at: std::time::Instant) -> i64 {
    let now = std::time::Instant::now();
    let wall = unix_us(SystemTime::now());
    match now.checked_duration_since(at) {
        Some(ago) => wall - ago.as_micros() as i64,
        None => wall + at.duration_since(now).as_micros() as i64,
    }
}

/// Parses RFC 3339 (`2026-11-28T09:30:00Z`, `…00.250+02:00`; `t`, `z` and
/// a space for `T` too) into µs since the epoch.
fn rfc3339_us(t: &str) -> Result<i64, String> {
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Result<i64, String> {
        let s = t.get(r).ok_or("too short")?;
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return Err(format!("{s:?} is not a number"));
        }
        s.parse::<i64>().map_err(|e| e.to_string())
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' {
        return Err("not a date and time".into());
    }
    if b[16] != b':' {
        return Err("not a date and time".into());
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err("no such date".into());
    }
    if hour > 23 || minute > 59 || second > 60 {
        return Err("no such time".into());
    }
    let mut rest = &t[19..];
    let mut micros = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err("a '.' without fraction digits".into());
        }
        let padded = format!("{:0<6}", &frac[..digits.min(6)]);
        micros = padded.parse::<i64>().map_err(|e| e.to_string())?;
        rest = &frac[digits..];
    }
    let offset_s = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(rest.as_bytes()[0], b'+' | b'-') && rest.as_bytes()[3] == b':' => {
            let (h, m) = (num_in(rest, 1..3)?, num_in(rest, 4..6)?);
            if h > 23 || m > 59 {
                return Err("no such offset".into());
            }
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (h * 3600 + m * 60)
        }
        _ => return Err("no time zone (end with Z or an offset like +02:00)".into()),
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_s;
    Ok(secs * 1_000_000 + micros)
}

fn num_in(s: &str, r: std::ops::Range<usize>) -> Result<i64, String> {
    let part = s.get(r).filter(|p| p.bytes().all(|c| c.is_ascii_digit())).ok_or("not a number")?;
    part.parse::<i64>().map_err(|e| e.to_string())
}

fn days_in_month(year: i64, month: i64) -> i64 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm, the
/// inverse of the one `units::rfc3339` formats with).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests;
