//! The body of the fuzz target `convert`, also run on `corpus/convert/` by
//! `tools/klp-convert/tests/fuzz_corpus.rs`: klp-convert's input, arbitrary
//! bytes as a `.ko`, converted against a small fixed target kernel. A
//! conversion ends in an error or in a `.ko` that reads back and that a
//! second conversion leaves alone.

use klp_convert::{elf::Elf, target::Targets};
use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

/// The target kernel's `System.map`: `dup` twice, `counter` a variable
/// (the symbols of `tools/klp-convert/tests/convert.rs`).
const SYSTEM_MAP: &str = "ffffffff81000000 T _text\n\
                          ffffffff81001000 t helper\n\
                          ffffffff81002000 t dup\n\
                          ffffffff81003000 t dup\n\
                          ffffffff81100000 d counter\n";

/// A kernel build directory holding [`SYSTEM_MAP`], written once per
/// process.
///
/// # Panics
///
/// If the temporary directory is not writable.
fn kernel() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join("klp-rs-fuzz-convert");
        std::fs::create_dir_all(&dir).expect("a writable temporary directory");
        // Written beside and renamed over: another process may be reading
        // it.
        let part = dir.join(format!("System.map.{}", std::process::id()));
        std::fs::write(&part, SYSTEM_MAP).expect("a writable temporary directory");
        std::fs::rename(&part, dir.join("System.map")).expect("a writable temporary directory");
        dir
    })
}

/// Converts `data`; if that succeeds, checks the output.
pub fn run(data: &[u8]) {
    let mut targets = Targets::new(Some(kernel()), &[]);
    let Ok(Some((out, _))) = klp_convert::convert(data, &mut targets) else {
        return;
    };
    if let Err(e) = Elf::parse(&out) {
        panic!("the converted `.ko` does not read back: {e}");
    }
    match klp_convert::convert(&out, &mut targets) {
        Ok(None) => {}
        Ok(Some((_, summary))) => panic!("a second conversion changed the `.ko`: {summary:?}"),
        Err(e) => panic!("a second conversion failed: {e}"),
    }
}
