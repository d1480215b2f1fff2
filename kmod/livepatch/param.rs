// SPDX-License-Identifier: GPL-2.0

//! Module parameters with the kernel's own parsers, visible in
//! `/sys/module/<name>/parameters/` with the permissions a patch asks for
//! (the kernel crate's `module!` parameters are read-only and hidden).
//!
//! C header: [`include/linux/moduleparam.h`](srctree/include/linux/moduleparam.h)

use kernel::{
    bindings,
    ffi::{c_int, c_uint, c_void},
    str::CStr,
    types::Opaque, //
};

/// A value type the kernel's `param_ops_*` parse and print: `i32`
/// (`param_ops_int`) or `bool` (`param_ops_bool`); [`param!`](super::param!)
/// picks the ops by the type's name.
///
/// # Safety
///
/// The type must have the layout of the C type the ops read and write, and
/// every value they store must be valid for it.
pub unsafe trait ParamType: Copy {
    /// What `modinfo` shows as the type.
    const NAME: &'static str;
}

// SAFETY: `param_ops_int` reads and writes an `int`.
unsafe impl ParamType for i32 {
    const NAME: &'static str = "int";
}

// SAFETY: `param_ops_bool` reads and writes a `bool`, which has Rust's
// layout and only ever holds 0 or 1.
unsafe impl ParamType for bool {
    const NAME: &'static str = "bool";
}

/// A scalar module parameter; declare it with [`param!`](super::param!).
pub struct Param<T> {
    value: Opaque<T>,
}

// SAFETY: The kernel writes the value under its parameter lock; Rust reads
// it with volatile loads and writes it only through `set`, as C code does.
unsafe impl<T: Copy> Sync for Param<T> {}

impl<T: ParamType> Param<T> {
    /// A parameter holding `default` until it is set.
    pub const fn new(default: T) -> Self {
        Self {
            value: Opaque::new(default),
        }
    }

    /// The current value (it can change at any time through sysfs).
    pub fn get(&self) -> T {
        // SAFETY: The cell always holds a valid `T` (`ParamType`'s contract
        // for the kernel's writes); a volatile read sees the latest store.
        unsafe { self.value.get().read_volatile() }
    }

    /// Changes the value, as `WRITE_ONCE()` would.
    pub fn set(&self, value: T) {
        // SAFETY: The cell is valid for writes of a `T`; races with sysfs are
        // benign for these plain scalars, as they are in C.
        unsafe { self.value.get().write_volatile(value) }
    }

    /// The address the kernel parses into.
    pub const fn as_arg(&self) -> *mut c_void {
        self.value.get().cast()
    }
}

/// An array parameter of up to `N` `int`s (`module_param_array(name, int,
/// &count, perm)`); declare it with [`param!`](super::param!).
pub struct IntArrayParam<const N: usize> {
    values: Opaque<[c_int; N]>,
    count: Opaque<c_uint>,
}

// SAFETY: As for `Param`.
unsafe impl<const N: usize> Sync for IntArrayParam<N> {}

impl<const N: usize> IntArrayParam<N> {
    /// An empty array.
    pub const fn new() -> Self {
        Self {
            values: Opaque::new([0; N]),
            count: Opaque::new(0),
        }
    }

    /// The values given, copied out, and how many were given.
    pub fn values(&self) -> ([c_int; N], usize) {
        // SAFETY: The cell always holds a `c_uint` the kernel keeps <= `N`.
        let count = unsafe { self.count.get().read_volatile() } as usize;
        // SAFETY: The cell always holds `N` valid `int`s.
        (unsafe { self.values.get().read_volatile() }, count.min(N))
    }

    /// The `kparam_array` describing this array to the kernel.
    pub const fn describe(&'static self) -> KernelParamArray {
        KernelParamArray(bindings::kparam_array {
            max: N as c_uint,
            elemsize: core::mem::size_of::<c_int>() as c_uint,
            num: self.count.get(),
            ops: &raw const bindings::param_ops_int,
            elem: self.values.get().cast(),
        })
    }
}

impl<const N: usize> Default for IntArrayParam<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// A `kparam_array` in a static.
#[repr(transparent)]
pub struct KernelParamArray(bindings::kparam_array);

// SAFETY: Only the kernel reads it, after the module is loaded.
unsafe impl Sync for KernelParamArray {}

/// A `kernel_param` entry of the module's `__param` section.
#[repr(transparent)]
pub struct KernelParam(bindings::kernel_param);

// SAFETY: Only the kernel reads it, under its parameter lock.
unsafe impl Sync for KernelParam {}

/// Where a parameter's value lives and how the kernel parses it.
pub enum ParamTarget {
    /// A scalar at an address, with its `param_ops_*`.
    Scalar(*mut c_void, *const bindings::kernel_param_ops),
    /// An array described by a `kparam_array`.
    Array(&'static KernelParamArray),
}

impl KernelParam {
    /// The entry for parameter `name` of this module.
    pub const fn new(name: &'static CStr, target: ParamTarget, perm: u16) -> Self {
        let (ops, arg) = match target {
            ParamTarget::Scalar(arg, ops) => (ops, bindings::kernel_param__bindgen_ty_1 { arg }),
            ParamTarget::Array(array) => (
                &raw const bindings::param_array_ops,
                bindings::kernel_param__bindgen_ty_1 {
                    arr: &raw const array.0,
                },
            ),
        };
        Self(bindings::kernel_param {
            name: kernel::str::as_char_ptr_in_const_context(name),
            mod_: &raw mut bindings::__this_module,
            ops,
            perm,
            level: -1,
            flags: 0,
            __bindgen_anon_1: arg,
        })
    }
}

/// A `.modinfo` entry (`key=value\0`) as a fixed-size array, built at
/// compile time from string pieces.
pub const fn modinfo<const LEN: usize>(parts: &[&str]) -> [u8; LEN] {
    let mut out = [0u8; LEN];
    let mut at = 0;
    let mut p = 0;
    while p < parts.len() {
        let bytes = parts[p].as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            out[at] = bytes[i];
            at += 1;
            i += 1;
        }
        p += 1;
    }
    assert!(at + 1 == LEN, "modinfo entry length mismatch");
    out
}

/// The length [`modinfo`] needs for `parts` (with the final NUL).
pub const fn modinfo_len(parts: &[&str]) -> usize {
    let mut len = 1;
    let mut p = 0;
    while p < parts.len() {
        len += parts[p].len();
        p += 1;
    }
    len
}
