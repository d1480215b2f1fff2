// SPDX-License-Identifier: GPL-2.0

//! Rust twin of the selftests' `test_klp_livepatch.c`: replaces
//! `cmdline_proc_show()` with one that names this module.
//!
//! `test-ftrace.sh` traces the new function by name, and Rust functions have
//! no ftrace call site: so `livepatch_cmdline_proc_show()` is a C entry
//! point (`test_klp_livepatch_entry.c`) around the Rust body below.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

use kernel::{
    ffi::{c_int, c_void},
    seq_file::SeqFile,
    seq_print, //
};

livepatch::c_callable! {
    #[no_mangle]
    fn klp_rs_livepatch_cmdline_proc_show(m: &SeqFile, _v: *mut c_void) -> c_int {
        seq_print!(m, "{}: this has been live patched\n", MODULE_NAME);
        0
    }
}

livepatch::patch! {
    name: "test_klp_livepatch",
    authors: ["Seth Jennings <sjenning@redhat.com>"],
    description: "Livepatch test: livepatch module",
    vmlinux {
        cmdline_proc_show => extern livepatch_cmdline_proc_show,
    }
}
