//! The fuzz target `parse`: `bodies/parse.rs` on every input.

#![no_main]

#[path = "../bodies/parse.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
