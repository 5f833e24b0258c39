//! Crash-safe records: while a benchmark × target runs, each finished
//! request is appended as one JSON line to `<bench>/<target>/new.partial.jsonl`
//! (beside the run directory `new/`, which is only ever replaced whole), so a
//! run killed with `kill -9` loses at most the requests in flight and the
//! last second. A normal end writes the run atomically and removes the file;
//! readers never take it for a run (it is a file, not a directory with a
//! `summary.json`). docs/results-schema.md says how to recover it.
//!
//! Off the measured path: a request's record is cloned and sent over an
//! unbounded channel by the level's dispatcher once the request ended; a
//! thread of its own serialises, writes (buffered) and flushes at least
//! every [`FLUSH_EVERY`].

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::record::RequestRecord;

/// The longest a finished request waits in memory before it is written.
pub(crate) const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// Where the records of the run being written to `dir` go as they finish:
/// `new/` → `new.partial.jsonl` beside it.
pub fn partial_path(dir: &Path) -> PathBuf {
    let name = dir.file_name().map_or_else(|| "run".into(), |n| n.to_string_lossy().into_owned());
    dir.with_file_name(format!("{name}.partial.jsonl"))
}

/// Moves the records of a run that died (a non-empty `path`) to
/// `<name>.crashed-<unix seconds>.jsonl` beside it, so that a new run never
/// overwrites what an earlier one measured; where they went.
fn keep_stale(path: &Path) -> std::io::Result<Option<PathBuf>> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() > 0 => {}
        Ok(_) => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    }
    let name = path.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let stem = name.strip_suffix(".partial.jsonl").unwrap_or(&name);
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let kept = path.with_file_name(format!("{stem}.crashed-{secs}.jsonl"));
    std::fs::rename(path, &kept)?;
    Ok(Some(kept))
}

/// Sends finished records to the writer; cheap to clone, never blocks.
#[derive(Clone, Debug)]
pub(crate) struct PartialSink(Sender<Option<RequestRecord>>);

impl PartialSink {
    /// Queues a record for writing (dropped silently once the writer stopped).
    pub(crate) fn send(&self, record: RequestRecord) {
        let _ = self.0.send(Some(record));
    }
}

/// The file of one run's records in progress and the thread writing it.
pub(crate) struct PartialRecords {
    path: PathBuf,
    sink: Option<PartialSink>,
    thread: Option<JoinHandle<bool>>,
    /// Every record sent so far is in the file (false once a write failed).
    whole: bool,
}

impl PartialRecords {
    /// Starts writing to [`partial_path`]`(dir)`. A stale one, the records
    /// of a run that died, is first moved aside (see [`keep_stale`]).
    pub(crate) fn start(dir: &Path) -> std::io::Result<PartialRecords> {
        let path = partial_path(dir);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        if let Some(kept) = keep_stale(&path)? {
            eprintln!(
                "warning: a run that died before finishing left its records in {}; they were moved to {} (docs/results-schema.md)",
                path.display(),
                kept.display()
            );
        }
        let file = File::create(&path)?;
        let (tx, rx) = mpsc::channel();
        let shown = path.clone();
        let thread = std::thread::Builder::new()
            .name("llmbench-records".into())
            .spawn(move || write_lines(BufWriter::new(file), &rx, &shown))?;
        Ok(PartialRecords { path, sink: Some(PartialSink(tx)), thread: Some(thread), whole: true })
    }

    /// What the run's levels send their records to.
    pub(crate) fn sink(&self) -> Option<PartialSink> {
        self.sink.clone()
    }

    /// The file.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Waits for the writer to write every record sent so far and stops
    /// it: the file then holds the run's every record, to be read; `None`
    /// when a write failed (the file lacks some).
    pub(crate) fn finish_writing(&mut self) -> Option<&Path> {
        self.stop();
        self.whole.then_some(self.path.as_path())
    }

    /// The run was written whole: the records in progress are no longer
    /// needed. Waits for the writer first, so nothing writes after.
    pub(crate) fn remove(mut self) {
        self.stop();
        if let Err(e) = std::fs::remove_file(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            eprintln!("warning: cannot remove {}: {e}", self.path.display());
        }
    }

    /// Tells the writer to stop and waits for it to write what it holds
    /// (a sink still alive somewhere then sends to no one).
    fn stop(&mut self) {
        if let Some(PartialSink(tx)) = self.sink.take() {
            let _ = tx.send(None);
        }
        if let Some(thread) = self.thread.take() {
            self.whole &= thread.join().unwrap_or(false);
        }
    }
}

/// Dropped without [`remove`](PartialRecords::remove) (the run failed to
/// be written): the file stays, complete up to here, for recovery.
impl Drop for PartialRecords {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The writer thread: a line per record, flushed at least every
/// [`FLUSH_EVERY`] while records come, and at the end. A failed write
/// stops it (saying so once); the run goes on, its final write unaffected.
/// Whether every record sent reached the file.
fn write_lines(mut out: BufWriter<File>, rx: &Receiver<Option<RequestRecord>>, path: &Path) -> bool {
    let mut unflushed: Option<Instant> = None;
    loop {
        let next = match unflushed {
            Some(since) => rx.recv_timeout(FLUSH_EVERY.saturating_sub(since.elapsed())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        let written = match next {
            Ok(Some(record)) => {
                unflushed.get_or_insert_with(Instant::now);
                serde_json::to_writer(&mut out, &record)
                    .map_err(std::io::Error::from)
                    .and_then(|()| out.write_all(b"\n"))
            }
            Err(RecvTimeoutError::Timeout) => Ok(()),
            Ok(None) | Err(RecvTimeoutError::Disconnected) => {
                if let Err(e) = out.flush() {
                    eprintln!("warning: cannot write {}: {e}", path.display());
                    return false;
                }
                return true;
            }
        };
        let due = unflushed.is_some_and(|since| since.elapsed() >= FLUSH_EVERY);
        if let Err(e) = written.and_then(|()| if due { out.flush() } else { Ok(()) }) {
            eprintln!("warning: cannot write {} (records of this run are kept in memory only): {e}", path.display());
            return false;
        }
        if due {
            unflushed = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(path: &Path) -> Vec<RequestRecord> {
        let text = std::fs::read_to_string(path).expect("the partial file");
        text.lines().map(|l| serde_json::from_str(l).expect("each line a whole record")).collect()
    }

    #[test]
    fn records_reach_the_file_within_a_second_while_the_run_goes_on() {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let dir = tmp.path().join("bench").join("sim").join("new");
        let partial = PartialRecords::start(&dir).expect("started");
        assert_eq!(partial.path(), tmp.path().join("bench/sim/new.partial.jsonl"));
        let sink = partial.sink().expect("a sink");
        for index in 0..3 {
            sink.send(RequestRecord {
                index,
                e2e_ms: 10.0,
                text: Some("a failed check's".into()),
                ..RequestRecord::default()
            });
        }
        // The writer is still running (the run is not over): what a
        // `kill -9` now would leave on disk.
        std::thread::sleep(FLUSH_EVERY + Duration::from_millis(300));
        let written = lines(partial.path());
        assert_eq!(written.iter().map(|r| r.index).collect::<Vec<_>>(), [0, 1, 2]);
        // Whole records, as the run saves them (a failed check keeps its text).
        assert!(written.iter().all(|r| r.text.as_deref() == Some("a failed check's") && r.e2e_ms == 10.0));
        sink.send(RequestRecord { index: 3, ..RequestRecord::default() });
        let path = partial.path().to_owned();
        // Dropped without being removed (the final write failed): kept,
        // whole; a sink still alive does not keep the writer waiting.
        drop(partial);
        sink.send(RequestRecord { index: 4, ..RequestRecord::default() });
        assert_eq!(lines(&path).len(), 4);
        let again = PartialRecords::start(&dir).expect("a stale file is moved aside");
        assert!(lines(again.path()).is_empty());
        again.remove();
        assert!(!path.exists(), "removed once the run is written");
        // The died run's records are kept beside it, never overwritten.
        let kept: Vec<_> = std::fs::read_dir(dir.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains(".crashed-"))
            .collect();
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!(lines(&kept[0]).iter().map(|r| r.index).collect::<Vec<_>>(), [0, 1, 2, 3]);
    }
}
