// SPDX-License-Identifier: GPL-2.0

//! Functions and variables of the patched object that it does not export:
//! `static` helpers and `static` variables a fix must call or read.
//!
//! [`klp_extern!`] declares them by object (`vmlinux` or a module) and name;
//! each becomes an undefined symbol named as the kernel's livepatch symbols
//! are, `.klp.sym.<object>.<name>,<sympos>`, marked weak so that `modpost`
//! accepts the module. The post-link step of the module build
//! (`tools/klp-convert`, run by Kbuild on every `.ko`) then checks each one
//! against the target kernel build and rewrites the `.ko` as
//! `Documentation/livepatch/module-elf-format.rst` describes: the symbols
//! become `SHN_LIVEPATCH`, and the relocations against them move into
//! `.klp.rela.<object>.<section>` sections, which the kernel applies when the
//! patch is enabled, or when the patched module loads later.
//!
//! Each declaration also leaves a line in the non-allocated `.klp_rs.syms`
//! section (`fn <symbol> <signature>`, `static <symbol> <size>`), from which
//! the post-link step checks that the symbol is a function or a variable as
//! declared, a variable's size and, where the target build has DWARF, a
//! function's parameter and return sizes ([`signature_code`]). `patch!`
//! writes one there for each function it replaces with a Rust function
//! (`replace <name> <signature>`, `syms_line!`), checked the same way. The
//! section's type is `0x806b6c70`, one of those the ELF standard reserves
//! for applications (`SHT_LOUSER` to `SHT_HIUSER`): the linker keeps it, the
//! module loader ignores it, and `modpost`, which warns about a
//! non-allocated `SHT_PROGBITS` section it does not know (a section an
//! assembler file forgot to mark `"a"`), leaves it alone.
//!
//! C header: [`include/linux/livepatch_external.h`](srctree/include/linux/livepatch_external.h)

use core::cell::UnsafeCell;

/// A variable of the patched object, as [`klp_extern!`] declares it: read it
/// with [`read`](KlpStatic::read), or reach it through
/// [`as_ptr`](KlpStatic::as_ptr).
///
/// The kernel's own code may write the variable at any time, so it is never
/// seen as a plain `&T`.
#[repr(transparent)]
pub struct KlpStatic<T>(UnsafeCell<T>);

// SAFETY: `KlpStatic` hands out no reference to its value: reads are single
// volatile loads (the kernel's `READ_ONCE()`), anything else goes through a
// raw pointer whose use is `unsafe`.
unsafe impl<T> Sync for KlpStatic<T> {}

impl<T> KlpStatic<T> {
    /// The address of the variable.
    pub fn as_ptr(&self) -> *mut T {
        self.0.get()
    }
}

impl<T: Plain> KlpStatic<T> {
    /// The current value, read once (the kernel's `READ_ONCE()`).
    pub fn read(&self) -> T {
        // SAFETY: The variable lives as long as its object, whose code this
        // patch replaces (the kernel resolved the symbol before any
        // replacement could run), and every bit pattern is a valid `T`.
        unsafe { core::ptr::read_volatile(self.0.get()) }
    }
}

/// Types every bit pattern of which is a valid value, which
/// [`KlpStatic::read`] may therefore read from C memory.
///
/// # Safety
///
/// Every bit pattern of `size_of::<Self>()` bytes is a valid `Self`.
pub unsafe trait Plain: Copy {}

macro_rules! plain {
    ($($t:ty),*) => {$(
        // SAFETY: Every bit pattern is a valid integer or raw pointer.
        unsafe impl Plain for $t {}
    )*};
}
plain!(i8, u8, i16, u16, i32, u32, i64, u64, isize, usize);

// SAFETY: Every bit pattern is a valid raw pointer.
unsafe impl<T> Plain for *mut T {}

// SAFETY: Every bit pattern is a valid raw pointer.
unsafe impl<T> Plain for *const T {}

/// A declared function's signature as the post-link step checks it against
/// DWARF: bits 0-4 the parameter count, 5-8 the return value's size (0:
/// none), then 4 bits per parameter's size, for the first 13 (a size over
/// 15 is written 15). On the arches klp-rs supports, those sizes are what
/// the C calling convention of the kernel's functions depends on.
#[doc(hidden)]
pub const fn signature_code(params: &[usize], ret: usize) -> u64 {
    const fn nibble(size: usize) -> u64 {
        if size > 15 {
            15
        } else {
            size as u64
        }
    }
    let count = if params.len() > 31 { 31 } else { params.len() };
    let mut code = count as u64 | (nibble(ret) << 5);
    let mut i = 0;
    while i < params.len() && i < 13 {
        code |= nibble(params[i]) << (9 + 4 * i);
        i += 1;
    }
    code
}

/// Declares functions and variables of a patched object that it does not
/// export, to call and read them from replacement functions.
///
/// ```ignore
/// livepatch::klp_extern! {
///     vmlinux {
///         safe fn version_proc_show(m: &SeqFile, v: *mut c_void) -> c_int;
///         static pause_on_oops: c_int;
///     }
///     module "klp_rs_reloc_target" {
///         #[sympos = 2]
///         unsafe fn klp_rs_reloc_target_twin(p: *const c_int) -> c_int;
///     }
/// }
/// ```
///
/// A function becomes a Rust function of that name: `safe fn` a safe one,
/// `unsafe fn` an `unsafe` one. As in Rust's own `unsafe extern` blocks,
/// `safe` is the author's promise that the C function is sound to call with
/// any value of the declared parameter types (which must have the ABI of the
/// C ones: a `&SeqFile` is a `struct seq_file *`). A variable `static name: T`
/// becomes a function `name()` returning `&'static KlpStatic<T>`.
///
/// `#[sympos = N]` picks the N-th (1-based, in `/proc/kallsyms` order) of
/// several symbols of that name in the object; without it the name must be
/// unique there. The module build fails, naming the symbol, if a symbol is
/// missing from the target build, ambiguous, or of another kind (a function
/// declared as a variable, or the reverse) or size than declared.
///
/// A replacement function of one object must only use symbols of the same
/// object or of `vmlinux`: a module's symbols are resolved only while that
/// module is loaded.
#[allow(unused_macros, reason = "each patch module uses some of the macros")]
macro_rules! klp_extern {
    () => {};
    (vmlinux { $($items:tt)* } $($rest:tt)*) => {
        $crate::livepatch::klp_extern!(@items "vmlinux"; $($items)*);
        $crate::livepatch::klp_extern!($($rest)*);
    };
    (module $objname:literal { $($items:tt)* } $($rest:tt)*) => {
        $crate::livepatch::klp_extern!(@items $objname; $($items)*);
        $crate::livepatch::klp_extern!($($rest)*);
    };

    // One item at a time; `#[sympos = N]` first, if given.
    (@items $obj:literal;) => {};
    (@items $obj:literal; #[sympos = $pos:literal] $($rest:tt)*) => {
        $crate::livepatch::klp_extern!(@item $obj, $pos; $($rest)*);
    };
    (@items $obj:literal; $($rest:tt)*) => {
        $crate::livepatch::klp_extern!(@item $obj, 0; $($rest)*);
    };
    (@item $obj:literal, $pos:literal;
        $(#[doc = $doc:literal])* $vis:vis safe fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?;
        $($rest:tt)*
    ) => {
        $crate::livepatch::klp_extern!(@fn_symbol $obj, $name, $pos, [$($ty),*] [$($ret)?]);
        $(#[doc = $doc])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            let c = $crate::livepatch::klp_extern!(@c_fn $obj, $name, $pos, [$($arg: $ty),*] [$($ret)?]);
            // SAFETY: The author declared the function `safe`: sound to call
            // with any values of these types, which have the C ABI of its
            // parameters. The kernel resolved the symbol before this code
            // could run (see `klp_extern!`).
            unsafe { c($($arg),*) }
        }
        $crate::livepatch::klp_extern!(@items $obj; $($rest)*);
    };
    (@item $obj:literal, $pos:literal;
        $(#[doc = $doc:literal])* $vis:vis unsafe fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)?;
        $($rest:tt)*
    ) => {
        $crate::livepatch::klp_extern!(@fn_symbol $obj, $name, $pos, [$($ty),*] [$($ret)?]);
        $(#[doc = $doc])*
        ///
        /// # Safety
        ///
        /// What the C function requires of its arguments and context.
        $vis unsafe fn $name($($arg: $ty),*) $(-> $ret)? {
            let c = $crate::livepatch::klp_extern!(@c_fn $obj, $name, $pos, [$($arg: $ty),*] [$($ret)?]);
            // SAFETY: The caller upholds the C function's requirements; the
            // kernel resolved the symbol before this code could run.
            unsafe { c($($arg),*) }
        }
        $crate::livepatch::klp_extern!(@items $obj; $($rest)*);
    };
    (@item $obj:literal, $pos:literal;
        $(#[doc = $doc:literal])* $vis:vis static $name:ident: $ty:ty;
        $($rest:tt)*
    ) => {
        $crate::livepatch::klp_extern!(@symbol "static", $obj, $name, $pos,
            ::core::mem::size_of::<$ty>());
        $(#[doc = $doc])*
        $vis fn $name() -> &'static $crate::livepatch::KlpStatic<$ty> {
            extern "C" {
                #[link_name = concat!(".klp.sym.", $obj, ".", stringify!($name), ",", $pos)]
                #[allow(non_upper_case_globals, reason = "named as the C variable")]
                static $name: $crate::livepatch::KlpStatic<$ty>;
            }
            // SAFETY: `KlpStatic` only gives volatile or raw access to the C
            // variable, which lives as long as its object; the kernel resolved
            // the symbol before this code could run.
            unsafe { &$name }
        }
        $crate::livepatch::klp_extern!(@items $obj; $($rest)*);
    };
    (@item $obj:literal, $pos:literal; $($other:tt)*) => {
        ::core::compile_error!(concat!(
            "expected `safe fn name(args) -> T;`, `unsafe fn name(args) -> T;` or `static name: T;`, found `",
            stringify!($($other)*), "`"
        ));
    };

    // A function's line in `.klp_rs.syms`: its parameter and return sizes.
    (@fn_symbol $obj:literal, $name:ident, $pos:literal, [$($ty:ty),*] [$($ret:ty)?]) => {
        $crate::livepatch::klp_extern!(@symbol "fn", $obj, $name, $pos,
            $crate::livepatch::signature_of!([$($ty),*] [$($ret)?]));
    };
    // The C function behind a declaration, by its livepatch symbol.
    (@c_fn $obj:literal, $name:ident, $pos:literal, [$($arg:ident: $ty:ty),*] [$($ret:ty)?]) => {{
        #[allow(
            improper_ctypes,
            reason = "kernel structs are passed by pointer, whatever their fields"
        )]
        extern "C" {
            #[link_name = concat!(".klp.sym.", $obj, ".", stringify!($name), ",", $pos)]
            fn $name($($arg: $ty),*) $(-> $ret)?;
        }
        $name
    }};

    // The symbol's line in `.klp_rs.syms`, and its weak binding (`modpost`
    // accepts a weak undefined symbol, the post-link step makes it
    // `SHN_LIVEPATCH`).
    (@symbol $kind:literal, $obj:literal, $name:ident, $pos:literal, $size:expr) => {
        $crate::livepatch::syms_line!($kind, $obj, stringify!($name), $pos, $size);
        ::core::arch::global_asm!(
            concat!(".weak \".klp.sym.", $obj, ".", stringify!($name), ",", $pos, "\""),
        );
    };
}
pub(crate) use klp_extern;

/// The [`signature_code`] of a function taking parameters of types
/// `[$ty, ...]` and returning `[$ret]` (`[]`: nothing).
#[allow(unused_macros, reason = "each patch module uses some of the macros")]
macro_rules! signature_of {
    ([$($ty:ty),*] [$($ret:ty)?]) => {
        $crate::livepatch::signature_code(
            &[$(::core::mem::size_of::<$ty>()),*],
            $crate::livepatch::signature_of!(@size $($ret)?),
        )
    };
    (@size $ret:ty) => { ::core::mem::size_of::<$ret>() };
    (@size) => { 0 };
}
pub(crate) use signature_of;

/// A line of the non-allocated section `.klp_rs.syms`, which the post-link
/// step reads: `<kind> .klp.sym.<object>.<name>,<sympos> <value>`, where
/// `$value` is a constant (`fn`, `replace`: a [`signature_code`];
/// `static`: a size).
#[allow(unused_macros, reason = "each patch module uses some of the macros")]
macro_rules! syms_line {
    ($kind:literal, $obj:literal, $name:expr, $pos:literal, $value:expr) => {
        ::core::arch::global_asm!(
            ".pushsection .klp_rs.syms,\"\",%0x806b6c70",
            concat!(".ascii \"", $kind, " .klp.sym.", $obj, ".", $name, ",", $pos, " {value}\\n\""),
            ".popsection",
            value = const $value,
        );
    };
}
pub(crate) use syms_line;
