//! What people read: the terminal table and the progress bar.

pub(crate) mod cost;
pub(crate) mod progress;
pub(crate) mod terminal;
