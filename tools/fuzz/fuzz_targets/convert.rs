//! The fuzz target `convert`: `bodies/convert.rs` on every input.

#![no_main]

#[path = "../bodies/convert.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
