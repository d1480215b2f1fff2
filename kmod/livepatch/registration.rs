// SPDX-License-Identifier: GPL-2.0

//! Handing a patch to the kernel and keeping its structures alive.

use super::{
    bindings,
    post_link,
    Object,
    StateId, //
};
use core::{
    mem::MaybeUninit,
    sync::atomic::{
        AtomicPtr,
        Ordering, //
    },
};
use kernel::{
    error::to_result,
    prelude::*,
    str::CStrExt,
    types::Opaque,
    ThisModule, //
};

/// A patch as its module declares it (see [`spec!`](super::spec)).
pub struct Patch {
    /// The objects the patch changes.
    pub objects: &'static [Object],
    /// The system states the patch changes.
    pub states: &'static [StateId],
}

/// This module's registered `klp_patch` (a patch module has one), for the
/// kernel calls that need it (`klp_get_state()`); null before registration.
static CURRENT: AtomicPtr<bindings::klp_patch> = AtomicPtr::new(core::ptr::null_mut());

/// This module's `klp_patch`, once [`Registration::enable`] handed it over.
pub(crate) fn current_patch() -> Option<*mut bindings::klp_patch> {
    let patch = CURRENT.load(Ordering::Acquire);
    (!patch.is_null()).then_some(patch)
}

/// An enabled patch: the `klp_patch`, `klp_object` and `klp_func` structures
/// the kernel works on.
///
/// # Invariants
///
/// Once [`Registration::enable`] has succeeded, the kernel holds pointers into
/// `_patch`, `_objs` and `_funcs` until it has freed the patch. It frees the
/// patch before it drops the module reference that `klp_enable_patch()` took,
/// so the module, and this value with it, cannot be unloaded first. The three
/// heap buffers never move or grow, so the pointers stay valid.
pub struct Registration {
    _patch: KBox<Opaque<bindings::klp_patch>>,
    _objs: KVec<Opaque<bindings::klp_object>>,
    _funcs: KVec<Opaque<bindings::klp_func>>,
    _states: KVec<Opaque<bindings::klp_state>>,
}

// SAFETY: Rust never touches the structures after handing them over; the
// kernel accesses them under its own locking (`klp_mutex`), from any thread.
unsafe impl Send for Registration {}

// SAFETY: `Registration` has no methods taking `&self`; see `Send` above.
unsafe impl Sync for Registration {}

/// C structures whose all-zero value is valid, as in a C static initializer.
///
/// # Safety
///
/// Every field of the implementing type must accept the all-zero bit pattern.
unsafe trait ZeroedIsValid: Sized {
    fn zeroed() -> Self {
        // SAFETY: The implementor guarantees all-zero is a valid value.
        unsafe { MaybeUninit::zeroed().assume_init() }
    }
}

// SAFETY: Pointers, integers, bools, lists and kobjects of `klp_func`: C
// zero-initializes its `klp_func` arrays, and the kernel fills in the rest.
unsafe impl ZeroedIsValid for bindings::klp_func {}
// SAFETY: As for `klp_func`; a null callback is "no callback".
unsafe impl ZeroedIsValid for bindings::klp_object {}
// SAFETY: As for `klp_func`; `klp_init_patch_early()` initializes the rest.
unsafe impl ZeroedIsValid for bindings::klp_patch {}
// SAFETY: An id, a version and a data pointer; id 0 ends the array.
unsafe impl ZeroedIsValid for bindings::klp_state {}

impl Registration {
    /// Builds the kernel's structures for `spec` and enables the patch;
    /// `replace` makes it an atomic-replace (cumulative) patch, which
    /// disables and replaces every earlier one.
    ///
    /// On failure the kernel has already released the structures (its log
    /// says why, e.g. an unknown symbol) and its error code is returned. A
    /// module the post-link step did not process is refused with `ENOEXEC`
    /// before the kernel sees it (see `post_link.rs`).
    pub fn enable(
        module: &'static ThisModule,
        spec: &'static Patch,
        replace: bool,
    ) -> Result<Self> {
        post_link::check()?;
        let nr_funcs = spec.objects.iter().map(|o| o.funcs.len() + 1).sum();
        let mut funcs = KVec::with_capacity(nr_funcs, GFP_KERNEL)?;
        for object in spec.objects {
            for func in object.funcs {
                let mut raw = bindings::klp_func::zeroed();
                raw.old_name = func.old_name.as_char_ptr();
                raw.new_func = func.new_func.cast_mut();
                raw.old_sympos = func.sympos;
                funcs.push(Opaque::new(raw), GFP_KERNEL)?;
            }
            // The terminating all-zero entry `klp_for_each_func_static()` stops at.
            funcs.push(Opaque::new(bindings::klp_func::zeroed()), GFP_KERNEL)?;
        }

        let mut objs = KVec::with_capacity(spec.objects.len() + 1, GFP_KERNEL)?;
        let mut first_func = 0;
        for object in spec.objects {
            let mut raw = bindings::klp_object::zeroed();
            raw.name = object.name.map_or(core::ptr::null(), |n| n.as_char_ptr());
            raw.funcs = funcs[first_func].get();
            first_func += object.funcs.len() + 1;
            if let Some(callbacks) = &object.callbacks {
                callbacks.install(&mut raw.callbacks);
            }
            objs.push(Opaque::new(raw), GFP_KERNEL)?;
        }
        objs.push(Opaque::new(bindings::klp_object::zeroed()), GFP_KERNEL)?;

        let mut states = KVec::with_capacity(spec.states.len() + 1, GFP_KERNEL)?;
        for state in spec.states {
            let mut raw = bindings::klp_state::zeroed();
            raw.id = state.id;
            raw.version = state.version;
            states.push(Opaque::new(raw), GFP_KERNEL)?;
        }
        states.push(Opaque::new(bindings::klp_state::zeroed()), GFP_KERNEL)?;

        let mut raw = bindings::klp_patch::zeroed();
        raw.mod_ = module.as_ptr();
        raw.objs = objs[0].get();
        raw.states = states[0].get();
        raw.replace = replace;
        let patch = KBox::new(Opaque::new(raw), GFP_KERNEL)?;
        // Callbacks run inside `klp_enable_patch()` and may ask for states.
        CURRENT.store(patch.get(), Ordering::Release);

        // SAFETY: `patch` and the arrays it points to are complete, terminated
        // as `livepatch.h` requires, and live as long as the kernel uses them
        // (the type invariant); `module` is the patch's own module, marked
        // `livepatch=Y` by `patch!`.
        let enabled = to_result(unsafe { bindings::klp_enable_patch(patch.get()) });
        if let Err(e) = enabled {
            CURRENT.store(core::ptr::null_mut(), Ordering::Release);
            return Err(e);
        }
        // INVARIANT: The kernel now owns the structures until it frees the patch.
        Ok(Self {
            _patch: patch,
            _objs: objs,
            _funcs: funcs,
            _states: states,
        })
    }
}
