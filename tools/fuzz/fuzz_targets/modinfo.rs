//! The fuzz target `modinfo`: `bodies/modinfo.rs` on every input.

#![no_main]

#[path = "../bodies/modinfo.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
