#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| llmbench::__fuzz::config(data));
