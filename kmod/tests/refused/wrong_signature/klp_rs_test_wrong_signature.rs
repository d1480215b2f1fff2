// SPDX-License-Identifier: GPL-2.0

//! A patch whose build must fail: its replacement of `cmdline_proc_show()`
//! forgets the second parameter (`void *v`), which the post-link step finds
//! in the target's DWARF (`expected` holds its error).

#[path = "../../../livepatch/mod.rs"]
pub mod livepatch;

use kernel::{
    ffi::c_int,
    seq_file::SeqFile,
    seq_print, //
};

livepatch::patch! {
    name: "klp_rs_test_wrong_signature",
    authors: ["klp-rs developers"],
    description: "Test patch whose replacement has the wrong parameter list",
    vmlinux {
        cmdline_proc_show => fn wrong_cmdline_proc_show(m: &SeqFile) -> c_int {
            seq_print!(m, "this has been live patched\n");
            0
        }
    }
}
