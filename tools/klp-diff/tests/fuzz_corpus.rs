//! The regression corpus of the fuzz target `parse`: every file of
//! `tools/fuzz/corpus/parse/` (seeds, and each input the fuzzer found a bug
//! with) through the target's own body, on stable, in `cargo test`.

#[path = "../../fuzz/bodies/parse.rs"]
mod body;
#[path = "../../fuzz/replay.rs"]
mod replay;

#[test]
fn the_parse_corpus_passes() {
    replay::corpus("parse", body::run);
}
