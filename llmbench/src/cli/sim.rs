//! `cargo llmbench sim`: serves the simulator standalone until Ctrl-C, so
//! other tools and your own applications can be tested against it. One
//! server speaks every protocol this build has: OpenAI chat/completions,
//! Bedrock ConverseStream and InvokeModelWithResponseStream, SageMaker
//! InvokeEndpointWithResponseStream.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::config::file::{self, Config, ProviderKind};
use crate::exit_code;
use crate::sim::{SimConfig, SimServer};

/// `cargo llmbench sim [--port P] [--host IP] [--target NAME] [--config PATH]`.
#[derive(Debug, Args)]
pub(crate) struct SimArgs {
    /// Port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Address to listen on.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    host: IpAddr,
    /// Use the `sim` settings of this `provider = "sim"` target instead of `[sim]`.
    #[arg(long, value_name = "NAME")]
    target: Option<String>,
    /// The configuration file (default: llmbench.toml found upward from here).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Append each finished stream's flush times to PATH (JSON lines: when
    /// the request arrived and when each content chunk was written), the
    /// server's truth to hold a client's timings against.
    #[arg(long, value_name = "PATH")]
    flush_log: Option<PathBuf>,
}

/// Serves until Ctrl-C; returns the exit code.
pub(crate) fn run(args: &SimArgs) -> anyhow::Result<i32> {
    let mut sim = sim_config(args)?;
    sim.record_flushes |= args.flush_log.is_some();
    let mut log = match &args.flush_log {
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| usage(format!("cannot write the flush log {}: {e}", path.display())))?,
        ),
        None => None,
    };
    // Every client connection costs the server a descriptor.
    crate::process::raise_fd_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(async {
        let addr = SocketAddr::new(args.host, args.port);
        let server = SimServer::bind(sim, addr).await.with_context(|| format!("listening on {addr}"))?;
        crate::term::print(&banner(&server.url()));
        let stop = tokio::signal::ctrl_c();
        tokio::pin!(stop);
        // The log is appended every second, off the streams' paths, so a
        // killed server loses at most the last second.
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
        let stopped = loop {
            tokio::select! {
                stopped = &mut stop => break stopped,
                _ = tick.tick(), if log.is_some() => append_flushes(&server, log.as_mut()),
            }
        };
        append_flushes(&server, log.as_mut());
        server.shutdown().await;
        stopped.context("waiting for Ctrl-C")?;
        eprintln!("simulator stopped");
        Ok(exit_code::OK)
    })
}

fn append_flushes(server: &SimServer, log: Option<&mut std::fs::File>) {
    use std::io::Write;
    let Some(log) = log else { return };
    let mut out = Vec::new();
    crate::sim::write_flush_log(&server.flushes(), &mut out);
    if let Err(e) = log.write_all(&out) {
        eprintln!("warning: cannot append to the flush log: {e}");
    }
}

/// `[sim]`, or the named target's settings.
fn sim_config(args: &SimArgs) -> anyhow::Result<SimConfig> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let path = file::find(args.config.as_deref(), &[&cwd]).map_err(usage)?;
    let config = match &path {
        Some(path) => Config::load(path).map_err(usage)?,
        None => Config::default(),
    };
    let Some(name) = &args.target else { return Ok(config.sim) };
    match config.targets.get(name).map(|t| t.get_ref()) {
        Some(t) if t.provider == ProviderKind::Sim => Ok(t.sim.clone().unwrap_or(config.sim)),
        Some(_) => Err(usage(format!("target {name:?} is not a sim target"))),
        None if name == "sim" => Ok(config.sim),
        None => Err(usage(format!("no sim target {name:?} in the configuration"))),
    }
}

fn usage(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::new(super::build::UsageError(e.to_string()))
}

/// How to point each kind of client at the server.
fn banner(url: &str) -> String {
    #[allow(unused_mut)]
    let mut out = format!(
        "llmbench simulator listening on {url} (Ctrl-C to stop)\n  OpenAI:    base_url = \"{url}/v1\" (POST /v1/chat/completions, /v1/completions)\n"
    );
    #[cfg(feature = "_eventstream")]
    out.push_str(&format!(
        "  Bedrock:   endpoint_url = \"{url}\" (ConverseStream, InvokeModelWithResponseStream: any model id, any family)\n  SageMaker: endpoint_url = \"{url}\" (InvokeEndpointWithResponseStream: any endpoint name; tgi, lmi or openai bodies)\n  AWS clients need some credentials and a region; signatures are not checked.\n"
    ));
    out
}
