//! Explicit-bucket histograms of the request records, shared by OpenMetrics
//! and OTLP. Bounds are the OpenTelemetry GenAI semantic conventions'
//! advice, with finer low buckets for per-token times (a 4 ms inter-token
//! gap would otherwise land in the first, 10 ms bucket) — both formats
//! carry their bounds, so readers need not know them.

use crate::record::RequestRecord;

/// Seconds: `gen_ai.server.time_to_first_token`'s advice.
pub(crate) const TTFT_S: &[f64] =
    &[0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0];
/// Seconds: `gen_ai.server.time_per_output_token`'s advice, from 1 ms.
pub(crate) const PER_TOKEN_S: &[f64] =
    &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5];
/// Seconds: `gen_ai.client.operation.duration`'s advice.
pub(crate) const DURATION_S: &[f64] =
    &[0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
/// Tokens: `gen_ai.client.token.usage`'s advice.
pub(crate) const TOKENS: &[f64] = &[
    1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0, 16384.0, 65536.0, 262144.0, 1048576.0, 4194304.0, 16777216.0,
    67108864.0,
];

/// Counts per bucket: `counts[i]` holds values in `(bounds[i-1], bounds[i]]`,
/// the last one everything above the last bound (Prometheus' `le` and
/// OTLP's explicit bounds agree on this).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Histogram {
    pub(crate) bounds: &'static [f64],
    pub(crate) counts: Vec<u64>,
    pub(crate) sum: f64,
    pub(crate) count: u64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl Histogram {
    pub(crate) fn of(bounds: &'static [f64], values: impl IntoIterator<Item = f64>) -> Histogram {
        let mut h = Histogram {
            bounds,
            counts: vec![0; bounds.len() + 1],
            sum: 0.0,
            count: 0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
        };
        for v in values.into_iter().filter(|v| v.is_finite()) {
            let i = bounds.partition_point(|b| *b < v);
            h.counts[i] += 1;
            h.sum += v;
            h.count += 1;
            h.min = h.min.min(v);
            h.max = h.max.max(v);
        }
        h
    }

    /// Cumulative counts, one per bound and then +Inf (Prometheus buckets).
    pub(crate) fn cumulative(&self) -> Vec<u64> {
        self.counts
            .iter()
            .scan(0, |acc, c| {
                *acc += c;
                Some(*acc)
            })
            .collect()
    }
}

/// What a histogram is taken over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Measure {
    Ttft,
    /// Time to the first answer token (reasoning models).
    Ttfo,
    Tpot,
    Itl,
    E2e,
    InputTokens,
    OutputTokens,
}

impl Measure {
    /// The histogram of this measure over ok records (as the summaries are).
    /// Whether a level exports this measure: TTFO only where requests
    /// reasoned (elsewhere it is TTFT again).
    pub(crate) fn applies(self, s: &super::Series<'_>) -> bool {
        s.records.is_some() && (self != Measure::Ttfo || s.reasoned())
    }

    pub(crate) fn histogram<'a>(self, ok: impl Iterator<Item = &'a RequestRecord>) -> Histogram {
        let s = |ms: f64| ms / 1e3;
        match self {
            Measure::Ttft => Histogram::of(TTFT_S, ok.filter_map(|r| r.ttft_ms.map(s))),
            Measure::Ttfo => Histogram::of(TTFT_S, ok.filter_map(|r| r.ttfo_ms.map(s))),
            Measure::Tpot => Histogram::of(PER_TOKEN_S, ok.filter_map(|r| r.tpot_ms().map(s))),
            Measure::Itl => Histogram::of(PER_TOKEN_S, ok.flat_map(|r| r.gaps_us.iter().map(|g| f64::from(*g) / 1e6))),
            Measure::E2e => Histogram::of(DURATION_S, ok.map(|r| s(r.e2e_ms))),
            Measure::InputTokens => Histogram::of(TOKENS, ok.filter_map(|r| r.input_tokens.map(|t| t as f64))),
            Measure::OutputTokens => Histogram::of(TOKENS, ok.map(|r| r.output_tokens as f64)),
        }
    }
}
