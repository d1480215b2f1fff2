// SPDX-License-Identifier: GPL-2.0

//! Typed views of what a replaced function receives and returns: references
//! to C objects, objects it owns, in/out scalars and C function pointers,
//! each a [`CArg`] (or [`CRet`]) a replacement names in place of the C type.

use super::{
    func::owned_c_arg,
    CArg,
    CallFrame, //
};
use core::{
    ptr::NonNull,
    sync::atomic::{
        AtomicBool,
        AtomicI16,
        AtomicI32,
        AtomicI64,
        AtomicI8,
        AtomicIsize,
        AtomicPtr,
        AtomicU16,
        AtomicU32,
        AtomicU64,
        AtomicU8,
        AtomicUsize, //
    },
};
use kernel::prelude::*;

/// A Rust type that stands for a C type, so that a replacement may see C
/// memory of that type through a reference.
///
/// Implemented for integers, `bool`, raw pointers, atomics (for fields that
/// other CPUs write while the replacement runs), arrays of these, the
/// kernel's `list_head`, and the structs [`c_struct!`](super::c_struct)
/// declares.
///
/// # Safety
///
/// `Self` is `#[repr(C)]` (or a primitive) with the layout of the C type it
/// stands for, and every value C code can leave in that memory is a valid
/// `Self`.
pub unsafe trait CType: Sized + 'static {
    /// The value of zeroed memory (what C's `kzalloc()` gives): with
    /// `..T::ZERO`, a struct literal sets only the fields that are not 0.
    const ZERO: Self;
}

macro_rules! c_types {
    ($($t:ty = $zero:expr),*) => {$(
        // SAFETY: A primitive whose every value C can store is valid (C's
        // `_Bool` holds 0 or 1).
        unsafe impl CType for $t {
            const ZERO: Self = $zero;
        }
    )*};
}
c_types!(
    i8 = 0,
    u8 = 0,
    i16 = 0,
    u16 = 0,
    i32 = 0,
    u32 = 0,
    i64 = 0,
    u64 = 0
);
c_types!(isize = 0, usize = 0, bool = false);
c_types!(
    AtomicBool = AtomicBool::new(false),
    AtomicI8 = AtomicI8::new(0),
    AtomicU8 = AtomicU8::new(0),
    AtomicI16 = AtomicI16::new(0),
    AtomicU16 = AtomicU16::new(0),
    AtomicI32 = AtomicI32::new(0),
    AtomicU32 = AtomicU32::new(0),
    AtomicI64 = AtomicI64::new(0),
    AtomicU64 = AtomicU64::new(0),
    AtomicIsize = AtomicIsize::new(0),
    AtomicUsize = AtomicUsize::new(0)
);

// SAFETY: Has the layout of a C pointer; every address is a valid value.
unsafe impl<T: 'static> CType for AtomicPtr<T> {
    const ZERO: Self = AtomicPtr::new(core::ptr::null_mut());
}
// SAFETY: As above.
unsafe impl<T: 'static> CType for *mut T {
    const ZERO: Self = core::ptr::null_mut();
}
// SAFETY: As above.
unsafe impl<T: 'static> CType for *const T {
    const ZERO: Self = core::ptr::null();
}
// SAFETY: An array of C types is the C array.
unsafe impl<T: CType, const N: usize> CType for [T; N] {
    const ZERO: Self = [const { T::ZERO }; N];
}
// SAFETY: The kernel's own `struct list_head`, from its bindings: two
// pointers.
unsafe impl CType for kernel::bindings::list_head {
    const ZERO: Self = Self {
        next: core::ptr::null_mut(),
        prev: core::ptr::null_mut(),
    };
}

/// The pointer a C caller passed for a `&T`/`&mut T` parameter.
///
/// # Panics
///
/// If it is NULL: the replacement declared that the C function is never
/// passed NULL there, which is the kernel's own NULL dereference, as in C;
/// declare `Option<&T>` where NULL can come.
fn non_null<T>(raw: *mut T) -> NonNull<T> {
    match NonNull::new(raw) {
        Some(p) => p,
        None => panic!(
            "klp-rs: a replacement was passed NULL for a `&{}` parameter; declare it `Option<&_>`",
            core::any::type_name::<T>()
        ),
    }
}

// SAFETY: `T` has the layout of the C pointee (`CType`), the pointer is
// checked for NULL, and C code hands the function an object valid for the
// call, which the reference borrows (the call's frame).
unsafe impl<'a, T: CType> CArg for &'a T {
    type Raw = *mut T;
    type Framed<'f> = &'f T;
    unsafe fn from_raw<'f>(raw: *mut T, _: &'f CallFrame) -> &'f T {
        // SAFETY: As stated on this `impl`.
        unsafe { non_null(raw).as_ref() }
    }
}

// SAFETY: As for `&T`: the C function owns the object for the call, which a
// `&mut` reference says.
unsafe impl<'a, T: CType> CArg for &'a mut T {
    type Raw = *mut T;
    type Framed<'f> = &'f mut T;
    unsafe fn from_raw<'f>(raw: *mut T, _: &'f CallFrame) -> &'f mut T {
        // SAFETY: As stated on this `impl`.
        unsafe { non_null(raw).as_mut() }
    }
}

// SAFETY: As for `&T`, with NULL as `None`.
unsafe impl<'a, T: CType> CArg for Option<&'a T> {
    type Raw = *mut T;
    type Framed<'f> = Option<&'f T>;
    unsafe fn from_raw<'f>(raw: *mut T, _: &'f CallFrame) -> Option<&'f T> {
        // SAFETY: As stated on this `impl`.
        NonNull::new(raw).map(|p| unsafe { p.as_ref() })
    }
}

// SAFETY: As for `&mut T`, with NULL as `None`.
unsafe impl<'a, T: CType> CArg for Option<&'a mut T> {
    type Raw = *mut T;
    type Framed<'f> = Option<&'f mut T>;
    unsafe fn from_raw<'f>(raw: *mut T, _: &'f CallFrame) -> Option<&'f mut T> {
        // SAFETY: As stated on this `impl`.
        NonNull::new(raw).map(|mut p| unsafe { p.as_mut() })
    }
}

// SAFETY: A `KBox<T>` parameter declares that the replaced function takes
// ownership of a `kmalloc()`ed `T` and must free it (as `kfree()` in the C
// function): exactly what `KBox::from_raw` requires. The pointer is checked
// for NULL.
unsafe impl<T: CType> CArg for KBox<T> {
    type Raw = *mut T;
    type Framed<'f> = Self;
    unsafe fn from_raw<'f>(raw: *mut T, _: &'f CallFrame) -> Self {
        // SAFETY: As stated on this `impl`.
        unsafe { KBox::from_raw(non_null(raw).as_ptr()) }
    }
}

// SAFETY: As for `KBox<T>`, with NULL as `None`.
unsafe impl<T: CType> CArg for Option<KBox<T>> {
    type Raw = *mut T;
    type Framed<'f> = Self;
    unsafe fn from_raw<'f>(raw: *mut T, _: &'f CallFrame) -> Self {
        // SAFETY: As stated on this `impl`.
        (!raw.is_null()).then(|| unsafe { KBox::from_raw(raw) })
    }
}

/// What a replacement may return in place of the C return type.
pub trait CRet {
    /// The C type the old function returns.
    type Raw;

    /// The value handed to the C caller.
    fn into_raw(self) -> Self::Raw;
}

macro_rules! c_rets {
    ($($t:ty),*) => {$(
        impl CRet for $t {
            type Raw = Self;
            fn into_raw(self) -> Self {
                self
            }
        }
    )*};
}
c_rets!((), i8, u8, i16, u16, i32, u32, i64, u64, isize, usize, bool);

impl<T> CRet for *mut T {
    type Raw = Self;
    fn into_raw(self) -> Self {
        self
    }
}

impl<T> CRet for *const T {
    type Raw = Self;
    fn into_raw(self) -> Self {
        self
    }
}

/// A new object handed to the caller, which owns it from then on (C's
/// `return kzalloc(...)`): NULL for `None`.
impl<T: CType> CRet for Option<KBox<T>> {
    type Raw = *mut T;
    fn into_raw(self) -> *mut T {
        self.map_or(core::ptr::null_mut(), KBox::into_raw)
    }
}

/// C function pointers a replacement receives, as safe Rust function
/// pointers: `Option<extern "C" fn(c_ulong) -> c_ulong>` for
/// `unsigned long (*)(unsigned long)`. As with `safe fn` in
/// [`klp_extern!`](super::klp_extern), declaring it safe is the author's
/// word that every function the caller can pass is sound to call with any
/// values of those types.
macro_rules! c_fn_pointers {
    ($(($($a:ident),*)),*) => {$(
        // A C function pointer, NULL as `None`: the ABI of
        // `Option<extern "C" fn>`.
        owned_c_arg!(impl<R, $($a),*> Option<extern "C" fn($($a),*) -> R>);
    )*};
}
c_fn_pointers!((), (A), (A, B), (A, B, C), (A, B, C, D), (A, B, C, D, E));

/// Declares a Rust struct with the layout of a C struct the patched code
/// uses, so replacements can take it as `&T`, `&mut T`, `Option<&T>` or an
/// owned `KBox<T>`.
///
/// Every field must be a [`CType`]; declare the fields in the C order with
/// their C types (`c_ulong` for `unsigned long`, `list_head` for
/// `struct list_head`; an atomic for a field other CPUs write while the
/// replacement runs).
///
/// ```ignore
/// livepatch::c_struct! {
///     /// `struct dummy` of `livepatch-shadow-mod.c`.
///     pub struct Dummy {
///         list: list_head,
///         jiffies_expire: c_ulong,
///     }
/// }
/// ```
#[allow(unused_macros, reason = "each patch module uses some of the macros")]
macro_rules! c_struct {
    (
        $(#[$attr:meta])*
        $vis:vis struct $name:ident {
            $($(#[$fattr:meta])* $fvis:vis $field:ident: $ty:ty),* $(,)?
        }
    ) => {
        $(#[$attr])*
        #[repr(C)]
        $vis struct $name {
            $($(#[$fattr])* $fvis $field: $ty),*
        }

        // SAFETY: `#[repr(C)]` with fields that are all `CType`s, declared
        // in the C order with their C types.
        unsafe impl $crate::livepatch::CType for $name
        where
            $($ty: $crate::livepatch::CType),*
        {
            const ZERO: Self = Self {
                $($field: <$ty as $crate::livepatch::CType>::ZERO),*
            };
        }

        #[allow(dead_code, reason = "for patches that build a zeroed value")]
        impl $name {
            /// Every field 0, as `kzalloc()` leaves them.
            $vis const ZERO: Self = <Self as $crate::livepatch::CType>::ZERO;
        }
    };
}
pub(crate) use c_struct;
