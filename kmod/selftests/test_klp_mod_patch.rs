// SPDX-License-Identifier: GPL-2.0

//! Rust twin of the selftests' `test_klp_mod_patch.c`: replaces
//! `test_klp_mod_target_show()` of the module `test_klp_mod_target`,
//! whether that module is loaded before or after this patch.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

use kernel::{
    ffi::{c_int, c_void},
    seq_file::SeqFile,
    seq_print, //
};

livepatch::patch! {
    name: "test_klp_mod_patch",
    authors: ["Pablo Hugen <phugen@redhat.com>"],
    description: "Livepatch test: patch for module-provided function",
    module "test_klp_mod_target" {
        test_klp_mod_target_show => fn livepatch_mod_target_show(m: &SeqFile, _v: *mut c_void) -> c_int {
            seq_print!(m, "{}: this has been live patched\n", MODULE_NAME);
            0
        }
    }
}
