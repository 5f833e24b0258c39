//! One latency (or count) distribution: count, mean, stddev, min, p50, p90,
//! p95, p99, p99.9, max.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// A distribution summary. Latencies are in milliseconds; token counts and
/// rates keep their own unit. A percentile whose sample is too small to mean
/// anything is `null`, with the reason under `missing`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// Number of values.
    pub count: u64,
    /// Arithmetic mean (exact, not from the histogram).
    pub mean: f64,
    /// Sample standard deviation (exact).
    pub stddev: f64,
    /// Smallest value.
    pub min: f64,
    /// Median.
    pub p50: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
    /// 95th percentile.
    pub p95: Option<f64>,
    /// 99th percentile.
    pub p99: Option<f64>,
    /// 99.9th percentile.
    pub p999: Option<f64>,
    /// Largest value.
    pub max: f64,
    /// Why a percentile is missing.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub missing: BTreeMap<String, String>,
}

/// The fewest values for which each percentile is reported: a percentile
/// needs at least one value beyond it to be more than the maximum.
const MIN_SAMPLES: [(&str, f64, u64); 5] =
    [("p50", 50.0, 1), ("p90", 90.0, 10), ("p95", 95.0, 20), ("p99", 99.0, 100), ("p999", 99.9, 1000)];

/// Values are recorded in the histogram at this many units per input unit
/// (microseconds for millisecond inputs), with 3 significant digits.
const SCALE: f64 = 1000.0;

/// A distribution being summarized as its values arrive: the histogram the
/// percentiles come from, and the exact count, sum, spread (Welford), min
/// and max. Its memory does not grow with the number of values, so a
/// level of any length is summarized as its requests finish.
#[derive(Debug, Clone)]
pub(crate) struct Distribution {
    hist: Histogram<u64>,
    count: u64,
    sum: f64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Default for Distribution {
    fn default() -> Distribution {
        Distribution {
            // Auto-resizing, 3 significant figures: what `histograms.json` keeps.
            hist: Histogram::new(3).expect("3 significant figures is a valid precision"),
            count: 0,
            sum: 0.0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        }
    }
}

impl Distribution {
    /// Adds one value; a value that is not finite is left out.
    pub(crate) fn add(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        // Auto-resizing: recording never fails for a u64.
        let _ = self.hist.record((v.max(0.0) * SCALE).round() as u64);
        self.count += 1;
        self.sum += v;
        let delta = v - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (v - self.mean);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// Adds an optional value.
    pub(crate) fn add_some(&mut self, v: Option<f64>) {
        if let Some(v) = v {
            self.add(v);
        }
    }

    /// Values added.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// The histogram of the values (µs of a millisecond value, as
    /// `histograms.json` keeps them).
    pub(crate) fn histogram(&self) -> &Histogram<u64> {
        &self.hist
    }

    /// The value at quantile `q` (0..1) as the histogram's lowest
    /// equivalent value, clamped into the observed range; `None` when empty.
    pub(crate) fn quantile_low(&self, q: f64) -> Option<f64> {
        (self.count > 0).then(|| {
            let v = self.hist.lowest_equivalent(self.hist.value_at_quantile(q));
            (v as f64 / SCALE).clamp(self.min, self.max)
        })
    }

    /// The summary; `None` when no value was added.
    pub(crate) fn summary(&self) -> Option<LatencySummary> {
        let count = self.count;
        if count == 0 {
            return None;
        }
        let (min, max) = (self.min, self.max);
        let mut missing = BTreeMap::new();
        let mut pct = |key: &str, q: f64, need: u64| {
            if count >= need {
                // The histogram reports the top of the bucket; clamp into the observed range.
                Some((self.hist.value_at_quantile(q / 100.0) as f64 / SCALE).clamp(min, max))
            } else {
                missing.insert(key.to_owned(), format!("needs at least {need} samples, have {count}"));
                None
            }
        };
        let [p50, p90, p95, p99, p999] = MIN_SAMPLES.map(|(key, q, need)| pct(key, q, need));
        let var = if count > 1 { (self.m2 / (count - 1) as f64).max(0.0) } else { 0.0 };
        let mean = self.sum / count as f64;
        Some(LatencySummary { count, mean, stddev: var.sqrt(), min, p50, p90, p95, p99, p999, max, missing })
    }
}

impl LatencySummary {
    /// Summarizes `values`; `None` when there are none.
    pub fn from_values(values: &[f64]) -> Option<LatencySummary> {
        let mut d = Distribution::default();
        values.iter().for_each(|&v| d.add(v));
        d.summary()
    }

    /// A percentile by name (`p50`, `p90`, `p95`, `p99`, `p999`, `mean`, `min`, `max`).
    pub fn get(&self, stat: &str) -> Option<f64> {
        match stat {
            "p50" => self.p50,
            "p90" => self.p90,
            "p95" => self.p95,
            "p99" => self.p99,
            "p999" => self.p999,
            "mean" => Some(self.mean),
            "min" => Some(self.min),
            "max" => Some(self.max),
            "stddev" => Some(self.stddev),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_sample() {
        let values: Vec<f64> = (1..=1000).map(|i| i as f64).collect();
        let s = LatencySummary::from_values(&values).unwrap();
        assert_eq!(s.count, 1000);
        assert!((s.mean - 500.5).abs() < 1e-9);
        let close = |a: Option<f64>, b: f64| (a.unwrap() - b).abs() <= b * 0.002;
        assert!(close(s.p50, 500.0), "{:?}", s.p50);
        assert!(close(s.p90, 900.0), "{:?}", s.p90);
        assert!(close(s.p99, 990.0), "{:?}", s.p99);
        assert!(close(s.p999, 999.0), "{:?}", s.p999);
        assert_eq!((s.min, s.max), (1.0, 1000.0));
        assert!(s.missing.is_empty());
        assert!((s.stddev - 288.82).abs() < 0.01);
    }

    #[test]
    fn small_samples_report_missing_percentiles_with_a_reason() {
        let s = LatencySummary::from_values(&[10.0; 50]).unwrap();
        assert_eq!(s.p50, Some(10.0));
        assert_eq!(s.p95, Some(10.0));
        assert_eq!(s.p99, None);
        assert_eq!(s.p999, None);
        assert_eq!(s.missing["p99"], "needs at least 100 samples, have 50");
        let json = serde_json::to_value(&s).unwrap();
        assert!(json["p99"].is_null());
        assert!(LatencySummary::from_values(&[]).is_none());
    }
}
