//! Runs the simulator for a `sim` target on a runtime of its own (one
//! worker thread), so its timers are not queued behind the client's parsing
//! on the client's worker threads (they still share the machine's cores).

use crate::sim::{FlushRecord, SimConfig, SimServer};

/// A simulator on a dedicated runtime; stopped on drop.
pub(crate) struct SimHost {
    server: Option<SimServer>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl SimHost {
    /// Starts a simulator with `config` on 127.0.0.1. Call it outside any
    /// async runtime (it blocks until the port is bound).
    pub(crate) fn start(config: SimConfig) -> std::io::Result<SimHost> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("llmbench-sim")
            .enable_all()
            .build()?;
        let server = runtime.block_on(SimServer::start(config))?;
        Ok(SimHost { server: Some(server), runtime: Some(runtime) })
    }

    /// `http://127.0.0.1:PORT/v1`.
    pub(crate) fn base_url(&self) -> String {
        self.server.as_ref().map(SimServer::base_url).unwrap_or_default()
    }

    /// `http://127.0.0.1:PORT`: the endpoint URL of the AWS protocols.
    #[cfg(feature = "_aws")]
    pub(crate) fn url(&self) -> String {
        self.server.as_ref().map(SimServer::url).unwrap_or_default()
    }

    /// The flush records of streams that ended since the last call.
    pub(crate) fn flushes(&self) -> Vec<FlushRecord> {
        self.server.as_ref().map(SimServer::flushes).unwrap_or_default()
    }
}

impl Drop for SimHost {
    fn drop(&mut self) {
        // Dropping the server wakes its accept loop, which closes the port.
        drop(self.server.take());
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
