// SPDX-License-Identifier: GPL-2.0

//! The Rust livepatch of `cargo xtask bench patched-call`: `int_sqrt()`
//! replaced by its fixed version (`kmod/bench/int_sqrt.patch`), written in
//! Rust as a patch author would. C's `unsigned long` arithmetic wraps, so
//! its faithful translation is `wrapping_*`: with `+` and `-` (checked, as
//! `CONFIG_RUST_OVERFLOW_CHECKS` builds them) the loop pays a check per
//! round (see README, "What a live patch costs").

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

use kernel::ffi::c_ulong;

livepatch::patch! {
    name: "klp_rs_bench_rust",
    authors: ["klp-rs developers"],
    description: "int_sqrt() with the bench's fix, in Rust",
    vmlinux {
        int_sqrt => fn int_sqrt(x: c_ulong) -> c_ulong {
            if x < 4 {
                return c_ulong::from(x != 0);
            }
            let (mut x, mut y): (c_ulong, c_ulong) = (x, 0);
            let mut m: c_ulong = 1 << (x.ilog2() & !1);
            while m != 0 {
                let b = y.wrapping_add(m);
                y >>= 1;
                if x >= b {
                    x = x.wrapping_sub(b);
                    y = y.wrapping_add(m);
                }
                m >>= 2;
            }
            y
        }
    }
}
