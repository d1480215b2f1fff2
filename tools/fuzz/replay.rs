//! Replays a fuzz target's regression corpus, `tools/fuzz/corpus/<target>/`,
//! through its body; shared by the `tests/fuzz_corpus.rs` of the crates the
//! targets fuzz.

use std::{
    panic::{catch_unwind, AssertUnwindSafe},
    path::{Path, PathBuf},
};

/// The largest corpus file: the corpus holds small inputs only.
const MAX_SIZE: u64 = 16 * 1024;

/// Runs `body` on every file of the corpus of `target`.
///
/// # Panics
///
/// If the corpus is missing or empty, if a file is larger than
/// [`MAX_SIZE`], or if `body` panics on a file (after trying every file;
/// the message names each that failed).
pub fn corpus(target: &str, body: fn(&[u8])) {
    // The crates that include this are siblings of `tools/fuzz/`.
    let tools = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("a crate under `tools/`");
    let dir = tools.join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read the corpus `{}`: {e}", dir.display()))
        .map(|e| e.expect("a readable corpus directory").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "the corpus `{}` is empty", dir.display());
    let mut failed = Vec::new();
    for file in &files {
        let data =
            std::fs::read(file).unwrap_or_else(|e| panic!("cannot read `{}`: {e}", file.display()));
        assert!(
            data.len() as u64 <= MAX_SIZE,
            "`{}` has {} bytes, more than the {MAX_SIZE} a corpus file may have (`cargo fuzz tmin` makes it smaller)",
            file.display(),
            data.len()
        );
        // The panic's message is printed by the hook; the file is named
        // below, with every other that failed.
        if catch_unwind(AssertUnwindSafe(|| body(&data))).is_err() {
            failed.push(file.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "the `{target}` fuzz target's body panicked on {} of {} corpus files:\n  {}",
        failed.len(),
        files.len(),
        failed.join("\n  ")
    );
}
