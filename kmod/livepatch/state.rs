// SPDX-License-Identifier: GPL-2.0

//! System states a patch changes, and their hand-over between cumulative
//! patches (`Documentation/livepatch/system-state.rst`).
//!
//! A patch declares each state it changes with an id and a version. The
//! kernel refuses a new patch that would drop a state still changed by the
//! active patches (unless atomic replace keeps it) or that lowers its
//! version; a state's data can be taken over by the next patch.

use super::{bindings, registration};
use core::marker::PhantomData;
use kernel::{
    ffi::{c_uint, c_ulong},
    prelude::*,
};

/// A system state of id `id` and version `version` whose data is a `T`.
///
/// Patches that declare the same id agree on what it means and on `T`: that
/// is the contract of state ids in the kernel's livepatch API, and the reason
/// a patch may read the data a previous patch stored under the same id.
pub struct State<T> {
    pub(crate) id: c_ulong,
    pub(crate) version: c_uint,
    _data: PhantomData<T>,
}

// SAFETY: A `State` holds two integers; the data it names is reached only
// through the kernel, under `klp_mutex` (callbacks and module init).
unsafe impl<T> Sync for State<T> {}

/// The identity of a state declaration, without its data type.
pub struct StateId {
    pub(crate) id: c_ulong,
    pub(crate) version: c_uint,
}

impl<T> State<T> {
    /// Declares a state; `id` must not be 0.
    pub const fn new(id: c_ulong, version: c_uint) -> Self {
        assert!(
            id != 0,
            "state id 0 is reserved: it ends the kernel's state array"
        );
        Self {
            id,
            version,
            _data: PhantomData,
        }
    }

    /// The id and version, as the patch's state list holds them.
    pub const fn declared(&self) -> StateId {
        StateId {
            id: self.id,
            version: self.version,
        }
    }

    /// This state in this module's patch; `None` if the patch does not
    /// declare it or is not registered.
    pub fn get(&self) -> Option<StateRef<T>> {
        let patch = registration::current_patch()?;
        // SAFETY: `patch` is this module's registered `klp_patch`, alive
        // while the module is.
        let raw = unsafe { bindings::klp_get_state(patch, self.id) };
        StateRef::new(raw)
    }

    /// This state in the already-installed patches, the one a cumulative
    /// patch takes over; `None` when no earlier patch declares it.
    pub fn get_prev(&self) -> Option<StateRef<T>> {
        // SAFETY: The kernel walks its list of patches; valid in callbacks.
        let raw = unsafe { bindings::klp_get_prev_state(self.id) };
        StateRef::new(raw)
    }
}

/// One patch's `klp_state`, with data of type `T`.
///
/// # Invariants
///
/// `raw` points to a `klp_state` of a registered patch; its `data` is null
/// or a `KBox<T>` leaked by [`StateRef::alloc`] of a patch declaring the same
/// id (and so the same `T`).
pub struct StateRef<T> {
    raw: *mut bindings::klp_state,
    _data: PhantomData<T>,
}

impl<T> StateRef<T> {
    fn new(raw: *mut bindings::klp_state) -> Option<Self> {
        // INVARIANT: The kernel returns states of registered patches, whose
        // data only this module type writes.
        (!raw.is_null()).then_some(Self {
            raw,
            _data: PhantomData,
        })
    }

    /// Whether the state holds data.
    pub fn has_data(&self) -> bool {
        // SAFETY: `raw` is valid (the type invariant).
        !unsafe { (*self.raw).data }.is_null()
    }

    /// Stores `value` as the state's data, in memory that outlives this
    /// module until [`StateRef::free`]; fails if data is already stored.
    pub fn alloc(&self, value: T, flags: kernel::alloc::Flags) -> Result {
        if self.has_data() {
            return Err(EEXIST);
        }
        let data = KBox::into_raw(KBox::new(value, flags)?);
        // SAFETY: `raw` is valid; the kernel serializes callbacks.
        unsafe { (*self.raw).data = data.cast() };
        Ok(())
    }

    /// Makes this state share the data of `prev` (a cumulative patch taking
    /// over the change of the patch it replaces).
    pub fn take_over(&self, prev: &StateRef<T>) {
        // SAFETY: Both are valid (the type invariant); same id, same `T`.
        unsafe { (*self.raw).data = (*prev.raw).data };
    }

    /// Drops the data and clears the pointer.
    pub fn free(&self) {
        // SAFETY: `raw` is valid (the type invariant).
        let data = unsafe { core::mem::replace(&mut (*self.raw).data, core::ptr::null_mut()) };
        if !data.is_null() {
            // SAFETY: Non-null data came from `KBox::into_raw` of a `T` (the
            // type invariant), and clearing the pointer above makes this the
            // only release.
            drop(unsafe { KBox::from_raw(data.cast::<T>()) });
        }
    }
}

impl<T: Copy> StateRef<T> {
    /// A copy of the data, if any.
    pub fn read(&self) -> Option<T> {
        // SAFETY: `raw` is valid (the type invariant).
        let data = unsafe { (*self.raw).data }.cast::<T>();
        // SAFETY: Non-null data is a live `T` (the type invariant).
        (!data.is_null()).then(|| unsafe { data.read() })
    }

    /// Overwrites the data; `ENOENT` if none was allocated.
    pub fn write(&self, value: T) -> Result {
        // SAFETY: `raw` is valid (the type invariant).
        let data = unsafe { (*self.raw).data }.cast::<T>();
        if data.is_null() {
            return Err(ENOENT);
        }
        // SAFETY: Non-null data is a live `T`; the kernel serializes callbacks.
        unsafe { data.write(value) };
        Ok(())
    }
}
