//! `--message-format json`: NDJSON events on stdout, one object per line,
//! each with `"schema": "llmbench-event"`, `"version"` ([`EVENT_VERSION`])
//! and a `"reason"`:
//!
//! | reason | fields |
//! | --- | --- |
//! | `bench-started` | `bench`, `target`, `samples`, `warmup`, `concurrency` |
//! | `progress` | `bench`, `target`, `level` (`c=8`, `20/s`, `s2 5→50/s`), `concurrency`, `done`, `total` (a level finished) |
//! | `result` | `bench`, `target`, `path` (the run directory, or null), `summary` (summary.json) |
//! | `comparison` | `bench`, `target`, `comparison` (a `Comparison`) |
//! | `limits` | `bench`, `target`, `limits` (`LimitOutcome`s) |
//! | `outcome` | `path`, `outcome`: the whole verdict of one benchmark × target (`bench`, `target`, `summary`, `comparison`, `no_comparison`, `limits`) — what `cargo llmbench` renders its tables and outputs from |
//! | `finished` | `exit_code`, `regressions`, `failed_limits` |
//!
//! Adding a reason or a field keeps the version; changing one bumps it.
//! Documented in docs/gate.md.

use serde_json::{Value, json};

/// Version of the event schema.
pub(crate) const EVENT_VERSION: u32 = 1;

/// Writes one event to stdout when `enabled`.
pub(crate) fn emit(enabled: bool, reason: &str, fields: Value) {
    if !enabled {
        return;
    }
    let mut event = json!({ "schema": "llmbench-event", "version": EVENT_VERSION, "reason": reason });
    if let (Some(map), Value::Object(extra)) = (event.as_object_mut(), fields) {
        map.extend(extra);
    }
    // One write per event; a closed stdout stops the run (crate::term).
    if let Ok(line) = serde_json::to_string(&event) {
        crate::term::println(&line);
    }
}
