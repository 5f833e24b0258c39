use super::*;

/// Crude well-formedness: every opened element is closed, no NaN leaked.
fn check_svg(svg: &str) {
    assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"), "{svg}");
    for (open, close) in [("<g", "</g>"), ("<text", "</text>"), ("<title>", "</title>")] {
        let opens = if open == "<g" {
            svg.matches("<g>").count() + svg.matches("<g ").count()
        } else {
            svg.matches(open).count()
        };
        assert_eq!(opens, svg.matches(close).count(), "{open} vs {close}");
    }
    for bad in ["NaN", "inf", "<script"] {
        assert!(!svg.contains(bad), "{bad} in {svg}");
    }
}

#[test]
fn histogram_marks_percentiles_and_counts_the_tail() {
    let mut values: Vec<f64> = (0..1000).map(|i| 100.0 + (i % 50) as f64).collect();
    values.extend([5_000.0, 9_000.0]);
    let panel = HistPanel {
        label: "a <b>".into(),
        series: 0,
        values: &values,
        marks: vec![("p50", Some(125.0)), ("p99", Some(149.0))],
    };
    let svg = histogram("TTFT", "time to first token", "share (%)", Unit::Ms, &[panel]);
    check_svg(&svg);
    assert!(svg.contains("+2 beyond (max 9000 ms)"), "{svg}");
    assert!(svg.contains(">p50<") && svg.contains(">p99<"));
    assert!(svg.contains("a &lt;b&gt; — n=1002"));
    assert!(svg.contains("time to first token (ms)"));
}

#[test]
fn histograms_of_far_apart_series_use_a_log_axis() {
    let fast: Vec<f64> = (0..200).map(|i| 40.0 + (i % 10) as f64).collect();
    let slow: Vec<f64> = (0..200).map(|i| 2000.0 + (i % 100) as f64).collect();
    let panels = [
        HistPanel { label: "fast".into(), series: 0, values: &fast, marks: vec![] },
        HistPanel { label: "slow".into(), series: 1, values: &slow, marks: vec![] },
    ];
    let svg = histogram("E2E", "latency", "share (%)", Unit::Ms, &panels);
    check_svg(&svg);
    assert!(svg.contains("latency, log scale (ms)"), "{svg}");
    assert!(svg.contains("class=\"c0\"") && svg.contains("class=\"c1\""));
}

#[test]
fn cdf_draws_baselines_dashed_and_notes_a_clipped_tail() {
    let mut a: Vec<f64> = (1..=2000).map(f64::from).collect();
    a.push(1e6);
    let b: Vec<f64> = (1..=2000).map(|v| f64::from(v) * 1.1).collect();
    let series = [
        CdfSeries { label: "sim".into(), series: 0, dashed: false, sorted: &a },
        CdfSeries { label: "sim (baseline base)".into(), series: 0, dashed: true, sorted: &b },
    ];
    let svg = cdf("TTFT CDF", "TTFT", Unit::Ms, &series, HALF_WIDTH);
    check_svg(&svg);
    assert!(svg.contains("line dashed"));
    assert!(svg.contains("the slowest 0.1% run to 1000.0 s"), "{svg}");
    assert!(svg.contains("viewBox=\"0 0 560 "));
}

#[test]
fn timeline_legend_lists_only_what_is_drawn() {
    let points = vec![
        TimelinePoint { t_s: 0.0, ms: 900.0, kind: PointKind::ColdStart },
        TimelinePoint { t_s: 1.0, ms: 100.0, kind: PointKind::Warmup },
        TimelinePoint { t_s: 2.0, ms: 90.0, kind: PointKind::Measured },
        TimelinePoint { t_s: 3.0, ms: 5.0, kind: PointKind::Error(0) },
    ];
    let panel = TimelinePanel {
        label: "sim".into(),
        series: 0,
        points,
        level_starts: vec![(0.5, "c=1".into()), (0.6, "c=8".into())],
        note: "showing all 1 measured requests".into(),
        refs: vec![("p50", 90.0)],
    };
    let svg = timeline("E2E over time", "E2E", &[panel]);
    check_svg(&svg);
    assert!(svg.contains("error: throttled") && !svg.contains("error: server"));
    assert!(svg.contains("cold start") && svg.contains("warm-up"));
    assert!(svg.contains("showing all 1 measured requests"));
    assert!(svg.contains("log scale"), "900/5 spans more than 30×");
}

#[test]
fn curves_ring_the_knee_and_dumbbells_draw_both_ends() {
    let pts = |v: &[(f64, f64)]| v.iter().map(|&(x, y)| CurvePoint { x, y, label: format!("c={x}") }).collect();
    let c = Curve {
        label: "sim TTFT p50".into(),
        series: 2,
        dashed: false,
        points: pts(&[(1.0, 10.0), (2.0, 11.0), (2.1, 40.0)]),
        knee: Some(1),
    };
    let svg = curves("t", "throughput", Unit::TokPerS, "TTFT", Unit::Ms, &[c], HALF_WIDTH);
    check_svg(&svg);
    assert_eq!(svg.matches("class=\"knee\"").count(), 1);
    assert!(svg.contains("throughput (tok/s)") && svg.contains(">knee<"));

    let row = DumbbellRow {
        metric: "TTFT".into(),
        unit: Unit::Ms,
        values: vec![DumbbellValue { series: 0, label: "sim".into(), p50: Some(40.0), p99: None }],
    };
    let svg = dumbbell("side", &[row]);
    check_svg(&svg);
    assert_eq!(svg.matches("class=\"pt\"").count(), 1);
    assert_eq!(svg.matches("pt hollow").count(), 0, "a missing p99 is not drawn");
    assert!(svg.contains("sim: p50 40.0 ms · p99 n/a"));
}

#[test]
fn empty_inputs_draw_empty_charts_not_panics() {
    check_svg(&histogram("h", "x", "y", Unit::Ms, &[]));
    check_svg(&cdf("c", "x", Unit::Ms, &[], HALF_WIDTH));
    check_svg(&timeline("t", "y", &[]));
    check_svg(&curves("c", "x", Unit::TokPerS, "y", Unit::Ms, &[], HALF_WIDTH));
    let one = [5.0];
    check_svg(&histogram(
        "h",
        "x",
        "y",
        Unit::Ms,
        &[HistPanel { label: "one".into(), series: 0, values: &one, marks: vec![] }],
    ));
}
