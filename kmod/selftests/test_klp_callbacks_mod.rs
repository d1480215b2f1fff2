// SPDX-License-Identifier: GPL-2.0

//! Rust twin of the selftests' `test_klp_callbacks_mod.c`: a target module
//! that only logs its init and exit.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

use kernel::prelude::*;

module! {
    type: CallbacksMod,
    name: "test_klp_callbacks_mod",
    authors: ["Joe Lawrence <joe.lawrence@redhat.com>"],
    description: "Livepatch test: target module",
    license: "GPL",
}

struct CallbacksMod;

impl kernel::Module for CallbacksMod {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!("test_klp_callbacks_mod_init\n");
        Ok(Self)
    }
}

impl Drop for CallbacksMod {
    fn drop(&mut self) {
        pr_info!("test_klp_callbacks_mod_exit\n");
    }
}
