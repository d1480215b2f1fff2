// SPDX-License-Identifier: GPL-2.0

//! The console loglevel (`console_printk[0]`, `include/linux/printk.h`).

use kernel::ffi::c_int;

/// The loglevel that prints every message.
pub const CONSOLE_LOGLEVEL_MOTORMOUTH: c_int =
    kernel::bindings::CONSOLE_LOGLEVEL_MOTORMOUTH as c_int;

fn slot() -> *mut c_int {
    // CAST: `console_printk` is `int[4]`; the loglevel is its first element.
    (&raw mut kernel::bindings::console_printk).cast()
}

/// The current console loglevel.
pub fn console_loglevel() -> c_int {
    // SAFETY: `console_printk` is a kernel global of four `int`s, always
    // valid; C reads and writes it with plain accesses, too.
    unsafe { slot().read_volatile() }
}

/// Sets the console loglevel, as `console_loglevel = level` does in C.
pub fn set_console_loglevel(level: c_int) {
    // SAFETY: As in `console_loglevel`.
    unsafe { slot().write_volatile(level) }
}
