// SPDX-License-Identifier: GPL-2.0

//! A directory under `/sys/kernel` with one read-only number, on the
//! livepatch crate's [`SysfsDir`].

use crate::livepatch::sysfs::{
    Parent,
    SysfsDir, //
};
use core::marker::PhantomData;
use kernel::{
    bindings,
    ffi::c_char,
    prelude::*,
    str::{
        CStr,
        CStrExt, //
    },
};

/// The value a read-only attribute shows.
pub trait ShowU32 {
    /// The value, printed as a decimal line.
    fn show() -> u32;
}

/// `/sys/kernel/<name>/` with one read-only attribute whose value `T` shows;
/// removed on drop.
pub struct KernelDir<T: ShowU32> {
    _dir: SysfsDir<1>,
    _show: PhantomData<T>,
}

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
        Ok(Self {
            _dir: SysfsDir::create(Parent::Kernel, name, [(attr_name, show::<T>)])?,
            _show: PhantomData,
        })
    }
}
