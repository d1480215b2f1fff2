// SPDX-License-Identifier: GPL-2.0

//! "sysctl: Negate before converting in the int read path" (stable 7.2.10,
//! `sysctl_negate.diff`), live: `proc_int_k2u_conv_kop()` negated a
//! negative value after converting it, so a negative jiffies sysctl read
//! back as a huge number. Written from `sysctl_negate.x86_64.skeleton`
//! (the same replacement on every arch), which `cargo xtask fix
//! sysctl_negate` checks is what the diff gives.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

use kernel::ffi::{c_int, c_ulong, c_void};

/// What `k_ptr_op` points to: `ulong (*)(const ulong)`.
type Convert = unsafe extern "C" fn(c_ulong) -> c_ulong;

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
        // int proc_int_k2u_conv_kop(ulong *, const int *, bool *, ulong (*)(const ulong))
        proc_int_k2u_conv_kop => fn livepatch_proc_int_k2u_conv_kop(u_ptr: *mut c_ulong, k_ptr: *const c_int, negp: *mut bool, k_ptr_op: *mut c_void) -> c_int {
            // SAFETY: `k_ptr_op` is NULL or a conversion function of the
            // kernel (`div_hz()`, ...), which is what `Option<Convert>`
            // holds, with the same representation.
            let op: Option<Convert> = unsafe { core::mem::transmute::<*mut c_void, Option<Convert>>(k_ptr_op) };
            let convert = |v: c_ulong| match op {
                // SAFETY: The kernel's conversions take any value.
                Some(f) => unsafe { f(v) },
                None => v,
            };
            // SAFETY: The sysctl core passes the table's valid `int`; the
            // volatile read is `READ_ONCE()`.
            let val = unsafe { k_ptr.read_volatile() };
            // The fix: convert the magnitude, not the value sign-extended
            // to `ulong` (C's `-(ulong)val` is the magnitude).
            let (negative, magnitude) = if val < 0 {
                (true, (val as c_ulong).wrapping_neg())
            } else {
                (false, val as c_ulong)
            };
            // SAFETY: The sysctl core passes valid places for both results.
            unsafe {
                negp.write(negative);
                u_ptr.write(convert(magnitude));
            }
            0
        }
    }
}
