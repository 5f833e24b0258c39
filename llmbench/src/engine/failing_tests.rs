//! The exit code of a run the endpoint failed (`exit_code::ENDPOINT_FAILED`):
//! a dead endpoint, and one that answers but fails most requests, end to end
//! through the runner; one that fails a few still exits 0.

use std::path::Path;

use clap::Parser;

use super::registry::BenchDef;
use crate::cli::bench::args::BenchArgs;
use crate::config::file::Config;
use crate::exit_code;
use crate::workload::Workload;

fn workload() -> Workload {
    Workload::synthetic().input_tokens(10).output_tokens(4)
}

static DEF: BenchDef = test_bench!("__failing_endpoints", workload);

/// Runs the benchmark against `target` alone; its exit code and summary.
fn run(config: &Config, target: &str, root: &Path) -> (i32, crate::results::RunSummary) {
    let argv = ["bench", "--bench", "--sample-size", "40", "--warm-up", "0", "--quiet", "--noplot", "--target", target];
    let args = BenchArgs::try_parse_from(argv).expect("valid flags");
    let invocation = super::Invocation { results_root: Some(root.to_path_buf()), ..args.invocation() };
    let code = super::run(&invocation, config, vec![DEF.spec().expect("a spec")]).expect("the run completes");
    let dir = crate::results::run_dir(root, DEF.name, target, crate::results::NEW_DIR);
    let partial = crate::results::partial_path(&dir);
    assert!(!partial.exists(), "{} is removed once the run is written", partial.display());
    (code, crate::results::read_summary(&dir).expect("the results are written whatever the code"))
}

#[test]
fn a_run_the_endpoint_failed_exits_with_its_own_code() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port();
    let config = Config::parse(
        Path::new("llmbench.toml"),
        &format!(
            r#"
[targets.dead]
provider = "openai"
base_url = "http://127.0.0.1:{port}/v1"
model = "m"

[targets.mostly-failing]
provider = "sim"
sim = {{ ttft = "1ms", itl = "1ms", error_rate = 0.8, error = "server" }}

[targets.a-few-failing]
provider = "sim"
sim = {{ ttft = "1ms", itl = "1ms", error_rate = 0.1, error = "server" }}
"#
        ),
    )
    .expect("config");
    let root = tempfile::tempdir().expect("a temporary directory");

    let (code, dead) = run(&config, "dead", root.path());
    assert_eq!(code, exit_code::ENDPOINT_FAILED, "a dead endpoint");
    assert_eq!(dead.levels[0].stopped_early.as_deref(), Some("dead_endpoint"));
    assert!(dead.levels[0].requests.attempted < 40, "{:?}", dead.levels[0].requests);

    let (code, mostly) = run(&config, "mostly-failing", root.path());
    let level = &mostly.levels[0];
    assert!(level.requests.ok > 0 && level.error_rate >= exit_code::FAILING_ERROR_RATE, "{:?}", level.requests);
    assert_eq!(code, exit_code::ENDPOINT_FAILED, "most requests failed, though some succeeded");

    let (code, few) = run(&config, "a-few-failing", root.path());
    assert!(few.levels[0].requests.failed > 0, "{:?}", few.levels[0].requests);
    assert_eq!(code, exit_code::OK, "a few failures are the figures' business, not the exit code's");
}
