//! Nothing: this package holds benches only (chat.rs, traffic.rs).
