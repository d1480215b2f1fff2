// SPDX-License-Identifier: GPL-2.0

//! A kprobe on a kernel function (`include/linux/kprobes.h`).

use super::bindings;
use core::mem::MaybeUninit;
use kernel::{
    error::to_result,
    ffi::c_ulong,
    prelude::*,
    str::{
        CStr,
        CStrExt, //
    },
    types::Opaque, //
};

/// A registered kprobe, unregistered on drop.
///
/// # Invariants
///
/// `probe` is registered with the kernel, which keeps a pointer to it until
/// `unregister_kprobe()`; the box never moves its contents.
pub struct Kprobe {
    probe: KBox<Opaque<bindings::kprobe>>,
}

// SAFETY: The kernel synchronizes its uses of the probe; Rust only passes
// it back to `unregister_kprobe()`.
unsafe impl Send for Kprobe {}
// SAFETY: `Kprobe` has no `&self` methods.
unsafe impl Sync for Kprobe {}

/// The post handler: does nothing (its presence is what matters: a kprobe
/// with one cannot use the ftrace-based fast path).
///
/// # Safety
///
/// None: it touches nothing it is given.
unsafe extern "C" fn post_handler(
    _probe: *mut bindings::kprobe,
    _regs: *mut kernel::bindings::pt_regs,
    _flags: c_ulong,
) {
}

impl Kprobe {
    /// Probes the function `symbol`, with an (empty) post handler if
    /// `with_post_handler`.
    pub fn register(symbol: &'static CStr, with_post_handler: bool) -> Result<Self> {
        // SAFETY: All-zero is a valid `struct kprobe`: C declares them as
        // statics with only `symbol_name` set.
        let mut raw: bindings::kprobe = unsafe { MaybeUninit::zeroed().assume_init() };
        raw.symbol_name = symbol.as_char_ptr();
        if with_post_handler {
            raw.post_handler = Some(post_handler);
        }
        let probe = KBox::new(Opaque::new(raw), GFP_KERNEL)?;
        // SAFETY: `probe` is a complete `struct kprobe` in memory that stays
        // put until `Drop` unregisters it.
        to_result(unsafe { bindings::register_kprobe(probe.get()) })?;
        // INVARIANT: The probe is registered.
        Ok(Self { probe })
    }
}

impl Drop for Kprobe {
    fn drop(&mut self) {
        // SAFETY: The probe is registered (the type invariant).
        unsafe { bindings::unregister_kprobe(self.probe.get()) };
    }
}
