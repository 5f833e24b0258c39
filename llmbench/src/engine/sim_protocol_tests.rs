//! End to end through the benchmark runner: each simulator protocol,
//! driven through its real client (the AWS SDKs for Bedrock and SageMaker),
//! measured, and written to disk with the server-reported metrics.

use clap::Parser;

use super::connect::connect;
use super::registry::BenchDef;
use super::sim_host::SimHost;
use crate::cli::bench::args::BenchArgs;
use crate::config::file::Config;
use crate::load::{self, RequestOptions};
use crate::record::{ErrorClass, Phase, RequestRecord};
use crate::sim::{Delay, SimConfig, SimError};
use crate::workload::Workload;

fn workload() -> Workload {
    Workload::synthetic().input_tokens(40).output_tokens(8)
}

static DEF: BenchDef = test_bench!("__sim_protocols_e2e", workload);

fn read_records(target: &str) -> Vec<RequestRecord> {
    let dir = crate::results::run_dir(&crate::results::default_root(), DEF.name, target, crate::results::NEW_DIR);
    let text = std::fs::read_to_string(dir.join("requests.jsonl")).expect("requests.jsonl written");
    text.lines().map(|l| serde_json::from_str(l).expect("a record")).collect()
}

#[test]
fn every_sim_protocol_runs_through_the_runner_with_server_metrics() {
    let targets = ["sim", "sim-bedrock", "sim-bedrock-invoke", "sim-sagemaker"];
    let mut argv = vec!["bench", "--bench", "--sample-size", "4", "--warm-up", "1", "--concurrency", "2", "--quiet"];
    for t in targets {
        argv.extend(["--target", t]);
    }
    let args = BenchArgs::try_parse_from(argv).expect("valid flags");
    let code = super::run(&args.invocation(), &Config::default(), vec![DEF.spec().expect("a spec")]).expect("the run");
    assert_eq!(code, crate::exit_code::OK);
    for target in targets {
        let records = read_records(target);
        // Warm connections (the default): warm-up is at least the level's concurrency.
        assert_eq!(records.len(), 1 + 2 + 4, "{target}: cold start, warm-up, samples");
        let warmup = records.iter().filter(|r| r.phase == crate::record::Phase::Warmup).count();
        assert_eq!(warmup, 2, "{target}: --warm-up 1 at concurrency 2 warms two connections");
        if target == "sim" {
            let measured = records.iter().filter(|r| r.phase == crate::record::Phase::Measured);
            assert!(measured.clone().all(|r| r.new_connection == Some(false)), "{target}: {records:?}");
        }
        for r in &records {
            assert_eq!(r.error, None, "{target}");
            assert_eq!((r.output_tokens, r.chunks), (8, 8), "{target}");
            assert!(r.input_tokens.is_some(), "{target}");
            let ttft = r.ttft_ms.expect("ttft");
            // The sim's default TTFT is 80 ms.
            assert!((75.0..2_000.0).contains(&ttft), "{target}: ttft {ttft}");
            match target {
                "sim-bedrock" | "sim-bedrock-invoke" => {
                    let server = r.server_latency_ms.expect("server latency");
                    assert!(server >= 150.0 && server <= r.e2e_ms + 1.0, "{target}: server {server}, e2e {}", r.e2e_ms);
                }
                _ => assert_eq!(r.server_latency_ms, None, "{target}"),
            }
        }
        if target == "sim-bedrock-invoke" {
            assert!(records.iter().all(|r| r.server_first_byte_ms.is_some_and(|ms| ms >= 75.0)));
        }
        if target == "sim-sagemaker" {
            assert!(records.iter().all(|r| r.variant.as_deref() == Some("AllTraffic")));
        }
    }
}

#[test]
fn sim_failures_reach_each_client_as_its_service_sends_them() {
    let cases = [
        (
            SimError::Throttled,
            [
                (ErrorClass::Throttled, Some(429)),
                (ErrorClass::Throttled, Some(429)),
                (ErrorClass::Throttled, Some(400)),
            ],
        ),
        (SimError::Server, [(ErrorClass::Server, Some(500)); 3]),
        (SimError::ModelStream, [(ErrorClass::ModelStream, None); 3]),
        (SimError::Cut, [(ErrorClass::Cut, None); 3]),
    ];
    for (error, expected) in cases {
        let sim = SimConfig { ttft: Delay::ms(5), itl: Delay::ms(1), error_rate: 1.0, error, ..SimConfig::default() };
        let text = format!(
            "[sim]\nttft = \"5ms\"\nitl = \"1ms\"\nerror_rate = 1.0\nerror = \"{}\"\n",
            match error {
                SimError::Throttled => "throttled",
                SimError::Server => "server",
                SimError::ModelStream => "model_stream",
                SimError::Cut => "cut",
            }
        );
        let config = Config::parse(std::path::Path::new("llmbench.toml"), &text).expect("config");
        assert_eq!(config.sim, sim);
        for (target, (class, status)) in
            ["sim-bedrock", "sim-bedrock-invoke", "sim-sagemaker"].into_iter().zip(expected)
        {
            let resolved = resolved(&config, target);
            let host = SimHost::start(sim.clone()).expect("sim");
            let runtime = load::client_runtime(1).expect("runtime");
            let record = runtime.block_on(async {
                let provider = connect(&resolved, Some(&host)).await.expect("client");
                let opts = RequestOptions { deadlines: resolved.deadlines, expected_chunks: 8, capture_text: false };
                load::run_one(&provider, &workload().request(0), 0, Phase::Measured, opts, std::time::Instant::now())
                    .await
            });
            drop(runtime);
            let e = record.error.expect("a failure");
            assert_eq!((e.class, e.status), (class, status), "{target} {error:?}: {e}");
            // A model error comes mid-stream, after content. A cut does too,
            // but on a loaded machine the SDK may meet it before it has handed
            // over any event (while send() still reads the response): still a
            // cut, the class asserted above, so its chunks are not asserted.
            if error == SimError::ModelStream {
                assert!(record.chunks >= 1, "{target} {error:?}: the failure comes mid-stream");
            }
        }
    }
}

/// Three requests sharing a 2,000-token prefix to `target` of a simulator
/// with a prefix cache that prefills at 40 µs a token.
#[cfg(any(feature = "bedrock", feature = "sagemaker"))]
fn three_with_a_shared_prefix(target: &str) -> Vec<RequestRecord> {
    let text = "[sim]\nttft = \"2ms\"\nitl = \"1ms\"\nprefix_cache = true\nprefill = \"40us\"\n\
                [targets.invoke-nova]\nprovider = \"sim\"\nprotocol = \"bedrock-invoke\"\nfamily = \"amazon-nova\"\n\
                [targets.invoke-meta]\nprovider = \"sim\"\nprotocol = \"bedrock-invoke\"\nfamily = \"meta\"\n\
                [targets.sagemaker-openai]\nprovider = \"sim\"\nprotocol = \"sagemaker\"\nformat = \"openai\"\n";
    // 2,000 tokens every request shares, ending in a cache point where the protocol has one.
    let workload = Workload::synthetic().input_tokens(20).output_tokens(4).shared_prefix(2000, 1.0);
    sent_to(text, target, &(0..3).map(|i| workload.request(i)).collect::<Vec<_>>())
}

/// `target` of `config`, with a 5 s timeout.
#[cfg(any(feature = "bedrock", feature = "sagemaker"))]
fn resolved(config: &Config, target: &str) -> crate::config::Target {
    let flags: crate::settings::SettingsLayer = toml::from_str("timeout = \"5s\"").expect("a layer");
    let layers = [crate::settings::Layer { source: &crate::settings::Source::Flags, settings: &flags }];
    let settings = crate::settings::Settings::resolve(&layers, |_, _| Ok(())).expect("settings");
    crate::config::resolve(config, target, &settings).expect("a target")
}

/// `requests` sent in turn to `target` of the configuration `text`, whose
/// simulator starts here; the text kept.
#[cfg(any(feature = "bedrock", feature = "sagemaker"))]
fn sent_to(text: &str, target: &str, requests: &[crate::provider::GenRequest]) -> Vec<RequestRecord> {
    let config = Config::parse(std::path::Path::new("llmbench.toml"), text).expect("config");
    let resolved = resolved(&config, target);
    let host = SimHost::start(config.sim.clone()).expect("sim");
    let runtime = load::client_runtime(1).expect("runtime");
    runtime.block_on(async {
        let provider = connect(&resolved, Some(&host)).await.expect("client");
        let opts = RequestOptions { deadlines: resolved.deadlines, expected_chunks: 8, capture_text: true };
        let mut records = Vec::new();
        for (i, request) in requests.iter().enumerate() {
            let at = std::time::Instant::now();
            records.push(load::run_one(&provider, request, i as u64, Phase::Measured, opts, at).await);
        }
        records
    })
}

/// The first of [`three_with_a_shared_prefix`] writes the prefix to the
/// cache and the later ones read it, and usage says so: `writes` whether
/// the protocol reports cache writes (OpenAI's usage has reads only).
#[cfg(any(feature = "bedrock", feature = "sagemaker"))]
fn assert_the_prefix_is_cached(target: &str, records: &[RequestRecord], writes: bool) {
    let usage: Vec<_> = records.iter().map(|r| (r.error.clone(), r.cache_read_tokens, r.cache_write_tokens)).collect();
    assert!(records.iter().all(|r| r.error.is_none()), "{target}: {usage:?}");
    let (first, later) = (&records[0], &records[1..]);
    assert_eq!(first.cache_read_tokens, Some(0), "{target}: {usage:?}");
    let cached = if writes {
        let written = first.cache_write_tokens.expect("the first request writes the prefix");
        // Up to the cache point, or the whole prompt where there is none (Meta).
        assert!((1800..=2100).contains(&written), "{target}: the blocks cached: {usage:?}");
        written
    } else {
        assert_eq!(first.cache_write_tokens, None, "{target}: {usage:?}");
        2000
    };
    for r in later {
        // Tokens are apportioned to blocks by bytes, so a token either way.
        let read = r.cache_read_tokens.expect("a hit is reported");
        assert!(read.abs_diff(cached) <= 60, "{target}: the later ones read the prefix: {usage:?}");
        if writes {
            assert_eq!(r.cache_write_tokens, Some(0), "{target}: {usage:?}");
        }
        // A miss prefills ~2,000 tokens at 40 µs: 80 ms more than a hit.
        assert!(first.ttft_ms.unwrap() - r.ttft_ms.unwrap() > 40.0, "{target}: {:?} vs {:?}", first.ttft_ms, r.ttft_ms);
    }
    // The input count leaves the cache out where the protocol does; the
    // record's prompt counts it all (Meta's prompt template adds its headers).
    let counts: Vec<_> = records.iter().map(|r| (r.prompt_tokens, r.input_tokens_generated)).collect();
    for (prompt, generated) in &counts {
        let (prompt, generated) = (prompt.expect("a prompt count"), generated.expect("a generated count"));
        let headers = if target == "invoke-meta" { 100 } else { 0 };
        assert!((generated..=generated + headers).contains(&prompt), "{target}: {counts:?}");
    }
}

#[cfg(feature = "bedrock")]
#[test]
fn the_simulators_bedrock_streams_cache_up_to_the_cache_point_and_report_it() {
    // Converse `cacheRead/WriteInputTokens`; the Anthropic family's
    // `cache_read/creation_input_tokens`; Nova's usage; and the invocation
    // metrics every invoke family ends with (Meta has nothing else).
    for target in ["sim-bedrock", "sim-bedrock-invoke", "invoke-nova", "invoke-meta"] {
        assert_the_prefix_is_cached(target, &three_with_a_shared_prefix(target), true);
    }
}

#[cfg(feature = "sagemaker")]
#[test]
fn the_simulators_sagemaker_openai_stream_reports_cached_tokens() {
    let target = "sagemaker-openai";
    assert_the_prefix_is_cached(target, &three_with_a_shared_prefix(target), false);
}

#[cfg(feature = "bedrock")]
#[test]
fn the_simulators_converse_and_anthropic_streams_think_and_call_tools() {
    use crate::provider::Message;
    let fast = "[sim]\nttft = \"2ms\"\nitl = \"1ms\"\n";
    let schema = r#"{"type": "object", "required": ["city"], "properties": {"city": {"type": "string"}}}"#;
    let thinking = Workload::synthetic().input_tokens(20).output_tokens(12).thinking_budget(1024).request(0);
    let tools = Workload::synthetic().input_tokens(20).output_tokens(12).tool("get_weather", "", schema).request(0);
    for target in ["sim-bedrock", "sim-bedrock-invoke"] {
        let [reasoned, called]: [RequestRecord; 2] =
            sent_to(fast, target, &[thinking.clone(), tools.clone()]).try_into().expect("two records");
        // Thinking: reasoning deltas first, then the answer.
        assert_eq!(reasoned.error, None, "{target}");
        let (ttft, ttfo) = (reasoned.ttft_ms.expect("ttft"), reasoned.ttfo_ms.expect("ttfo"));
        assert!(ttfo > ttft, "{target}: the answer follows the reasoning: {ttft} {ttfo}");
        assert_eq!(reasoned.reasoning_tokens, Some(6), "{target}: half the answer, estimated from the text");
        assert!(reasoned.text.as_deref().is_some_and(|t| !t.is_empty()), "{target}: answer text after the reasoning");
        // Tools: one call to the declared tool, its arguments valid for the schema.
        assert_eq!(called.error, None, "{target}");
        assert_eq!((called.tool_calls, called.stop_reason.as_deref()), (1, Some("tool_use")), "{target}");
        assert!(called.ttftc_ms.is_some() && called.tool_call_ms >= called.ttftc_ms, "{target}");
        let call = &called.tool_call_text[0];
        assert_eq!(call.name, "get_weather", "{target}");
        assert!(!call.id.is_empty(), "{target}: the call's id is captured");
        let args: serde_json::Value = serde_json::from_str(&call.arguments).expect("JSON arguments");
        assert!(args["city"].is_string(), "{target}: {args}");
        // An agent step: the result goes back, and the model answers in text.
        let mut step = tools.clone();
        let made = crate::request::ToolCall {
            id: call.id.clone(),
            name: call.name.clone(),
            arguments: call.arguments.clone(),
        };
        step.messages.push(Message::assistant("", vec![made]));
        step.messages.push(Message::tool_result(&call.id, r#"{"temp_c": 21}"#));
        let [answer]: [RequestRecord; 1] = sent_to(fast, target, &[step]).try_into().expect("one record");
        assert_eq!((answer.error.as_ref(), answer.tool_calls), (None, 0), "{target}");
        assert!(answer.text.as_deref().is_some_and(|t| !t.is_empty()), "{target}");
        assert!(answer.prompt_tokens > called.prompt_tokens, "{target}: the step carries the call and its result");
        assert_eq!(
            sent_to(fast, target, &[Workload::synthetic().input_tokens(20).output_tokens(5).request(0)])[0]
                .reasoning_tokens,
            None,
            "{target}: no thinking asked, none played"
        );
    }
}
