// SPDX-License-Identifier: GPL-2.0

//! Rust twin of `samples/livepatch/livepatch-shadow-fix1.c`: fixes the leak
//! of `livepatch-shadow-mod.c`, whose `dummy_alloc()` allocates an extra
//! `int` it forgets. The new `dummy_alloc()` keeps it in a shadow variable
//! of the dummy (which cannot grow a field), and the new `dummy_free()`
//! frees it with the dummy. Dummies allocated before the patch have none and
//! still leak. On unload, the shadow variables left are freed.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

use kernel::{
    bindings::list_head,
    ffi::{c_int, c_ulong},
    prelude::*, //
};
use livepatch::{
    jiffies,
    secs_to_jiffies,
    Destroy,
    Unload, //
};

/// The leaked allocations' shadow id, shared with fix2.
const SV_LEAK: c_ulong = 1;

/// When a dummy expires, in seconds (the target module's
/// `EXPIRE_PERIOD`).
const EXPIRE_PERIOD: u32 = 12;

livepatch::c_struct! {
    /// `struct dummy` of `livepatch-shadow-mod.c`.
    pub struct Dummy {
        list: list_head,
        jiffies_expire: c_ulong,
    }
}

/// The allocation `dummy_alloc()` forgets; dropping it frees it.
struct Leak(KBox<c_int>);

livepatch::patch! {
    name: "livepatch_shadow_fix1",
    authors: ["Joe Lawrence <joe.lawrence@redhat.com>"],
    description: "Live patching demo for shadow variables",
    shadows: { LEAK: Shadow<Dummy, Leak> = SV_LEAK },
    exit: free_leaks,
    module "livepatch_shadow_mod" {
        dummy_alloc => fn livepatch_fix1_dummy_alloc() -> Option<KBox<Dummy>> {
            let expires = jiffies() + secs_to_jiffies(EXPIRE_PERIOD);
            let d = KBox::new(Dummy { jiffies_expire: expires, ..Dummy::ZERO }, GFP_KERNEL).ok()?;
            // Patch: keep the extra allocation in a shadow variable, for
            // the new `dummy_free()` to free.
            let leak = Leak(KBox::new(0, GFP_KERNEL).ok()?);
            let at: *const c_int = &*leak.0;
            if LEAK.alloc(&d, GFP_KERNEL, |_| Ok(leak)).is_err() {
                pr_err!(
                    "livepatch_fix1_dummy_alloc: failed to allocate shadow variable for the leaking pointer: dummy @ {:p}, leak @ {at:p}\n",
                    &*d
                );
                return None;
            }
            pr_info!("livepatch_fix1_dummy_alloc: dummy @ {:p}, expires @ {expires:x}\n", &*d);
            Some(d)
        }
        dummy_free => fn livepatch_fix1_dummy_free(d: KBox<Dummy>) {
            let mut d = d;
            // Patch: free the shadow variable, and so the allocation, with
            // the dummy (dummies from before this patch have none).
            if LEAK.get(&d).is_some() {
                LEAK.free_with::<ReportLeak>(&mut d);
            } else {
                pr_info!("livepatch_fix1_dummy_free: dummy @ {:p} leaked!\n", &*d);
            }
        }
    }
}

/// Reports each leak prevented, as its allocation is freed.
struct ReportLeak;

impl Destroy<Dummy, Leak> for ReportLeak {
    fn destroy(d: *const Dummy, leak: &mut Leak) {
        pr_info!(
            "livepatch_fix1_dummy_leak_dtor: dummy @ {d:p}, prevented leak @ {:p}\n",
            &*leak.0
        );
    }
}

fn free_leaks(unload: &Unload) {
    LEAK.free_all_with::<ReportLeak>(unload);
}
