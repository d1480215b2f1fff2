// SPDX-License-Identifier: GPL-2.0

//! Per-object callbacks: code that runs when an object is patched or
//! unpatched (`Documentation/livepatch/callbacks.rst`).

use super::bindings;
use kernel::{
    error::{
        from_result,
        VTABLE_DEFAULT_ERROR, //
    },
    ffi::c_int,
    prelude::*,
    str::CStr, //
};

/// The state of a loaded module, as `enum module_state` says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModuleState {
    /// Normal state.
    Live,
    /// Fully formed, running `module_init`.
    Coming,
    /// Going away.
    Going,
    /// Still being set up.
    Unformed,
}

impl ModuleState {
    /// The wording the kernel's livepatch selftests log for each state.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Live => "[MODULE_STATE_LIVE] Normal state",
            Self::Coming => "[MODULE_STATE_COMING] Full formed, running module_init",
            Self::Going => "[MODULE_STATE_GOING] Going away",
            Self::Unformed => "[MODULE_STATE_UNFORMED] Still setting it up",
        }
    }
}

/// The object a callback runs for: `vmlinux` or a loaded module.
///
/// # Invariants
///
/// `self.0` is a `klp_object` the kernel passed to a callback; it stays valid
/// for the duration of the callback, which is as long as `&ObjectRef` lives.
#[repr(transparent)]
pub struct ObjectRef(bindings::klp_object);

impl ObjectRef {
    /// The module this object patches, with its state; `None` for `vmlinux`.
    pub fn module(&self) -> Option<(&CStr, ModuleState)> {
        let module = self.0.mod_;
        if module.is_null() {
            return None;
        }
        // SAFETY: A non-null `mod` of an object passed to a callback is the
        // loaded module the object patches (the type invariant); the kernel
        // holds a reference to it for the duration of the callback.
        let module = unsafe { &*module };
        // SAFETY: `module.name` is the NUL-terminated name the loader copied.
        let name = unsafe { CStr::from_char_ptr(module.name.as_ptr()) };
        let state = match module.state {
            kernel::bindings::module_state_MODULE_STATE_LIVE => ModuleState::Live,
            kernel::bindings::module_state_MODULE_STATE_COMING => ModuleState::Coming,
            kernel::bindings::module_state_MODULE_STATE_GOING => ModuleState::Going,
            _ => ModuleState::Unformed,
        };
        Some((name, state))
    }
}

/// Callbacks of one object; every method is optional.
///
/// `pre_patch` runs before the object is patched and may veto it by failing;
/// `post_patch` runs once the patching transition has completed;
/// `pre_unpatch` before the unpatching transition starts; `post_unpatch`
/// after it has completed. A failed `pre_patch` of a module loaded later
/// keeps that module from loading.
#[vtable]
pub trait Callbacks {
    /// Before the object is patched.
    fn pre_patch(_obj: &ObjectRef) -> Result {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
    /// After the object has been patched.
    fn post_patch(_obj: &ObjectRef) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
    /// Before the object is unpatched.
    fn pre_unpatch(_obj: &ObjectRef) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
    /// After the object has been unpatched.
    fn post_unpatch(_obj: &ObjectRef) {
        build_error!(VTABLE_DEFAULT_ERROR)
    }
}

impl kernel::fmt::Display for ObjectRef {
    /// `vmlinux`, or `<module> -> <state>` as the kernel's selftests log it.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.module() {
            Some((name, state)) => write!(
                f,
                "{} -> {}",
                name.to_str().unwrap_or("?"),
                state.describe()
            ),
            None => f.write_str("vmlinux"),
        }
    }
}

/// The C function pointers for the callbacks `T` implements.
pub(crate) struct CallbackTable {
    pre_patch: bindings::klp_pre_patch_t,
    post_patch: bindings::klp_post_patch_t,
    pre_unpatch: bindings::klp_pre_unpatch_t,
    post_unpatch: bindings::klp_post_unpatch_t,
}

impl CallbackTable {
    /// The callbacks of `T`, null where it has none.
    pub(crate) const fn of<T: Callbacks>() -> Self {
        Self {
            pre_patch: if T::HAS_PRE_PATCH {
                Some(pre_patch::<T>)
            } else {
                None
            },
            post_patch: if T::HAS_POST_PATCH {
                Some(post_patch::<T>)
            } else {
                None
            },
            pre_unpatch: if T::HAS_PRE_UNPATCH {
                Some(pre_unpatch::<T>)
            } else {
                None
            },
            post_unpatch: if T::HAS_POST_UNPATCH {
                Some(post_unpatch::<T>)
            } else {
                None
            },
        }
    }

    /// Fills the `callbacks` member of a `klp_object`.
    pub(crate) fn install(&self, raw: &mut bindings::klp_callbacks) {
        raw.pre_patch = self.pre_patch;
        raw.post_patch = self.post_patch;
        raw.pre_unpatch = self.pre_unpatch;
        raw.post_unpatch = self.post_unpatch;
    }
}

/// # Safety
///
/// `obj` is the valid `klp_object` the kernel passes to a callback.
unsafe fn object<'a>(obj: *mut bindings::klp_object) -> &'a ObjectRef {
    // SAFETY: `ObjectRef` is a transparent wrapper of `klp_object`, and the
    // caller passes a valid object that outlives the callback.
    unsafe { &*obj.cast::<ObjectRef>() }
}

/// # Safety
///
/// The kernel calls it with the valid object being patched.
unsafe extern "C" fn pre_patch<T: Callbacks>(obj: *mut bindings::klp_object) -> c_int {
    // SAFETY: The kernel calls this with the object being patched.
    let obj = unsafe { object(obj) };
    from_result(|| T::pre_patch(obj).map(|()| 0))
}

/// # Safety
///
/// The kernel calls it with the valid object that was patched.
unsafe extern "C" fn post_patch<T: Callbacks>(obj: *mut bindings::klp_object) {
    // SAFETY: The kernel calls this with the object that was patched.
    T::post_patch(unsafe { object(obj) })
}

/// # Safety
///
/// The kernel calls it with the valid object being unpatched.
unsafe extern "C" fn pre_unpatch<T: Callbacks>(obj: *mut bindings::klp_object) {
    // SAFETY: The kernel calls this with the object being unpatched.
    T::pre_unpatch(unsafe { object(obj) })
}

/// # Safety
///
/// The kernel calls it with the valid object that was unpatched.
unsafe extern "C" fn post_unpatch<T: Callbacks>(obj: *mut bindings::klp_object) {
    // SAFETY: The kernel calls this with the object that was unpatched.
    T::post_unpatch(unsafe { object(obj) })
}
