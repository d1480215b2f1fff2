// SPDX-License-Identifier: GPL-2.0

//! Rust twin of the selftests' `test_klp_state.c`: a cumulative patch that
//! raises the console loglevel and keeps the old one in the data of its
//! system state `CONSOLE_LOGLEVEL_STATE` (version 1: no migration).

#[path = "../livepatch/mod.rs"]
pub mod livepatch;
#[path = "../testing/mod.rs"]
pub mod testing;

use kernel::{
    ffi::c_int,
    prelude::*, //
};
use livepatch::{
    Callbacks,
    ObjectRef,
    State, //
};
use testing::{
    console_loglevel,
    set_console_loglevel,
    CONSOLE_LOGLEVEL_MOTORMOUTH, //
};

static CONSOLE_LOGLEVEL_STATE: State<c_int> = State::new(1, 1);

struct ConsoleLoglevel;

#[vtable]
impl Callbacks for ConsoleLoglevel {
    fn pre_patch(obj: &ObjectRef) -> Result {
        pr_info!("pre_patch_callback: {obj}\n");
        let state = CONSOLE_LOGLEVEL_STATE.get().ok_or(EINVAL)?;
        state.alloc(0, GFP_KERNEL)?;
        pr_info!("allocate_loglevel_state: allocating space to store console_loglevel\n");
        Ok(())
    }
    fn post_patch(obj: &ObjectRef) {
        pr_info!("post_patch_callback: {obj}\n");
        if let Some(state) = CONSOLE_LOGLEVEL_STATE.get() {
            pr_info!("fix_console_loglevel: fixing console_loglevel\n");
            // The data was allocated by `pre_patch`.
            let _ = state.write(console_loglevel());
            set_console_loglevel(CONSOLE_LOGLEVEL_MOTORMOUTH);
        }
    }
    fn pre_unpatch(obj: &ObjectRef) {
        pr_info!("pre_unpatch_callback: {obj}\n");
        if let Some(state) = CONSOLE_LOGLEVEL_STATE.get() {
            pr_info!("restore_console_loglevel: restoring console_loglevel\n");
            if let Some(level) = state.read() {
                set_console_loglevel(level);
            }
        }
    }
    fn post_unpatch(obj: &ObjectRef) {
        pr_info!("post_unpatch_callback: {obj}\n");
        if let Some(state) = CONSOLE_LOGLEVEL_STATE.get() {
            pr_info!("free_loglevel_state: freeing space for the stored console_loglevel\n");
            state.free();
        }
    }
}

livepatch::patch! {
    name: "test_klp_state",
    authors: ["Petr Mladek <pmladek@suse.com>"],
    description: "Livepatch test: system state modification",
    replace: true,
    states: [CONSOLE_LOGLEVEL_STATE],
    vmlinux with ConsoleLoglevel {}
}
