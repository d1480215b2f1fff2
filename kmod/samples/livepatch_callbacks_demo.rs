// SPDX-License-Identifier: GPL-2.0

//! Rust twin of `samples/livepatch/livepatch-callbacks-demo.c`: logs every
//! (un)patching callback of `vmlinux` and of the two target modules
//! (`livepatch-callbacks-mod.c`, `livepatch-callbacks-busymod.c`, whose
//! work function it replaces); `pre_patch_ret` makes the pre-patch callback
//! fail, which refuses the patch or the module load.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

use kernel::{
    bindings::work_struct,
    error::Error,
    prelude::*, //
};
use livepatch::{
    Callbacks,
    ObjectRef, //
};

livepatch::param!(pre_patch_ret: i32 = 0, 0o644, "pre_patch_ret (default=0)");

struct Demo;

#[vtable]
impl Callbacks for Demo {
    fn pre_patch(obj: &ObjectRef) -> Result {
        pr_info!("pre_patch_callback: {obj}\n");
        match pre_patch_ret.get() {
            0 => Ok(()),
            ret => Err(Error::from_errno(ret)),
        }
    }
    fn post_patch(obj: &ObjectRef) {
        pr_info!("post_patch_callback: {obj}\n");
    }
    fn pre_unpatch(obj: &ObjectRef) {
        pr_info!("pre_unpatch_callback: {obj}\n");
    }
    fn post_unpatch(obj: &ObjectRef) {
        pr_info!("post_unpatch_callback: {obj}\n");
    }
}

livepatch::patch! {
    name: "livepatch_callbacks_demo",
    authors: ["Joe Lawrence <joe.lawrence@redhat.com>"],
    description: "Live patching demo for (un)patching callbacks",
    vmlinux with Demo {}
    module "livepatch_callbacks_mod" with Demo {}
    module "livepatch_callbacks_busymod" with Demo {
        busymod_work_func => fn patched_work_func(_work: *mut work_struct) {
            pr_info!("patched_work_func\n");
        }
    }
}
