//! The load generator's own CPU use, for the self-check: a client that is
//! CPU-bound delays its reads and sends, and would report its own slowness
//! as the server's.
//!
//! Linux only (from `/proc/self/task/*/schedstat`, nanosecond counters of
//! time on a CPU and time runnable but waiting for one); elsewhere there
//! is no figure and the check is skipped. Threads of an in-process
//! simulator (named `llmbench-sim`) are left out: they are the "server".

use std::time::Instant;

use serde::{Deserialize, Serialize};

/// The thread name of the in-process simulator's runtime.
pub(crate) const SIM_THREAD: &str = "llmbench-sim";

/// A snapshot of the client threads' CPU counters, per thread.
#[derive(Debug, Clone)]
pub(crate) struct CpuSnapshot {
    at: Instant,
    /// `(thread id, ns on a CPU, ns runnable but waiting)`.
    threads: Vec<(u64, u64, u64)>,
}

impl CpuSnapshot {
    /// Now, or `None` where the counters are not available.
    pub(crate) fn take() -> Option<CpuSnapshot> {
        let at = Instant::now();
        let tasks = std::fs::read_dir("/proc/self/task").ok()?;
        let mut threads = Vec::new();
        for task in tasks.flatten() {
            let Some(tid) = task.file_name().to_str().and_then(|s| s.parse::<u64>().ok()) else { continue };
            let dir = task.path();
            let comm = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
            if comm.trim_end() == SIM_THREAD {
                continue;
            }
            let Ok(stat) = std::fs::read_to_string(dir.join("schedstat")) else { continue };
            let mut fields = stat.split_ascii_whitespace().map(|f| f.parse::<u64>().unwrap_or(0));
            threads.push((tid, fields.next().unwrap_or(0), fields.next().unwrap_or(0)));
        }
        (!threads.is_empty()).then_some(CpuSnapshot { at, threads })
    }

    /// The use since `self`, over `cores` cores the client may use. Per
    /// thread, so threads that come and go (a blocking pool) do not skew
    /// it; the CPU time of a thread that ended in between is not counted.
    pub(crate) fn since(&self, cores: usize) -> Option<CpuUse> {
        let now = CpuSnapshot::take()?;
        let wall = now.at.duration_since(self.at).as_secs_f64();
        if wall <= 0.0 {
            return None;
        }
        let (mut run, mut wait) = (0u64, 0u64);
        for &(tid, r, w) in &now.threads {
            let (r0, w0) = self.threads.iter().find(|t| t.0 == tid).map_or((0, 0), |t| (t.1, t.2));
            run += r.saturating_sub(r0);
            wait += w.saturating_sub(w0);
        }
        let cores = cores.max(1) as f64;
        Some(CpuUse {
            busy: run as f64 / 1e9 / (wall * cores),
            runnable_wait: wait as f64 / 1e9 / wall,
            cores: cores as u32,
        })
    }
}

/// The client's CPU use over a level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CpuUse {
    /// CPU time of the client's threads / (wall time × `cores`): 1.0 means
    /// every core the client may use was busy all the time.
    pub busy: f64,
    /// Time the client's threads were runnable but waited for a CPU, per
    /// second of wall time (summed over threads): a sign of a machine
    /// shared with something else.
    pub runnable_wait: f64,
    /// The cores the client may use (the machine's, less an in-process
    /// simulator's).
    pub cores: u32,
}

/// The cores the client runtime uses when `reserved` are left to
/// in-process simulators (as `client_runtime` decides).
pub(crate) fn client_cores(reserved: usize) -> usize {
    let cores = std::thread::available_parallelism().map(usize::from).unwrap_or(1);
    cores.saturating_sub(reserved).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_thread_shows() {
        let Some(before) = CpuSnapshot::take() else { return };
        let until = Instant::now() + std::time::Duration::from_millis(60);
        let mut x = 0u64;
        while Instant::now() < until {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        let used = before.since(1).unwrap();
        // On a loaded machine the thread may have waited for a core instead
        // of running: either way it wanted the CPU, which is what shows.
        assert!(used.busy + used.runnable_wait > 0.3, "{used:?} ({x})");
    }
}
