//! The operating system's side of running benchmarks: file descriptor
//! limits, and telling a client-side resource shortage from an endpoint's
//! fault.
//!
//! Everything here is a no-op where the platform has no such thing, so the
//! callers need no `cfg`.

use std::io;

/// Descriptors kept free besides one per connection: results files, the
/// runtime's own (epoll, eventfd, timers), the simulator's listener, TLS
/// roots, stdio.
pub(crate) const FD_RESERVE: u64 = 64;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (a typical default
/// soft limit of 1024 cannot hold 1,000 concurrent connections) and
/// returns the soft limit now in force; `None` when unlimited or unknown.
pub(crate) fn raise_fd_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit writes into the struct we pass and nothing else.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let mut raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            // macOS refuses a soft limit above OPEN_MAX even when the hard
            // limit is "unlimited"; keep the old one then.
            // SAFETY: setrlimit reads the struct we pass.
            if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
                raised = limit;
            }
            limit = raised;
        }
        // rlim_t is u64 here but not on every unix.
        #[allow(clippy::unnecessary_cast)]
        let soft = limit.rlim_cur as u64;
        (limit.rlim_cur != libc::RLIM_INFINITY).then_some(soft)
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Why `limit` descriptors cannot carry a run that needs `needed`, as a
/// usage error that names both and what to do; `None` when they can.
pub(crate) fn fd_shortage(limit: Option<u64>, needed: u64) -> Option<String> {
    let limit = limit?;
    (limit < needed).then(|| {
        format!(
            "this run needs about {needed} file descriptors (one per concurrent connection, plus {FD_RESERVE} in reserve) \
             but the limit is {limit} (RLIMIT_NOFILE, already raised to its hard limit); \
             raise it (`ulimit -n {needed}` or the hard limit in /etc/security/limits.conf) or lower the concurrency or --max-in-flight"
        )
    })
}

/// Descriptors held in reserve while a run sends requests, released while
/// its results are written, so that a run which ran the process out of
/// descriptors can still save what it measured.
pub(crate) struct FdReserve(Vec<std::fs::File>);

impl FdReserve {
    /// How many a reserve holds: enough to write a run directory and read
    /// the previous one.
    const SIZE: usize = 8;

    /// Takes the reserve (as many as can be had).
    pub(crate) fn hold() -> FdReserve {
        let null = if cfg!(windows) { "NUL" } else { "/dev/null" };
        FdReserve((0..Self::SIZE).filter_map(|_| std::fs::File::open(null).ok()).collect())
    }

    /// Gives the descriptors back for the caller's use.
    pub(crate) fn release(&mut self) {
        self.0.clear();
    }
}

/// Whether an error (or one of its causes) is a client-side resource that
/// ran out: too many open files (process or system), no memory or buffer
/// space for a socket, no local port left. None of these is the
/// endpoint's fault.
pub(crate) fn is_local_exhaustion(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<io::Error>()
            && io.raw_os_error().is_some_and(is_exhaustion_errno)
        {
            return true;
        }
        next = e.source();
    }
    false
}

#[cfg(unix)]
fn is_exhaustion_errno(errno: i32) -> bool {
    [libc::EMFILE, libc::ENFILE, libc::ENOMEM, libc::ENOBUFS, libc::EADDRNOTAVAIL].contains(&errno)
}

#[cfg(not(unix))]
fn is_exhaustion_errno(_errno: i32) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shortage_names_the_limit_and_the_need() {
        assert_eq!(fd_shortage(None, 10_000), None, "unlimited");
        assert_eq!(fd_shortage(Some(1024), 1000), None);
        let message = fd_shortage(Some(256), 1064).expect("256 < 1064");
        assert!(message.contains("about 1064 file descriptors") && message.contains("the limit is 256"), "{message}");
        assert!(message.contains("ulimit -n 1064"), "{message}");
    }

    #[test]
    fn exhaustion_is_found_among_the_causes() {
        #[derive(Debug)]
        struct Wrapper(io::Error);
        impl std::fmt::Display for Wrapper {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tcp open error")
            }
        }
        impl std::error::Error for Wrapper {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        #[cfg(unix)]
        assert!(is_local_exhaustion(&Wrapper(io::Error::from_raw_os_error(libc::EMFILE))));
        assert!(!is_local_exhaustion(&Wrapper(io::Error::from(io::ErrorKind::ConnectionRefused))));
    }

    #[test]
    fn the_limit_is_raised_as_far_as_allowed() {
        // Raising to the hard limit is idempotent; it never lowers.
        let first = raise_fd_limit();
        assert_eq!(raise_fd_limit(), first);
    }
}
