// SPDX-License-Identifier: GPL-2.0

//! Rust twin of the selftests' `test_klp_callbacks_busy.c`: a target module
//! whose work function, `busymod_work_func()` (a C entry point, see
//! `test_klp_callbacks_busy_entry.c`), sleeps while `block_transition` is
//! set, so that a patch of it cannot finish its transition.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;
#[path = "../testing/mod.rs"]
pub mod testing;

use kernel::{
    bindings::work_struct,
    prelude::*, //
};
use testing::{
    msleep,
    StaticCompletion,
    StaticWork, //
};

module! {
    type: BusyMod,
    name: "test_klp_callbacks_busy",
    authors: ["Joe Lawrence <joe.lawrence@redhat.com>"],
    description: "Livepatch test: busy target module",
    license: "GPL",
}

livepatch::param!(block_transition: bool = false, 0o644, "block_transition (default=false)");

extern "C" {
    fn busymod_work_func(work: *mut work_struct);
}

static WORK: StaticWork = StaticWork::new(busymod_work_func);
static WORK_STARTED: StaticCompletion = StaticCompletion::new();

livepatch::c_callable! {
    #[no_mangle]
    fn klp_rs_busymod_work(_work: *mut work_struct) {
        pr_info!("busymod_work_func enter\n");
        WORK_STARTED.complete();
        // Sleep until the sysfs writer has acknowledged a blocked transition
        // and cleared the flag.
        while block_transition.get() {
            msleep(20);
        }
        pr_info!("busymod_work_func exit\n");
    }
}

struct BusyMod;

impl kernel::Module for BusyMod {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("test_klp_callbacks_busy_init\n");
        WORK_STARTED.init();
        WORK.schedule();
        // Hold init until the work function's entry message has printed.
        WORK_STARTED.wait();
        if !block_transition.get() {
            // Print all the work function's messages before init returns.
            WORK.flush();
        }
        Ok(Self)
    }
}

impl Drop for BusyMod {
    fn drop(&mut self) {
        block_transition.set(false);
        WORK.flush();
        pr_info!("test_klp_callbacks_busy_exit\n");
    }
}
