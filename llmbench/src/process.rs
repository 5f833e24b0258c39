//! The operating system's side of running benchmarks: file descriptor
//! limits, SIGPIPE, and `cargo llmbench`'s child processes (signals
//! forwarded to them, and no child outliving its parent).
//!
//! Everything here is a no-op where the platform has no such thing, so the
//! callers need no `cfg`.

use std::io;
use std::process::{Command, ExitStatus};

use crate::exit_code;

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

/// Puts SIGPIPE back to its default, as command-line tools do: a reader
/// that went away (`cargo llmbench … | head -1`) ends this process quietly
/// instead of making every print fail. Only for processes that do not
/// write to sockets (a peer that closed would kill them too).
pub(crate) fn default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to SIG_DFL has no preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The variable through which `cargo llmbench` tells a benchmark binary its
/// pid, so the child can notice being orphaned where `PR_SET_PDEATHSIG`
/// does not exist.
pub(crate) const PARENT_PID_ENV: &str = "LLMBENCH_PARENT_PID";

/// Runs `cmd` to its end and returns its exit code (128 + the signal for a
/// child killed by one). On unix, SIGINT, SIGTERM and SIGHUP received
/// meanwhile are forwarded to the child (it stops, keeping what it
/// measured) and waited for; on Linux the child also gets SIGTERM when
/// this process dies, so no benchmark keeps sending load unattended.
pub(crate) fn spawn_child(cmd: &mut Command) -> io::Result<std::process::Child> {
    cmd.env(PARENT_PID_ENV, std::process::id().to_string());
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: getpid() before the fork; after it only async-signal-safe
        // calls (prctl, getppid) and no allocation.
        let parent = unsafe { libc::getpid() };
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM as libc::c_ulong, 0, 0, 0) != 0 {
                    return Err(io::Error::last_os_error());
                }
                // The parent died between fork and prctl: do not start.
                if libc::getppid() != parent {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
    let child = cmd.spawn()?;
    forward::set_child(child.id());
    Ok(child)
}

/// Waits for a child [`spawn_child`] started; returns its exit code
/// (128 + the signal that ended it, as shells report it).
pub(crate) fn wait_child(mut child: std::process::Child) -> io::Result<i32> {
    let status = child.wait();
    forward::set_child(0);
    status.map(code_of)
}

/// Runs `cmd` as [`spawn_child`] then [`wait_child`].
pub(crate) fn run_child(cmd: &mut Command) -> io::Result<i32> {
    wait_child(spawn_child(cmd)?)
}

/// A child's exit code, or 128 + the signal that killed it.
fn code_of(status: ExitStatus) -> i32 {
    if let Some(code) = status.code() {
        return code;
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return 128 + signal;
        }
    }
    exit_code::ERROR
}

/// While it lives, SIGINT, SIGTERM and SIGHUP do not kill this process:
/// they are forwarded to the running child ([`run_child`]) and remembered
/// ([`Forwarding::received`]), so the caller can stop after the child and
/// still write what the children measured.
pub(crate) struct Forwarding {
    #[cfg(unix)]
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

impl Forwarding {
    /// Installs the forwarding handlers.
    pub(crate) fn install() -> Forwarding {
        #[cfg(unix)]
        {
            Forwarding { previous: forward::install() }
        }
        #[cfg(not(unix))]
        {
            Forwarding {}
        }
    }

    /// The exit code for the signal received since [`Forwarding::install`]
    /// (128 + its number), if one was.
    pub(crate) fn received(&self) -> Option<i32> {
        forward::received().map(|signal| 128 + signal)
    }
}

impl Drop for Forwarding {
    fn drop(&mut self) {
        #[cfg(unix)]
        forward::restore(&self.previous);
    }
}

#[cfg(unix)]
mod forward {
    use std::sync::atomic::{AtomicI32, Ordering};

    /// The running child's pid, 0 when none.
    static CHILD: AtomicI32 = AtomicI32::new(0);
    /// The last signal received, 0 when none.
    static RECEIVED: AtomicI32 = AtomicI32::new(0);

    const SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

    extern "C" fn on_signal(signal: libc::c_int) {
        RECEIVED.store(signal, Ordering::SeqCst);
        let child = CHILD.load(Ordering::SeqCst);
        if child > 0 {
            // SAFETY: kill is async-signal-safe.
            unsafe {
                libc::kill(child, signal);
            }
        }
    }

    pub(super) fn set_child(pid: u32) {
        CHILD.store(pid as i32, Ordering::SeqCst);
        // A signal that came between the spawn and this store found no
        // child: pass it on now.
        let signal = RECEIVED.load(Ordering::SeqCst);
        if pid > 0 && signal != 0 {
            // SAFETY: sending a signal to our own child.
            unsafe {
                libc::kill(pid as i32, signal);
            }
        }
    }

    pub(super) fn received() -> Option<i32> {
        Some(RECEIVED.load(Ordering::SeqCst)).filter(|&s| s != 0)
    }

    pub(super) fn install() -> Vec<(libc::c_int, libc::sigaction)> {
        let mut previous = Vec::new();
        for signal in SIGNALS {
            // SAFETY: a zeroed sigaction is a valid value to fill in; the
            // handler only touches atomics and calls kill.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, &action, &mut old) == 0 {
                    previous.push((signal, old));
                }
            }
        }
        previous
    }

    pub(super) fn restore(previous: &[(libc::c_int, libc::sigaction)]) {
        for (signal, old) in previous {
            // SAFETY: putting back the action sigaction gave us.
            unsafe {
                libc::sigaction(*signal, old, std::ptr::null_mut());
            }
        }
    }
}

#[cfg(not(unix))]
mod forward {
    pub(super) fn set_child(_pid: u32) {}
    pub(super) fn received() -> Option<i32> {
        None
    }
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

    #[cfg(unix)]
    #[test]
    fn a_child_killed_by_a_signal_exits_128_plus_it() {
        let code = run_child(Command::new("sh").args(["-c", "kill -TERM $$"])).expect("sh runs");
        assert_eq!(code, exit_code::TERMINATED);
        let code = run_child(Command::new("sh").args(["-c", "exit 3"])).expect("sh runs");
        assert_eq!(code, 3);
    }

    /// Set in the helper process of [`a_child_dies_with_its_parent`].
    #[cfg(target_os = "linux")]
    const ORPHAN_PARENT_ENV: &str = "LLMBENCH_TEST_ORPHAN_PARENT";

    /// The parent of [`a_child_dies_with_its_parent`]: this test binary run
    /// again, starting `sleep` through [`run_child`] (the child prints its
    /// pid, then sleeps).
    #[cfg(target_os = "linux")]
    #[test]
    #[ignore = "a helper process of a_child_dies_with_its_parent"]
    fn orphan_parent() {
        if std::env::var_os(ORPHAN_PARENT_ENV).is_none() {
            return;
        }
        let _ = run_child(Command::new("sh").args(["-c", "echo child $$; exec sleep 60"]));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_child_dies_with_its_parent() {
        use std::io::BufRead;
        let exe = std::env::current_exe().expect("the test binary");
        let mut parent = Command::new(exe)
            .args(["--exact", "process::tests::orphan_parent", "--ignored", "--nocapture", "--test-threads=1"])
            .env(ORPHAN_PARENT_ENV, "1")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("the helper starts");
        let stdout = parent.stdout.take().expect("piped");
        let child: u32 = std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            // libtest may print "test … ... " before it on the same line.
            .find_map(|line| line.rsplit_once("child ").and_then(|(_, pid)| pid.trim().parse().ok()))
            .expect("the child prints its pid");
        parent.kill().expect("SIGKILL the parent");
        parent.wait().expect("reap the parent");
        let alive = || {
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            let state = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next());
            state.is_some_and(|s| s != "Z" && s != "X")
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while alive() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let orphaned = alive();
        if orphaned {
            // SAFETY: our own test's stray process.
            unsafe {
                libc::kill(child as i32, libc::SIGKILL);
            }
        }
        assert!(!orphaned, "the child {child} outlived its parent");
    }

    #[test]
    fn the_limit_is_raised_as_far_as_allowed() {
        // Raising to the hard limit is idempotent; it never lowers.
        let first = raise_fd_limit();
        assert_eq!(raise_fd_limit(), first);
    }
}
