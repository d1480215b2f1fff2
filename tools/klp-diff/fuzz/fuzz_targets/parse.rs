//! The parsing entry point on arbitrary bytes: `Binary::parse`, then the
//! whole comparison of the result with itself (ELF, DWARF units, types,
//! functions), which must end in a report or an error, never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(bin) = klp_diff::Binary::parse("fuzz", data) {
        let _ = klp_diff::diff(
            &bin,
            &bin,
            &klp_diff::Options {
                threads: 1,
                ..klp_diff::Options::default()
            },
        );
    }
});
