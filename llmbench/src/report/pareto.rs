//! Cost against latency across targets, for one benchmark: every target ×
//! level is a point (cost per ok request, TTFT or E2E p90, throughput), the
//! points no other point beats on both cost and latency form the Pareto
//! front, and one sentence says what a manager needs to know ("`g5` meets
//! the SLO at 38% of the cost of `p4d` up to 12 req/s").
//!
//! Cost is `cost_per_ok_request` whatever the billing (per token or per
//! instance-hour, docs/cost.md), so targets of both kinds share one axis. A
//! level "meets the SLO" when its goodput analysis says so (docs/load.md).
//! Shown by the terminal after a run and on each benchmark's report page.

use crate::results::RunSummary;
use crate::stats::short_number;

/// One target × level.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Point {
    pub(crate) target: String,
    pub(crate) level: String,
    /// USD per ok request.
    pub(crate) cost: f64,
    /// ms; None with fewer than 10 ok requests.
    pub(crate) ttft_p90: Option<f64>,
    pub(crate) e2e_p90: Option<f64>,
    /// Ok requests per second.
    pub(crate) req_per_s: f64,
    pub(crate) output_tok_per_s: f64,
    /// The level met its SLOs (goodput target and per-level bounds).
    pub(crate) meets_slo: bool,
    /// On the front of cost against TTFT p90, and against E2E p90.
    pub(crate) front_ttft: bool,
    pub(crate) front_e2e: bool,
}

/// Which latency a front is drawn against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Latency {
    TtftP90,
    E2eP90,
}

impl Point {
    pub(crate) fn latency(&self, which: Latency) -> Option<f64> {
        match which {
            Latency::TtftP90 => self.ttft_p90,
            Latency::E2eP90 => self.e2e_p90,
        }
    }
}

/// The analysis of one benchmark.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pareto {
    pub(crate) bench: String,
    /// Priced points, by target (in the order given) then level.
    pub(crate) points: Vec<Point>,
    /// Targets left out for want of a price.
    pub(crate) unpriced: Vec<String>,
    /// The sentence, target names in backticks.
    pub(crate) sentence: String,
}

impl Pareto {
    /// The analysis of one benchmark's runs (one per target); None when no
    /// run has a price.
    pub(crate) fn of<'a>(bench: &str, runs: impl IntoIterator<Item = &'a RunSummary>) -> Option<Pareto> {
        let mut points = Vec::new();
        let mut unpriced = Vec::new();
        for run in runs {
            let before = points.len();
            for level in &run.levels {
                let Some(cost) = level.metric_value("cost_per_ok_request").filter(|c| c.is_finite()) else { continue };
                points.push(Point {
                    target: run.target.name.clone(),
                    level: level.label(),
                    cost,
                    ttft_p90: level.metric_value("ttft.p90"),
                    e2e_p90: level.metric_value("e2e.p90"),
                    req_per_s: level.req_per_s,
                    output_tok_per_s: level.output_tok_per_s,
                    meets_slo: level.goodput.as_ref().is_some_and(|g| g.meets_slo),
                    front_ttft: false,
                    front_e2e: false,
                });
            }
            if points.len() == before && !unpriced.contains(&run.target.name) {
                unpriced.push(run.target.name.clone());
            }
        }
        if points.is_empty() {
            return None;
        }
        for which in [Latency::TtftP90, Latency::E2eP90] {
            let pairs: Vec<Option<(f64, f64)>> = points.iter().map(|p| p.latency(which).map(|l| (p.cost, l))).collect();
            for (p, on) in points.iter_mut().zip(front(&pairs)) {
                match which {
                    Latency::TtftP90 => p.front_ttft = on,
                    Latency::E2eP90 => p.front_e2e = on,
                }
            }
        }
        let sentence = sentence(&points, &unpriced);
        Some(Pareto { bench: bench.to_owned(), points, unpriced, sentence })
    }

    /// Distinct targets with a price.
    pub(crate) fn targets(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for p in &self.points {
            if !out.contains(&p.target.as_str()) {
                out.push(&p.target);
            }
        }
        out
    }

    /// The sentence split at its backticks: `(is_name, text)` pieces.
    pub(crate) fn sentence_parts(&self) -> Vec<(bool, String)> {
        self.sentence
            .split('`')
            .enumerate()
            .filter(|(_, t)| !t.is_empty())
            .map(|(i, t)| (i % 2 == 1, t.to_owned()))
            .collect()
    }
}

/// Which points are on the Pareto front of (cost, latency), both lower is
/// better: no other point is at least as good on both and better on one.
/// Points without a value are never on it.
pub(crate) fn front(points: &[Option<(f64, f64)>]) -> Vec<bool> {
    points
        .iter()
        .map(|p| {
            let Some((c, l)) = *p else { return false };
            !points.iter().flatten().any(|&(oc, ol)| oc <= c && ol <= l && (oc < c || ol < l))
        })
        .collect()
}

/// What a target achieves within its SLOs: the most load, and the cheapest
/// cost per ok request, over the levels that met them.
struct Reach<'a> {
    target: &'a str,
    req_per_s: f64,
    cost: f64,
}

fn reach<'a>(points: &'a [Point], target: &'a str) -> Option<Reach<'a>> {
    let meeting: Vec<&Point> = points.iter().filter(|p| p.target == target && p.meets_slo).collect();
    let req_per_s =
        meeting.iter().map(|p| p.req_per_s).fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))?;
    let cost = meeting.iter().map(|p| p.cost).fold(f64::INFINITY, f64::min);
    Some(Reach { target, req_per_s, cost })
}

/// The sentence for people who decide: the cheapest target that meets the
/// SLO, against the one that holds it to the most load.
pub(crate) fn sentence(points: &[Point], unpriced: &[String]) -> String {
    let mut targets: Vec<&str> = Vec::new();
    for p in points {
        if !targets.contains(&p.target.as_str()) {
            targets.push(&p.target);
        }
    }
    let reaches: Vec<Reach<'_>> = targets.iter().filter_map(|t| reach(points, t)).collect();
    let missing: Vec<&str> = targets.iter().copied().filter(|t| !reaches.iter().any(|r| r.target == *t)).collect();
    let mut out =
        match reaches.iter().min_by(|a, b| a.cost.total_cmp(&b.cost).then(b.req_per_s.total_cmp(&a.req_per_s))) {
            None => "No target meets the SLO at any measured load.".to_owned(),
            Some(cheap) => {
                let rivals: Vec<&Reach<'_>> = reaches.iter().filter(|r| r.target != cheap.target).collect();
                let rival = rivals
                    .iter()
                    .max_by(|a, b| a.req_per_s.total_cmp(&b.req_per_s).then(a.cost.total_cmp(&b.cost)))
                    .copied();
                match rival {
                    None => format!(
                        "`{}` meets the SLO up to {} req/s at {} per ok request{}.",
                        cheap.target,
                        short_number(cheap.req_per_s),
                        usd(cheap.cost),
                        if missing.is_empty() { "" } else { ", the only target that does" }
                    ),
                    Some(rival) => compare(cheap, rival),
                }
            }
        };
    if !missing.is_empty() {
        let names: Vec<String> = missing.iter().map(|t| format!("`{t}`")).collect();
        out.push_str(&format!(
            " {} {} it at every measured load.",
            names.join(", "),
            if names.len() == 1 { "misses" } else { "miss" }
        ));
    }
    if !unpriced.is_empty() {
        let names: Vec<String> = unpriced.iter().map(|t| format!("`{t}`")).collect();
        out.push_str(&format!(" No price for {}.", names.join(", ")));
    }
    out
}

fn compare(cheap: &Reach<'_>, rival: &Reach<'_>) -> String {
    let share = cheap.cost / rival.cost * 100.0;
    let (a, b) = (cheap.target, rival.target);
    let (load_a, load_b) = (short_number(cheap.req_per_s), short_number(rival.req_per_s));
    if share >= 99.5 {
        let cost = usd(cheap.cost);
        return match cheap.req_per_s.total_cmp(&rival.req_per_s) {
            std::cmp::Ordering::Equal => {
                format!(
                    "`{a}` and `{b}` meet the SLO at the same cost per ok request ({cost}), both up to {load_a} req/s."
                )
            }
            std::cmp::Ordering::Greater => format!(
                "`{a}` and `{b}` meet the SLO at the same cost per ok request ({cost}); `{a}` holds it to more load ({load_a} against {load_b} req/s)."
            ),
            std::cmp::Ordering::Less => format!(
                "`{a}` and `{b}` meet the SLO at the same cost per ok request ({cost}); `{b}` holds it to more load ({load_b} against {load_a} req/s)."
            ),
        };
    }
    let pct = format!("{:.0}%", share.max(1.0));
    if rival.req_per_s > cheap.req_per_s * 1.05 {
        format!(
            "`{a}` meets the SLO at {pct} of the cost of `{b}` up to {load_a} req/s; beyond that, `{b}` holds it up to {load_b} req/s."
        )
    } else {
        format!(
            "`{a}` meets the SLO at {pct} of the cost of `{b}`, and holds it to as much load or more ({load_a} against {load_b} req/s)."
        )
    }
}

/// USD with three significant digits (`$0.000375`, `$1.41`).
pub(crate) fn usd(v: f64) -> String {
    if v <= 0.0 || !v.is_finite() {
        return "$0".into();
    }
    let digits = (2 - v.log10().floor() as i32).clamp(0, 10) as usize;
    format!("${v:.digits$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(target: &str, level: &str, cost: f64, ttft: f64, rps: f64, meets: bool) -> Point {
        Point {
            target: target.into(),
            level: level.into(),
            cost,
            ttft_p90: Some(ttft),
            e2e_p90: Some(ttft * 10.0),
            req_per_s: rps,
            output_tok_per_s: rps * 64.0,
            meets_slo: meets,
            front_ttft: false,
            front_e2e: false,
        }
    }

    #[test]
    fn the_front_keeps_what_nothing_beats_on_both() {
        let pts = [
            Some((1.0, 100.0)), // cheapest: on the front
            Some((2.0, 50.0)),  // faster for more: on the front
            Some((2.0, 80.0)),  // dominated by (2, 50)
            Some((3.0, 50.0)),  // dominated by (2, 50): same latency, dearer
            Some((4.0, 10.0)),  // fastest: on the front
            None,               // no p90: never on it
            Some((1.0, 100.0)), // a tie with the first: both stay
        ];
        assert_eq!(front(&pts), [true, true, false, false, true, false, true]);
        assert!(front(&[]).is_empty());
    }

    #[test]
    fn the_sentence_names_the_cheap_target_and_the_load_it_holds() {
        // Instance-hour pricing: cost per ok request falls as load rises.
        let points = [
            point("g5", "c=1", 0.0010, 300.0, 3.0, true),
            point("g5", "c=8", 0.0004, 450.0, 12.0, true),
            point("g5", "c=32", 0.0002, 2000.0, 20.0, false),
            point("p4d", "c=1", 0.0050, 100.0, 5.0, true),
            point("p4d", "c=32", 0.00105, 200.0, 40.0, true),
        ];
        assert_eq!(
            sentence(&points, &[]),
            "`g5` meets the SLO at 38% of the cost of `p4d` up to 12 req/s; beyond that, `p4d` holds it up to 40 req/s."
        );
    }

    #[test]
    fn sentences_for_the_other_cases() {
        let both_fast = [point("a", "c=1", 0.001, 10.0, 20.0, true), point("b", "c=1", 0.004, 10.0, 10.0, true)];
        assert_eq!(
            sentence(&both_fast, &[]),
            "`a` meets the SLO at 25% of the cost of `b`, and holds it to as much load or more (20 against 10 req/s)."
        );
        let same = [point("a", "c=1", 0.001, 10.0, 5.0, true), point("b", "c=1", 0.001, 10.0, 9.5, true)];
        assert_eq!(
            sentence(&same, &[]),
            "`b` and `a` meet the SLO at the same cost per ok request ($0.00100); `b` holds it to more load (9.5 against 5 req/s)."
        );
        let one = [point("a", "c=1", 0.000375, 10.0, 3.4, true), point("b", "c=1", 0.0001, 900.0, 3.0, false)];
        assert_eq!(
            sentence(&one, &["local".into()]),
            "`a` meets the SLO up to 3.4 req/s at $0.000375 per ok request, the only target that does. `b` misses it at every measured load. No price for `local`."
        );
        let none = [point("a", "c=1", 0.001, 900.0, 1.0, false)];
        assert_eq!(
            sentence(&none, &[]),
            "No target meets the SLO at any measured load. `a` misses it at every measured load."
        );
    }

    #[test]
    fn runs_become_points_with_both_fronts_marked() {
        let mut fast = RunSummary::example();
        fast.target.name = "fast".into();
        let mut cheap = RunSummary::example();
        cheap.target.name = "cheap".into();
        let mut none = RunSummary::example();
        none.target.name = "none".into();
        let level = |cost: f64, p90: f64, rps: f64| {
            let mut l: crate::stats::LevelSummary =
                serde_json::from_value(serde_json::json!({"concurrency": 1, "requests": {"attempted": 10, "ok": 10, "failed": 0, "by_class": {}},
                "error_rate": 0.0, "window_s": 1.0, "req_per_s": rps, "output_tok_per_s": rps * 64.0,
                "in_flight": {"mean": 1.0, "max": 1, "requested": 1}, "output_token_source": {}})).unwrap();
            let s = |v: f64| crate::stats::LatencySummary::from_values(&[v; 10]).unwrap();
            l.ttft = Some(s(p90));
            l.e2e = Some(s(p90 * 5.0));
            l.cost = Some(crate::cost::LevelCost { cost_per_ok_request: Some(cost), ..Default::default() });
            l
        };
        fast.levels = vec![level(0.004, 50.0, 10.0)];
        cheap.levels = vec![level(0.001, 400.0, 8.0)];
        none.levels = vec![level(0.0, 1.0, 1.0)];
        none.levels[0].cost = None;
        let p = Pareto::of("b", [&fast, &cheap, &none]).unwrap();
        assert_eq!(p.targets(), ["fast", "cheap"]);
        assert_eq!(p.unpriced, ["none"]);
        assert!(p.points.iter().all(|p| p.front_ttft && p.front_e2e), "neither beats the other on both");
        assert_eq!(
            p.sentence,
            "No target meets the SLO at any measured load. `fast`, `cheap` miss it at every measured load. No price for `none`."
        );
        assert_eq!(p.sentence_parts()[1], (true, "fast".to_owned()), "names are marked for the page");
        assert!(Pareto::of("b", [&none]).is_none());
    }

    #[test]
    fn usd_keeps_three_significant_digits() {
        assert_eq!(usd(0.000375), "$0.000375");
        assert_eq!(usd(1.4084), "$1.41");
        assert_eq!(usd(37.688), "$37.7");
        assert_eq!(usd(0.0), "$0");
    }
}
