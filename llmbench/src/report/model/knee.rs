//! The knee of a throughput–latency curve.
//!
//! Rule (Kleinrock's "power"): the knee is the level that maximises
//! throughput ÷ latency — past it, each extra unit of throughput costs
//! more latency than it did before. Needs at least three levels, and is
//! only reported when the maximum is not the last level (if it is, the
//! endpoint had not saturated within the levels run).

/// One level: throughput (e.g. output tok/s) and latency (e.g. E2E p50, ms).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Point {
    pub(crate) throughput: f64,
    pub(crate) latency: f64,
}

/// The index of the knee among `points` (in level order), if there is one.
pub(crate) fn knee(points: &[Point]) -> Option<usize> {
    if points.len() < 3 {
        return None;
    }
    let power = |p: &Point| if p.latency > 0.0 { p.throughput / p.latency } else { 0.0 };
    let best = points
        .iter()
        .enumerate()
        .max_by(|a, b| power(a.1).partial_cmp(&power(b.1)).unwrap_or(std::cmp::Ordering::Equal))?
        .0;
    (best + 1 < points.len()).then_some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pts(v: &[(f64, f64)]) -> Vec<Point> {
        v.iter().map(|&(throughput, latency)| Point { throughput, latency }).collect()
    }

    #[test]
    fn saturating_endpoint_has_a_knee_at_capacity() {
        // Capacity 8: throughput doubles up to c=8, then latency doubles instead.
        let p = pts(&[(100.0, 50.0), (200.0, 50.0), (400.0, 52.0), (800.0, 55.0), (820.0, 110.0), (830.0, 220.0)]);
        assert_eq!(knee(&p), Some(3));
    }

    #[test]
    fn no_knee_while_throughput_still_scales_or_with_few_levels() {
        assert_eq!(knee(&pts(&[(100.0, 50.0), (200.0, 50.0), (400.0, 50.0)])), None);
        assert_eq!(knee(&pts(&[(100.0, 50.0), (90.0, 500.0)])), None);
    }
}
