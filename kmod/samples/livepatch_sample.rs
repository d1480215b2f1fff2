// SPDX-License-Identifier: GPL-2.0

//! Rust twin of `samples/livepatch/livepatch-sample.c`.
//!
//! Replaces `cmdline_proc_show()` (`fs/proc/cmdline.c`) so that
//! `cat /proc/cmdline` prints `this has been live patched`. Enabled on load;
//! `echo 0 > /sys/kernel/livepatch/livepatch_sample/enabled` reverts it, and
//! then `rmmod livepatch_sample` removes the module.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

use kernel::{
    ffi::{c_int, c_void},
    seq_file::SeqFile,
    seq_print, //
};

livepatch::patch! {
    name: "livepatch_sample",
    authors: ["Seth Jennings <sjenning@redhat.com>"],
    description: "Live patch sample: replaces cmdline_proc_show()",
    vmlinux {
        cmdline_proc_show => fn livepatch_cmdline_proc_show(m: &SeqFile, _v: *mut c_void) -> c_int {
            seq_print!(m, "this has been live patched\n");
            0
        }
    }
}
