//! Every exit code of `cargo llmbench` and of benchmark binaries, in one
//! place. These are a stable interface: scripts and CI depend on them.

/// The run finished and nothing failed.
pub const OK: i32 = 0;
/// Something went wrong that is not the user's input: a build failed, a
/// results file could not be written, a benchmark binary crashed.
pub const ERROR: i32 = 1;
/// Bad usage or configuration: an unknown flag, a malformed `llmbench.toml`,
/// an unknown target, a missing environment variable.
pub const USAGE: i32 = 2;
/// A metric regressed or a limit failed (reserved for the regression gate).
pub const REGRESSION: i32 = 3;
/// No benchmark matched the filter.
pub const NO_BENCHMARKS: i32 = 4;
/// The endpoint failed the run: for some benchmark × target, every level
/// failed at least [`FAILING_ERROR_RATE`] of its measured requests, or a
/// level stopped early at a dead endpoint (connections failing one after
/// another). Results are written, but they describe failures: a CI job
/// must not take the run for a healthy one.
pub const ENDPOINT_FAILED: i32 = 5;

/// The error rate at or above which every level of a benchmark × target
/// makes the run exit [`ENDPOINT_FAILED`].
pub const FAILING_ERROR_RATE: f64 = 0.5;

// A run stopped by a signal exits 128 + the signal's number, as a shell
// reports a process killed by it, after keeping what it measured: every
// completed request, the requests in flight as `cut`, the run marked
// `partial`, results (and the report) written.

/// Stopped by SIGHUP (the terminal went away).
pub const HANGUP: i32 = 129;
/// Stopped by SIGINT (Ctrl-C).
pub const INTERRUPTED: i32 = 130;
/// Stopped because standard output was closed (`… | head -1`), as SIGPIPE
/// would have, but quietly and with the results written.
pub const BROKEN_PIPE: i32 = 141;
/// Stopped by SIGTERM, or because `cargo llmbench` (the parent) died.
pub const TERMINATED: i32 = 143;

/// Whether `code` says the run was stopped by a signal (or a closed stdout).
pub fn is_interruption(code: i32) -> bool {
    [HANGUP, INTERRUPTED, BROKEN_PIPE, TERMINATED].contains(&code)
}

/// Combines the exit codes of several benchmark binaries into one: an
/// interruption first (the user asked to stop, and scripts must see that),
/// then usage errors, errors, a failed endpoint, regressions; "nothing matched" only when
/// nothing matched anywhere.
pub fn combine(codes: &[i32]) -> i32 {
    if let Some(&stopped) = codes.iter().find(|&&c| is_interruption(c)) {
        return stopped;
    }
    let worst = [USAGE, ERROR, ENDPOINT_FAILED, REGRESSION].into_iter().find(|c| codes.contains(c));
    if let Some(code) = worst {
        return code;
    }
    if let Some(other) = codes.iter().copied().find(|c| ![OK, NO_BENCHMARKS].contains(c)) {
        return other;
    }
    if !codes.is_empty() && codes.iter().all(|&c| c == NO_BENCHMARKS) {
        return NO_BENCHMARKS;
    }
    OK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combining() {
        assert_eq!(combine(&[OK, NO_BENCHMARKS]), OK);
        assert_eq!(combine(&[NO_BENCHMARKS, NO_BENCHMARKS]), NO_BENCHMARKS);
        assert_eq!(combine(&[]), OK);
        assert_eq!(combine(&[OK, REGRESSION, ERROR]), ERROR);
        assert_eq!(combine(&[REGRESSION, USAGE]), USAGE);
        assert_eq!(combine(&[OK, 101]), 101);
        assert_eq!(combine(&[USAGE, TERMINATED]), TERMINATED);
        assert_eq!(combine(&[OK, INTERRUPTED, ERROR]), INTERRUPTED);
        assert_eq!(combine(&[OK, ENDPOINT_FAILED, REGRESSION]), ENDPOINT_FAILED);
        assert_eq!(combine(&[ENDPOINT_FAILED, ERROR]), ERROR);
    }
}
