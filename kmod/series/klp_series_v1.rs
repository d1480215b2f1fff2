// SPDX-License-Identifier: GPL-2.0

//! Version 1 of the example cumulative series: "fixes" `/proc/cmdline`.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

use kernel::{
    ffi::{c_int, c_void},
    seq_file::SeqFile,
    seq_print, //
};

livepatch::patch! {
    name: "klp_series_v1",
    authors: ["klp-rs developers"],
    description: "Cumulative patch 1: /proc/cmdline",
    replace: true,
    metadata: {
        version: 1,
        cves: ["CVE-2026-10001"],
        bugs: ["klp-rs#101"],
    },
    vmlinux {
        cmdline_proc_show => fn cmdline_v1(m: &SeqFile, _v: *mut c_void) -> c_int {
            seq_print!(m, "klp_series_v1: CVE-2026-10001 fixed\n");
            0
        }
    }
}
