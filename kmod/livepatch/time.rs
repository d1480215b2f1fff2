// SPDX-License-Identifier: GPL-2.0

//! The kernel's clock in jiffies, which patched code often compares.
//!
//! C header: [`include/linux/jiffies.h`](srctree/include/linux/jiffies.h)

use kernel::time::Jiffies;

/// The current time in jiffies (C's `jiffies`, read once).
pub fn jiffies() -> Jiffies {
    // SAFETY: `jiffies` is a kernel global that lives as long as the
    // kernel; the timer interrupt updates it, so it is read with one
    // volatile load, as C's `volatile` declaration reads it.
    unsafe { core::ptr::read_volatile(&raw const kernel::bindings::jiffies) }
}

/// Whether `a` is after `b`, allowing for the counter wrapping (C's
/// `time_after(a, b)`).
pub fn time_after(a: Jiffies, b: Jiffies) -> bool {
    // CAST: The difference as signed, as C computes it.
    (b.wrapping_sub(a) as isize) < 0
}

/// `secs` seconds in jiffies (C's `secs_to_jiffies()`).
pub fn secs_to_jiffies(secs: u32) -> Jiffies {
    // CAST: Both fit `unsigned long`, as in C.
    secs as Jiffies * kernel::bindings::HZ as Jiffies
}
