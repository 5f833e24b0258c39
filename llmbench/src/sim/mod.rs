//! The built-in simulated endpoint: a real HTTP/1.1 server on loopback that
//! speaks the OpenAI-compatible streaming protocol with configurable delays,
//! capacity and failures. It is the default target, so `cargo llmbench`
//! works with no credentials and no network, and it is what the harness's
//! own timing tests run against.
//!
//! This module owns the simulator's configuration and its public handle;
//! `server` owns sockets, routing and requests, `stream` the paced SSE body,
//! `crate::delay` the delay distributions (drawn from the crate's seeded `rng`, so a
//! seed means the same thing in every llmbench version). It knows
//! nothing of the harness that measures it: the only thing shared with the
//! client side is the response id, which pairs a client's measurements with
//! the [`FlushRecord`]s kept here.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use llmbench::sim::{Delay, SimConfig, SimServer};
//!
//! let config = SimConfig { ttft: Delay::ms(20), itl: Delay::ms(5), ..SimConfig::default() };
//! let server = SimServer::start(config).await?;
//! // Point an OpenAI client at this:
//! assert!(server.base_url().starts_with("http://127.0.0.1:"));
//! server.shutdown().await;
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "_eventstream")]
mod aws;
pub mod faults;
pub(crate) mod model;
mod server;
mod stream;
#[cfg(test)]
mod tests;
pub(crate) mod traffic;

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, PoisonError};
use std::time::Instant;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use crate::delay::Delay;
pub use faults::{Fault, FaultKind};
pub use model::model_records;

/// How the simulated endpoint behaves. Every field has a default, so a
/// config names only what it changes:
///
/// ```toml
/// ttft = { normal = { mean = "120ms", stddev = "30ms" } }
/// itl = "12ms"
/// capacity = 16
/// error_rate = 0.02
/// error = "throttled"
/// ```
///
/// Same seed, same config: request number *n* (in arrival order) gets the
/// same delays, the same text and the same error decision in every run.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// Time to first token: from the moment a request gets a capacity slot
    /// to its first content chunk. Default 80 ms.
    pub ttft: Delay,
    /// Gap between successive content chunks, drawn afresh for each gap.
    /// Default 15 ms.
    pub itl: Delay,
    /// Fixed output length in tokens, capped by the request's `max_tokens`.
    /// `None` (the default) honours the request's `max_completion_tokens`
    /// or `max_tokens`, or 128 when it gives neither.
    pub output_tokens: Option<u32>,
    /// Tokens per content chunk; the last chunk may carry fewer. Default 1.
    pub chunk_tokens: u32,
    /// How many requests generate at once. Beyond it requests wait for a
    /// slot (in arrival order) before their response headers are sent and
    /// their TTFT clock starts, so latency grows with load as on a real
    /// server. `None` (the default) is unlimited.
    pub capacity: Option<u32>,
    /// Share of requests that fail, from 0.0 (the default) to 1.0.
    pub error_rate: f64,
    /// How failing requests fail. Default `throttled`.
    pub error: SimError,
    /// Seed of every random choice: delays, text and errors. Default 0.
    pub seed: u64,
    /// Keep the flush log ([`SimServer::flushes`]). Default off.
    pub record_flushes: bool,
    /// The fault matrix: how chosen requests misbehave (docs/faults.md).
    /// A request a fault hits ignores `error_rate`. Default none.
    pub faults: Vec<Fault>,
    /// Keep a prefix cache: prompt blocks seen before are read from it,
    /// skip prefill, and are reported in usage (OpenAI
    /// `prompt_tokens_details.cached_tokens`). Default off.
    pub prefix_cache: bool,
    /// Prefill time per prompt token not read from the cache, added to
    /// the TTFT (so TTFT grows with the prompt, and a cache hit shows).
    /// Default 0.
    pub prefill: Delay,
}

impl Default for SimConfig {
    fn default() -> SimConfig {
        SimConfig {
            ttft: Delay::ms(80),
            itl: Delay::ms(15),
            output_tokens: None,
            chunk_tokens: 1,
            capacity: None,
            error_rate: 0.0,
            error: SimError::Throttled,
            seed: 0,
            record_flushes: false,
            faults: Vec::new(),
            prefix_cache: false,
            prefill: Delay::ZERO,
        }
    }
}

impl SimConfig {
    /// Checks what the types cannot: ranges, and delays that make sense.
    pub fn validate(&self) -> Result<(), SimConfigError> {
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(SimConfigError::ErrorRate(self.error_rate));
        }
        if self.chunk_tokens == 0 {
            return Err(SimConfigError::Zero("chunk_tokens"));
        }
        if self.output_tokens == Some(0) {
            return Err(SimConfigError::Zero("output_tokens"));
        }
        if self.capacity == Some(0) {
            return Err(SimConfigError::Zero("capacity"));
        }
        if let Some(problem) = self.faults.iter().find_map(Fault::problem) {
            return Err(SimConfigError::Fault(problem));
        }
        for (key, delay) in [("ttft", &self.ttft), ("itl", &self.itl), ("prefill", &self.prefill)] {
            if let Some(problem) = delay.problem() {
                return Err(SimConfigError::Delay { key, problem });
            }
        }
        Ok(())
    }
}

/// How a failing request fails (see [`SimConfig::error_rate`]). In config:
/// `"throttled"`, `"server"`, `"model_stream"` or `"cut"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SimError {
    /// HTTP 429 with an OpenAI error body (`rate_limit_error`), at once.
    #[default]
    Throttled,
    /// HTTP 500 with an OpenAI error body (`server_error`), at once.
    Server,
    /// The stream starts, and after about half its chunks carries
    /// `data: {"error": {…}}` then `data: [DONE]`, as vLLM does.
    ModelStream,
    /// The stream starts, and after about half its chunks the connection
    /// is closed without `[DONE]` or the end of the chunked body.
    Cut,
}

/// A [`SimConfig`] that cannot be served.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimConfigError {
    /// `error_rate` outside 0..=1.
    #[error("sim error_rate {0} is outside 0.0..=1.0")]
    ErrorRate(f64),
    /// A count that must be at least 1.
    #[error("sim {0} must be at least 1")]
    Zero(&'static str),
    /// A `faults` entry that cannot be served.
    #[error("sim faults: {0}")]
    Fault(String),
    /// A delay that cannot be sampled.
    #[error("sim {key}: {problem}")]
    Delay {
        /// `ttft` or `itl`.
        key: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

/// When the content chunks of one streamed response were handed to the
/// connection, for checking the simulator's pacing and the harness's
/// timestamps against each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlushRecord {
    /// The response's `id` field (`chatcmpl-sim-<n>` or `cmpl-sim-<n>`).
    pub response_id: String,
    /// When the simulator started answering the request (before any wait
    /// for a capacity slot): the server's own start of its TTFT.
    pub received: Instant,
    /// One stamp per content chunk, in order: `Instant::now()` taken when
    /// the chunk's bytes were returned to hyper from the body's
    /// `poll_frame`, after its deadline had passed. Hyper writes it to the
    /// socket within that same task poll, so the client can read it a few
    /// microseconds later (loopback) — unless the client is slow to read.
    /// Role, finish, usage and `[DONE]` events are not stamped.
    pub chunk_times: Vec<Instant>,
}

/// Writes `records` as JSON lines, one per stream: `response_id`, `ttft_us`
/// (first content chunk written − request received) and `flushes_us` (each
/// content chunk's write, µs after the request was received). What
/// `cargo llmbench sim --flush-log` appends, and `examples/how_true.rs` reads.
pub fn write_flush_log(records: &[FlushRecord], out: &mut Vec<u8>) {
    for r in records {
        let offsets: Vec<u64> =
            r.chunk_times.iter().map(|t| t.saturating_duration_since(r.received).as_micros() as u64).collect();
        let line = serde_json::json!({
            "response_id": r.response_id,
            "ttft_us": offsets.first(),
            "flushes_us": offsets,
        });
        out.extend_from_slice(line.to_string().as_bytes());
        out.push(b'\n');
    }
}

/// A running simulator. Dropping it, or [`shutdown`](SimServer::shutdown),
/// stops accepting and closes every connection.
pub struct SimServer {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    /// Dropping or sending on it stops the accept loop.
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl SimServer {
    /// Starts a simulator on `127.0.0.1` at a free port.
    pub async fn start(config: SimConfig) -> std::io::Result<SimServer> {
        SimServer::bind(config, SocketAddr::from((Ipv4Addr::LOCALHOST, 0))).await
    }

    /// Starts a simulator on `addr` (port 0 picks a free port). An invalid
    /// config is an `InvalidInput` error.
    pub async fn bind(config: SimConfig, addr: SocketAddr) -> std::io::Result<SimServer> {
        config.validate().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
        // Load the tokenizer it counts prompts with now (about half a second
        // the first time in a process), not while the first requests wait.
        tokio::task::spawn_blocking(|| server::prompt_tokenizer().count("warm up"))
            .await
            .map_err(std::io::Error::other)?;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(server::Shared::new(config));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(server::accept_loop(listener, Arc::clone(&shared), stopped));
        Ok(SimServer { addr, shared, stop, task: Some(task) })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's root, `http://127.0.0.1:PORT`: the `endpoint_url` of an
    /// AWS SDK client for the Bedrock and SageMaker protocols.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The OpenAI base URL, `http://127.0.0.1:PORT/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Takes the flush records of the streams that have ended since the
    /// last call (in the order they ended); empty unless
    /// [`SimConfig::record_flushes`] is set. A stream's record is complete
    /// before its last frame is sent, so once a client has read `[DONE]` its
    /// record is here.
    pub fn flushes(&self) -> Vec<FlushRecord> {
        std::mem::take(&mut *self.shared.flushes.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Stops accepting, closes every connection (streams in flight are cut)
    /// and waits until the port and the sockets are closed.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl fmt::Debug for SimServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimServer").field("addr", &self.addr).field("config", &self.shared.config).finish()
    }
}

// Dropping `stop` wakes the accept loop, which closes the listener and
// aborts the connections: no `Drop` impl needed.

/// Serves a simulator on `addr` until Ctrl-C, for `cargo llmbench sim`.
/// Returns once the server has shut down.
pub async fn serve_standalone(config: SimConfig, addr: SocketAddr) -> std::io::Result<()> {
    let server = SimServer::bind(config, addr).await?;
    let stopped = tokio::signal::ctrl_c().await;
    server.shutdown().await;
    stopped
}

#[cfg(test)]
mod config_tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn defaults_and_toml() {
        let config: SimConfig = toml::from_str("").unwrap();
        assert_eq!(config, SimConfig::default());
        assert_eq!(config.validate(), Ok(()));
        let config: SimConfig = toml::from_str(
            r#"
            ttft = { exponential = "100ms" }
            itl = "12ms"
            output_tokens = 64
            chunk_tokens = 4
            capacity = 8
            error_rate = 0.25
            error = "model_stream"
            seed = 7
            record_flushes = true
            "#,
        )
        .unwrap();
        assert_eq!(config.ttft, Delay::Exponential { mean: Duration::from_millis(100) });
        assert_eq!(config.itl, Delay::ms(12));
        assert_eq!((config.output_tokens, config.chunk_tokens, config.capacity), (Some(64), 4, Some(8)));
        assert_eq!((config.error_rate, config.error, config.seed), (0.25, SimError::ModelStream, 7));
        assert!(config.record_flushes);
    }

    #[test]
    fn bad_config_is_a_clear_error() {
        let err = toml::from_str::<SimConfig>("ttfb = \"1ms\"").unwrap_err().to_string();
        assert!(err.contains("unknown field `ttfb`"), "{err}");
        let err = toml::from_str::<SimConfig>("error = \"flaky\"").unwrap_err().to_string();
        assert!(err.contains("unknown variant `flaky`"), "{err}");
        let check = |config: SimConfig| config.validate().unwrap_err().to_string();
        assert_eq!(
            check(SimConfig { error_rate: 1.5, ..SimConfig::default() }),
            "sim error_rate 1.5 is outside 0.0..=1.0"
        );
        assert_eq!(check(SimConfig { chunk_tokens: 0, ..SimConfig::default() }), "sim chunk_tokens must be at least 1");
        assert_eq!(check(SimConfig { capacity: Some(0), ..SimConfig::default() }), "sim capacity must be at least 1");
        let backwards = Delay::Uniform { min: Duration::from_millis(2), max: Duration::from_millis(1) };
        assert_eq!(
            check(SimConfig { itl: backwards, ..SimConfig::default() }),
            "sim itl: uniform delay min 2ms is greater than max 1ms"
        );
    }

    #[tokio::test]
    async fn invalid_config_does_not_start() {
        let err = SimServer::start(SimConfig { error_rate: -0.1, ..SimConfig::default() }).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
}
