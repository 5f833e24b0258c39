//! A shard's part of a run's load: closed-loop concurrency and
//! count-bounded samples are dealt out one at a time ([`Shard::share`]: the
//! remainder goes to the first shards, so the parts add up to the whole);
//! open-loop rates are divided evenly, each shard drawing its own arrivals
//! (independent Poisson processes at rate/N add up to a Poisson process at
//! the whole rate; constant arrivals are offset by 1/N of a period each, so
//! together they are constant at the whole rate).
//!
//! What is not divided, and why: the warm-up (every shard warms its own
//! connections), a level's duration (every shard runs the whole window),
//! timeouts, SLOs, and the cost projection's volume (a property of the
//! endpoint, not of a shard).

use std::time::Duration;

use super::Shard;
use crate::settings::{Level, LoadPlan, Settings, Shape, StageValue, StagesPlan, SweepSpec};

impl Shard {
    /// `settings` as this shard runs them. A count-bounded run needs at
    /// least one measured request per shard and every concurrency level at
    /// least one request in flight per shard; a capacity search cannot be
    /// split (each shard would search on its own).
    pub fn divide(self, settings: &Settings) -> Result<Settings, String> {
        let mut s = settings.clone();
        let load = &mut s.load;
        let count_bounded = load.duration.is_none() && !matches!(load.shape, Shape::Stages(_));
        load.shape = match &load.shape {
            Shape::Auto(_) => {
                return Err(format!(
                    "a capacity search (sweep = \"auto\") cannot be split into {} shards: each would search on its own \
                     (give the levels instead, e.g. --sweep 4,8,16)",
                    self.count
                ));
            }
            Shape::Levels(levels) => Shape::Levels(self.levels(levels)?),
            Shape::Stages(stages) => Shape::Stages(self.stages(stages)),
        };
        load.sweep = match &load.sweep {
            Some(SweepSpec::Levels { levels }) => Some(SweepSpec::Levels { levels: self.levels(levels)? }),
            Some(SweepSpec::Expected { expected, levels }) => Some(SweepSpec::Expected {
                expected: self.level(*expected).unwrap_or(*expected),
                levels: self.levels(levels)?,
            }),
            other => other.clone(),
        };
        load.max_in_flight = load.max_in_flight.map(|m| self.share(m).max(1));
        load.shard = Some(self);
        if count_bounded {
            if s.samples < self.count {
                return Err(format!(
                    "{} measured requests cannot be split across {} shards: each shard needs at least one \
                     (raise --sample-size to at least {}, or run fewer shards)",
                    s.samples, self.count, self.count
                ));
            }
            s.samples = self.share(s.samples);
        }
        Ok(s)
    }

    fn levels(self, levels: &[Level]) -> Result<Vec<Level>, String> {
        levels.iter().map(|&l| self.level(l)).collect()
    }

    fn level(self, level: Level) -> Result<Level, String> {
        match level {
            Level::Concurrency(c) if c < self.count => Err(format!(
                "concurrency {c} cannot be split across {} shards: each shard needs at least one request in flight \
                 (raise the concurrency to at least {}, or run fewer shards)",
                self.count, self.count
            )),
            Level::Concurrency(c) => Ok(Level::Concurrency(self.share(c))),
            Level::Rate(r) => Ok(Level::Rate(r / f64::from(self.count))),
        }
    }

    /// Every stage's target divided; a closed-loop ramp may give a shard
    /// nothing in flight at one end (a ramp from 1 across 4 shards).
    fn stages(self, stages: &StagesPlan) -> StagesPlan {
        let value = |v: StageValue| match v {
            StageValue::Rate(r) => StageValue::Rate(r / f64::from(self.count)),
            StageValue::Concurrency(c) => StageValue::Concurrency(self.share(c)),
        };
        let mut out = stages.clone();
        out.start = value(out.start);
        for stage in &mut out.stages {
            stage.target = value(stage.target);
        }
        out
    }
}

impl LoadPlan {
    /// The seed of an open-loop level's arrivals: `base` unsplit, else one
    /// of this shard's own, so shards draw independent arrivals (the same
    /// seed on every shard would send N requests at every instant).
    pub(crate) fn arrival_seed(&self, base: u64) -> u64 {
        match self.shard {
            Some(s) if s.count > 1 => base ^ u64::from(s.index).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            _ => base,
        }
    }

    /// A shard's constant arrivals at `rate` (its own share) start `i/N` of
    /// a period late, so the shards' arrivals interleave evenly instead of
    /// coinciding; those pushed past `end` (a duration-bounded level) are
    /// dropped. Other arrivals are left alone: independent draws need no
    /// offset.
    pub(crate) fn shard_offsets(&self, offsets: Vec<Duration>, rate: f64, end: Option<Duration>) -> Vec<Duration> {
        let Some(shard) = self.shard.filter(|s| s.count > 1 && rate > 0.0) else { return offsets };
        if self.arrival != crate::settings::Arrival::Constant {
            return offsets;
        }
        let shift = Duration::from_secs_f64(f64::from(shard.index - 1) / f64::from(shard.count) / rate);
        offsets.into_iter().map(|o| o + shift).filter(|o| end.is_none_or(|e| *o <= e)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Arrival, Layer, Source};

    fn settings(toml: &str) -> Settings {
        let layer: crate::settings::SettingsLayer = toml::from_str(toml).unwrap();
        Settings::resolve(&[Layer { source: &Source::Flags, settings: &layer }], |_, _| Ok(())).unwrap()
    }

    fn shards(n: u32) -> impl Iterator<Item = Shard> {
        (1..=n).map(move |i| Shard::new(i, n).unwrap())
    }

    #[test]
    fn shares_add_up_and_the_remainder_goes_first() {
        let parts: Vec<u32> = shards(4).map(|s| s.share(10)).collect();
        assert_eq!(parts, [3, 3, 2, 2]);
        for total in [0, 1, 7, 8, 99, 1000] {
            for n in [1, 2, 3, 4, 7] {
                assert_eq!(shards(n).map(|s| s.share(total)).sum::<u32>(), total, "{total} over {n}");
            }
        }
    }

    #[test]
    fn closed_loop_levels_and_samples_are_dealt_out() {
        let whole = settings("samples = 10\nwarmup = 3\nconcurrency = [4, 9]");
        let parts: Vec<Settings> = shards(4).map(|s| s.divide(&whole).unwrap()).collect();
        let levels: Vec<Vec<u32>> = parts.iter().map(|p| p.load.concurrencies()).collect();
        assert_eq!(levels, [vec![1, 3], vec![1, 2], vec![1, 2], vec![1, 2]]);
        assert_eq!(parts.iter().map(|p| p.samples).collect::<Vec<_>>(), [3, 3, 2, 2]);
        assert!(parts.iter().all(|p| p.warmup == 3), "every shard warms its own connections");
        assert_eq!(parts[1].load.shard, Some(Shard::new(2, 4).unwrap()));
    }

    #[test]
    fn rates_are_divided_evenly() {
        let whole = settings("samples = 100\nrate = [\"20/s\", \"30/s\"]\nmax_in_flight = 10");
        let part = Shard::new(3, 4).unwrap().divide(&whole).unwrap();
        let Shape::Levels(levels) = &part.load.shape else { panic!("levels") };
        assert_eq!(levels, &[Level::Rate(5.0), Level::Rate(7.5)]);
        assert_eq!((part.samples, part.load.max_in_flight), (25, Some(2)));
    }

    #[test]
    fn what_cannot_be_split_is_refused_with_what_to_do() {
        let refused = |toml: &str| Shard::new(1, 4).unwrap().divide(&settings(toml)).unwrap_err();
        assert!(refused("concurrency = [2, 8]").contains("concurrency 2 cannot be split across 4 shards"));
        assert!(refused("samples = 3\nconcurrency = 4").contains("raise --sample-size to at least 4"));
        assert!(refused("sweep = \"auto\"").contains("capacity search"));
        // A duration-bounded run does not count its samples.
        assert!(Shard::new(1, 4).unwrap().divide(&settings("samples = 3\nconcurrency = 4\nduration = \"5s\"")).is_ok());
    }

    #[test]
    fn stages_divide_every_target() {
        let whole = settings("stages = \"0/s, 10s@40/s\"");
        let part = Shard::new(2, 4).unwrap().divide(&whole).unwrap();
        let Shape::Stages(st) = &part.load.shape else { panic!("stages") };
        assert_eq!((st.start, st.stages[0].target), (StageValue::Rate(0.0), StageValue::Rate(10.0)));
        let whole = settings("stages = \"10s@6, 10s@1\"");
        let Shape::Stages(st) = Shard::new(4, 4).unwrap().divide(&whole).unwrap().load.shape else { panic!() };
        assert_eq!(st.stages[0].target, StageValue::Concurrency(1));
        assert_eq!(st.stages[1].target, StageValue::Concurrency(0), "a ramp's far end may leave a shard idle");
    }

    #[test]
    fn shards_draw_their_own_arrivals_and_constant_ones_interleave() {
        let mut plan = settings("rate = \"10/s\"").load;
        assert_eq!(plan.arrival_seed(7), 7, "unsplit runs keep their seeds");
        let seeds: std::collections::BTreeSet<u64> = shards(4)
            .map(|s| {
                plan.shard = Some(s);
                plan.arrival_seed(7)
            })
            .collect();
        assert_eq!(seeds.len(), 4);
        plan.arrival = Arrival::Constant;
        let mut all: Vec<Duration> = shards(4)
            .flat_map(|s| {
                plan.shard = Some(s);
                // Each shard: 2.5/s, every 400 ms.
                let own: Vec<Duration> = (0..3).map(|k| Duration::from_millis(400 * k)).collect();
                plan.shard_offsets(own, 2.5, None)
            })
            .collect();
        all.sort();
        let gaps: Vec<u128> = all.windows(2).map(|w| (w[1] - w[0]).as_millis()).collect();
        assert!(gaps.iter().all(|&g| g == 100), "together: every 100 ms, the whole 10/s ({gaps:?})");
        plan.shard = Some(Shard::new(4, 4).unwrap());
        let cut =
            plan.shard_offsets(vec![Duration::ZERO, Duration::from_millis(400)], 2.5, Some(Duration::from_millis(500)));
        assert_eq!(cut, [Duration::from_millis(300)], "an arrival pushed past the level's end is dropped");
    }
}
