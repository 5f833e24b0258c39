//! What CI and other programs read: the gate's Markdown summary
//! (`--format md`, `$GITHUB_STEP_SUMMARY`), JUnit XML (`--junit`) and NDJSON
//! events (`--message-format json`).

pub(crate) mod events;
pub(crate) mod export;
pub(crate) mod junit;
pub(crate) mod markdown;
