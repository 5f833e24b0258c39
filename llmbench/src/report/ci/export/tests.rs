//! Every export is read back by a parser that is not ours: JSON Schemas of
//! the published formats (validated by `boon`) for BMF, github-action-
//! benchmark and EMF, plus the EMF rules a schema cannot state; the
//! `openmetrics-parser` crate, which passes the OpenMetrics test cases, for
//! the exposition; the OTLP protobuf types of `opentelemetry-proto` for
//! OTLP/JSON. Values are then checked against the records they came from.

use std::path::Path;

use openmetrics_parser::{MetricsExposition, OpenMetricsType, OpenMetricsValue};
use serde_json::Value;

use super::*;
use crate::cost::LevelCost;
use crate::record::{ErrorClass, Phase, RequestError, RequestRecord};
use crate::report::html::fixture::{FixtureSpec, write};
use crate::results::{RunSummary, read_requests, read_summary};
use crate::stats::Goodput;

/// Two targets, levels c=1 and c=4, errors on the slow one; a price and
/// goodput on every level (the fixture has neither).
fn runs() -> Vec<LoadedRun> {
    let root = tempfile::tempdir().unwrap();
    let spec = FixtureSpec {
        benches: 1,
        targets: 2,
        requests: 240,
        concurrency: vec![1, 4],
        baseline: false,
        ..FixtureSpec::default()
    };
    write(root.path(), &spec).unwrap();
    let mut out = Vec::new();
    for bench in sorted(root.path()) {
        for target in sorted(&bench) {
            let dir = target.join("new");
            let mut summary = read_summary(&dir).unwrap();
            for (i, level) in summary.levels.iter_mut().enumerate() {
                level.cost =
                    Some(LevelCost { cost_per_ok_request: Some(0.0004 * (i + 1) as f64), ..Default::default() });
                level.goodput = Some(Goodput {
                    slo: vec!["ttft <= 500ms".into()],
                    good: level.requests.ok,
                    attempted: level.requests.attempted,
                    ratio: level.requests.ok as f64 / level.requests.attempted as f64,
                    good_per_s: level.req_per_s,
                    target: 0.99,
                    meets_slo: true,
                    failed: vec![],
                });
            }
            out.push(LoadedRun { summary, records: Some(read_requests(&dir).unwrap()) });
        }
    }
    assert_eq!(out.len(), 2);
    out
}

fn sorted(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    v.sort();
    v
}

fn as_runs(loaded: &[LoadedRun]) -> Vec<ExportRun<'_>> {
    loaded.iter().map(LoadedRun::as_run).collect()
}

/// Validates `instance` against a schema file of `schemas/`.
fn validate(schema: &str, instance: &Value) {
    let text = match schema {
        "bmf" => include_str!("schemas/bmf.schema.json"),
        "gab" => include_str!("schemas/gab.schema.json"),
        "emf" => include_str!("schemas/emf.schema.json"),
        _ => unreachable!(),
    };
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    let loc = format!("file:///{schema}.schema.json");
    compiler.add_resource(&loc, serde_json::from_str(text).unwrap()).unwrap();
    let index = compiler.compile(&loc, &mut schemas).unwrap();
    if let Err(e) = schemas.validate(instance, index) {
        panic!("{schema} export does not validate: {e:#}\n{instance:#}");
    }
}

fn ok_records(records: &[RequestRecord], row: usize) -> Vec<&RequestRecord> {
    crate::gate::metric::level_records(records, row).into_iter().filter(|r| r.is_ok()).collect()
}

#[test]
fn bmf_follows_the_format_and_carries_the_summaries() {
    let loaded = runs();
    let doc = bmf::render(&as_runs(&loaded));
    validate("bmf", &doc);
    let a = &loaded[0].summary;
    let name = format!("{}/{}/c=1", a.bench.id, a.target.name);
    let ttft = &doc[&name]["ttft"];
    let s = a.levels[0].ttft.as_ref().unwrap();
    assert_eq!(ttft["value"].as_f64(), s.p50);
    assert!(ttft["lower_value"].as_f64().unwrap() <= s.p50.unwrap());
    assert!(ttft["upper_value"].as_f64().unwrap() >= s.p50.unwrap());
    assert_eq!(doc[&name]["cost-per-ok-request"]["value"], 0.0004);
    assert_eq!(doc[&name]["throughput"]["value"].as_f64(), Some(a.levels[0].req_per_s));
    // 120 ok requests at most per level: p99 needs 100 values, so it is there
    // only where the level had them, never a made-up number.
    let has_p99 = a.levels[0].ttft.as_ref().unwrap().p99.is_some();
    assert_eq!(doc[&name].get("ttft-p99").is_some(), has_p99);
    assert_eq!(doc.as_object().unwrap().len(), 4, "2 targets × 2 levels");
}

#[test]
fn gab_files_follow_the_action_and_split_by_direction() {
    let loaded = runs();
    let smaller = gab::render(&as_runs(&loaded), gab::Direction::Smaller);
    let bigger = gab::render(&as_runs(&loaded), gab::Direction::Bigger);
    validate("gab", &smaller);
    validate("gab", &bigger);
    let names = |v: &Value| -> Vec<String> {
        v.as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap().to_owned()).collect()
    };
    let (small, big) = (names(&smaller), names(&bigger));
    assert!(
        small.iter().any(|n| n.ends_with("— TTFT p50")) && small.iter().any(|n| n.ends_with("— cost per ok request"))
    );
    assert!(big.iter().any(|n| n.ends_with("— output tokens/s")) && big.iter().any(|n| n.ends_with("— goodput")));
    assert!(!small.iter().any(|n| n.contains("tokens/s")), "throughput is not smaller-is-better");
    // Names are unique: the action keys its history by them.
    let mut sorted = small.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), small.len());
}

#[test]
fn openmetrics_parses_and_its_histograms_count_the_records() {
    let loaded = runs();
    let text = openmetrics::render(&as_runs(&loaded));
    assert!(text.ends_with("# EOF\n"));
    let parsed: MetricsExposition<OpenMetricsType, OpenMetricsValue> =
        openmetrics_parser::openmetrics::parse_openmetrics(&text)
            .unwrap_or_else(|e| panic!("not OpenMetrics: {e:?}\n{text}"));
    let ttft = &parsed.families["gen_ai_server_time_to_first_token_seconds"];
    assert_eq!(ttft.family_type, OpenMetricsType::Histogram);
    let samples: Vec<_> = ttft.iter_samples().collect();
    assert_eq!(samples.len(), 4, "one per target × level");
    // The first series is the first target's c=1: its buckets hold exactly its ok requests.
    let ok = ok_records(loaded[0].records.as_ref().unwrap(), 0);
    let OpenMetricsValue::Histogram(h) = &samples[0].value else { panic!("not a histogram") };
    assert_eq!(h.count, Some(ok.len() as u64));
    let last = h.buckets.last().unwrap();
    assert!(last.upper_bound.is_infinite());
    assert_eq!(last.count.as_f64(), ok.len() as f64);
    let le_100ms = h.buckets.iter().find(|b| b.upper_bound == 0.1).unwrap().count.as_f64();
    assert_eq!(le_100ms, ok.iter().filter(|r| r.ttft_ms.unwrap() <= 100.0).count() as f64);
    let sum: f64 = ok.iter().map(|r| r.ttft_ms.unwrap() / 1e3).sum();
    assert!((h.sum.unwrap().as_f64() - sum).abs() < 1e-9);
    for family in
        ["llmbench_requests", "llmbench_error_ratio", "llmbench_cost_per_ok_request_usd", "gen_ai_client_token_usage"]
    {
        assert!(parsed.families.contains_key(family), "{family} missing");
    }
    assert_eq!(parsed.families["llmbench_requests"].family_type, OpenMetricsType::Counter);
}

#[test]
fn openmetrics_escapes_label_values() {
    let mut loaded = runs();
    loaded[0].summary.target.model = "a \"quoted\" \\ model\nwith a newline".into();
    let text = openmetrics::render(&as_runs(&loaded));
    assert!(text.contains(r#"gen_ai_request_model="a \"quoted\" \\ model\nwith a newline""#));
    openmetrics_parser::openmetrics::parse_openmetrics(&text).expect("still parses");
}

#[test]
fn emf_lines_follow_the_specification() {
    let loaded = runs();
    let text = emf::render(&as_runs(&loaded)).unwrap();
    let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 4);
    for line in &lines {
        validate("emf", line);
        // The rules the specification states in words: every dimension a
        // directive names is a root member holding a string; every metric
        // it defines is a root member holding a number (or an array of at
        // most 100 numbers); no metric is defined twice.
        for directive in line["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
            for set in directive["Dimensions"].as_array().unwrap() {
                for key in set.as_array().unwrap() {
                    let key = key.as_str().unwrap();
                    assert!(
                        line[key].as_str().is_some_and(|v| !v.is_empty()),
                        "dimension {key} is not a string member"
                    );
                }
            }
            let mut names = Vec::new();
            for m in directive["Metrics"].as_array().unwrap() {
                let name = m["Name"].as_str().unwrap();
                let member = &line[name];
                let numeric = member.is_number()
                    || member.as_array().is_some_and(|a| a.len() <= 100 && a.iter().all(Value::is_number));
                assert!(numeric, "metric {name} is not a numeric member: {member}");
                names.push(name);
            }
            let count = names.len();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), count, "a metric defined twice");
        }
    }
    let first = &lines[0];
    assert_eq!(first["_aws"]["Timestamp"], epoch_ms(&loaded[0].summary.started_at).unwrap());
    assert_eq!(first["TTFT_p50"].as_f64(), loaded[0].summary.levels[0].ttft.as_ref().unwrap().p50);
    assert_eq!(first["Level"], "c=1");
}

#[test]
fn otlp_json_decodes_as_an_export_request() {
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::metrics::v1::metric::Data;

    let loaded = runs();
    let json = otlp::render(&as_runs(&loaded));
    let request: ExportMetricsServiceRequest = serde_json::from_value(json.clone()).unwrap();
    let metrics = &request.resource_metrics[0].scope_metrics[0].metrics;
    assert_eq!(metrics.len(), json["resourceMetrics"][0]["scopeMetrics"][0]["metrics"].as_array().unwrap().len());
    let names: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
    for name in [
        "gen_ai.client.operation.duration",
        "gen_ai.server.time_to_first_token",
        "gen_ai.server.time_per_output_token",
        "gen_ai.client.token.usage",
        "llmbench.requests",
        "llmbench.cost.per_ok_request",
    ] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    // The decoder drops a data field it cannot read, so insist on each.
    assert!(metrics.iter().all(|m| m.data.is_some()), "a metric's data did not decode");
    let ttft = metrics.iter().find(|m| m.name == "gen_ai.server.time_to_first_token").unwrap();
    assert_eq!(ttft.unit, "s");
    let Some(Data::Histogram(h)) = &ttft.data else { panic!("not a histogram") };
    assert_eq!(h.aggregation_temporality, 1, "delta");
    let p = &h.data_points[0];
    let ok = ok_records(loaded[0].records.as_ref().unwrap(), 0);
    assert_eq!(p.count, ok.len() as u64);
    assert_eq!(p.bucket_counts.iter().sum::<u64>(), p.count);
    assert_eq!(p.bucket_counts.len(), p.explicit_bounds.len() + 1);
    assert_eq!(p.time_unix_nano - p.start_time_unix_nano, (loaded[0].summary.duration_s * 1e9) as u64);
    let attr = |key: &str| {
        p.attributes.iter().find(|a| a.key == key).and_then(|a| a.value.clone()).map(|v| format!("{:?}", v.value))
    };
    assert!(attr("gen_ai.request.model").is_some_and(|v| v.contains(&loaded[0].summary.target.model)));
    assert!(attr("llmbench.level").is_some_and(|v| v.contains("c=1")));
    let usage = metrics.iter().find(|m| m.name == "gen_ai.client.token.usage").unwrap();
    let Some(Data::Histogram(u)) = &usage.data else { panic!("not a histogram") };
    assert_eq!(u.data_points.len(), 8, "input and output per target × level");
}

/// `runs()` with the first target's c=1 level reasoning (TTFO 50 ms after
/// TTFT in every record, `thinking` summarized) and reporting prompt caching.
fn reasoning_and_caching() -> Vec<LoadedRun> {
    let mut loaded = runs();
    let level = &mut loaded[0].summary.levels[0];
    // Any summary distinct from TTFT's, to see which one each format reads.
    level.ttfo = level.e2e.clone();
    level.thinking = level.ttft.clone();
    level.cache = Some(crate::stats::CacheSummary {
        cache_hit_ratio: 0.6,
        hits: 3,
        reported: 5,
        read_tokens: 600,
        write_tokens: 100,
        prompt_tokens: 1000,
        ttft_hit: None,
        ttft_miss: None,
    });
    for r in loaded[0].records.as_mut().unwrap() {
        r.ttfo_ms = r.ttft_ms.map(|t| t + 50.0);
    }
    loaded
}

#[test]
fn reasoning_levels_add_ttfo_and_caching_levels_the_cache_hit_ratio() {
    let loaded = reasoning_and_caching();
    let exported = as_runs(&loaded);
    let a = &loaded[0].summary;
    let (reasoned, plain) =
        (format!("{}/{}/c=1", a.bench.id, a.target.name), format!("{}/{}/c=4", a.bench.id, a.target.name));
    let ttfo = a.levels[0].ttfo.as_ref().unwrap();

    let doc = bmf::render(&exported);
    validate("bmf", &doc);
    assert_eq!(doc[&reasoned]["ttfo"]["value"].as_f64(), ttfo.p50);
    assert_eq!(doc[&reasoned]["cache-hit-ratio"]["value"], 0.6);
    assert!(doc[&plain].get("ttfo").is_none() && doc[&plain].get("cache-hit-ratio").is_none(), "{:#}", doc[&plain]);

    let smaller = gab::render(&exported, gab::Direction::Smaller);
    let bigger = gab::render(&exported, gab::Direction::Bigger);
    validate("gab", &smaller);
    validate("gab", &bigger);
    let named = |v: &Value, suffix: &str| -> Vec<Value> {
        v.as_array().unwrap().iter().filter(|e| e["name"].as_str().unwrap().ends_with(suffix)).cloned().collect()
    };
    let ttfo_p50 = named(&smaller, "— TTFO p50");
    assert_eq!(ttfo_p50.len(), 1, "only the level that reasoned");
    assert_eq!(ttfo_p50[0]["value"].as_f64(), ttfo.p50);
    let cache = named(&bigger, "— cache hit ratio");
    assert_eq!(cache.len(), 1);
    assert_eq!(cache[0]["value"], 60.0);

    let lines: Vec<Value> = emf::render(&exported).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["Level"], "c=1");
    assert_eq!(lines[0]["TTFO_p50"].as_f64(), ttfo.p50);
    assert_eq!(lines[0]["CacheHitRatio"], 60.0);
    let defined = |line: &Value, name: &str| {
        line["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array().unwrap().iter().any(|m| m["Name"] == name)
    };
    assert!(defined(&lines[0], "TTFO_p50") && defined(&lines[0], "CacheHitRatio"));
    assert!(lines[1].get("TTFO_p50").is_none() && !defined(&lines[1], "TTFO_p50"));
    assert!(lines[1].get("CacheHitRatio").is_none());

    // Histograms are taken over the records' own TTFO, not the summary.
    let ok = ok_records(loaded[0].records.as_ref().unwrap(), 0);
    let sum: f64 = ok.iter().map(|r| r.ttfo_ms.unwrap() / 1e3).sum();
    let text = openmetrics::render(&exported);
    let parsed: MetricsExposition<OpenMetricsType, OpenMetricsValue> =
        openmetrics_parser::openmetrics::parse_openmetrics(&text).unwrap();
    let family = &parsed.families["llmbench_time_to_first_output_seconds"];
    let samples: Vec<_> = family.iter_samples().collect();
    assert_eq!(samples.len(), 1, "only the level that reasoned");
    let OpenMetricsValue::Histogram(h) = &samples[0].value else { panic!("not a histogram") };
    assert_eq!(h.count, Some(ok.len() as u64));
    assert!((h.sum.unwrap().as_f64() - sum).abs() < 1e-9);
    let ratio: Vec<_> = parsed.families["llmbench_cache_hit_ratio"].iter_samples().collect();
    assert_eq!(ratio.len(), 1);
    let OpenMetricsValue::Gauge(v) = &ratio[0].value else { panic!("not a gauge") };
    assert_eq!(v.as_f64(), 0.6);

    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use opentelemetry_proto::tonic::metrics::v1::{metric::Data, number_data_point::Value as Number};
    let request: ExportMetricsServiceRequest = serde_json::from_value(otlp::render(&exported)).unwrap();
    let metrics = &request.resource_metrics[0].scope_metrics[0].metrics;
    let metric = |name: &str| metrics.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("{name} missing"));
    let Some(Data::Histogram(h)) = &metric("llmbench.time_to_first_output").data else { panic!("not a histogram") };
    assert_eq!(h.data_points.len(), 1);
    assert_eq!(h.data_points[0].count, ok.len() as u64);
    assert!((h.data_points[0].sum.unwrap() - sum).abs() < 1e-9);
    let Some(Data::Gauge(g)) = &metric("llmbench.cache.hit_ratio").data else { panic!("not a gauge") };
    assert_eq!(g.data_points.len(), 1);
    assert_eq!(g.data_points[0].value, Some(Number::AsDouble(0.6)));

    // Without reasoning or caching none of it appears.
    let plain_runs = runs();
    let plain_runs = as_runs(&plain_runs);
    assert!(!serde_json::to_string(&bmf::render(&plain_runs)).unwrap().contains("ttfo"));
    assert!(!emf::render(&plain_runs).unwrap().contains("CacheHitRatio"));
    let text = openmetrics::render(&plain_runs);
    assert!(!text.contains("llmbench_time_to_first_output") && !text.contains("llmbench_cache_hit_ratio"));
    assert!(!otlp::render(&plain_runs).to_string().contains("llmbench.time_to_first_output"));
}

#[test]
fn runs_without_records_export_their_summaries_and_say_so() {
    let mut loaded = runs();
    loaded[1].records = None;
    let dir = tempfile::tempdir().unwrap();
    let specs: Vec<ExportSpec> = ["openmetrics", "bmf"]
        .iter()
        .map(|f| ExportSpec::parse(&format!("{f}={}", dir.path().join(f).display())).unwrap())
        .collect();
    let notes = write_all(&specs, &as_runs(&loaded)).unwrap();
    assert_eq!(notes.len(), 1);
    assert!(notes[0].contains("histograms are left out"), "{notes:?}");
    let text = std::fs::read_to_string(dir.path().join("openmetrics")).unwrap();
    let parsed = openmetrics_parser::openmetrics::parse_openmetrics(&text).unwrap();
    assert_eq!(parsed.families["gen_ai_server_time_to_first_token_seconds"].iter_samples().count(), 2);
    assert_eq!(parsed.families["llmbench_error_ratio"].iter_samples().count(), 4);
}

#[test]
fn specs_name_what_is_wrong() {
    assert_eq!(ExportSpec::parse("bmf=out/b.json").unwrap().format, Format::Bmf);
    let e = ExportSpec::parse("csv=x").unwrap_err();
    assert!(e.contains("unknown export format \"csv\"") && e.contains("gab-smaller"), "{e}");
    assert!(ExportSpec::parse("bmf").unwrap_err().contains("is not FORMAT=PATH"));
    assert!(ExportSpec::parse("bmf=").unwrap_err().contains("needs a path"));
    let otlp = ExportSpec::parse("otlp=http://127.0.0.1:4318/v1/metrics");
    if cfg!(feature = "otlp") {
        assert!(otlp.is_ok());
        assert!(ExportSpec::parse("otlp=collector").unwrap_err().contains("URL"));
    } else {
        assert!(otlp.unwrap_err().contains("cargo feature `otlp`"));
    }
    let spec = ExportSpec::parse("emf=a=b.jsonl").unwrap();
    assert_eq!(spec.path, Path::new("a=b.jsonl"), "only the first `=` separates");
    let back: ExportSpec = serde_json::from_value(serde_json::to_value(&spec).unwrap()).unwrap();
    assert_eq!(back, spec);
}

#[test]
fn the_probe_refuses_unwritable_paths_and_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let ok = ExportSpec::parse(&format!("bmf={}", dir.path().join("sub/b.json").display())).unwrap();
    probe(std::slice::from_ref(&ok)).unwrap();
    assert!(!ok.path.exists(), "the probe removes the file it created");
    std::fs::write(dir.path().join("file"), "x").unwrap();
    let under_file = ExportSpec::parse(&format!("emf={}", dir.path().join("file/e.jsonl").display())).unwrap();
    let e = probe(&[under_file]).unwrap_err();
    assert!(e.starts_with("cannot write --export emf=") && e.contains("file/e.jsonl"), "{e}");
    let a_dir = ExportSpec::parse(&format!("openmetrics={}", dir.path().display())).unwrap();
    assert!(probe(&[a_dir]).unwrap_err().contains("it is a directory"));
}

#[test]
fn epoch_ms_inverts_rfc3339() {
    for secs in [0u64, 951_782_400, 1_795_830_408] {
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        assert_eq!(epoch_ms(&crate::results::rfc3339(t)), Some(secs * 1000));
    }
    assert_eq!(epoch_ms("yesterday"), None);
}

#[test]
fn an_empty_run_exports_valid_documents() {
    let summary = RunSummary::example();
    let runs = [ExportRun { summary: &summary, records: Some(&[]) }];
    validate("bmf", &bmf::render(&runs));
    openmetrics_parser::openmetrics::parse_openmetrics(&openmetrics::render(&runs)).unwrap();
}

/// Results format 2: the requests llmbench itself cut (still in flight
/// when a level ended) count neither as attempted nor as failed; every
/// export that counts requests shows them as their own outcome.
#[test]
fn requests_llmbench_cut_are_their_own_outcome_not_failures() {
    let mut loaded = runs();
    let run = &mut loaded[0];
    let records = run.records.as_mut().unwrap();
    let measured = |r: &RequestRecord| r.phase == Phase::Measured && r.level == 0;
    for r in records.iter_mut().filter(|r| measured(r)).rev().take(3) {
        r.error = Some(RequestError::new(ErrorClass::CutAtEnd, crate::load::CUT_AT_END));
    }
    let level0: Vec<RequestRecord> = records.iter().filter(|r| r.level == 0).cloned().collect();
    let level = &mut run.summary.levels[0];
    let (cost, goodput) = (level.cost.take(), level.goodput.take());
    *level = crate::stats::summarize_level(level.concurrency, &level0);
    (level.cost, level.goodput) = (cost, goodput);
    let counts = level.requests.clone();
    assert_eq!((counts.cut_by_llmbench, counts.failed), (3, 0), "the fixture's first target has no errors");
    let runs = as_runs(&loaded);

    let text = openmetrics::render(&runs);
    let parsed = openmetrics_parser::openmetrics::parse_openmetrics(&text).unwrap();
    let outcome = |o: &str| format!("outcome=\"{o}\"");
    let line =
        text.lines().find(|l| l.starts_with("llmbench_requests_total") && l.contains(&outcome("cut_by_llmbench")));
    assert!(line.is_some_and(|l| l.ends_with(" 3") && l.contains("level=\"c=1\"")), "{text}");
    assert!(!text.contains(&outcome("cut_at_end")), "not counted as an error class");
    assert_eq!(parsed.families["llmbench_error_ratio"].iter_samples().count(), 4);

    let emf: Vec<Value> = emf::render(&runs).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    validate("emf", &emf[0]);
    assert_eq!((emf[0]["CutByLlmbench"].as_f64(), emf[0]["FailedRequests"].as_f64()), (Some(3.0), Some(0.0)));
    assert!(emf[1].get("CutByLlmbench").is_none(), "only where there were cuts");

    let json = otlp::render(&runs);
    let metrics = json["resourceMetrics"][0]["scopeMetrics"][0]["metrics"].as_array().unwrap();
    let requests = metrics.iter().find(|m| m["name"] == "llmbench.requests").unwrap();
    let cut =
        requests["sum"]["dataPoints"].as_array().unwrap().iter().find(|p| {
            p["attributes"].as_array().unwrap().iter().any(|a| a["value"]["stringValue"] == "cut_by_llmbench")
        });
    assert_eq!(cut.map(|p| p["asInt"].clone()), Some(Value::from("3")));

    let gab = gab::render(&runs, gab::Direction::Bigger);
    validate("gab", &gab);
    assert!(gab[0]["extra"].as_str().unwrap().contains(&format!("{} ok, 0 failed, 3 cut by llmbench", counts.ok)));
}

/// `otlp=URL` POSTs the OTLP/JSON request to the collector, from inside a
/// runtime as a benchmark binary run alone does; a refusal names the
/// export and the collector's status.
#[cfg(feature = "otlp")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_pushes_the_request_to_the_collector() {
    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let loaded = runs();
    let collector = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/metrics"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .expect(1)
        .mount(&collector)
        .await;
    let spec = ExportSpec::parse(&format!("otlp={}/v1/metrics", collector.uri())).unwrap();
    assert_eq!(spec.absolute(Path::new("/elsewhere")), spec, "a URL is not a path");
    assert!(write_all(&[spec], &as_runs(&loaded)).unwrap().is_empty());
    let received = collector.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    // What was sent is what `otlp-json` writes (compared as text: a float
    // read back may differ in its last bit), and decodes as the request.
    let sent = String::from_utf8(received[0].body.clone()).unwrap();
    assert_eq!(sent, serde_json::to_string(&otlp::render(&as_runs(&loaded))).unwrap());
    let request: ExportMetricsServiceRequest = serde_json::from_str(&sent).unwrap();
    assert!(!request.resource_metrics[0].scope_metrics[0].metrics.is_empty());

    let refusing = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_string("overloaded"))
        .mount(&refusing)
        .await;
    let spec = ExportSpec::parse(&format!("otlp={}/v1/metrics", refusing.uri())).unwrap();
    let e = write_all(&[spec], &as_runs(&loaded)).unwrap_err();
    assert!(e.starts_with("--export otlp=http://") && e.contains("503") && e.contains("overloaded"), "{e}");
}
