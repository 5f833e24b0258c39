//! The "Cost against latency" section of a benchmark's page: the Pareto
//! analysis of `report::pareto` drawn twice (against TTFT p90 and E2E p90),
//! dots sized by throughput, and its sentence for the reader who decides.

use minijinja::{Value, context};

use super::chart::{self, ScatterPoint, Unit};
use super::figures::RunData;
use crate::report::pareto::{Latency, Pareto};

/// The section's template value; None when fewer than two priced points
/// could be compared.
pub(crate) fn section(bench: &str, data: &[RunData<'_>]) -> Option<Value> {
    let p = Pareto::of(bench, data.iter().map(|d| &d.run.summary))?;
    if p.points.len() < 2 {
        return None;
    }
    let color = |target: &str| data.iter().find(|d| d.run.summary.target.name == target).map_or(0, |d| d.color);
    let series: Vec<(usize, String)> = p.targets().into_iter().map(|t| (color(t), t.to_owned())).collect();
    let figures: Vec<Value> = [(Latency::TtftP90, "TTFT p90"), (Latency::E2eP90, "E2E p90")]
        .into_iter()
        .filter_map(|(which, name)| {
            let points: Vec<ScatterPoint> = p
                .points
                .iter()
                .filter_map(|x| {
                    Some(ScatterPoint {
                        x: x.cost * 1000.0,
                        y: x.latency(which)?,
                        size: x.req_per_s,
                        series: color(&x.target),
                        label: format!("{} {}", x.target, x.level),
                        front: match which {
                            Latency::TtftP90 => x.front_ttft,
                            Latency::E2eP90 => x.front_e2e,
                        },
                    })
                })
                .collect();
            if points.is_empty() {
                return None;
            }
            let svg = chart::scatter(
                &format!("Cost per ok request against {name}"),
                ("Cost", Unit::UsdPer1k),
                (name, Unit::Ms),
                &points,
                &series,
                chart::HALF_WIDTH,
            );
            Some(context! {
                title => format!("{name} against cost"),
                svg => Value::from_safe_string(svg),
                caption => "Each dot is a target at one load level; its area grows with requests per second. Down and left is better: the dashed steps join the Pareto front, the ringed dots no other dot beats on both cost and latency.",
            })
        })
        .collect();
    Some(context! {
        sentence => p.sentence_parts(),
        figures => figures,
        unpriced => p.unpriced,
    })
}
