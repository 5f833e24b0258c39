use std::fs;

use super::fixture::{self, FixtureSpec, HOSTILE};
use super::*;

fn small(hostile: bool) -> FixtureSpec {
    FixtureSpec {
        benches: 2,
        targets: 2,
        requests: 240,
        concurrency: vec![1, 4, 16],
        output_tokens: 16,
        hostile,
        ..FixtureSpec::default()
    }
}

fn render(spec: &FixtureSpec) -> (tempfile::TempDir, WrittenReport) {
    let root = tempfile::tempdir().unwrap();
    fixture::write(root.path(), spec).unwrap();
    let report = write_report(root.path(), &ReportOptions::default()).unwrap();
    (root, report)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap()
}

/// The tags the templates and the chart writer write.
const TAGS: &[&str] = &[
    "!doctype",
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "main",
    "footer",
    "a",
    "span",
    "h1",
    "h2",
    "h3",
    "p",
    "dl",
    "dt",
    "dd",
    "div",
    "section",
    "ul",
    "li",
    "code",
    "pre",
    "nav",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "details",
    "summary",
    "b",
    "br",
    "figure",
    "figcaption",
    "svg",
    "g",
    "path",
    "line",
    "rect",
    "circle",
    "text",
];

/// Nothing in a page may fetch or run anything: every tag is one the
/// templates write, no attribute is an event handler or a source, and links
/// stay inside the report. (All text is escaped, so every literal `<` in
/// the page starts a real tag.)
fn assert_inert(html: &str) {
    let lower = html.to_ascii_lowercase();
    let mut rest = lower.as_str();
    while let Some(i) = rest.find('<') {
        let tag_end = rest[i..].find('>').map(|j| i + j).expect("unclosed tag");
        let tag = &rest[i + 1..tag_end];
        rest = &rest[tag_end..];
        let tag = tag.trim_start_matches('/');
        let name: String = tag.chars().take_while(|c| !c.is_whitespace() && *c != '/').collect();
        assert!(TAGS.contains(&name.as_str()), "unexpected <{name}> in the page");
        // Attribute names: the words followed by '=' outside quoted values.
        let mut in_quote = false;
        let mut word = String::new();
        for c in tag.chars() {
            match c {
                '"' => in_quote = !in_quote,
                '=' if !in_quote => {
                    assert!(
                        !word.starts_with("on") && word != "src" && word != "srcdoc",
                        "attribute {word}= in <{name}>"
                    );
                    word.clear();
                }
                c if !in_quote && (c.is_ascii_alphanumeric() || c == '-') => word.push(c),
                _ if !in_quote => word.clear(),
                _ => {}
            }
        }
        if let Some(h) = tag.find("href=\"") {
            let target = &tag[h + 6..];
            assert!(
                !["http", "//", "javascript", "data"].iter().any(|p| target.starts_with(p)),
                "external link {target}"
            );
        }
    }
    for bad in ["url(", "@import"] {
        assert!(!lower.contains(bad), "{bad} in the page");
    }
    assert!(html.contains("Content-Security-Policy\" content=\"default-src 'none'"));
}

#[test]
fn a_report_has_an_index_a_page_per_benchmark_and_a_markdown_twin() {
    let (_root, report) = render(&small(false));
    assert_eq!(report.runs, 4);
    assert_eq!(report.pages.len(), 2);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let index = read(&report.index);
    assert_inert(&index);
    assert!(index.contains("href=\"bench/bench_00.html\"") && index.contains("href=\"bench/bench_01.html\""));
    // One row per bench × target × level.
    assert_eq!(index.matches("<td class=\"l\">c=").count(), 2 * 2 * 3);
    // Optional columns are absent without their data.
    for col in ["goodput", "cost / ok req", "vs baseline"] {
        assert!(
            !index.contains(&format!("<th>{col}</th>")) && !index.contains(&format!("<th class=\"l\">{col}</th>")),
            "{col}"
        );
    }
    let page = read(&report.pages[0]);
    assert_inert(&page);
    for section in [
        "id=\"summary\"",
        "id=\"side-by-side\"",
        "id=\"baseline\"",
        "id=\"distributions\"",
        "id=\"cdf\"",
        "id=\"itl\"",
        "id=\"timeline\"",
        "id=\"levels\"",
        "id=\"errors\"",
        "id=\"tokens\"",
        "id=\"definitions\"",
    ] {
        assert!(page.contains(section), "{section} missing");
    }
    assert!(page.contains("TTFT CDF at c=16") && page.contains("(baseline base)"));
    assert!(page.contains("error: throttled"), "sim-slow throttles");
    assert!(page.contains("Elsewhere: vLLM ITL, aiperf ICL"));
    assert!(page.contains("href=\"../index.html\""));
    let md = read(&report.markdown);
    assert!(md.contains("| [bench\\_00](bench/bench_00.html) | sim | c=1 |"), "{md}");
    assert!(md.lines().filter(|l| l.starts_with("| ")).count() >= 12);
}

#[test]
fn hostile_strings_render_as_text() {
    let (_root, report) = render(&small(true));
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let page = report
        .pages
        .iter()
        .map(|p| read(p))
        .find(|h| h.contains("<h1>chat&lt;"))
        .expect("the hostile benchmark's page");
    let index = read(&report.index);
    for html in [&index, &page] {
        assert_inert(html);
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
                || html.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
        );
    }
    // The payload reached every place a user string is shown.
    for place in [
        "Sample outputs",
        "What the failures said",
        "<h1>chat&lt;script&gt;",
        "model&lt;script&gt;",
        "You are helpful. &lt;script&gt;",
    ] {
        assert!(page.contains(place), "{place}");
    }
    let md = read(&report.markdown);
    assert!(!md.contains(HOSTILE) && !md.contains("<script"), "{md}");
}

#[test]
fn figures_from_other_features_appear_when_present() {
    let root = tempfile::tempdir().unwrap();
    fixture::write(
        root.path(),
        &FixtureSpec { benches: 2, targets: 1, requests: 120, concurrency: vec![1, 8], ..FixtureSpec::default() },
    )
    .unwrap();
    // Give one run the goodput and cost figures of its levels, as a run with
    // SLOs and a price records them.
    edit_summary(root.path(), "bench_01", |s| {
        for level in &mut s.levels {
            level.goodput = Some(crate::stats::Goodput {
                slo: vec!["ttft<=500ms".into()],
                good: 97,
                attempted: 100,
                ratio: 0.97,
                good_per_s: 3.0,
                target: 0.99,
                meets_slo: false,
                failed: Vec::new(),
            });
            level.cost = Some(crate::cost::LevelCost { cost_per_ok_request: Some(0.00042), ..Default::default() });
        }
    });
    // A key llmbench never writes is not looked for.
    let path = root.path().join("bench_01/sim/new/summary.json");
    let mut v: serde_json::Value = serde_json::from_str(&read(&path)).unwrap();
    v["fingerprint"] = serde_json::json!("f00dfeed");
    fs::write(&path, serde_json::to_string(&v).unwrap()).unwrap();
    write_verdict(root.path(), "bench_01");
    let report = write_report(root.path(), &ReportOptions::default()).unwrap();
    let index = read(&report.index);
    assert!(index.contains("<th>goodput</th>") && index.contains("97.0%"));
    assert!(index.contains("<th>cost / ok req</th>") && index.contains("$0.000420"));
    assert!(index.contains("regressed: ttft.p50 +12.0%"));
    assert!(!index.contains("f00dfeed"));
    // Failed limits come first: the alert, and bench_01's rows before bench_00's.
    let alert = index.find("2 limits failed").expect("failed-limits alert (one per level)");
    assert!(alert < index.find("id=\"results\"").unwrap());
    assert!(index.contains("</code> — measured ") && !index.contains("— ttft.p90&lt;=10ms:"), "{index}");
    assert!(index.find(">bench_01</a>").unwrap() < index.find(">bench_00</a>").unwrap());
    let page = read(&root.path().join("report/bench/bench_01.html"));
    assert!(page.contains("Failed limits") && page.contains("ttft.p90&lt;=10ms"));
    assert!(page.contains("badge bad\">regressed"));
    let md = read(&report.markdown);
    assert!(md.contains("## Failed limits") && md.contains("goodput |"));
}

/// Rewrites the summary of `bench`'s `sim` new/ run through its type.
fn edit_summary(root: &Path, bench: &str, edit: impl FnOnce(&mut crate::results::RunSummary)) {
    let dir = root.join(bench).join("sim").join(crate::results::NEW_DIR);
    let mut summary = crate::results::read_summary(&dir).unwrap();
    edit(&mut summary);
    fs::write(dir.join(crate::results::SUMMARY_FILE), serde_json::to_vec_pretty(&summary).unwrap()).unwrap();
}

/// The gate's verdict on `bench`'s new/ run, as `cargo llmbench` writes
/// it: a failed limit and a comparison with its base run in which TTFT p50
/// regressed by 12% at the first level.
fn write_verdict(root: &Path, bench: &str) {
    use crate::gate::{self, Run, SourcedLimit};
    let store = crate::baseline::Store::new(root.to_owned(), None);
    let cur = store.load(bench, "sim", "new").unwrap().unwrap();
    let base = store.load(bench, "sim", "base").unwrap().unwrap();
    let settings = crate::stats::compare::Statistics { nresamples: 200, ..Default::default() };
    let current = Run { summary: &cur.summary, records: &cur.records };
    let baseline = Run { summary: &base.summary, records: &base.records };
    let mut c = gate::compare_runs(("base", baseline.clone()), ("new", current.clone()), &settings, Vec::new());
    let m = c.levels[0].metrics.iter_mut().find(|m| m.metric == "ttft.p50").unwrap();
    (m.change.change, m.change.kind) = (Some(0.12), crate::stats::ChangeKind::Regressed);
    let limit = SourcedLimit { limit: "ttft.p90<=10ms".parse().unwrap(), source: "--limit".into() };
    let limits = gate::check_limits(&[limit], &current, Some(&baseline), &settings);
    let json = |v: serde_json::Value| serde_json::to_vec(&v).unwrap();
    let limits = json(serde_json::json!({ "started_at": cur.summary.started_at, "limits": limits }));
    store.save_change(bench, "sim", crate::baseline::COMPARISON_FILE, Some(&json(serde_json::json!(c)))).unwrap();
    store.save_change(bench, "sim", crate::baseline::LIMITS_FILE, Some(&limits)).unwrap();
}

#[test]
fn a_baseline_in_the_baseline_dir_is_shown() {
    // The fixture's `base/` runs, moved to a committed-style directory as `main`.
    let root = tempfile::tempdir().unwrap();
    fixture::write(root.path(), &small(false)).unwrap();
    let committed = tempfile::tempdir().unwrap();
    for bench_dir in model::sorted_dirs(root.path()) {
        for target_dir in model::sorted_dirs(&bench_dir) {
            let to = committed.path().join(target_dir.strip_prefix(root.path()).unwrap());
            fs::create_dir_all(&to).unwrap();
            fs::rename(target_dir.join("base"), to.join("main")).unwrap();
        }
    }
    let options = |dir: Option<&Path>| ReportOptions {
        baseline: Some("main".into()),
        baseline_dir: dir.map(Path::to_owned),
        ..ReportOptions::default()
    };
    let without = write_report(root.path(), &options(None)).unwrap();
    assert!(!read(&without.pages[0]).contains("(baseline main)"));
    let with = write_report(root.path(), &options(Some(committed.path()))).unwrap();
    assert!(read(&with.pages[0]).contains("(baseline main)"));
}

#[test]
fn a_verdict_on_an_older_run_is_not_shown() {
    let root = tempfile::tempdir().unwrap();
    fixture::write(root.path(), &FixtureSpec { benches: 1, targets: 1, requests: 60, ..FixtureSpec::default() })
        .unwrap();
    write_verdict(root.path(), "bench_00");
    // A later run replaces new/: the verdict judged the run before it.
    edit_summary(root.path(), "bench_00", |s| s.started_at = "2030-01-01T00:00:00Z".into());
    let index = read(&write_report(root.path(), &ReportOptions::default()).unwrap().index);
    assert!(!index.contains("regressed") && !index.contains("limit failed"), "{index}");
}

#[test]
fn unreadable_runs_are_listed_and_stale_pages_removed() {
    let root = tempfile::tempdir().unwrap();
    fixture::write(
        root.path(),
        &FixtureSpec {
            benches: 1,
            targets: 1,
            requests: 50,
            concurrency: vec![2],
            baseline: false,
            ..FixtureSpec::default()
        },
    )
    .unwrap();
    let stale = root.path().join("report/bench/gone.html");
    fs::create_dir_all(stale.parent().unwrap()).unwrap();
    fs::write(&stale, "old").unwrap();
    let broken = root.path().join("broken/sim/new");
    fs::create_dir_all(&broken).unwrap();
    fs::write(broken.join("summary.json"), "{ not json").unwrap();
    // A run whose requests file is damaged still gets its page, from the summary.
    fs::write(root.path().join("bench_00/sim/new/requests.jsonl"), "{\"oops\": 1}\n").unwrap();
    let report = write_report(root.path(), &ReportOptions::default()).unwrap();
    assert!(!stale.exists());
    assert_eq!(report.skipped.len(), 1);
    assert!(report.skipped[0].contains("broken") && report.skipped[0].contains("summary.json"), "{:?}", report.skipped);
    let index = read(&report.index);
    assert!(index.contains("Results that could not be read"));
    let page = read(&report.pages[0]);
    assert!(page.contains("per-request data unavailable"), "the page says why charts are missing");
    assert!(page.contains("id=\"summary\""));
}

#[test]
fn an_empty_root_renders_an_empty_report() {
    let root = tempfile::tempdir().unwrap();
    let report = write_report(root.path(), &ReportOptions::default()).unwrap();
    assert_eq!(report.runs, 0);
    assert!(read(&report.index).contains("0 benchmarks"));
}

/// Throughput-against-latency charts of a one-target fixture whose latency
/// climbs past c=16, after `edit` on its summary: the page, and how many
/// knees it rings.
fn curves_page(edit: impl FnOnce(&mut crate::results::RunSummary)) -> (String, usize) {
    let root = tempfile::tempdir().unwrap();
    let spec = FixtureSpec { benches: 1, targets: 1, requests: 800, baseline: false, ..FixtureSpec::default() };
    fixture::write(root.path(), &spec).unwrap();
    edit_summary(root.path(), "bench_00", edit);
    let report = write_report(root.path(), &ReportOptions::default()).unwrap();
    let page = read(&report.pages[0]);
    let knees = page.matches("class=\"knee\"").count();
    (page, knees)
}

#[test]
fn the_knee_the_run_found_is_ringed() {
    let (page, knees) = curves_page(|s| {
        let sweep = s.sweep.as_mut().expect("a sweep over four levels");
        sweep.knee = Some(crate::stats::Knee {
            level: 16.0,
            previous: 4.0,
            metric: "ttft".into(),
            from: 40.0,
            to: 80.0,
            reason: "p99 ttft rose 2.0× in one step".into(),
        });
    });
    assert!(page.contains("id=\"levels\""));
    // On the TTFT and E2E charts, the p50 line of the one target.
    assert_eq!(knees, 2, "{page}");
}

#[test]
fn no_knee_is_drawn_when_the_run_found_none_even_if_the_curve_bends() {
    let mut bends = false;
    let (page, knees) = curves_page(|s| {
        // Past the fixture's capacity (c=16) throughput stops paying for
        // latency: tok/s per ms of E2E p50 peaks before the last level.
        let power: Vec<f64> =
            s.levels.iter().map(|l| l.output_tok_per_s / l.e2e.as_ref().and_then(|m| m.p50).unwrap()).collect();
        bends = power[3] < power[2];
        s.sweep.as_mut().expect("a sweep over four levels").knee = None;
    });
    assert!(bends, "the fixture's curve bends past its capacity");
    assert!(page.contains("id=\"levels\""));
    assert_eq!(knees, 0, "{page}");
}

#[test]
fn conversations_get_a_ttft_by_turn_chart() {
    let (page, _) = curves_page(|_| {});
    assert!(!page.contains("id=\"turns\""), "no conversations, no chart");
    let (page, _) = curves_page(|s| {
        let turn = |k: u32, ttft: f64| crate::stats::TurnSummary {
            turn: k,
            figures: crate::stats::RequestFigures {
                requests: 20,
                ok: 20,
                ttft: crate::stats::LatencySummary::from_values(&[ttft; 20]),
                e2e: None,
            },
            prompt_tokens: Some(100.0 * f64::from(k + 1)),
        };
        s.levels[0].sessions = Some(crate::stats::SessionsSummary {
            started: 20,
            completed: 20,
            failed: 0,
            unfinished: 0,
            session_duration: None,
            turns_completed: None,
            per_turn: vec![turn(0, 40.0), turn(1, 55.0), turn(2, 70.0)],
            tool_steps: None,
        });
    });
    let section = &page[page.find("id=\"turns\"").expect("the chart's section")..];
    assert!(section.contains("TTFT by turn") && section.contains("300 tok"), "{section}");
    assert!(section.contains("TTFT p50") && section.contains("TTFT p90"), "both lines in the legend");
}
