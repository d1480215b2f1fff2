// SPDX-License-Identifier: GPL-2.0

//! Replaced functions and the objects that hold them.

use super::callbacks::{
    CallbackTable,
    Callbacks, //
};
use kernel::{
    ffi::c_void,
    seq_file::SeqFile,
    str::CStr, //
};

/// A function of an object and the Rust function that replaces it.
///
/// Built by [`patch!`](super::patch), which is the only place that can vouch
/// for the replacement's shape.
pub struct Func {
    pub(crate) old_name: &'static CStr,
    pub(crate) new_func: *const c_void,
    pub(crate) sympos: usize,
}

// SAFETY: `Func` only holds a code address and static data, never written
// after construction; sharing it between threads is harmless.
unsafe impl Sync for Func {}

impl Func {
    /// Describes the replacement of `old_name` by the code at `new_func`.
    ///
    /// `sympos` picks the occurrence of `old_name` among several of that name
    /// in the object (1-based, as in `/proc/kallsyms`); 0 means it is unique.
    ///
    /// # Safety
    ///
    /// `new_func` must be an `extern "C"` function whose parameters and return
    /// value have the ABI of those of `old_name` in the running kernel.
    pub const unsafe fn new(
        old_name: &'static CStr,
        new_func: *const c_void,
        sympos: usize,
    ) -> Self {
        Self {
            old_name,
            new_func,
            sympos,
        }
    }
}

/// An object a patch changes: `vmlinux` or a module, its replaced functions
/// (possibly none) and its callbacks.
pub struct Object {
    pub(crate) name: Option<&'static CStr>,
    pub(crate) funcs: &'static [Func],
    pub(crate) callbacks: Option<CallbackTable>,
}

impl Object {
    /// The kernel image itself.
    pub const fn vmlinux(funcs: &'static [Func]) -> Self {
        Self {
            name: None,
            funcs,
            callbacks: None,
        }
    }

    /// The module `name`; it is patched whenever it is loaded, before or after
    /// the patch.
    pub const fn module(name: &'static CStr, funcs: &'static [Func]) -> Self {
        Self {
            name: Some(name),
            funcs,
            callbacks: None,
        }
    }

    /// The same object, with the callbacks of `T`.
    pub const fn with_callbacks<T: Callbacks>(self) -> Self {
        Self {
            callbacks: Some(CallbackTable::of::<T>()),
            ..self
        }
    }
}

/// A Rust parameter type a replacement function may take in place of the C
/// parameter the kernel passes.
///
/// # Safety
///
/// `Raw` must have the ABI of the C parameter type, and
/// [`from_raw`](CArg::from_raw) must be sound for every value the patched
/// function can receive from its callers.
pub unsafe trait CArg: Sized {
    /// The C type the old function receives.
    type Raw;

    /// Converts the value the kernel passed.
    ///
    /// # Safety
    ///
    /// `raw` is what a caller of the old function passed, and the result does
    /// not outlive the call.
    unsafe fn from_raw(raw: Self::Raw) -> Self;
}

macro_rules! pass_through {
    ($($t:ty),*) => {$(
        // SAFETY: The Rust type is the C type itself.
        unsafe impl CArg for $t {
            type Raw = Self;
            unsafe fn from_raw(raw: Self) -> Self {
                raw
            }
        }
    )*};
}
pass_through!(i8, u8, i16, u16, i32, u32, i64, u64, isize, usize, bool);

// SAFETY: A raw pointer is passed on as it came; dereferencing it stays
// `unsafe` for whoever does it.
unsafe impl<T> CArg for *mut T {
    type Raw = Self;
    unsafe fn from_raw(raw: Self) -> Self {
        raw
    }
}

// SAFETY: A raw pointer is passed on as it came, as above.
unsafe impl<T> CArg for *const T {
    type Raw = Self;
    unsafe fn from_raw(raw: Self) -> Self {
        raw
    }
}

// SAFETY: A `seq_file` `show` callback receives a valid `struct seq_file`
// that only the calling thread touches until it returns; the reference does
// not outlive the call (`from_raw`'s contract).
unsafe impl<'a> CArg for &'a SeqFile {
    type Raw = *mut kernel::bindings::seq_file;
    unsafe fn from_raw(raw: Self::Raw) -> Self {
        // SAFETY: As stated on this `impl`.
        unsafe { SeqFile::from_raw(raw) }
    }
}
