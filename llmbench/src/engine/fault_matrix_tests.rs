//! The simulator's fault matrix (docs/faults.md), end to end through the
//! benchmark runner and the real OpenAI client: every fault on its own
//! request, each classified as docs/metrics.md says, the run completing,
//! and no request lost (attempted = ok + the failures by class).

use std::path::Path;

use clap::Parser;

use super::registry::BenchDef;
use crate::cli::bench::args::BenchArgs;
use crate::config::file::Config;
use crate::record::{ErrorClass, Phase, RequestRecord};
use crate::results::{self, RunSummary};
use crate::workload::Workload;

fn workload() -> Workload {
    Workload::synthetic().input_tokens(20).output_tokens(8)
}

static DEF: BenchDef = test_bench!("__sim_fault_matrix", workload);

/// Request numbers are the simulator's arrival order: 1 is the cold
/// start, then the measured requests one at a time (concurrency 1, no
/// warm-up), so measured request `i` is simulator request `i + 2` until the
/// restart (requests refused while the server is away never reach it).
const CONFIG: &str = r#"
[sim]
ttft = "2ms"
itl = "1ms"
faults = [
  { kind = "cut", from = 2, to = 2, after = 3 },
  { kind = "stall_before_content", from = 3, to = 3 },
  { kind = "stall", from = 4, to = 4, after = 2 },
  { kind = "slow_headers", from = 5, to = 5 },
  { kind = "throttle", from = 6, to = 8 },
  { kind = "server_error", from = 9, to = 9, status = 503 },
  { kind = "garbage", from = 10, to = 10 },
  { kind = "invalid_json", from = 11, to = 11, after = 2 },
  { kind = "huge_event", from = 12, to = 12, after = 1 },
  { kind = "non_utf8", from = 13, to = 13, after = 1 },
  { kind = "error_event", from = 14, to = 14, after = 1 },
  { kind = "no_end", from = 15, to = 15 },
  { kind = "refuse", from = 16, to = 16 },
  { kind = "restart", from = 18, to = 18, for = "300ms" },
]
"#;

#[test]
fn every_fault_is_classified_and_no_request_is_lost() {
    let config = Config::parse(Path::new("llmbench.toml"), CONFIG).expect("the fault matrix parses");
    let argv = [
        "bench",
        "--bench",
        "--sample-size",
        "24",
        "--warm-up",
        "0",
        "--concurrency",
        "1",
        // No warm-up at all: warm connections would add one, and shift
        // every request's number at the simulator by one.
        "--connections",
        "fresh",
        "--timeout",
        "5s",
        "--first-content-timeout",
        "500ms",
        "--idle-timeout",
        "300ms",
        "--quiet",
    ];
    let args = BenchArgs::try_parse_from(argv).expect("valid flags");
    let started = std::time::Instant::now();
    super::run(&args.invocation(), &config, vec![DEF.spec().expect("a spec")]).expect("the run completes");
    // Each stall costs one client timeout, not the server's hour-long stall.
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());

    let dir = results::run_dir(&results::default_root(), DEF.name, "sim", results::NEW_DIR);
    let summary: RunSummary = results::read_summary(&dir).expect("summary.json");
    let records: Vec<RequestRecord> = results::read_requests(&dir).expect("requests.jsonl");
    let measured: Vec<&RequestRecord> = records.iter().filter(|r| r.phase == Phase::Measured).collect();
    assert_eq!(measured.len(), 24, "every measured request is recorded");
    let counts = &summary.levels[0].requests;
    assert_eq!(counts.attempted, 24);
    assert_eq!(counts.ok + counts.by_class.values().sum::<u64>(), counts.attempted, "{counts:?}");
    assert_eq!(counts.failed, counts.by_class.values().sum::<u64>(), "{counts:?}");

    let class = |i: usize| measured[i].error.as_ref().map(|e| e.class);
    let message = |i: usize| measured[i].error.as_ref().map(|e| e.message.clone()).unwrap_or_default();
    let expected = [
        (0, Some(ErrorClass::Cut), "cut"),
        (1, Some(ErrorClass::Timeout), "stall_before_content"),
        (2, Some(ErrorClass::Timeout), "stall"),
        (3, Some(ErrorClass::Timeout), "slow_headers"),
        (4, Some(ErrorClass::Throttled), "throttle"),
        (5, Some(ErrorClass::Throttled), "throttle"),
        (6, Some(ErrorClass::Throttled), "throttle"),
        (7, Some(ErrorClass::Server), "server_error"),
        (8, Some(ErrorClass::Protocol), "garbage"),
        (9, Some(ErrorClass::Protocol), "invalid_json"),
        (10, Some(ErrorClass::Protocol), "huge_event"),
        (11, Some(ErrorClass::Protocol), "non_utf8"),
        (12, Some(ErrorClass::ModelStream), "error_event"),
        (13, Some(ErrorClass::Cut), "no_end"),
        (14, Some(ErrorClass::Server), "refuse"),
        (15, None, "none"),
        (16, Some(ErrorClass::Server), "restart"),
    ];
    for (i, class_expected, fault) in expected {
        assert_eq!(class(i), class_expected, "request {i} ({fault}): {}", message(i));
    }
    // The stall mid-stream is caught by the idle timeout, not the total one.
    assert!(message(2).contains("idle_timeout"), "{}", message(2));
    assert_eq!(measured[7].error.as_ref().and_then(|e| e.status), Some(503));
    assert!(message(10).contains("MiB"), "{}", message(10));
    // While the server is away its port refuses connections (the client
    // tries again at once, so they all fall in that window; that the
    // server comes back is sim::faults::tests::a_restart_refuses_then_serves_again).
    let after_restart: Vec<Option<ErrorClass>> = (17..24).map(class).collect();
    assert!(after_restart.iter().all(|c| c == &Some(ErrorClass::Server)), "{after_restart:?}");
    assert!(message(17).contains("connection"), "{}", message(17));
}

/// A valid event larger than the default 8 MiB cap parses once the target
/// raises `max_event_size`, and fails as `protocol` without it.
#[test]
fn a_huge_valid_event_parses_with_the_cap_raised() {
    static BIG: BenchDef = BenchDef { name: "__sim_huge_event", ..DEF };
    let config = Config::parse(
        Path::new("llmbench.toml"),
        r#"
[targets.raised]
provider = "sim"
max_event_size = "16MiB"
sim = { ttft = "1ms", itl = "1ms", faults = [{ kind = "huge_event", size = 10000000, after = 1 }] }

[targets.default-cap]
provider = "sim"
sim = { ttft = "1ms", itl = "1ms", faults = [{ kind = "huge_event", size = 10000000, after = 1 }] }
"#,
    )
    .expect("config");
    let argv = ["bench", "--bench", "--sample-size", "1", "--warm-up", "0", "--quiet"];
    let mut argv: Vec<&str> = argv.to_vec();
    argv.extend(["--target", "raised", "--target", "default-cap"]);
    let args = BenchArgs::try_parse_from(argv).expect("valid flags");
    super::run(&args.invocation(), &config, vec![BIG.spec().expect("a spec")]).expect("the run completes");
    let records = |target: &str| {
        let dir = results::run_dir(&results::default_root(), BIG.name, target, results::NEW_DIR);
        results::read_requests(&dir).expect("requests.jsonl")
    };
    for r in records("raised") {
        assert_eq!(r.error, None, "a 10 MB event within a 16 MiB cap");
        assert_eq!(r.chunks, 9, "the huge chunk and the 8 others");
    }
    for r in records("default-cap") {
        let e = r.error.expect("over the default cap");
        assert_eq!(e.class, ErrorClass::Protocol, "{e}");
        assert!(e.message.contains("max_event_size"), "{e}");
    }
}
