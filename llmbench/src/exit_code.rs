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

/// Combines the exit codes of several benchmark binaries into one: usage
/// errors first, then errors, then regressions; "nothing matched" only when
/// nothing matched anywhere.
pub fn combine(codes: &[i32]) -> i32 {
    let worst = [USAGE, ERROR, REGRESSION].into_iter().find(|c| codes.contains(c));
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
    }
}
