//! The regression corpus of the fuzz target `modinfo`: every file of
//! `tools/fuzz/corpus/modinfo/` (seeds, and each input the fuzzer found a bug
//! with) through the target's own body, on stable, in `cargo test`.

#[path = "../../fuzz/bodies/modinfo.rs"]
mod body;
#[path = "../../fuzz/replay.rs"]
mod replay;

#[test]
fn the_modinfo_corpus_passes() {
    replay::corpus("modinfo", body::run);
}
