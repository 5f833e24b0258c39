//! `histograms.json`: a sharded run's latency distributions in a mergeable
//! form (docs/distributed.md), beside its `summary.json`.
//!
//! Per row of the summary's `levels`, each latency metric's HdrHistogram
//! (values in µs, 3 significant digits: exactly the histogram
//! `stats::LatencySummary` takes its percentiles from), serialized in
//! HdrHistogram's V2 format and base64-encoded, so any HdrHistogram
//! implementation can read it. Adding the shards' histograms gives the
//! histogram of the union of their requests: percentiles of the whole run,
//! never an average of the shards' percentiles.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2Serializer};
use serde::{Deserialize, Serialize};

use crate::record::{Phase, RequestRecord};

/// The file, beside `summary.json`.
pub const HISTOGRAMS_FILE: &str = "histograms.json";
/// Its format version written by this build.
pub const HISTOGRAMS_FORMAT: u32 = 1;
/// What a value is: microseconds of a millisecond metric
/// (`stats::LatencySummary`'s scale).
const SCALE: f64 = 1000.0;
const SIGNIFICANT_FIGURES: u8 = 3;
const ENCODING: &str = "hdrhistogram-v2+base64";

/// A metric's values in one request: successful measured requests only,
/// as the summary's percentiles count them.
type Values = fn(&RequestRecord) -> Vec<f64>;

/// The metrics kept: those a gate or a comparison most often reads.
const METRICS: [(&str, Values); 6] = [
    ("ttft", |r| r.ttft_ms.into_iter().collect()),
    ("ttfb", |r| r.ttfb_ms.into_iter().collect()),
    ("e2e", |r| vec![r.e2e_ms]),
    ("tpot", |r| r.tpot_ms().into_iter().collect()),
    ("itl", |r| r.gaps_us.iter().map(|&g| f64::from(g) / 1e3).collect()),
    ("queue", |r| vec![r.queue_ms]),
];

/// The names of the metrics kept, in order.
pub(crate) const METRIC_NAMES: [&str; 6] = ["ttft", "ttfb", "e2e", "tpot", "itl", "queue"];

/// `histograms.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunHistograms {
    /// [`HISTOGRAMS_FORMAT`] at write time.
    pub format_version: u32,
    /// `us`: what one count of a histogram's value is.
    pub unit: String,
    /// The histograms' precision.
    pub significant_figures: u8,
    /// `hdrhistogram-v2+base64`.
    pub encoding: String,
    /// Per row of the summary's `levels`: metric → encoded histogram
    /// (a metric no successful request had is left out).
    pub levels: Vec<BTreeMap<String, String>>,
}

/// Decoded histograms: per level row, metric → histogram.
pub type Decoded = Vec<BTreeMap<String, Histogram<u64>>>;

/// The histogram `stats::LatencySummary` would build of `values`.
pub fn histogram_of(values: impl IntoIterator<Item = f64>) -> Histogram<u64> {
    let mut hist = Histogram::<u64>::new(SIGNIFICANT_FIGURES).expect("3 significant figures is a valid precision");
    for v in values.into_iter().filter(|v| v.is_finite()) {
        // Auto-resizing: recording never fails for a u64.
        let _ = hist.record((v.max(0.0) * SCALE).round() as u64);
    }
    hist
}

/// The histograms of `rows` levels of `records` (a record's `level` is its row).
pub fn of_records(rows: usize, records: &[RequestRecord]) -> Decoded {
    (0..rows)
        .map(|row| {
            let ok: Vec<&RequestRecord> =
                records.iter().filter(|r| r.level as usize == row && r.phase == Phase::Measured && r.is_ok()).collect();
            METRICS
                .iter()
                .map(|(name, values)| ((*name).to_owned(), histogram_of(ok.iter().flat_map(|r| values(r)))))
                .filter(|(_, h)| !h.is_empty())
                .collect()
        })
        .collect()
}

impl RunHistograms {
    /// Encodes `decoded`.
    pub fn encode(decoded: &Decoded) -> Result<RunHistograms, String> {
        let mut serializer = V2Serializer::new();
        let mut levels = Vec::with_capacity(decoded.len());
        for row in decoded {
            let mut out = BTreeMap::new();
            for (name, hist) in row {
                let mut bytes = Vec::new();
                serializer
                    .serialize(hist, &mut bytes)
                    .map_err(|e| format!("serializing the {name} histogram: {e:?}"))?;
                out.insert(name.clone(), STANDARD.encode(&bytes));
            }
            levels.push(out);
        }
        Ok(RunHistograms {
            format_version: HISTOGRAMS_FORMAT,
            unit: "us".into(),
            significant_figures: SIGNIFICANT_FIGURES,
            encoding: ENCODING.into(),
            levels,
        })
    }

    /// Decodes every histogram; an error names the level and metric.
    pub fn decode(&self) -> Result<Decoded, String> {
        if self.format_version > HISTOGRAMS_FORMAT || self.encoding != ENCODING || self.unit != "us" {
            return Err(format!(
                "histograms format {} ({}, unit {}): this llmbench reads format {HISTOGRAMS_FORMAT} ({ENCODING}, unit us)",
                self.format_version, self.encoding, self.unit
            ));
        }
        let mut deserializer = Deserializer::new();
        let mut out = Vec::with_capacity(self.levels.len());
        for (row, level) in self.levels.iter().enumerate() {
            let mut decoded = BTreeMap::new();
            for (name, text) in level {
                let bad = |why: String| format!("level {row}, {name}: {why}");
                let bytes = STANDARD.decode(text).map_err(|e| bad(format!("not base64 ({e})")))?;
                let mut hist: Histogram<u64> = deserializer
                    .deserialize(&mut bytes.as_slice())
                    .map_err(|e| bad(format!("not an HdrHistogram V2 histogram ({e:?})")))?;
                // A decoded histogram covers only its own range: another
                // shard's slower requests must widen it when added.
                hist.auto(true);
                decoded.insert(name.clone(), hist);
            }
            out.push(decoded);
        }
        Ok(out)
    }
}

/// Adds `other` into `into`, row by row and metric by metric.
pub fn add(into: &mut Decoded, other: &Decoded) -> Result<(), String> {
    if into.len() < other.len() {
        into.resize_with(other.len(), BTreeMap::new);
    }
    for (row, (mine, theirs)) in into.iter_mut().zip(other).enumerate() {
        for (name, hist) in theirs {
            match mine.get_mut(name) {
                Some(h) => h.add(hist).map_err(|e| format!("level {row}, {name}: {e:?}"))?,
                None => {
                    mine.insert(name.clone(), hist.clone());
                }
            }
        }
    }
    Ok(())
}

/// The `q`th percentile (0–100) of `hist`, ms, as `stats::LatencySummary`
/// reports it before clamping into the observed range.
#[cfg(test)]
pub fn percentile_ms(hist: &Histogram<u64>, q: f64) -> f64 {
    hist.value_at_quantile(q / 100.0) as f64 / SCALE
}

/// Reads `dir/histograms.json`: `Ok(None)` when there is none.
pub fn read(dir: &std::path::Path) -> Result<Option<Decoded>, String> {
    let path = dir.join(HISTOGRAMS_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let file: RunHistograms = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    file.decode().map(Some).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::LatencySummary;

    #[test]
    fn records_read_back_from_json_make_the_same_histograms() {
        // Latencies of whole nanoseconds that lie a hair under half a
        // microsecond: read back one ULP off (serde_json's default float
        // parsing), they rounded into the next microsecond.
        let nanos = [1_654_981_500u64, 984_055_500, 975_935_500, 1_500_058_500];
        let written: Vec<RequestRecord> = nanos
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let ms = std::time::Duration::from_nanos(n).as_secs_f64() * 1000.0;
                let phase = crate::record::Phase::Measured;
                RequestRecord {
                    index: i as u64,
                    phase,
                    ttft_ms: Some(ms),
                    e2e_ms: ms * 2.0,
                    ..RequestRecord::default()
                }
            })
            .collect();
        let read: Vec<RequestRecord> =
            written.iter().map(|r| serde_json::from_str(&serde_json::to_string(r).unwrap()).unwrap()).collect();
        assert_eq!(of_records(1, &written)[0]["ttft"].len(), 4);
        assert_eq!(of_records(1, &read), of_records(1, &written));
        assert!(read.iter().zip(&written).all(|(a, b)| a.ttft_ms == b.ttft_ms), "floats round-trip exactly");
    }

    fn records(seed: u64, n: u32) -> Vec<RequestRecord> {
        let config = crate::sim::SimConfig { seed, ..crate::sim::SimConfig::default() };
        crate::calibrate::model_run(&config, "b", n, &[2], 16).1
    }

    #[test]
    fn encoded_histograms_round_trip_and_add_up_to_the_union() {
        let (a, b) = (records(1, 40), records(2, 70));
        let encoded = RunHistograms::encode(&of_records(1, &a)).unwrap();
        let text = serde_json::to_string(&encoded).unwrap();
        assert!(text.contains("\"encoding\":\"hdrhistogram-v2+base64\""), "{text}");
        let mut sum = serde_json::from_str::<RunHistograms>(&text).unwrap().decode().unwrap();
        assert_eq!(sum, of_records(1, &a), "V2 round trip");
        add(&mut sum, &of_records(1, &b)).unwrap();
        let union: Vec<RequestRecord> = a.iter().chain(&b).cloned().collect();
        assert_eq!(sum, of_records(1, &union));
        let ttft: Vec<f64> = union.iter().filter(|r| r.is_ok()).filter_map(|r| r.ttft_ms).collect();
        let exact = LatencySummary::from_values(&ttft).unwrap();
        let (lo, hi) = (exact.min, exact.max);
        assert_eq!(Some(percentile_ms(&sum[0]["ttft"], 50.0).clamp(lo, hi)), exact.p50);
        assert_eq!(Some(percentile_ms(&sum[0]["ttft"], 99.0).clamp(lo, hi)), exact.p99);
    }

    #[test]
    fn decoded_histograms_widen_to_take_a_slower_shard() {
        let decode = |values: Vec<f64>| {
            let mut h = BTreeMap::new();
            h.insert("e2e".to_owned(), histogram_of(values));
            RunHistograms::encode(&vec![h]).unwrap().decode().unwrap()
        };
        let mut sum = decode(vec![1.0, 2.0]);
        add(&mut sum, &decode(vec![3.0, 600_000.0])).unwrap();
        assert_eq!(sum, vec![BTreeMap::from([("e2e".to_owned(), histogram_of([1.0, 2.0, 3.0, 600_000.0]))])]);
    }

    #[test]
    fn damaged_or_newer_histograms_are_refused_naming_what() {
        let mut file = RunHistograms::encode(&of_records(1, &records(3, 10))).unwrap();
        file.levels[0].insert("ttft".into(), "not base64!".into());
        assert!(file.decode().unwrap_err().starts_with("level 0, ttft: not base64"));
        file.levels[0].insert("ttft".into(), STANDARD.encode(b"HISTFAAA garbage"));
        assert!(file.decode().unwrap_err().contains("not an HdrHistogram V2 histogram"));
        file.format_version = 9;
        assert!(file.decode().unwrap_err().contains("this llmbench reads format 1"));
    }
}
