//! Unpublished root package: owns this repository's own benches, examples and end-to-end tests.
