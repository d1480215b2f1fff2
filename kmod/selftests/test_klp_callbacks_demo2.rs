// SPDX-License-Identifier: GPL-2.0

//! Rust twin of the selftests' `test_klp_callbacks_demo2.c`: logs every
//! callback of `vmlinux`; the `replace` parameter makes it an atomic-replace
//! patch.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

use kernel::prelude::*;
use livepatch::{
    Callbacks,
    ObjectRef, //
};

livepatch::param!(replace: i32 = 0, 0o644, "replace (default=0)");

struct Demo2;

#[vtable]
impl Callbacks for Demo2 {
    fn pre_patch(obj: &ObjectRef) -> Result {
        pr_info!("pre_patch_callback: {obj}\n");
        Ok(())
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
    name: "test_klp_callbacks_demo2",
    authors: ["Joe Lawrence <joe.lawrence@redhat.com>"],
    description: "Livepatch test: livepatch demo2",
    replace: replace.get() != 0,
    vmlinux with Demo2 {}
}
