//! Cost against latency in the terminal, after the combined summary: per
//! benchmark with at least two priced target × level points, each point
//! with its p90s (`*` on the Pareto front of that latency) and the
//! sentence of `report::pareto`.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::report::pareto::{Pareto, usd};
use crate::results::RunSummary;

/// The blocks for these runs, grouped by benchmark; empty when no benchmark
/// has two priced points to compare.
pub(crate) fn render<'a>(runs: impl IntoIterator<Item = &'a RunSummary>) -> String {
    let mut by_bench: BTreeMap<&str, Vec<&RunSummary>> = BTreeMap::new();
    for run in runs {
        by_bench.entry(&run.bench.id).or_default().push(run);
    }
    let mut out = String::new();
    for (bench, runs) in by_bench {
        let Some(p) = Pareto::of(bench, runs.iter().copied()) else { continue };
        if p.points.len() < 2 {
            continue;
        }
        out.push_str(&block(&p));
    }
    // Names come from results files and configuration: no escape sequences.
    crate::term::safe(&out).into_owned()
}

fn block(p: &Pareto) -> String {
    let width = p.points.iter().map(|x| x.target.chars().count()).max().unwrap_or(6).max(6);
    let level_width = p.points.iter().map(|x| x.level.chars().count()).max().unwrap_or(5).max(5);
    let mut out = format!("Cost against latency · {} (p90; * on the Pareto front)\n", p.bench);
    let _ = writeln!(
        out,
        " {:<width$} {:>level_width$} │ {:>10} │ {:>11} │ {:>11} │ {:>7} │ SLO",
        "target", "load", "$/ok req", "TTFT p90", "E2E p90", "req/s"
    );
    for x in &p.points {
        let ms = |v: Option<f64>, front: bool| match v {
            Some(v) => format!("{v:.1} ms{}", if front { "*" } else { " " }),
            None => "— ".into(),
        };
        let _ = writeln!(
            out,
            " {:<width$} {:>level_width$} │ {:>10} │ {:>11} │ {:>11} │ {:>7.1} │ {}",
            x.target,
            x.level,
            usd(x.cost),
            ms(x.ttft_p90, x.front_ttft),
            ms(x.e2e_p90, x.front_e2e),
            x.req_per_s,
            if x.meets_slo { "met" } else { "missed" }
        );
    }
    let _ = writeln!(out, "  {}", p.sentence);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_benchmarks_with_two_priced_points_are_shown() {
        let run = RunSummary::example();
        assert_eq!(render([&run]), "", "no price, nothing to compare");
    }
}
