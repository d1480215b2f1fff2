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
/// A reference the C caller lends lives only for the call: the value
/// [`from_raw`](CArg::from_raw) makes borrows a frame of the call, so a
/// replacement declared with `&'static T` does not build.
///
/// # Safety
///
/// `Raw` must have the ABI of the C parameter type, and
/// [`from_raw`](CArg::from_raw) must be sound for every value the patched
/// function can receive from its callers, for the frame's lifetime.
pub unsafe trait CArg: Sized {
    /// The C type the old function receives.
    type Raw;

    /// `Self` with its borrows shortened to the call's frame `'f`.
    type Framed<'f>;

    /// Converts the value the kernel passed, for the call whose frame is
    /// `frame`.
    ///
    /// # Safety
    ///
    /// `raw` is what a caller of the old function passed.
    unsafe fn from_raw<'f>(raw: Self::Raw, frame: &'f CallFrame) -> Self::Framed<'f>;
}

/// The frame of one call of a replacement: what the references it receives
/// borrow.
pub struct CallFrame {
    _private: (),
}

impl CallFrame {
    /// A frame, which [`c_callable!`](super::c_callable) makes for each
    /// call from C.
    #[doc(hidden)]
    pub const fn new() -> Self {
        Self { _private: () }
    }
}

/// `CArg` for a type that borrows nothing: passed as it came.
macro_rules! owned_c_arg {
    (impl<$($g:ident),* $(,)?> $t:ty) => {
        // SAFETY: The Rust type is the C type itself (or has its ABI) and
        // borrows nothing.
        unsafe impl<$($g),*> CArg for $t {
            type Raw = Self;
            type Framed<'f> = Self;
            unsafe fn from_raw<'f>(raw: Self, _: &'f CallFrame) -> Self {
                raw
            }
        }
    };
    ($t:ty) => {
        $crate::livepatch::func::owned_c_arg!(impl<> $t);
    };
}
pub(crate) use owned_c_arg;

owned_c_arg!(i8);
owned_c_arg!(u8);
owned_c_arg!(i16);
owned_c_arg!(u16);
owned_c_arg!(i32);
owned_c_arg!(u32);
owned_c_arg!(i64);
owned_c_arg!(u64);
owned_c_arg!(isize);
owned_c_arg!(usize);
owned_c_arg!(bool);
// Dereferencing a raw pointer stays `unsafe` for whoever does it.
owned_c_arg!(impl<T> *mut T);
owned_c_arg!(impl<T> *const T);

// SAFETY: A `seq_file` `show` callback receives a valid `struct seq_file`
// that only the calling thread touches until it returns; the reference
// borrows the call's frame.
unsafe impl<'a> CArg for &'a SeqFile {
    type Raw = *mut kernel::bindings::seq_file;
    type Framed<'f> = &'f SeqFile;
    unsafe fn from_raw<'f>(raw: Self::Raw, _: &'f CallFrame) -> &'f SeqFile {
        // SAFETY: As stated on this `impl`.
        unsafe { SeqFile::from_raw(raw) }
    }
}
