// SPDX-License-Identifier: GPL-2.0

//! A patch that declares the shadow id of `livepatch_shadow_fix1`'s leaked
//! allocations (1) with another type: while fix1 is loaded, the kernel must
//! refuse it, naming both types, before anything reads fix1's data as a
//! `u16`.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

use kernel::{
    bindings::list_head,
    ffi::c_ulong, //
};

livepatch::c_struct! {
    /// `struct dummy` of `livepatch-shadow-mod.c`.
    pub struct Dummy {
        list: list_head,
        jiffies_expire: c_ulong,
    }
}

livepatch::patch! {
    name: "klp_rs_test_shadow_type",
    authors: ["klp-rs developers"],
    description: "Test: a shadow id declared with another type is refused",
    shadows: { WRONG: Shadow<Dummy, u16> = 1 },
    module "livepatch_shadow_mod" {
        dummy_check => fn wrong_dummy_check(d: &Dummy, _jiffies: c_ulong) -> bool {
            WRONG.get(d).is_some_and(|v| *v > 0)
        }
    }
}
