//! The body of the fuzz target `parse`, also run on `corpus/parse/` by
//! `tools/klp-diff/tests/fuzz_corpus.rs`: `klp_diff::Binary::parse` on
//! arbitrary bytes, then the whole comparison of the result with itself
//! (ELF, DWARF units, types, functions), which must end in a report or an
//! error, never a panic.

/// Parses `data` and compares it with itself.
pub fn run(data: &[u8]) {
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
}
