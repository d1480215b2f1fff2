// SPDX-License-Identifier: GPL-2.0

//! Rust twin of the selftests' `test_klp_callbacks_demo.c`: logs every
//! callback of `vmlinux` and two modules; `pre_patch_ret` makes the
//! pre-patch callback fail.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

use kernel::{
    error::Error,
    prelude::*, //
};
use livepatch::{
    Callbacks,
    ObjectRef, //
};

livepatch::param!(pre_patch_ret: i32 = 0, 0o644, "pre_patch_ret (default=0)");

fn callback_info(callback: &str, obj: &ObjectRef) {
    match obj.module() {
        Some((name, state)) => pr_info!("{callback}: {name} -> {}\n", state.describe()),
        None => pr_info!("{callback}: vmlinux\n"),
    }
}

struct Demo;

#[vtable]
impl Callbacks for Demo {
    fn pre_patch(obj: &ObjectRef) -> Result {
        callback_info("pre_patch_callback", obj);
        match pre_patch_ret.get() {
            0 => Ok(()),
            ret => Err(Error::from_errno(ret)),
        }
    }
    fn post_patch(obj: &ObjectRef) {
        callback_info("post_patch_callback", obj);
    }
    fn pre_unpatch(obj: &ObjectRef) {
        callback_info("pre_unpatch_callback", obj);
    }
    fn post_unpatch(obj: &ObjectRef) {
        callback_info("post_unpatch_callback", obj);
    }
}

livepatch::patch! {
    name: "test_klp_callbacks_demo",
    authors: ["Joe Lawrence <joe.lawrence@redhat.com>"],
    description: "Livepatch test: livepatch demo",
    vmlinux with Demo {}
    module "test_klp_callbacks_mod" with Demo {}
    module "test_klp_callbacks_busy" with Demo {
        busymod_work_func => fn patched_work_func(_work: *mut kernel::bindings::work_struct) {
            pr_info!("patched_work_func\n");
        }
    }
}
