//! Printing to a terminal, safely.
//!
//! - Text that came from a server (error messages, model output quoted by a
//!   failed check) may hold escape sequences: colours, a new window title
//!   (OSC), cursor moves that rewrite what was printed, a hyperlink that
//!   lies. [`safe`] removes every control character but `\n` and `\t`, and
//!   the Unicode bidirectional overrides that reorder what is shown, before
//!   such text is printed.
//! - Standard output may be closed by its reader (`cargo bench | head -1`).
//!   [`print`] then stops writing instead of panicking, and asks a running
//!   benchmark to stop and keep what it measured
//!   ([`crate::interrupt::Stop::StdoutClosed`]).

use std::borrow::Cow;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether `c` must not reach a terminal from untrusted text.
fn unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` without control characters (ESC, BEL, CR, C1 controls such as
/// CSI, …) other than `\n` and `\t`, and without bidirectional overrides.
pub(crate) fn safe(text: &str) -> Cow<'_, str> {
    if text.chars().any(unsafe_char) {
        Cow::Owned(text.chars().filter(|&c| !unsafe_char(c)).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// Set once a write to standard output found it closed.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` to standard output and flushes it. A closed stdout ends
/// the output quietly (nothing more is written) and asks a running
/// benchmark to stop; other write errors are ignored, as `print!` would
/// not be asked to report them.
pub(crate) fn print(text: &str) {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return;
    }
    let mut out = std::io::stdout().lock();
    let written = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    if let Err(e) = written
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        crate::interrupt::request(crate::interrupt::Stop::StdoutClosed);
    }
}

/// [`print`] with a newline.
pub(crate) fn println(text: &str) {
    print(&format!("{text}\n"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_are_removed_and_layout_kept() {
        let hostile = "\x1b]0;pwned\x07\x1b[31mred\x1b[0m\r\nline two\tcol\u{9b}2J \u{202E}gnp.exe";
        assert_eq!(safe(hostile), "]0;pwned[31mred[0m\nline two\tcol2J gnp.exe");
        assert!(matches!(safe("plain · text — ok\n"), Cow::Borrowed(_)));
    }

    /// Run alone in a process of its own by
    /// [`a_closed_stdout_stops_quietly`]: points fd 1 at a pipe nobody reads,
    /// prints, and puts fd 1 back.
    #[cfg(unix)]
    #[test]
    #[ignore = "a helper process of a_closed_stdout_stops_quietly"]
    fn print_to_a_closed_stdout() {
        if std::env::var_os("LLMBENCH_TEST_CLOSED_STDOUT").is_none() {
            return;
        }
        // SAFETY: plain descriptor calls on descriptors this test owns.
        let saved = unsafe {
            let mut ends = [0; 2];
            assert_eq!(libc::pipe(ends.as_mut_ptr()), 0);
            libc::close(ends[0]);
            let saved = libc::dup(1);
            libc::dup2(ends[1], 1);
            libc::close(ends[1]);
            saved
        };
        for i in 0..100 {
            println(&format!("line {i}"));
        }
        // SAFETY: restoring fd 1 from the copy taken above.
        unsafe {
            libc::dup2(saved, 1);
            libc::close(saved);
        }
        assert_eq!(crate::interrupt::requested(), Some(crate::interrupt::Stop::StdoutClosed));
    }

    #[cfg(unix)]
    #[test]
    fn a_closed_stdout_stops_quietly() {
        let exe = std::env::current_exe().expect("the test binary");
        let out = std::process::Command::new(exe)
            .args(["--exact", "term::tests::print_to_a_closed_stdout", "--ignored", "--test-threads=1"])
            .env("LLMBENCH_TEST_CLOSED_STDOUT", "1")
            .output()
            .expect("the helper runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}\n{stderr}");
        assert!(stdout.contains("1 passed"), "{stdout}");
    }
}
