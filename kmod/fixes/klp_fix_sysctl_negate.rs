// SPDX-License-Identifier: GPL-2.0

//! "sysctl: Negate before converting in the int read path" (stable 7.2.10,
//! `sysctl_negate.diff`), live: `proc_int_k2u_conv_kop()` negated a
//! negative value after converting it, so a negative jiffies sysctl read
//! back as a huge number. Written from `sysctl_negate.x86_64.skeleton`
//! (the same replacement on every arch), which `cargo xtask fix
//! sysctl_negate` checks is what the diff gives.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

use core::sync::atomic::{
    AtomicI32,
    Ordering, //
};
use kernel::ffi::{
    c_int,
    c_ulong, //
};

livepatch::patch! {
    name: "klp_fix_sysctl_negate",
    authors: ["klp-rs developers"],
    description: "sysctl: negate before converting in the int read path",
    replace: true,
    metadata: {
        version: 1,
        bugs: ["stable-7.2.10: sysctl: Negate before converting in the int read path"],
    },
    vmlinux {
        // int proc_int_k2u_conv_kop(ulong *, const int *, bool *, ulong (*)(const ulong)):
        // the sysctl's `int`, which a writer may change at any time (an
        // atomic: C's `READ_ONCE()`), two results, and `div_hz()` or such.
        proc_int_k2u_conv_kop => fn livepatch_proc_int_k2u_conv_kop(
            u_ptr: &mut c_ulong,
            k_ptr: &AtomicI32,
            negp: &mut bool,
            k_ptr_op: Option<extern "C" fn(c_ulong) -> c_ulong>,
        ) -> c_int {
            let convert = |v: c_ulong| k_ptr_op.map_or(v, |f| f(v));
            let val = k_ptr.load(Ordering::Relaxed);
            // The fix: convert the magnitude, not the value sign-extended
            // to `ulong` (C's `-(ulong)val` is the magnitude).
            let (negative, magnitude) = if val < 0 {
                (true, (val as c_ulong).wrapping_neg())
            } else {
                (false, val as c_ulong)
            };
            *negp = negative;
            *u_ptr = convert(magnitude);
            0
        }
    }
}
