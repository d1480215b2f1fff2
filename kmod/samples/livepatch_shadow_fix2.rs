// SPDX-License-Identifier: GPL-2.0

//! Rust twin of `samples/livepatch/livepatch-shadow-fix2.c`, loaded on top
//! of fix1: counts how often each dummy is checked, in a second shadow
//! variable, attached to dummies already in flight on their next check, and
//! logs the count when the dummy is freed. Its `dummy_free()` keeps fix1's
//! leak fix, on fix1's shadow variables.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

use core::sync::atomic::{
    AtomicI32,
    Ordering, //
};
use kernel::{
    bindings::list_head,
    ffi::{c_int, c_ulong},
    prelude::*, //
};
use livepatch::{
    time_after,
    Destroy,
    Unload, //
};

/// The leaked allocations' shadow id, shared with fix1.
const SV_LEAK: c_ulong = 1;
/// The check counters' shadow id.
const SV_COUNTER: c_ulong = 2;

livepatch::c_struct! {
    /// `struct dummy` of `livepatch-shadow-mod.c`.
    pub struct Dummy {
        list: list_head,
        jiffies_expire: c_ulong,
    }
}

/// fix1's shadow data: the allocation `dummy_alloc()` forgets.
struct Leak(KBox<c_int>);

livepatch::patch! {
    name: "livepatch_shadow_fix2",
    authors: ["Joe Lawrence <joe.lawrence@redhat.com>"],
    description: "Live patching demo for shadow variables",
    shadows: {
        LEAK: Shadow<Dummy, Leak> = SV_LEAK,
        COUNTER: Shadow<Dummy, AtomicI32> = SV_COUNTER,
    },
    exit: free_counters,
    module "livepatch_shadow_mod" {
        dummy_check => fn livepatch_fix2_dummy_check(d: &Dummy, jiffies: c_ulong) -> bool {
            // Patch: count the checks, attaching a counter to dummies that
            // have none yet.
            if let Ok(count) = COUNTER.get_or_alloc(d, GFP_NOWAIT, |_| Ok(AtomicI32::new(0))) {
                count.fetch_add(1, Ordering::Relaxed);
            }
            time_after(jiffies, d.jiffies_expire)
        }
        dummy_free => fn livepatch_fix2_dummy_free(d: KBox<Dummy>) {
            let mut d = d;
            // Patch: fix1's leak fix.
            if LEAK.get(&d).is_some() {
                LEAK.free_with::<ReportLeak>(&mut d);
            } else {
                pr_info!("livepatch_fix2_dummy_free: dummy @ {:p} leaked!\n", &*d);
            }
            // Patch: log the final count, and detach the counter.
            if let Some(count) = COUNTER.get(&d).map(|c| c.load(Ordering::Relaxed)) {
                pr_info!("livepatch_fix2_dummy_free: dummy @ {:p}, check counter = {count}\n", &*d);
                COUNTER.free(&mut d);
            }
        }
    }
}

/// Reports each leak prevented, as its allocation is freed.
struct ReportLeak;

impl Destroy<Dummy, Leak> for ReportLeak {
    fn destroy(d: *const Dummy, leak: &mut Leak) {
        pr_info!(
            "livepatch_fix2_dummy_leak_dtor: dummy @ {d:p}, prevented leak @ {:p}\n",
            &*leak.0
        );
    }
}

fn free_counters(unload: &Unload) {
    COUNTER.free_all(unload);
}
