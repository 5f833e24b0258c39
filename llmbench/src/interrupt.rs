//! Stopping a benchmark binary's run early without losing it.
//!
//! SIGINT (Ctrl-C), SIGTERM (`kill`, CI cancelling a job, a container
//! stopping) and SIGHUP (the terminal closed) are handled alike, as are a
//! closed standard output (`cargo bench | head -1`) and, where the kernel
//! cannot signal it, the death of `cargo llmbench` (the parent): sending
//! stops, every completed request is kept, the requests in flight become
//! records of class `cut` whose message says llmbench was interrupted, the
//! run is marked `partial`, its results (and report) are written, and the
//! binary exits 128 + the signal ([`crate::exit_code`]).
//!
//! [`watch`] turns any of these into a [`Cancel`] with that message; the
//! load loops turn the cancel into the `cut` records.

use std::sync::OnceLock;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::exit_code;
use crate::load::Cancel;

/// Why a run stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// SIGINT.
    Interrupt,
    /// SIGTERM.
    Terminate,
    /// SIGHUP.
    Hangup,
    /// Standard output was closed.
    StdoutClosed,
    /// `cargo llmbench`, which started this binary, is gone.
    ParentGone,
}

impl Stop {
    /// The exit code of a run stopped this way.
    pub(crate) fn exit_code(self) -> i32 {
        match self {
            Stop::Interrupt => exit_code::INTERRUPTED,
            Stop::Terminate | Stop::ParentGone => exit_code::TERMINATED,
            Stop::Hangup => exit_code::HANGUP,
            Stop::StdoutClosed => exit_code::BROKEN_PIPE,
        }
    }

    fn cause(self) -> &'static str {
        match self {
            Stop::Interrupt => "SIGINT",
            Stop::Terminate => "SIGTERM",
            Stop::Hangup => "SIGHUP",
            Stop::StdoutClosed => "standard output closed",
            Stop::ParentGone => "cargo llmbench exited",
        }
    }

    /// The message of a request in flight when the run stopped.
    pub(crate) fn message(self) -> String {
        format!("in flight when llmbench was interrupted ({}): cut", self.cause())
    }
}

/// The first reason to stop, and the wake-up of the watcher.
static STOP: OnceLock<Stop> = OnceLock::new();
static WAKE: OnceLock<Notify> = OnceLock::new();

fn wake() -> &'static Notify {
    WAKE.get_or_init(Notify::new)
}

/// Asks the running benchmark to stop (the first reason given wins).
pub(crate) fn request(stop: Stop) {
    if STOP.set(stop).is_ok() {
        // A stored permit: a watcher that is not waiting yet still wakes.
        wake().notify_one();
    }
}

/// Why the run was asked to stop, if it was.
pub(crate) fn requested() -> Option<Stop> {
    STOP.get().copied()
}

/// Watches for a reason to stop until aborted; on the first, cancels
/// `cancel` with [`Stop::message`]. The signal handlers are installed
/// before this returns (so no signal in between kills the process), which
/// needs a tokio runtime with I/O enabled.
pub(crate) fn watch(cancel: Cancel) -> JoinHandle<()> {
    let mut signals = Signals::install();
    let parent = expected_parent();
    tokio::spawn(async move {
        let stop = tokio::select! {
            stop = signals.next() => stop,
            () = wake().notified() => requested().unwrap_or(Stop::Interrupt),
            () = parent_gone(parent) => Stop::ParentGone,
        };
        request(stop);
        let stop = requested().unwrap_or(stop);
        if stop != Stop::StdoutClosed {
            eprintln!("\ninterrupted ({}): keeping the requests that completed, writing the results", stop.cause());
        }
        cancel.cancel_because(stop.message());
        // Later signals are absorbed: a terminal's Ctrl-C reaches both
        // `cargo llmbench` and this binary, and the parent forwards it too.
        signals.drain().await;
    })
}

/// The signals that stop a run.
struct Signals {
    #[cfg(unix)]
    streams: Vec<(Stop, tokio::signal::unix::Signal)>,
}

impl Signals {
    fn install() -> Signals {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let kinds = [
                (Stop::Interrupt, SignalKind::interrupt()),
                (Stop::Terminate, SignalKind::terminate()),
                (Stop::Hangup, SignalKind::hangup()),
            ];
            let streams = kinds.into_iter().filter_map(|(stop, kind)| signal(kind).ok().map(|s| (stop, s))).collect();
            Signals { streams }
        }
        #[cfg(not(unix))]
        {
            Signals {}
        }
    }

    /// The next signal received.
    #[cfg(unix)]
    async fn next(&mut self) -> Stop {
        std::future::poll_fn(|cx| {
            for (stop, stream) in &mut self.streams {
                if stream.poll_recv(cx).is_ready() {
                    return std::task::Poll::Ready(*stop);
                }
            }
            std::task::Poll::Pending
        })
        .await
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> Stop {
        match tokio::signal::ctrl_c().await {
            Ok(()) => Stop::Interrupt,
            Err(_) => std::future::pending().await,
        }
    }

    async fn drain(mut self) {
        loop {
            let _ = self.next().await;
        }
    }
}

/// The parent pid `cargo llmbench` passed, if it started this binary.
fn expected_parent() -> Option<u32> {
    std::env::var(crate::process::PARENT_PID_ENV).ok()?.parse().ok()
}

/// Returns once this process's parent is no longer `expected` (it died and
/// the process was re-parented); never without one. Linux signals the
/// parent's death itself (`PR_SET_PDEATHSIG`); this is for the others.
async fn parent_gone(expected: Option<u32>) {
    #[cfg(unix)]
    if let Some(expected) = expected {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
        loop {
            tick.tick().await;
            if std::os::unix::process::parent_id() != expected {
                return;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = expected;
    std::future::pending().await
}
