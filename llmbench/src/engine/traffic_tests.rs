//! Real traffic through whole levels against the simulator: conversations
//! (sessions of turns, their history cached by the simulator's prefix
//! cache), a shared prefix's hits and misses, and trace replay at the
//! trace's own (scaled) timestamps.

use std::sync::Arc;
use std::time::Duration;

use super::levels::run_levels;
use super::levels::tests::{input, plan};
use crate::load::Cancel;
use crate::load::closed::tests::provider;
use crate::load::sweep::Level;
use crate::record::Phase;
use crate::settings::{ReplaySpeed, Shape};
use crate::sim::{Delay, SimConfig, SimServer};
use crate::workload::Workload;

/// A simulator with a prefix cache whose prefill costs `prefill_us` a token.
async fn cache_sim(prefill_us: u64) -> SimServer {
    let config = SimConfig {
        ttft: Delay::ms(3),
        itl: Delay::ms(1),
        output_tokens: Some(6),
        prefix_cache: true,
        prefill: Delay::Fixed(Duration::from_micros(prefill_us)),
        ..SimConfig::default()
    };
    SimServer::start(config).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_report_sessions_and_turns_and_hit_the_prefix_cache() {
    let sim = cache_sim(10).await;
    let workload = Workload::conversation(3).input_tokens(120).output_tokens(6).think_time(Delay::ms(10));
    let load = plan(Shape::Levels(vec![Level::Concurrency(2)]));
    let mut input = input(&workload, &load, 4);
    input.warmup = 1;
    let out = run_levels(&input, Arc::new(provider(sim.base_url())), &Cancel::default()).await;
    let level = &out.levels[0];
    let s = level.sessions.as_ref().expect("a conversation level has session figures");
    assert_eq!((s.started, s.completed, s.failed, s.unfinished), (4, 4, 0, 0), "{s:?}");
    assert_eq!(s.turns_completed.as_ref().unwrap().mean, 3.0);
    assert_eq!(
        s.per_turn.iter().map(|t| (t.turn, t.figures.requests, t.figures.ok)).collect::<Vec<_>>(),
        [(0, 4, 4), (1, 4, 4), (2, 4, 4)]
    );
    let prompts: Vec<f64> = s.per_turn.iter().map(|t| t.prompt_tokens.unwrap()).collect();
    assert!(prompts[0] < prompts[1] && prompts[1] < prompts[2], "the history grows: {prompts:?}");
    assert_eq!(level.requests.attempted, 12, "samples count sessions: 4 of 3 turns");
    assert_eq!(level.concurrency, 2);
    // Every later turn re-sends the prompt of the turn before, which the
    // simulator cached (all but its last, partial, block).
    let measured: Vec<_> = out.records.iter().filter(|r| r.phase == Phase::Measured).collect();
    for r in &measured {
        let read = r.cache_read_tokens.unwrap_or(0);
        let before =
            measured.iter().find(|p| p.session == r.session && p.turn.zip(r.turn).is_some_and(|(a, b)| a + 1 == b));
        match before {
            None => assert_eq!((r.turn, read), (Some(0), 0), "a session's first turn is new to the cache"),
            Some(p) => {
                let sent = p.prompt_tokens.unwrap();
                // Tokens are apportioned by bytes: a few either way.
                assert!(
                    read <= sent + 16 && read + 80 >= sent,
                    "turn {:?} read {read}, the turn before sent {sent}",
                    r.turn
                );
            }
        }
    }
    let cache = level.cache.as_ref().expect("the simulator reports cached tokens");
    assert_eq!(cache.hits, 8, "turns 1 and 2 of four sessions");
    assert!(cache.ttft_hit.is_some() && cache.ttft_miss.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_prefix_hits_the_simulators_cache_and_hits_are_faster() {
    // 2,000 shared tokens at 40 µs each: a miss prefills ~80 ms more.
    let sim = cache_sim(40).await;
    let workload = Workload::synthetic().input_tokens(20).output_tokens(4).shared_prefix(2000, 0.5);
    let load = plan(Shape::Levels(vec![Level::Concurrency(1)]));
    let mut input = input(&workload, &load, 16);
    input.warmup = 2;
    let out = run_levels(&input, Arc::new(provider(sim.base_url())), &Cancel::default()).await;
    let cache = out.levels[0].cache.as_ref().expect("cache figures");
    assert!(cache.hits >= 4 && cache.hits < 16, "about half share the prefix: {cache:?}");
    let (hit, miss) = (cache.ttft_hit.as_ref().unwrap().mean, cache.ttft_miss.as_ref().unwrap().mean);
    assert!(miss - hit > 50.0, "a hit skips the shared prefix's prefill: hit {hit:.1} ms, miss {miss:.1} ms");
    assert!(cache.cache_hit_ratio > 0.2 && cache.cache_hit_ratio < 0.95, "{cache:?}");
}

/// Six requests over 0.9 s, the third and fourth 50 ms apart.
const TRACE: &str = "{\"timestamp_ms\": 1000, \"input_tokens\": 50, \"output_tokens\": 3}\n\
                     {\"timestamp_ms\": 1100, \"input_tokens\": 60, \"output_tokens\": 3}\n\
                     {\"timestamp_ms\": 1150, \"input_tokens\": 70, \"output_tokens\": 4}\n\
                     {\"timestamp_ms\": 1400, \"input_tokens\": 80, \"output_tokens\": 3}\n\
                     {\"timestamp_ms\": 1450, \"input_tokens\": 90, \"output_tokens\": 3}\n\
                     {\"timestamp_ms\": 1900, \"input_tokens\": 100, \"output_tokens\": 5}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trace_replays_open_loop_at_its_own_timestamps_scaled() {
    let sim = cache_sim(0).await;
    let workload = Workload::trace_str("t.jsonl", TRACE);
    workload.validate(Some(6)).unwrap();
    let mut load = plan(Shape::Levels(vec![Level::Concurrency(1)]));
    load.replay_speed = Some(ReplaySpeed::Factor(2.0));
    let mut input = input(&workload, &load, 5);
    input.warmup = 1;
    let out = run_levels(&input, Arc::new(provider(sim.base_url())), &Cancel::default()).await;
    let level = &out.levels[0];
    assert_eq!((level.concurrency, level.requests.attempted, level.requests.ok), (0, 5, 5), "open loop");
    let mut measured: Vec<_> = out.records.iter().filter(|r| r.phase == Phase::Measured).collect();
    measured.sort_by_key(|r| r.start_us);
    let starts: Vec<u64> = measured.iter().map(|r| r.start_us).collect();
    assert_eq!(starts, [50_000, 75_000, 200_000, 225_000, 450_000], "the trace's clock at twice its speed");
    let wanted: Vec<Option<u64>> = measured.iter().map(|r| r.input_tokens_requested).collect();
    assert_eq!(wanted, [60, 70, 80, 90, 100].map(Some), "the traced prompt lengths");
    assert_eq!(measured.iter().map(|r| r.output_tokens).collect::<Vec<_>>(), [3, 4, 3, 3, 5]);
    assert!((level.rate.unwrap() - 5.0 / 0.45).abs() < 0.01, "offered: {:?}", level.rate);
    assert_eq!(level.load.as_ref().unwrap().arrival.as_deref(), Some("trace"));

    // A rate level scales the trace to that mean rate, its shape kept.
    let load = plan(Shape::Levels(vec![Level::Rate(20.0)]));
    let mut input = super::levels::tests::input(&workload, &load, 6);
    input.warmup = 0;
    let out = run_levels(&input, Arc::new(provider(sim.base_url())), &Cancel::default()).await;
    let mut starts: Vec<u64> = out.records.iter().map(|r| r.start_us).collect();
    starts.sort_unstable();
    // Mean 5/0.9 s scaled to 20/s: the trace's clock runs 3.6 times faster.
    let expected = [0.0, 100.0, 150.0, 400.0, 450.0, 900.0].map(|ms: f64| (ms * 1e3 / 3.6) as u64);
    assert!(starts.iter().zip(expected).all(|(a, b)| a.abs_diff(b) <= 2), "{starts:?} vs {expected:?}");
    assert!((out.levels[0].rate.unwrap() - 20.0).abs() < 0.01);
}

#[test]
fn bad_traffic_input_names_the_file_line_and_key_before_anything_is_sent() {
    let sessions =
        Workload::sessions_str("s.jsonl", "{\"session\": \"a\", \"turns\": [\"hi\"]}\n{\"session\": \"b\"}\n");
    let err = sessions.validate(Some(4)).unwrap_err().to_string();
    assert!(err.starts_with("s.jsonl:2: turns: missing"), "{err}");
    let trace = Workload::trace_str("t.jsonl", "{\"timestamp_ms\": 0, \"input_tokens\": 5}\n");
    let err = trace.validate(Some(4)).unwrap_err().to_string();
    assert!(err.starts_with("t.jsonl:1: output_tokens: missing"), "{err}");
    let missing = Workload::trace("no/such/trace.jsonl").validate(Some(1)).unwrap_err().to_string();
    assert!(missing.contains("no/such/trace.jsonl"), "{missing}");
}
