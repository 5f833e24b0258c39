#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| llmbench::__fuzz::bedrock_invoke(data));
