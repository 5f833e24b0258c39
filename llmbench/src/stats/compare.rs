//! Deciding whether a change between two runs is real.
//!
//! For one metric statistic (e.g. the p50 of TTFT) of a baseline run and a
//! current run, [`compare`] computes:
//!
//! - the **change**: `current / baseline − 1` for latencies, throughput and
//!   cost ([`Scale::Relative`]), or `current − baseline` for rates such as
//!   `error_rate` ([`Scale::Absolute`], in fractions: 0.01 is one
//!   percentage point), whose baseline is often 0;
//! - a **bootstrap confidence interval** of that change: both runs are
//!   resampled *by request* (with replacement, `nresamples` times), the
//!   statistic recomputed on each resample, and the interval read from the
//!   percentiles of the resampled changes. Resampling requests keeps what
//!   belongs to one request together: ITL gaps are resampled as the whole
//!   set of gaps of a request (a cluster bootstrap), and throughput as the
//!   request's tokens and duration;
//! - a **p-value** from a two-sample **bootstrap test** of the same
//!   statistic: under the null hypothesis both runs come from one
//!   distribution, so both are resampled from the pooled requests, and
//!   `p` is the share of those null resamples whose |log ratio| (or
//!   |difference|, for rates) is at least the observed one.
//!
//! Then criterion's classification ([`ChangeKind`]): `NoChange` when
//! `p ≥ significance_level`; otherwise `Improved` or `Regressed` only when
//! the *whole* interval lies beyond ±`noise_threshold` (direction-aware:
//! a higher throughput is an improvement, a higher latency a regression);
//! otherwise `WithinNoise`. Fewer than `min_samples` requests on either
//! side is `NoChange` with a note: too little to decide.
//!
//! # Why a bootstrap test and not Mann–Whitney U
//!
//! Mann–Whitney U is robust and cheap, but it tests whether one whole
//! distribution tends to be larger than the other, not whether *the
//! statistic being judged* changed: a regression only in the tail (1 in 20
//! requests stalls, so p99 doubles while p50 stays put) leaves U near its
//! null value, and the gate would print a doubled p99 as "no change". The
//! bootstrap test asks about the same statistic as the confidence interval
//! (p50, p99, mean, throughput as a ratio, error rate as a proportion), makes
//! no assumption about the shape of skewed, heavy-tailed, multi-modal latency
//! data, and is what criterion does (it bootstraps its t statistic from the
//! pooled samples). It costs a second round of resampling, and its p-value
//! resolution is `1 / (nresamples + 1)`, far below any sensible
//! significance level. The unit test `a_tail_only_regression_is_caught_at_p99`
//! shows the case.
//!
//! # Defaults, from evidence
//!
//! `examples/stat_check.rs` (`cargo run --release --example stat_check`)
//! runs thousands of A/A comparisons (two runs of one simulator
//! configuration, different seeds) and A/B comparisons with a +10% TTFT
//! shift, through this module and the gate's full metric set. The defaults
//! below are the ones that met both targets (false regressions ≤ 1% of runs,
//! detection of a +10% TTFT p50 shift ≥ 95% at 100 samples) on TTFT with a
//! coefficient of variation up to 10%; the figures are in the example's
//! output and in `docs/gate.md`.
//!
//! Analysis is deterministic: resampling uses a fixed seed, so the same two
//! runs always give the same interval, p-value and verdict.

use serde::{Deserialize, Serialize};

use crate::rng::Rng;

/// Default resamples per interval and per test. Criterion uses 100,000 for
/// a few numbers; a run here compares ~17 statistics per level, some over
/// thousands of pooled ITL gaps, and 10,000 puts the Monte Carlo error of a
/// 95% interval bound well under the noise threshold.
pub const DEFAULT_NRESAMPLES: usize = 10_000;
/// Default confidence level of the intervals (criterion's).
pub const DEFAULT_CONFIDENCE_LEVEL: f64 = 0.95;
/// Default significance level of the test (criterion's).
pub const DEFAULT_SIGNIFICANCE_LEVEL: f64 = 0.05;
/// Default noise threshold for relative changes: ±3%. Criterion's 1% is
/// for CPU-bound code on a quiet machine; at ±2% A/A runs already showed 1%
/// false regressions, and at ±5% a +10% TTFT shift at 100 samples was
/// caught only 79% of the time (TTFT CV 10%); ±3% gave 0% and 96% (see the
/// module docs).
pub const DEFAULT_NOISE_THRESHOLD: f64 = 0.03;
/// Default noise threshold for rates (`error_rate`): ±1 percentage point.
pub const DEFAULT_RATE_NOISE_THRESHOLD: f64 = 0.01;
/// Default fewest requests per side for a verdict.
pub const DEFAULT_MIN_SAMPLES: usize = 30;

/// The verdict on one metric, used by every output (terminal, JSON,
/// Markdown, JUnit, HTML).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Not statistically significant (or too little data to tell).
    NoChange,
    /// Significant, but the interval reaches inside ±noise threshold.
    WithinNoise,
    /// Significantly better, beyond the noise threshold.
    Improved,
    /// Significantly worse, beyond the noise threshold.
    Regressed,
}

impl ChangeKind {
    /// Words for people: `no change`, `within noise`, `improved`, `regressed`.
    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::NoChange => "no change",
            ChangeKind::WithinNoise => "within noise",
            ChangeKind::Improved => "improved",
            ChangeKind::Regressed => "regressed",
        }
    }
}

pub use crate::metric::{Direction, Scale};

/// The statistic computed over a [`Sample`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    /// Nearest-rank quantile, `q` in (0, 1]: the value at rank ⌈q·n⌉.
    Quantile(f64),
    /// Arithmetic mean (a proportion, for 0/1 values).
    Mean,
    /// `scale · Σ numerator / Σ denominator` of a [`Sample::Ratio`].
    Ratio,
}

/// One run's data for a metric, one unit per request.
#[derive(Debug, Clone, PartialEq)]
pub enum Sample {
    /// One value per request (TTFT, E2E; 0/1 for "failed").
    Values(Vec<f64>),
    /// Several values per request, pooled for the statistic but resampled
    /// by request (the gaps of each request, for ITL).
    Clusters(Vec<Vec<f64>>),
    /// A `(numerator, denominator)` per request and a constant factor:
    /// throughput as `scale · Σ tokens / Σ duration` (Little's law for a
    /// closed loop, `scale` making it equal the measured throughput).
    Ratio {
        /// Per request.
        pairs: Vec<(f64, f64)>,
        /// Constant factor.
        scale: f64,
    },
}

impl Sample {
    /// Requests in the sample.
    pub fn len(&self) -> usize {
        match self {
            Sample::Values(v) => v.len(),
            Sample::Clusters(c) => c.len(),
            Sample::Ratio { pairs, .. } => pairs.len(),
        }
    }

    /// Whether it holds no request.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The statistic over every request.
    pub fn statistic(&self, stat: Statistic) -> f64 {
        let prepared = Prepared::new(&[self]);
        prepared.evaluate(&vec![1; self.len()], &[stat])[0]
    }
}

/// A sample (or the pool of two) arranged for fast resampling: a resample is
/// a weight per request (how often it was drawn), and every statistic is a
/// weighted walk — quantiles over the values sorted once, with their
/// request, so one pass yields p50, p90 and p99 with no sorting per resample.
struct Prepared {
    /// Every value, ascending, with the request it belongs to.
    sorted: Vec<(f64, u32)>,
    /// Per request: (sum of values or numerator, count of values or denominator).
    sums: Vec<(f64, f64)>,
    /// The ratio's constant factor (1 otherwise).
    scale: f64,
    ratio: bool,
}

impl Prepared {
    /// The requests of `samples`, in order (one sample, or two pooled: a
    /// pooled ratio drops its scale, which the test's log ratio ignores).
    fn new(samples: &[&Sample]) -> Prepared {
        let mut sorted = Vec::new();
        let mut sums = Vec::new();
        let (mut scale, mut ratio) = (1.0, false);
        for sample in samples {
            match sample {
                Sample::Values(v) => {
                    for &x in v {
                        sorted.push((x, sums.len() as u32));
                        sums.push((x, 1.0));
                    }
                }
                Sample::Clusters(c) => {
                    for values in c {
                        sorted.extend(values.iter().map(|&x| (x, sums.len() as u32)));
                        sums.push((values.iter().sum(), values.len() as f64));
                    }
                }
                Sample::Ratio { pairs, scale: k } => {
                    ratio = true;
                    if samples.len() == 1 {
                        scale = *k;
                    }
                    sums.extend_from_slice(pairs);
                }
            }
        }
        sorted.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        Prepared { sorted, sums, scale, ratio }
    }

    /// Each statistic under request weights `w` (same length as `sums`).
    fn evaluate(&self, w: &[u32], stats: &[Statistic]) -> Vec<f64> {
        let mut out = vec![f64::NAN; stats.len()];
        self.evaluate_into(w, stats, &mut out, &mut Vec::new());
        out
    }

    /// [`Prepared::evaluate`] into `out`, without allocating.
    fn evaluate_into(&self, w: &[u32], stats: &[Statistic], out: &mut [f64], ranks: &mut Vec<(u64, usize)>) {
        let (num, den) = w.iter().zip(&self.sums).fold((0.0, 0.0), |(n, d), (&w, &(s, c))| {
            if w == 0 { (n, d) } else { (n + f64::from(w) * s, d + f64::from(w) * c) }
        });
        out.fill(f64::NAN);
        ranks.clear();
        for (i, stat) in stats.iter().enumerate() {
            match *stat {
                Statistic::Ratio if self.ratio && den > 0.0 => out[i] = self.scale * num / den,
                Statistic::Mean if !self.ratio && den > 0.0 => out[i] = num / den,
                Statistic::Quantile(q) if !self.ratio && den > 0.0 => {
                    ranks.push((((q * den).ceil() as u64).clamp(1, den as u64), i));
                }
                _ => {}
            }
        }
        if !ranks.is_empty() {
            ranks.sort_unstable();
            let (mut seen, mut next) = (0u64, 0);
            for &(value, unit) in &self.sorted {
                seen += u64::from(w[unit as usize]);
                while next < ranks.len() && seen >= ranks[next].0 {
                    out[ranks[next].1] = value;
                    next += 1;
                }
                if next == ranks.len() {
                    break;
                }
            }
        }
    }
}

/// Draws `n` requests with replacement from `units`: the weight of each.
fn draw(rng: &mut Rng, w: &mut [u32], n: usize) {
    w.fill(0);
    let units = w.len() as u64;
    for _ in 0..n {
        w[rng.range_u64(0, units - 1) as usize] += 1;
    }
}

/// The knobs of the analysis (`--nresamples`, `--confidence-level`,
/// `--significance-level`, `--noise-threshold`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    /// Bootstrap resamples per interval and per test.
    pub nresamples: usize,
    /// Confidence level of the interval, in (0, 1).
    pub confidence_level: f64,
    /// Significance level of the test, in (0, 1).
    pub significance_level: f64,
    /// Noise threshold of relative changes (0.05 = ±5%).
    pub noise_threshold: f64,
    /// Noise threshold of absolute changes of rates (0.01 = ±1 point).
    pub rate_noise_threshold: f64,
    /// Fewest requests on each side for a verdict.
    pub min_samples: usize,
}

impl Default for Statistics {
    fn default() -> Self {
        Statistics {
            nresamples: DEFAULT_NRESAMPLES,
            confidence_level: DEFAULT_CONFIDENCE_LEVEL,
            significance_level: DEFAULT_SIGNIFICANCE_LEVEL,
            noise_threshold: DEFAULT_NOISE_THRESHOLD,
            rate_noise_threshold: DEFAULT_RATE_NOISE_THRESHOLD,
            min_samples: DEFAULT_MIN_SAMPLES,
        }
    }
}

/// The outcome of comparing one statistic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The statistic over the baseline run.
    pub baseline: Option<f64>,
    /// The statistic over the current run.
    pub current: Option<f64>,
    /// The change, on `scale`.
    pub change: Option<f64>,
    /// Relative or absolute.
    pub scale: Scale,
    /// Lower and upper bound of the change's confidence interval.
    pub ci: Option<[f64; 2]>,
    /// Two-sided p-value of the bootstrap test.
    pub p_value: Option<f64>,
    /// The verdict.
    pub kind: ChangeKind,
    /// Why there is no verdict, when there is none.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
    /// Requests on each side: `[baseline, current]`.
    pub samples: [usize; 2],
}

/// Compares `stat` of `baseline` and `current` (see the module docs).
pub fn compare(
    baseline: &Sample,
    current: &Sample,
    stat: Statistic,
    direction: Direction,
    scale: Scale,
    settings: &Statistics,
) -> Change {
    compare_many(baseline, current, &[stat], direction, scale, settings).remove(0)
}

/// [`compare`] for several statistics of one metric at once, sharing the
/// resamples (p50, p90 and p99 of TTFT cost about as much as one).
pub fn compare_many(
    baseline: &Sample,
    current: &Sample,
    stats: &[Statistic],
    direction: Direction,
    scale: Scale,
    settings: &Statistics,
) -> Vec<Change> {
    let samples = [baseline.len(), current.len()];
    let (pa, pc) = (Prepared::new(&[baseline]), Prepared::new(&[current]));
    let base_values = pa.evaluate(&vec![1; samples[0]], stats);
    let cur_values = pc.evaluate(&vec![1; samples[1]], stats);
    let (mut out, live) = point_changes(&base_values, &cur_values, samples, scale, settings);
    if live.is_empty() {
        return out;
    }
    let live_stats: Vec<Statistic> = live.iter().map(|&i| stats[i]).collect();
    let mut boot = Bootstrap { rng: Rng::new(0x11b_e4c4), n: settings.nresamples.max(1), samples, stats: &live_stats };
    let mut changes = boot.intervals(&pa, &pc, scale);
    let observed: Vec<(f64, f64)> = live.iter().map(|&i| (base_values[i], cur_values[i])).collect();
    let (extreme, counted) = boot.test(&Prepared::new(&[baseline, current]), &observed, scale);

    let tail = (1.0 - settings.confidence_level) / 2.0;
    for (k, &i) in live.iter().enumerate() {
        let c = &mut out[i];
        let resampled = &mut changes[k];
        if resampled.is_empty() {
            c.note = Some("no finite resample".into());
            continue;
        }
        resampled.sort_unstable_by(f64::total_cmp);
        let at = |q: f64| resampled[((q * (resampled.len() - 1) as f64).round() as usize).min(resampled.len() - 1)];
        let ci = [at(tail), at(1.0 - tail)];
        let p = (extreme[k] + 1) as f64 / (counted[k] + 1) as f64;
        c.ci = Some(ci);
        c.p_value = Some(p);
        c.kind = classify(p, ci, direction, scale, settings);
    }
    out
}

/// The relative or absolute change from `b` to `c` (NaN for a relative
/// change from zero).
fn change_of(b: f64, c: f64, scale: Scale) -> f64 {
    match scale {
        Scale::Relative if b > 0.0 => c / b - 1.0,
        Scale::Relative => f64::NAN,
        Scale::Absolute => c - b,
    }
}

/// Each statistic's point values and change, and which of them can be
/// decided (the others say why not).
fn point_changes(
    base_values: &[f64],
    cur_values: &[f64],
    samples: [usize; 2],
    scale: Scale,
    settings: &Statistics,
) -> (Vec<Change>, Vec<usize>) {
    let finite = |v: f64| v.is_finite().then_some(v);
    let mut out: Vec<Change> = base_values
        .iter()
        .zip(cur_values)
        .map(|(&b, &c)| Change {
            baseline: finite(b),
            current: finite(c),
            change: None,
            scale,
            ci: None,
            p_value: None,
            kind: ChangeKind::NoChange,
            note: None,
            samples,
        })
        .collect();
    let fewest = samples[0].min(samples[1]);
    let mut live = Vec::new();
    for (i, c) in out.iter_mut().enumerate() {
        let (Some(b), Some(v)) = (c.baseline, c.current) else {
            c.note = Some("no value on one side".into());
            continue;
        };
        let observed = change_of(b, v, scale);
        if !observed.is_finite() {
            c.note = Some("the baseline is zero: no relative change".into());
            continue;
        }
        c.change = Some(observed);
        if fewest < settings.min_samples {
            c.note = Some(format!("too few requests to decide ({fewest} < {})", settings.min_samples));
            continue;
        }
        live.push(i);
    }
    (out, live)
}

/// The resampling of one comparison: one stream of draws shared by the
/// interval and the test, so a comparison always comes out the same.
struct Bootstrap<'a> {
    rng: Rng,
    n: usize,
    samples: [usize; 2],
    stats: &'a [Statistic],
}

impl Bootstrap<'_> {
    /// The interval's resamples: each run resampled from itself, the
    /// change of every statistic (finite ones only).
    fn intervals(&mut self, pa: &Prepared, pc: &Prepared, scale: Scale) -> Vec<Vec<f64>> {
        let k = self.stats.len();
        let (mut wa, mut wc) = (vec![0; self.samples[0]], vec![0; self.samples[1]]);
        let (mut b, mut c, mut ranks) = (vec![0.0; k], vec![0.0; k], Vec::new());
        let mut changes: Vec<Vec<f64>> = vec![Vec::with_capacity(self.n); k];
        for _ in 0..self.n {
            draw(&mut self.rng, &mut wa, self.samples[0]);
            draw(&mut self.rng, &mut wc, self.samples[1]);
            pa.evaluate_into(&wa, self.stats, &mut b, &mut ranks);
            pc.evaluate_into(&wc, self.stats, &mut c, &mut ranks);
            for (j, out) in changes.iter_mut().enumerate() {
                let r = change_of(b[j], c[j], scale);
                if r.is_finite() {
                    out.push(r);
                }
            }
        }
        changes
    }

    /// The test: both runs resampled from the pooled requests; per
    /// statistic, how many resamples differed at least as much as the runs
    /// did (`observed` baseline and current values), of how many counted.
    fn test(&mut self, pool: &Prepared, observed: &[(f64, f64)], scale: Scale) -> (Vec<usize>, Vec<usize>) {
        let k = self.stats.len();
        let total = self.samples[0] + self.samples[1];
        let (mut wa, mut wc) = (vec![0; total], vec![0; total]);
        let (mut b, mut c, mut ranks) = (vec![0.0; k], vec![0.0; k], Vec::new());
        let test_stat = |b: f64, c: f64| match scale {
            Scale::Relative => (c / b).ln().abs(),
            Scale::Absolute => (c - b).abs(),
        };
        let observed: Vec<f64> = observed.iter().map(|&(b, c)| test_stat(b, c)).collect();
        let (mut extreme, mut counted) = (vec![0usize; k], vec![0usize; k]);
        for _ in 0..self.n {
            draw(&mut self.rng, &mut wa, self.samples[0]);
            draw(&mut self.rng, &mut wc, self.samples[1]);
            pool.evaluate_into(&wa, self.stats, &mut b, &mut ranks);
            pool.evaluate_into(&wc, self.stats, &mut c, &mut ranks);
            for j in 0..k {
                let t = test_stat(b[j], c[j]);
                if t.is_finite() {
                    counted[j] += 1;
                    // A tiny tolerance so that ties (identical runs) count as extreme.
                    if t >= observed[j] * (1.0 - 1e-12) {
                        extreme[j] += 1;
                    }
                }
            }
        }
        (extreme, counted)
    }
}

/// Criterion's rule, direction-aware (see the module docs).
pub fn classify(p_value: f64, ci: [f64; 2], direction: Direction, scale: Scale, settings: &Statistics) -> ChangeKind {
    if p_value >= settings.significance_level {
        return ChangeKind::NoChange;
    }
    let noise = match scale {
        Scale::Relative => settings.noise_threshold,
        Scale::Absolute => settings.rate_noise_threshold,
    };
    let went_up = ci[0] > noise;
    let went_down = ci[1] < -noise;
    match (went_up, went_down, direction) {
        (true, _, Direction::LowerIsBetter) | (_, true, Direction::HigherIsBetter) => ChangeKind::Regressed,
        (true, _, Direction::HigherIsBetter) | (_, true, Direction::LowerIsBetter) => ChangeKind::Improved,
        _ => ChangeKind::WithinNoise,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal(seed: u64, n: usize, mean: f64, sd: f64) -> Vec<f64> {
        let mut r = Rng::new(seed);
        (0..n).map(|_| (mean + sd * r.normal()).max(0.0)).collect()
    }

    fn quick() -> Statistics {
        Statistics { nresamples: 2000, ..Statistics::default() }
    }

    fn lat(a: Vec<f64>, b: Vec<f64>, stat: Statistic) -> Change {
        compare(&Sample::Values(a), &Sample::Values(b), stat, Direction::LowerIsBetter, Scale::Relative, &quick())
    }

    #[test]
    fn nearest_rank_quantiles_means_and_ratios() {
        let v = Sample::Values((1..=100).rev().map(f64::from).collect());
        assert_eq!(v.statistic(Statistic::Quantile(0.5)), 50.0);
        assert_eq!(v.statistic(Statistic::Quantile(0.9)), 90.0);
        assert_eq!(v.statistic(Statistic::Quantile(0.99)), 99.0);
        assert_eq!(v.statistic(Statistic::Quantile(1.0)), 100.0);
        assert_eq!(v.statistic(Statistic::Quantile(0.0)), 1.0);
        assert_eq!(v.statistic(Statistic::Mean), 50.5);
        assert_eq!(Sample::Values(vec![7.0]).statistic(Statistic::Quantile(0.5)), 7.0);
        assert!(Sample::Values(vec![]).statistic(Statistic::Quantile(0.5)).is_nan());
        let c = Sample::Clusters(vec![vec![3.0, 1.0], vec![2.0, 4.0, 5.0]]);
        assert_eq!(c.statistic(Statistic::Quantile(0.5)), 3.0);
        assert_eq!(c.statistic(Statistic::Mean), 3.0);
        assert!(c.statistic(Statistic::Ratio).is_nan());
        let r = Sample::Ratio { pairs: vec![(10.0, 2.0), (20.0, 2.0)], scale: 2.0 };
        assert_eq!(r.statistic(Statistic::Ratio), 15.0);
        assert!(r.statistic(Statistic::Mean).is_nan());
    }

    #[test]
    fn identical_runs_are_no_change() {
        let c = lat(vec![40.0; 60], vec![40.0; 60], Statistic::Quantile(0.5));
        assert_eq!(c.kind, ChangeKind::NoChange);
        assert_eq!(c.change, Some(0.0));
        assert_eq!(c.ci, Some([0.0, 0.0]));
        assert_eq!(c.p_value, Some(1.0));
    }

    #[test]
    fn a_clear_slowdown_is_a_regression_and_a_speedup_an_improvement() {
        let c = lat(normal(1, 100, 100.0, 5.0), normal(2, 100, 120.0, 5.0), Statistic::Quantile(0.5));
        assert_eq!(c.kind, ChangeKind::Regressed, "{c:?}");
        let [lo, hi] = c.ci.unwrap();
        assert!(lo > 0.15 && hi < 0.25 && lo <= c.change.unwrap() && c.change.unwrap() <= hi, "{c:?}");
        assert!(c.p_value.unwrap() < 0.001);
        let c = lat(normal(1, 100, 120.0, 5.0), normal(2, 100, 100.0, 5.0), Statistic::Mean);
        assert_eq!(c.kind, ChangeKind::Improved, "{c:?}");
    }

    #[test]
    fn a_significant_change_inside_the_noise_threshold_is_within_noise() {
        // +2% with very little spread: real, but under the 5% threshold.
        let c = lat(normal(1, 200, 100.0, 0.5), normal(2, 200, 102.0, 0.5), Statistic::Quantile(0.5));
        assert_eq!(c.kind, ChangeKind::WithinNoise, "{c:?}");
        assert!(c.p_value.unwrap() < 0.01);
    }

    #[test]
    fn same_distribution_is_not_significant() {
        let c = lat(normal(1, 100, 100.0, 20.0), normal(2, 100, 100.0, 20.0), Statistic::Quantile(0.5));
        assert_eq!(c.kind, ChangeKind::NoChange, "{c:?}");
        assert!(c.p_value.unwrap() > 0.05);
    }

    #[test]
    fn direction_decides_better_or_worse() {
        let slower = |d| {
            compare(
                &Sample::Values(vec![100.0; 50]),
                &Sample::Values(vec![150.0; 50]),
                Statistic::Mean,
                d,
                Scale::Relative,
                &quick(),
            )
            .kind
        };
        assert_eq!(slower(Direction::LowerIsBetter), ChangeKind::Regressed);
        assert_eq!(slower(Direction::HigherIsBetter), ChangeKind::Improved);
    }

    #[test]
    fn a_tail_only_regression_is_caught_at_p99() {
        // 1 request in 20 stalls for 3x as long: the median does not move.
        let base = normal(1, 400, 100.0, 5.0);
        let mut cur = normal(2, 400, 100.0, 5.0);
        for v in cur.iter_mut().step_by(20) {
            *v *= 3.0;
        }
        assert_eq!(lat(base.clone(), cur.clone(), Statistic::Quantile(0.99)).kind, ChangeKind::Regressed);
        assert_ne!(lat(base, cur, Statistic::Quantile(0.5)).kind, ChangeKind::Regressed);
    }

    #[test]
    fn rates_change_in_points() {
        let zeros = vec![0.0; 100];
        let mut some = vec![0.0; 100];
        some[..10].iter_mut().for_each(|v| *v = 1.0);
        let c = compare(
            &Sample::Values(zeros),
            &Sample::Values(some),
            Statistic::Mean,
            Direction::LowerIsBetter,
            Scale::Absolute,
            &quick(),
        );
        assert_eq!(c.change, Some(0.1));
        assert_eq!(c.kind, ChangeKind::Regressed, "{c:?}");
    }

    #[test]
    fn clusters_and_ratios_resample_by_request() {
        let base: Vec<Vec<f64>> = (0..50).map(|i| vec![4.0 + f64::from(i % 3) * 0.01; 20]).collect();
        let cur: Vec<Vec<f64>> = (0..50).map(|i| vec![5.0 + f64::from(i % 3) * 0.01; 20]).collect();
        let c = compare(
            &Sample::Clusters(base),
            &Sample::Clusters(cur),
            Statistic::Quantile(0.9),
            Direction::LowerIsBetter,
            Scale::Relative,
            &quick(),
        );
        assert_eq!(c.kind, ChangeKind::Regressed, "{c:?}");
        let ratio = |tokens: f64| Sample::Ratio {
            pairs: (0..50).map(|i| (tokens + f64::from(i % 5), 1.0)).collect(),
            scale: 2.0,
        };
        let c = compare(
            &ratio(100.0),
            &ratio(80.0),
            Statistic::Ratio,
            Direction::HigherIsBetter,
            Scale::Relative,
            &quick(),
        );
        assert_eq!(c.baseline, Some(204.0));
        assert_eq!(c.kind, ChangeKind::Regressed, "{c:?}");
    }

    #[test]
    fn too_few_samples_or_a_zero_baseline_give_no_verdict() {
        let c = lat(vec![1.0; 10], vec![2.0; 10], Statistic::Mean);
        assert_eq!((c.kind, c.change), (ChangeKind::NoChange, Some(1.0)));
        assert!(c.note.unwrap().contains("too few requests"));
        let c = lat(vec![0.0; 50], vec![2.0; 50], Statistic::Mean);
        assert!(c.note.unwrap().contains("zero"));
        let c = lat(vec![], vec![2.0; 50], Statistic::Mean);
        assert_eq!((c.kind, c.baseline), (ChangeKind::NoChange, None));
    }

    #[test]
    fn analysis_is_deterministic() {
        let (a, b) = (normal(1, 100, 100.0, 20.0), normal(2, 100, 108.0, 20.0));
        assert_eq!(lat(a.clone(), b.clone(), Statistic::Quantile(0.9)), lat(a, b, Statistic::Quantile(0.9)));
    }
}
