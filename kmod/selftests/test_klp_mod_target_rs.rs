// SPDX-License-Identifier: GPL-2.0

//! Rust twin of the selftests' `test_klp_mod_target.c`: a target module
//! with `/proc/test_klp_mod_target`, printed by `test_klp_mod_target_show()`
//! (a C entry point, see `test_klp_mod_target_entry.c`).

#[path = "../livepatch/mod.rs"]
pub mod livepatch;
#[path = "../testing/mod.rs"]
pub mod testing;

use kernel::{
    bindings::seq_file,
    c_str,
    ffi::{c_int, c_void},
    prelude::*,
    seq_file::SeqFile,
    seq_print, //
};
use testing::ProcEntry;

module! {
    type: ModTarget,
    name: "test_klp_mod_target",
    authors: ["Pablo Hugen <phugen@redhat.com>"],
    description: "Livepatch test: target module with proc entry",
    license: "GPL",
}

#[allow(
    improper_ctypes,
    reason = "`seq_file` is only passed through, never read"
)]
extern "C" {
    fn test_klp_mod_target_show(m: *mut seq_file, v: *mut c_void) -> c_int;
}

livepatch::c_callable! {
    #[no_mangle]
    fn klp_rs_mod_target_show(m: &SeqFile, _v: *mut c_void) -> c_int {
        seq_print!(m, "test_klp_mod_target: original output\n");
        0
    }
}

struct ModTarget {
    _pde: ProcEntry,
}

impl kernel::Module for ModTarget {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("test_klp_mod_target_init\n");
        let pde = ProcEntry::single(c_str!("test_klp_mod_target"), 0, test_klp_mod_target_show)?;
        Ok(Self { _pde: pde })
    }
}

impl Drop for ModTarget {
    fn drop(&mut self) {
        pr_info!("test_klp_mod_target_exit\n");
    }
}
