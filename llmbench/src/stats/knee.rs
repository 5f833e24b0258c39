//! The analysis of a sweep: the knee, and the most load that meets the SLOs.
//!
//! **Knee rule.** Levels are taken in increasing load; invalid levels (the
//! generator could not keep up) are left out. The statistic compared is the
//! highest of p99, p95, p90, p50 that every level has (p99 needs 100
//! samples). The knee is the first level *k* ≥ 1 where, for TTFT or E2E,
//! `m[k] ≥ 1.5 × m[k−1]` (a jump from the level before) or `m[k] ≥ 2 ×
//! m[0]` (double the lightest load's), with at least 1 ms of difference
//! (noise on sub-millisecond figures is not a knee) — or where the error
//! rate rose by 5 points or more from the level before (a server that
//! sheds load instead of slowing down). The knee lies between `previous`
//! and `level`: the capacity limit is within that step.
//!
//! **Max load meeting the SLOs**: the highest level such that it and every
//! lighter valid level met their SLOs (goodput target and per-level bounds).

use serde::{Deserialize, Serialize};

use super::LevelSummary;

/// A one-step jump by this factor is a knee.
pub(crate) const STEP_FACTOR: f64 = 1.5;
/// This multiple of the lightest level's figure is a knee.
pub(crate) const BASELINE_FACTOR: f64 = 2.0;
/// Differences below this many ms are noise, not a knee.
pub(crate) const FLOOR_MS: f64 = 1.0;
/// An error-rate rise of this much (absolute) is a knee.
pub(crate) const ERROR_JUMP: f64 = 0.05;

/// What a sweep found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepAnalysis {
    /// `concurrency` or `rate` (requests/s).
    pub unit: String,
    /// The loads run, in order.
    pub levels: Vec<f64>,
    /// The statistic compared (`p99`, or lower when samples were few).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<String>,
    /// The knee, if one was found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub knee: Option<Knee>,
    /// The highest load at which it and every lighter level met the SLOs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_load_meeting_slo: Option<f64>,
    /// Levels left out because the generator could not keep up.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invalid_levels: Vec<f64>,
    /// An automatic sweep's answer: the capacity that meets the SLOs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<Search>,
    /// The rule, for people reading the JSON.
    pub rule: String,
}

/// What a capacity search (`sweep = "auto"`) found: the highest load that
/// met its SLOs, bracketed by the lowest one above it that did not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Search {
    /// The highest load that passed (valid, SLOs met) below every failure;
    /// absent when none passed, or when the answer is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<f64>,
    /// The highest passing and the lowest failing load above it, when both
    /// were run: the capacity lies in between.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bracket: Option<[f64; 2]>,
    /// How close the bracket had to get (a share of the answer).
    pub tolerance: f64,
    /// Levels run to find it.
    pub levels_tried: usize,
    /// Why there is no answer although levels passed: the generator could
    /// not keep up at the level bracketing it, so the endpoint was not what failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Cost per ok request at the answer, when priced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_per_ok_request: Option<f64>,
}

/// Where latency (or the error rate) jumped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Knee {
    /// The first load past the knee.
    pub level: f64,
    /// The load before it: the knee lies in between.
    pub previous: f64,
    /// `ttft`, `e2e` or `error_rate`.
    pub metric: String,
    /// The figure at `previous` (ms, or a share for `error_rate`).
    pub from: f64,
    /// The figure at `level`.
    pub to: f64,
    /// Why this is the knee, for people.
    pub reason: String,
}

/// The load of a level: its rate for an open-loop level, else its concurrency.
pub(crate) fn load_of(level: &LevelSummary) -> f64 {
    level.rate.unwrap_or(f64::from(level.concurrency))
}

/// Analyses `levels` (any order; stage levels are not a sweep).
pub(crate) fn analyse(levels: &[LevelSummary]) -> SweepAnalysis {
    let unit = if levels.iter().any(|l| l.rate.is_some()) { "rate" } else { "concurrency" };
    let mut sorted: Vec<&LevelSummary> = levels.iter().collect();
    sorted.sort_by(|a, b| load_of(a).total_cmp(&load_of(b)));
    let is_valid = |l: &LevelSummary| l.load.as_ref().is_none_or(|c| c.valid);
    let invalid_levels: Vec<f64> = sorted.iter().filter(|l| !is_valid(l)).map(|l| load_of(l)).collect();
    let valid: Vec<&LevelSummary> = sorted.iter().copied().filter(|l| is_valid(l)).collect();

    let stat = ["p99", "p95", "p90", "p50"].into_iter().find(|stat| {
        valid.iter().all(|l| ["ttft", "e2e"].iter().all(|m| l.metric(m).and_then(|s| s.get(stat)).is_some()))
    });
    let knee = (1..valid.len()).find_map(|k| knee_at(valid[0], valid[k - 1], valid[k], stat));
    let mut max_load_meeting_slo = None;
    for l in &valid {
        match &l.goodput {
            Some(g) if g.meets_slo => max_load_meeting_slo = Some(load_of(l)),
            _ => break,
        }
    }
    SweepAnalysis {
        search: None,
        unit: unit.into(),
        levels: sorted.iter().map(|l| load_of(l)).collect(),
        stat: stat.map(str::to_owned),
        knee,
        max_load_meeting_slo,
        invalid_levels,
        rule: format!(
            "knee: first level where p99 (or the highest percentile measured) TTFT or E2E is ≥ {STEP_FACTOR}× the level before \
             or ≥ {BASELINE_FACTOR}× the lightest level (and ≥ {FLOOR_MS} ms more), or the error rate rose ≥ {} points; \
             invalid levels left out",
            ERROR_JUMP * 100.0
        ),
    }
}

/// The knee between two successive valid levels, if `cur` is one: its
/// latency percentile `stat` jumped (from `prev`, or from the lightest
/// level `first`), or its error rate did.
fn knee_at(first: &LevelSummary, prev: &LevelSummary, cur: &LevelSummary, stat: Option<&str>) -> Option<Knee> {
    let knee = |metric: &str, from: f64, to: f64, reason: String| Knee {
        level: load_of(cur),
        previous: load_of(prev),
        metric: metric.into(),
        from,
        to,
        reason,
    };
    for metric in stat.map_or(&[][..], |_| &["ttft", "e2e"][..]) {
        let stat = stat.unwrap_or_default();
        let get = |l: &LevelSummary| l.metric(metric).and_then(|s| s.get(stat)).unwrap_or(0.0);
        let (base, before, now) = (get(first), get(prev), get(cur));
        if now >= STEP_FACTOR * before && now - before >= FLOOR_MS {
            let ratio = now / before.max(1e-9);
            let reason = format!("{stat} {metric} rose {ratio:.1}× in one step ({before:.1} → {now:.1} ms)");
            return Some(knee(metric, before, now, reason));
        }
        if now >= BASELINE_FACTOR * base && now - base >= FLOOR_MS {
            let ratio = now / base.max(1e-9);
            let reason = format!("{stat} {metric} reached {ratio:.1}× the lightest load's ({base:.1} → {now:.1} ms)");
            return Some(knee(metric, before, now, reason));
        }
    }
    (cur.error_rate - prev.error_rate >= ERROR_JUMP).then(|| {
        let (from, to) = (prev.error_rate, cur.error_rate);
        knee("error_rate", from, to, format!("error rate rose from {:.1}% to {:.1}%", from * 100.0, to * 100.0))
    })
}

/// Whether a level passes a capacity search: the generator kept up and the
/// level met its SLOs.
pub(crate) fn passes(level: &LevelSummary) -> bool {
    level.load.as_ref().is_none_or(|c| c.valid) && level.goodput.as_ref().is_none_or(|g| g.meets_slo)
}

/// The capacity search's answer over `levels`, in any order (the ladder
/// and the bisection both add levels).
pub(crate) fn search(levels: &[LevelSummary], tolerance: f64) -> Search {
    let lowest_failing = levels.iter().filter(|l| !passes(l)).map(load_of).fold(f64::INFINITY, f64::min);
    let best = levels
        .iter()
        .filter(|l| passes(l) && load_of(l) < lowest_failing)
        .max_by(|a, b| load_of(a).total_cmp(&load_of(b)));
    let failing = levels.iter().find(|l| load_of(l) == lowest_failing);
    let refused = failing.filter(|l| l.load.as_ref().is_some_and(|c| !c.valid)).map(|l| {
        format!(
            "the generator could not keep up at {} (its self-check failed), so the endpoint's capacity is unknown",
            level_name(l)
        )
    });
    let answer = best.filter(|_| refused.is_none()).map(load_of);
    Search {
        answer,
        bracket: best.zip(failing).map(|(b, f)| [load_of(b), load_of(f)]),
        tolerance,
        levels_tried: levels.len(),
        refused,
        cost_per_ok_request: best.filter(|_| answer.is_some()).and_then(|l| l.cost.as_ref()?.cost_per_ok_request),
    }
}

fn level_name(level: &LevelSummary) -> String {
    match level.rate {
        Some(r) => format!("{}/s", (r * 100.0).round() / 100.0),
        None => format!("c={}", level.concurrency),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::goodput::tests::rec;

    fn level(concurrency: u32, ttft: f64, errors: usize) -> LevelSummary {
        let mut records: Vec<_> = (0..100).map(|i| rec(ttft + (i % 3) as f64, ttft + 50.0, 10, None)).collect();
        for r in records.iter_mut().take(errors) {
            r.error = Some(crate::record::RequestError::new(crate::record::ErrorClass::Throttled, "x"));
        }
        crate::stats::summarize_level(concurrency, &records)
    }

    #[test]
    fn the_knee_is_the_first_jump() {
        let levels =
            vec![level(1, 40.0, 0), level(2, 41.0, 0), level(4, 43.0, 0), level(8, 90.0, 0), level(16, 200.0, 0)];
        let a = analyse(&levels);
        assert_eq!(a.stat.as_deref(), Some("p99"));
        let knee = a.knee.unwrap();
        assert_eq!((knee.previous, knee.level, knee.metric.as_str()), (4.0, 8.0, "ttft"));
        assert!(knee.reason.contains("in one step"), "{}", knee.reason);
        assert_eq!(a.levels, vec![1.0, 2.0, 4.0, 8.0, 16.0]);
    }

    #[test]
    fn creeping_latency_is_caught_against_the_baseline_and_noise_is_not() {
        let creeping: Vec<_> =
            [40.0, 56.0, 83.0, 100.0].iter().enumerate().map(|(i, &t)| level(1 << i, t, 0)).collect();
        let knee = analyse(&creeping).knee.unwrap();
        assert_eq!(knee.level, 4.0);
        assert!(knee.reason.contains("lightest"), "{}", knee.reason);
        let flat: Vec<_> = [0.2, 0.5, 0.9].iter().enumerate().map(|(i, &t)| level(1 << i, t, 0)).collect();
        assert_eq!(analyse(&flat).knee, None, "sub-millisecond wobble is not a knee");
    }

    #[test]
    fn shedding_load_is_a_knee_and_invalid_levels_are_left_out() {
        let mut levels = vec![level(1, 40.0, 0), level(2, 40.0, 0), level(4, 40.0, 20)];
        assert_eq!(analyse(&levels).knee.unwrap().metric, "error_rate");
        levels[2] = level(4, 400.0, 0);
        levels[2] = invalid(levels[2].clone());
        let a = analyse(&levels);
        assert_eq!(a.knee, None);
        assert_eq!(a.invalid_levels, vec![4.0]);
        assert!(!passes(&levels[2]), "an invalid level never passes a search");
    }

    fn invalid(mut l: LevelSummary) -> LevelSummary {
        l.load = Some(crate::stats::LoadCheck {
            mode: "closed".into(),
            arrival: None,
            offered_rate: None,
            achieved_rate: None,
            schedule_lag: None,
            schedule_lag_p99_ms: None,
            max_in_flight: None,
            duration_s: None,
            grace_s: None,
            cut_at_end: 0,
            cpu: None,
            valid: false,
            invalid_reasons: vec!["schedule lag".into()],
        });
        l
    }

    /// A level that meets its SLOs or not.
    fn judged(concurrency: u32, meets: bool) -> LevelSummary {
        let mut l = level(concurrency, 40.0, 0);
        let slo = crate::stats::goodput::Slo::default();
        let records: Vec<_> = (0..100).map(|_| crate::stats::goodput::tests::rec(40.0, 90.0, 10, None)).collect();
        let mut g = crate::stats::goodput::goodput(&slo, &l, &records);
        g.meets_slo = meets;
        l.goodput = Some(g);
        l
    }

    #[test]
    fn a_search_answers_with_the_highest_pass_below_every_failure() {
        // The ladder 1, 2, 4, 8 (fails), then 6 (passes), 7 (fails).
        let levels = [(1, true), (2, true), (4, true), (8, false), (6, true), (7, false)].map(|(c, m)| judged(c, m));
        let s = search(&levels, 0.05);
        assert_eq!((s.answer, s.bracket, s.levels_tried), (Some(6.0), Some([6.0, 7.0]), 6));
        assert_eq!(s.refused, None);
        // A pass above a failure does not count: the answer is below the lowest failure.
        let levels = [(1, true), (2, false), (4, true)].map(|(c, m)| judged(c, m));
        assert_eq!(search(&levels, 0.05).answer, Some(1.0));
        let levels = [judged(1, false)];
        assert_eq!((search(&levels, 0.05).answer, search(&levels, 0.05).bracket), (None, None));
    }

    #[test]
    fn a_search_refuses_when_the_client_failed_at_the_bracket() {
        let levels = vec![judged(1, true), judged(2, true), invalid(judged(4, true))];
        let s = search(&levels, 0.05);
        assert_eq!(s.answer, None, "{s:?}");
        assert_eq!(s.bracket, Some([2.0, 4.0]));
        assert!(s.refused.unwrap().contains("could not keep up at c=4"));
    }
}
