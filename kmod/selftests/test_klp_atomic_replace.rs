// SPDX-License-Identifier: GPL-2.0

//! Rust twin of the selftests' `test_klp_atomic_replace.c`: replaces
//! `meminfo_proc_show()`; the `replace` parameter makes it an atomic-replace
//! patch.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

use kernel::{
    ffi::{c_int, c_void},
    seq_file::SeqFile,
    seq_print, //
};

livepatch::param!(replace: i32 = 0, 0o644, "replace (default=0)");

livepatch::patch! {
    name: "test_klp_atomic_replace",
    authors: ["Joe Lawrence <joe.lawrence@redhat.com>"],
    description: "Livepatch test: atomic replace",
    replace: replace.get() != 0,
    vmlinux {
        meminfo_proc_show => fn livepatch_meminfo_proc_show(m: &SeqFile, _v: *mut c_void) -> c_int {
            seq_print!(m, "{}: this has been live patched\n", MODULE_NAME);
            0
        }
    }
}
