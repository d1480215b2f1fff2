//! The regression corpus of the fuzz target `convert`: every file of
//! `tools/fuzz/corpus/convert/` (seeds, and each input the fuzzer found a bug
//! with) through the target's own body, on stable, in `cargo test`.

#[path = "../../fuzz/bodies/convert.rs"]
mod body;
#[path = "../../fuzz/replay.rs"]
mod replay;

#[test]
fn the_convert_corpus_passes() {
    replay::corpus("convert", body::run);
}
