//! The runner against the simulator: measured figures land near what the
//! simulator was told to do. Bounds are generous (a loaded 2-core machine
//! must not make this flaky); speed itself is judged by examples/overhead.rs.

use std::sync::Arc;
use std::time::Duration;

use super::{Cancel, Quiet, RequestOptions, closed_loop};
use crate::provider::Provider;
use crate::provider::openai::{OpenAiProvider, OpenAiSettings};
use crate::record::{Deadlines, Phase, TokenSource};
use crate::sim::{Delay, SimConfig, SimServer};
use crate::workload::Workload;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttft_tpot_and_itl_match_the_simulator() {
    let sim = SimServer::start(SimConfig {
        ttft: Delay::ms(100),
        itl: Delay::ms(10),
        output_tokens: Some(20),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let provider = Provider::OpenAi(OpenAiProvider::new(OpenAiSettings::chat(sim.base_url(), "sim")).unwrap());
    let workload = Workload::synthetic().output_tokens(20);
    let requests: Vec<_> = (0..8).map(|i| workload.request(i)).collect();
    let opts = RequestOptions {
        deadlines: Deadlines {
            first_content: Duration::from_secs(10),
            total: Duration::from_secs(20),
            idle: Duration::from_secs(20),
        },
        expected_chunks: 20,
        capture_text: false,
    };
    let out =
        closed_loop(Arc::new(provider), Arc::new(requests), 2, 2, opts, Arc::new(Quiet), &Cancel::default()).await;
    let measured: Vec<_> = out.records.iter().filter(|r| r.phase == Phase::Measured).collect();
    assert_eq!(measured.len(), 6);
    for r in measured {
        assert!(r.is_ok(), "{:?}", r.error);
        assert_eq!((r.chunks, r.output_tokens, r.output_source), (20, 20, TokenSource::Usage));
        assert_eq!(r.gaps_us.len() as u64, r.chunks - 1, "one ITL gap per pair of chunks");
        let ttft = r.ttft_ms.unwrap();
        assert!((99.0..130.0).contains(&ttft), "ttft {ttft} ms, configured 100 ms");
        // The simulator paces tokens on absolute deadlines: a first chunk read
        // late on a busy machine shortens the gaps after it, so TPOT and the
        // mean gap may dip below 10 ms by as much as TTFT rose above 100.
        let tpot = r.tpot_ms().unwrap();
        assert!((7.0..13.0).contains(&tpot), "tpot {tpot} ms, configured 10 ms");
        let e2e_expected = 100.0 + 19.0 * 10.0;
        assert!(r.e2e_ms >= e2e_expected - 1.0 && r.e2e_ms < e2e_expected + 60.0, "e2e {} ms", r.e2e_ms);
        let mean_gap = r.gaps_us.iter().map(|&g| f64::from(g)).sum::<f64>() / r.gaps_us.len() as f64 / 1e3;
        assert!((7.0..13.0).contains(&mean_gap), "mean ITL {mean_gap} ms");
    }
}
