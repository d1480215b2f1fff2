// SPDX-License-Identifier: GPL-2.0

//! Replaces `cmdline_proc_show()` with a function that reads the kernel's
//! `static int pause_on_oops` (`kernel/panic.c`) and calls its `static`
//! `version_proc_show()` (`fs/proc/version.c`): neither is exported, both
//! are reached through livepatch relocations.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

use kernel::{
    ffi::{c_int, c_void},
    seq_file::SeqFile,
    seq_print, //
};

livepatch::klp_extern! {
    vmlinux {
        safe fn version_proc_show(m: &SeqFile, v: *mut c_void) -> c_int;
        static pause_on_oops: c_int;
    }
}

livepatch::patch! {
    name: "klp_rs_reloc_vmlinux",
    authors: ["klp-rs"],
    description: "Livepatch test: calls and reads static symbols of vmlinux",
    vmlinux {
        cmdline_proc_show => fn klp_rs_cmdline_proc_show(m: &SeqFile, v: *mut c_void) -> c_int {
            seq_print!(m, "pause_on_oops={} ", pause_on_oops().read());
            version_proc_show(m, v)
        }
    }
}
