//! The body of the fuzz target `modinfo`, also run on `corpus/modinfo/` by
//! `tools/klp/tests/fuzz_corpus.rs`: `klp`'s reader of a module file's
//! `.modinfo` and of the klp-rs metadata in it, on arbitrary bytes.

use klp::{
    date::Date,
    modinfo::{ModInfo, PatchFile},
};
use std::path::Path;

/// Reads `data` as a module file; what is read as a patch must agree with
/// its `.modinfo`.
pub fn run(data: &[u8]) {
    let info = ModInfo::parse(data);
    let Ok(patch) = PatchFile::from_bytes(Path::new("/lib/modules/fuzz/klp-rs-fuzz.ko"), data)
    else {
        return;
    };
    let info = info.expect("a patch whose `.modinfo` is unreadable");
    assert_eq!(info.get("livepatch"), Some("Y"));
    assert_eq!(info.get("klp_kernel"), Some(patch.meta.kernel.as_str()));
    assert!(!patch.name.is_empty(), "a patch without a name");
    if let Some(released) = patch.meta.released {
        assert_eq!(released.to_string().parse::<Date>().ok(), Some(released));
    }
}
