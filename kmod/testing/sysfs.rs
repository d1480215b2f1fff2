// SPDX-License-Identifier: GPL-2.0

//! A directory under `/sys/kernel` with read-only attributes
//! (`kobject_create_and_add()`, `sysfs_create_file()`).

use core::{marker::PhantomData, mem::MaybeUninit};
use kernel::{
    bindings,
    error::to_result,
    ffi::c_char,
    prelude::*,
    str::{
        CStr,
        CStrExt, //
    },
    types::Opaque, //
};

/// The value a read-only attribute shows.
pub trait ShowU32 {
    /// The value, printed as a decimal line.
    fn show() -> u32;
}

/// `/sys/kernel/<name>/` with one read-only attribute whose value `T` shows;
/// removed on drop.
///
/// # Invariants
///
/// `kobj` is a live kobject this value holds the only reference to; `attr`
/// is added to it when `added`, and stays put while the kobject lives.
pub struct KernelDir<T: ShowU32> {
    kobj: *mut bindings::kobject,
    _attr: KBox<Opaque<bindings::kobj_attribute>>,
    _show: PhantomData<T>,
}

// SAFETY: The kobject is refcounted and locked by the kernel; Rust only
// drops its reference.
unsafe impl<T: ShowU32> Send for KernelDir<T> {}
// SAFETY: `KernelDir` has no `&self` methods.
unsafe impl<T: ShowU32> Sync for KernelDir<T> {}

/// The attribute's `show`.
///
/// # Safety
///
/// `buf` is the page-sized buffer sysfs hands a `show` callback.
unsafe extern "C" fn show<T: ShowU32>(
    _kobj: *mut bindings::kobject,
    _attr: *mut bindings::kobj_attribute,
    buf: *mut c_char,
) -> isize {
    // SAFETY: sysfs passes a page-sized buffer; the format takes one
    // `unsigned int`.
    unsafe { bindings::sysfs_emit(buf, c"%u\n".as_char_ptr(), T::show()) as isize }
}

impl<T: ShowU32> KernelDir<T> {
    /// Creates `/sys/kernel/<name>/<attr_name>` (mode `0444`).
    pub fn create(name: &'static CStr, attr_name: &'static CStr) -> Result<Self> {
        // SAFETY: All-zero is a valid `kobj_attribute` (C uses static ones
        // with only the name, mode and `show` set).
        let mut raw: bindings::kobj_attribute = unsafe { MaybeUninit::zeroed().assume_init() };
        raw.attr.name = attr_name.as_char_ptr();
        raw.attr.mode = 0o444;
        raw.__bindgen_anon_1.show = Some(show::<T>);
        let attr = KBox::new(Opaque::new(raw), GFP_KERNEL)?;
        // SAFETY: `name` is a static C string; `kernel_kobj` is the kernel's
        // `/sys/kernel` kobject, which lives forever.
        let kobj =
            unsafe { bindings::kobject_create_and_add(name.as_char_ptr(), bindings::kernel_kobj) };
        if kobj.is_null() {
            return Err(ENOMEM);
        }
        // SAFETY: `kobj` is live; `attr` stays put (boxed) as long as `Self`,
        // which puts the kobject (removing the file) before freeing it.
        let added = to_result(unsafe {
            bindings::sysfs_create_file_ns(kobj, &raw mut (*attr.get()).attr, core::ptr::null())
        });
        if let Err(e) = added {
            // SAFETY: We hold the only reference.
            unsafe { bindings::kobject_put(kobj) };
            return Err(e);
        }
        // INVARIANT: `kobj` is live with `attr` added.
        Ok(Self {
            kobj,
            _attr: attr,
            _show: PhantomData,
        })
    }
}

impl<T: ShowU32> Drop for KernelDir<T> {
    fn drop(&mut self) {
        // SAFETY: The only reference (the type invariant); dropping it removes
        // the directory and its file before `attr` is freed.
        unsafe { bindings::kobject_put(self.kobj) };
    }
}
