//! A small seeded pseudo-random generator (SplitMix64).
//!
//! Written by hand rather than taken from `rand` because prompts, delays and
//! arrival schedules must be reproducible from a seed across releases (a
//! fingerprint records the seed), and `rand` does not promise stable streams
//! across its versions. Nothing here is cryptographic.

/// SplitMix64: tiny, fast, and good enough for workloads and simulations.
#[derive(Debug, Clone)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    /// A generator for `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// A generator for item `index` of stream `seed`: independent streams
    /// without sharing state between tasks.
    pub(crate) fn for_item(seed: u64, index: u64) -> Self {
        let mut r = Rng::new(seed ^ index.wrapping_mul(0xA24B_AED4_963E_E407));
        r.next_u64();
        r
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in `lo..=hi`.
    pub(crate) fn range_u64(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next_u64() % (hi - lo + 1)
    }

    /// A standard normal deviate (Box–Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = self.next_f64().max(f64::MIN_POSITIVE);
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// An exponential deviate with mean 1.
    pub(crate) fn exponential(&mut self) -> f64 {
        -(1.0 - self.next_f64()).ln()
    }

    /// Reservoir sampling (Vitter's algorithm R): offers `item`, the
    /// `seen`-th of its stream (from 1), to `kept`, a uniform sample of at
    /// most `cap` of the stream: every item while fewer, then each with
    /// probability `cap / seen`, replacing a random one.
    pub(crate) fn keep_sample<T>(&mut self, kept: &mut Vec<T>, cap: usize, seen: u64, item: T) {
        if kept.len() < cap {
            kept.push(item);
        } else if let Some(slot) = kept.get_mut(self.range_u64(0, seen.saturating_sub(1)) as usize) {
            *slot = item;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let a: Vec<u64> = (0..5).map(|_| Rng::new(7).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut r1 = Rng::for_item(1, 2);
        let mut r2 = Rng::for_item(1, 3);
        assert_ne!(r1.next_u64(), r2.next_u64());
    }

    #[test]
    fn distributions_have_the_right_moments() {
        let mut r = Rng::new(42);
        let n = 20_000;
        let mean_u = (0..n).map(|_| r.next_f64()).sum::<f64>() / n as f64;
        let mean_n = (0..n).map(|_| r.normal()).sum::<f64>() / n as f64;
        let mean_e = (0..n).map(|_| r.exponential()).sum::<f64>() / n as f64;
        assert!((mean_u - 0.5).abs() < 0.02, "{mean_u}");
        assert!(mean_n.abs() < 0.03, "{mean_n}");
        assert!((mean_e - 1.0).abs() < 0.03, "{mean_e}");
        assert!((0..1000).all(|_| (3..=9).contains(&r.range_u64(3, 9))));
    }
}
