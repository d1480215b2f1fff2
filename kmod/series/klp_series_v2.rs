// SPDX-License-Identifier: GPL-2.0

//! Version 2 of the example cumulative series: carries the fix of version 1
//! and adds one to `/proc/version`.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

use kernel::{
    ffi::{c_int, c_void},
    seq_file::SeqFile,
    seq_print, //
};

livepatch::patch! {
    name: "klp_series_v2",
    authors: ["klp-rs developers"],
    description: "Cumulative patch 2: /proc/cmdline and /proc/version",
    replace: true,
    metadata: {
        version: 2,
        cves: ["CVE-2026-10001", "CVE-2026-10002"],
        bugs: ["klp-rs#101", "klp-rs#102"],
    },
    vmlinux {
        cmdline_proc_show => fn cmdline_v2(m: &SeqFile, _v: *mut c_void) -> c_int {
            seq_print!(m, "klp_series_v2: CVE-2026-10001 fixed\n");
            0
        }
        version_proc_show => fn version_v2(m: &SeqFile, _v: *mut c_void) -> c_int {
            seq_print!(m, "klp_series_v2: CVE-2026-10002 fixed\n");
            0
        }
    }
}
