//! Automatic sweeps: the level after each one (the sweep grammar is
//! `crate::settings::SweepSpec`; the analysis of a sweep is `stats::knee`).

pub(crate) use crate::settings::{
    AUTO_MAX_CONCURRENCY, AUTO_MAX_LEVELS, AUTO_MAX_RATE, Level, SEARCH_MAX_LEVELS, SEARCH_TOLERANCE,
};

/// The level after `level` in an automatic sweep, if any.
pub(crate) fn auto_next(level: Level) -> Option<Level> {
    match level {
        Level::Concurrency(c) if c < AUTO_MAX_CONCURRENCY => {
            Some(Level::Concurrency((c * 2).min(AUTO_MAX_CONCURRENCY)))
        }
        Level::Rate(r) if r < AUTO_MAX_RATE => Some(Level::Rate((r * 2.0).min(AUTO_MAX_RATE))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_sweeps_double_up_to_their_cap() {
        assert_eq!(auto_next(Level::Concurrency(200)), Some(Level::Concurrency(256)));
        assert_eq!(auto_next(Level::Concurrency(256)), None);
        assert_eq!(auto_next(Level::Rate(3000.0)), Some(Level::Rate(4096.0)));
    }
}
