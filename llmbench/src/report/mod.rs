//! What people read: the terminal table and the progress bar; and what CI
//! reads: Markdown, JUnit and NDJSON events.

pub(crate) mod change;
pub(crate) mod events;
pub(crate) mod junit;
pub(crate) mod markdown;
pub(crate) mod progress;
pub(crate) mod terminal;
