// SPDX-License-Identifier: GPL-2.0

// The Rust parts of the corpus case `callbacks` (`cargo xtask generate
// --rust`), modelled on kpatch's `macro-callbacks`: the callbacks of the
// patched object, logged as the kernel's selftests log theirs, a `State`,
// and a function the fixed C code calls (`klp_rs_post_patches()`), all in
// safe Rust. Included into the generated module as it is.

use core::sync::atomic::{AtomicI32, Ordering};
use kernel::{ffi::c_int, prelude::*};
use livepatch::{Callbacks, ObjectRef, State};

/// The system state this patch declares (version 1: nothing to migrate).
static CALLBACKS_STATE: State<c_int> = State::new(0x6b6c, 1);

/// How many times `post_patch` ran.
static POST_PATCHES: AtomicI32 = AtomicI32::new(0);

struct KlpRsCallbacks;

#[vtable]
impl Callbacks for KlpRsCallbacks {
    fn pre_patch(obj: &ObjectRef) -> Result {
        pr_info!("klp-rs: pre_patch_callback: {obj}\n");
        Ok(())
    }
    fn post_patch(obj: &ObjectRef) {
        POST_PATCHES.fetch_add(1, Ordering::Relaxed);
        pr_info!("klp-rs: post_patch_callback: {obj}\n");
    }
    fn pre_unpatch(obj: &ObjectRef) {
        pr_info!("klp-rs: pre_unpatch_callback: {obj}\n");
    }
    fn post_unpatch(obj: &ObjectRef) {
        pr_info!("klp-rs: post_unpatch_callback: {obj}\n");
    }
}

livepatch::c_callable! {
    #[no_mangle]
    fn klp_rs_post_patches() -> c_int {
        POST_PATCHES.load(Ordering::Relaxed)
    }
}
