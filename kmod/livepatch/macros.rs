// SPDX-License-Identifier: GPL-2.0

//! The declarative front end patch authors write.

/// Declares a live patch module: its metadata, the objects it patches and the
/// Rust functions that replace their functions.
///
/// The macro emits the `module!` declaration (license GPL, as livepatch
/// requires), the `livepatch=Y` modinfo tag, and an init that enables the
/// patch; the module holds no other code. Each replacement is written as an
/// ordinary Rust function after `old_name =>`; its parameters may use any
/// [`CArg`](super::CArg) type in place of the C type (e.g. `&SeqFile` for a
/// `struct seq_file *`), or `old_name => extern c_name,` for a replacement
/// written in C in the same module (`"old.name" => extern c_name,` for a
/// name that is no identifier, as GCC's clones). `#[sympos = N]` before `old_name` picks the N-th of
/// several local functions of that name in the object. `replace: true` makes
/// the patch a cumulative one that atomically replaces all earlier patches.
/// Objects are `vmlinux { ... }` or `module "name" { ... }`.
///
/// Before the objects, in any order:
/// - `shadows: { NAME: Shadow<Object, Data> = id, ... }` declares
///   [`Shadow`](super::Shadow) statics, bound to their type while the module
///   is loaded;
/// - `exit: function,` names a `fn(&Unload)` the module runs when it is
///   removed (after the kernel disabled the patch), e.g. to free every shadow
///   variable with [`Shadow::free_all`](super::Shadow::free_all);
/// - `replace: true`, `states: [...]`, `metadata: { ... }`.
///
/// A Rust replacement's signature is checked: the module build's post-link
/// step (`tools/klp-convert`) fails, naming both signatures, unless the old
/// function exists in the target build and, where the target has DWARF,
/// takes as many parameters as the replacement, each of the size of the
/// replacement's `<T as CArg>::Raw`, and returns a value of the size of the
/// replacement's (the C calling convention of the supported arches depends
/// on exactly these). `#[syscall] name => fn new(regs: *const pt_regs) ->
/// c_long` replaces this arch's entry of the system call `name`, which takes
/// the registers. A replacement in C is not checked (`extern` above).
///
/// # Examples
///
/// ```ignore
/// livepatch::patch! {
///     name: "livepatch_sample",
///     authors: ["Seth Jennings <sjenning@redhat.com>"],
///     description: "Replaces cmdline_proc_show()",
///     replace: false,
///     vmlinux {
///         cmdline_proc_show => fn livepatch_cmdline_proc_show(m: &SeqFile, _v: *mut c_void) -> c_int {
///             seq_print!(m, "this has been live patched\n");
///             0
///         }
///     }
/// }
/// ```
#[allow(unused_macros, reason = "each patch module uses some of the macros")]
macro_rules! patch {
    (
        name: $name:tt,
        authors: [$($author:tt),* $(,)?],
        description: $description:tt,
        $($rest:tt)+
    ) => {
        ::kernel::prelude::module! {
            type: KlpRsPatchModule,
            name: $name,
            authors: [$($author),*],
            description: $description,
            license: "GPL",
        }

        $crate::livepatch::livepatch_modinfo!();

        /// The module's name, as C code reads it from `THIS_MODULE->name`.
        const MODULE_NAME: &str = $name;

        struct KlpRsPatchModule {
            _registration: $crate::livepatch::Registration,
            _metadata: Option<$crate::livepatch::Published>,
            _shadows: $crate::livepatch::BoundShadows,
        }

        $crate::livepatch::patch!(@options [false] [] [] [] [] $description; $($rest)+);
    };

    // Optional settings, in any order, before the objects:
    // `[replace] [states] [metadata] [shadows] [exit]`.
    (@options [$replace:expr] [$($state:expr),*] [$($meta:tt)*] [$($sh:ident),*] [$($exit:path)?] $d:tt;
        replace: $new:expr, $($rest:tt)+) => {
        $crate::livepatch::patch!(@options [$new] [$($state),*] [$($meta)*] [$($sh),*] [$($exit)?] $d; $($rest)+);
    };
    (@options [$replace:expr] [$($state:expr),*] [$($meta:tt)*] [$($sh:ident),*] [$($exit:path)?] $d:tt;
        states: [$($new:expr),* $(,)?], $($rest:tt)+) => {
        $crate::livepatch::patch!(@options [$replace] [$($state,)* $($new),*] [$($meta)*] [$($sh),*] [$($exit)?] $d; $($rest)+);
    };
    (@options [$replace:expr] [$($state:expr),*] [] [$($sh:ident),*] [$($exit:path)?] $d:tt;
        metadata: { $($new:tt)* }, $($rest:tt)+) => {
        $crate::livepatch::patch!(@options [$replace] [$($state),*] [$($new)*] [$($sh),*] [$($exit)?] $d; $($rest)+);
    };
    (@options [$replace:expr] [$($state:expr),*] [$($meta:tt)*] [] [$($exit:path)?] $d:tt;
        shadows: { $($(#[$attr:meta])* $vis:vis $name:ident: Shadow<$obj:ty, $data:ty> = $id:expr),* $(,)? },
        $($rest:tt)+) => {
        $(
            $(#[$attr])*
            $vis static $name: $crate::livepatch::Shadow<$obj, $data> =
                // SAFETY: The module's init binds it (`BoundShadows::bind`)
                // before anything can use it: no replacement or callback
                // runs before the patch is enabled.
                unsafe { $crate::livepatch::Shadow::declare($id) };
        )*
        $crate::livepatch::patch!(@options [$replace] [$($state),*] [$($meta)*] [$($name),*] [$($exit)?] $d; $($rest)+);
    };
    (@options [$replace:expr] [$($state:expr),*] [$($meta:tt)*] [$($sh:ident),*] [] $d:tt;
        exit: $new:path, $($rest:tt)+) => {
        $crate::livepatch::patch!(@options [$replace] [$($state),*] [$($meta)*] [$($sh),*] [$new] $d; $($rest)+);
    };
    (@options [$replace:expr] [$($state:expr),*] [$($meta:tt)*] [$($sh:ident),*] [$($exit:path)?] $d:tt;
        $($objects:tt)+) => {
        $crate::livepatch::patch!(@modinfo $($meta)*);

        impl ::kernel::Module for KlpRsPatchModule {
            fn init(module: &'static ::kernel::ThisModule) -> ::kernel::error::Result<Self> {
                static PATCH: $crate::livepatch::Patch = $crate::livepatch::spec! {
                    states: [$($state),*],
                    $($objects)+
                };
                static SHADOWS: &[&dyn $crate::livepatch::ShadowDecl] = &[$(&$sh),*];
                let klp_rs_replace: bool = $replace;
                let metadata: Option<&'static $crate::livepatch::Metadata> =
                    $crate::livepatch::patch!(@metadata $d; $($meta)*);
                // Bound first: the patch's code may use them once enabled.
                let shadows = $crate::livepatch::BoundShadows::bind(MODULE_NAME, SHADOWS)?;
                let published = match metadata {
                    Some(meta) => Some($crate::livepatch::Published::create(module, meta)?),
                    None => None,
                };
                Ok(Self {
                    _registration: $crate::livepatch::Registration::enable(module, &PATCH, klp_rs_replace)?,
                    _metadata: published,
                    _shadows: shadows,
                })
            }
        }

        impl Drop for KlpRsPatchModule {
            fn drop(&mut self) {
                $(
                    // SAFETY: A patch module is only removed once the kernel
                    // has disabled its patch: no replacement runs.
                    $exit(&unsafe { $crate::livepatch::Unload::new() });
                )?
            }
        }
    };

    // Metadata, in this order: `version`, `kernel` (default: the release of
    // the kernel tree the module is built against), `released` (default:
    // `$KLP_RS_KERNEL_RELEASED`, the date of the kernel's source package),
    // `cves`, `bugs`, `seed` (default `false`).
    (@metadata $d:tt;) => { None };
    (@metadata $d:tt;
        version: $version:literal, $(kernel: $kernel:literal,)? $(released: $released:literal,)?
        $(cves: [$($cve:literal),* $(,)?],)? $(bugs: [$($bug:literal),* $(,)?],)? $(seed: $seed:literal,)?
    ) => {{
        static METADATA: $crate::livepatch::Metadata = $crate::livepatch::Metadata {
            version: $version,
            kernel: $crate::livepatch::patch!(@kernel $($kernel)?),
            released: $crate::livepatch::patch!(@released $($released)?),
            cves: &[$($($cve),*)?],
            bugs: &[$($($bug),*)?],
            seed: $crate::livepatch::patch!(@or_false $($seed)?),
            description: $d,
        };
        Some(&METADATA)
    }};
    (@metadata $($other:tt)*) => {
        ::core::compile_error!(
            "metadata: { version: N, [kernel: \"release\",] [released: \"YYYY-MM-DD\",] [cves: [...],] [bugs: [...],] [seed: bool,] }"
        )
    };
    (@kernel $kernel:literal) => { $kernel };
    (@kernel) => { env!("KLP_RS_KERNEL_RELEASE") };
    (@released $released:literal) => { $released };
    (@released) => {
        env!(
            "KLP_RS_KERNEL_RELEASED",
            "name the kernel's release date: `released: \"YYYY-MM-DD\"` (`cargo xtask build` sets it)"
        )
    };
    (@or_false $value:literal) => { $value };
    (@or_false) => { false };

    // The same metadata in `.modinfo`, for `modinfo` and the `klp` tool.
    (@modinfo) => {};
    (@modinfo
        version: $version:literal, $(kernel: $kernel:literal,)? $(released: $released:literal,)?
        $(cves: [$($cve:literal),* $(,)?],)? $(bugs: [$($bug:literal),* $(,)?],)? $(seed: $seed:literal,)?
    ) => {
        $crate::livepatch::modinfo!("klp_version=", stringify!($version));
        $crate::livepatch::modinfo!("klp_kernel=", $crate::livepatch::patch!(@kernel $($kernel)?));
        $crate::livepatch::modinfo!("klp_released=", $crate::livepatch::patch!(@released $($released)?));
        $($($crate::livepatch::modinfo!("klp_cve=", $cve);)*)?
        $($($crate::livepatch::modinfo!("klp_bug=", $bug);)*)?
        $crate::livepatch::modinfo!("klp_seed=",
            if $crate::livepatch::patch!(@or_false $($seed)?) { "Y" } else { "N" });
    };
    (@modinfo $($other:tt)*) => {};

    // Objects, one at a time, into the array of `Object`s.
    (@objects [$($done:expr),*]) => {
        &[$($done),*]
    };
    (@objects [$($done:expr),*] vmlinux $(with $callbacks:ident)? { $($funcs:tt)* } $($rest:tt)*) => {
        $crate::livepatch::patch!(@objects [$($done,)*
            $crate::livepatch::Object::vmlinux($crate::livepatch::patch!(@funcs "vmlinux" [] [] $($funcs)*))
                $(.with_callbacks::<$callbacks>())?
        ] $($rest)*)
    };
    (@objects [$($done:expr),*] module $objname:literal $(with $callbacks:ident)? { $($funcs:tt)* } $($rest:tt)*) => {
        $crate::livepatch::patch!(@objects [$($done,)*
            $crate::livepatch::Object::module(::kernel::c_str!($objname), $crate::livepatch::patch!(@funcs $objname [] [] $($funcs)*))
                $(.with_callbacks::<$callbacks>())?
        ] $($rest)*)
    };
    (@objects [$($done:expr),*] $other:tt $($rest:tt)*) => {
        ::core::compile_error!(concat!(
            "expected `vmlinux { ... }` or `module \"name\" { ... }` (optionally `with Callbacks`), found `",
            stringify!($other), "`"
        ))
    };

    // Replacement functions of the object `$obj`, one at a time:
    // `[definitions] [Func entries]`.
    (@funcs $obj:literal [$($def:item)*] [$($entry:expr),*]) => {{
        $($def)*
        const FUNCS: &[$crate::livepatch::Func] = &[$($entry),*];
        FUNCS
    }};
    (@funcs $obj:literal [$($def:item)*] [$($entry:expr),*]
        #[sympos = $pos:literal] $old:ident => fn $new:ident $args:tt $(-> $ret:ty)? $body:block $($rest:tt)*
    ) => {
        $crate::livepatch::patch!(@funcs $obj [$($def)*
            $crate::livepatch::patch!(@rust $obj, stringify!($old), $pos; fn $new $args $(-> $ret)? $body);]
            [$($entry,)* $crate::livepatch::patch!(@func ::kernel::c_str!(stringify!($old)), $new, $pos)] $($rest)*)
    };
    (@funcs $obj:literal [$($def:item)*] [$($entry:expr),*]
        #[syscall] $old:ident => fn $new:ident $args:tt $(-> $ret:ty)? $body:block $($rest:tt)*
    ) => {
        $crate::livepatch::patch!(@funcs $obj [$($def)*
            $crate::livepatch::patch!(@rust $obj, $crate::livepatch::syscall_name!($old), 0; fn $new $args $(-> $ret)? $body);]
            [$($entry,)* $crate::livepatch::patch!(@func
                ::kernel::c_str!($crate::livepatch::syscall_name!($old)), $new, 0)] $($rest)*)
    };
    (@funcs $obj:literal [$($def:item)*] [$($entry:expr),*]
        $old:ident => fn $new:ident $args:tt $(-> $ret:ty)? $body:block $($rest:tt)*
    ) => {
        $crate::livepatch::patch!(@funcs $obj [$($def)*
            $crate::livepatch::patch!(@rust $obj, stringify!($old), 0; fn $new $args $(-> $ret)? $body);]
            [$($entry,)* $crate::livepatch::patch!(@func ::kernel::c_str!(stringify!($old)), $new, 0)] $($rest)*)
    };
    // A replacement written in Rust of the function `$name` (a string
    // literal) of `$obj`: the function, and its signature in `.klp_rs.syms`,
    // where the post-link step checks it against the target's DWARF. The
    // parameters have the C types `<T as CArg>::Raw` (see `c_callable!`).
    (@rust $obj:literal, $name:expr, $pos:literal;
        fn $new:ident ($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    ) => {
        $crate::livepatch::c_callable!(fn $new($($arg: $ty),*) $(-> $ret)? $body);
        // `global_asm!` wants a module; this one sees the types of the
        // module around the patch, which the signature names.
        mod $new {
            #[allow(unused_imports, reason = "the parameter types, if any")]
            use super::*;
            $crate::livepatch::syms_line!("replace", $obj, $name, $pos,
                $crate::livepatch::signature_of!(
                    [$(<$ty as $crate::livepatch::CArg>::Raw),*] [$($ret)?]));
        }
    };
    // A replacement defined in C (e.g. a traceable entry point around a Rust
    // body: Rust functions have no ftrace call site). Rust does not see its
    // parameters (it declares it as `fn c_name()`, only to take its
    // address), so there is no signature to record: as in the kernel's own
    // C live patches, the C definition states it, and a generated patch
    // (`cargo xtask generate`) carries the kernel's own fixed code.
    (@funcs $obj:literal [$($def:item)*] [$($entry:expr),*]
        $(#[sympos = $pos:literal])? $old:ident => extern $new:ident, $($rest:tt)*
    ) => {
        $crate::livepatch::patch!(@funcs $obj [$($def)* extern "C" { fn $new(); }]
            [$($entry,)* $crate::livepatch::patch!(@func ::kernel::c_str!(stringify!($old)), $new,
                $crate::livepatch::patch!(@or_zero $($pos)?))] $($rest)*)
    };
    // The same, the old function named by a string: GCC's clones
    // (`"foo.isra.0"`) are no identifiers.
    (@funcs $obj:literal [$($def:item)*] [$($entry:expr),*]
        $(#[sympos = $pos:literal])? $old:literal => extern $new:ident, $($rest:tt)*
    ) => {
        $crate::livepatch::patch!(@funcs $obj [$($def)* extern "C" { fn $new(); }]
            [$($entry,)* $crate::livepatch::patch!(@func ::kernel::c_str!($old), $new,
                $crate::livepatch::patch!(@or_zero $($pos)?))] $($rest)*)
    };
    (@or_zero $pos:literal) => { $pos };
    (@or_zero) => { 0 };
    (@func $old:expr, $new:ident, $pos:expr) => {
        // SAFETY: `$new` is an `extern "C"` function: either a Rust one
        // defined by `c_callable!`, whose parameter count, parameter sizes
        // and return size the post-link step checked against the replaced
        // function's DWARF wherever the target build has DWARF (the module
        // does not build otherwise; every kernel `cargo xtask` builds has
        // it), or one the author wrote in C with the replaced function's
        // prototype.
        unsafe { $crate::livepatch::Func::new($old, $new as *const ::kernel::ffi::c_void, $pos) }
    };
}
pub(crate) use patch;

/// The body of a replacement that a skeleton (`cargo xtask diff
/// --emit-skeleton`) left to its author: the module refuses to build,
/// naming the function and its source file, until the body is written.
#[allow(unused_macros, reason = "only skeletons use it")]
macro_rules! unwritten {
    ($old:literal, $file:literal) => {
        ::core::compile_error!(concat!(
            "write the replacement of `",
            $old,
            "()` (",
            $file,
            "): the skeleton left its body to you"
        ))
    };
}
pub(crate) use unwritten;

/// Defines an `extern "C"` function with a Rust body whose parameters may be
/// [`CArg`](super::CArg) types (e.g. `&SeqFile` for `struct seq_file *`) and
/// whose return type may be a [`CRet`](super::CRet) type (e.g.
/// `Option<KBox<T>>` for a `T *` the caller then owns):
/// the body of a replacement function, or of a C entry point (which C code
/// of a composite module calls).
///
/// ```ignore
/// livepatch::c_callable! {
///     #[no_mangle]
///     fn klp_rs_show(m: &SeqFile, _v: *mut c_void) -> c_int { 0 }
/// }
/// ```
#[allow(unused_macros, reason = "each patch module uses some of the macros")]
macro_rules! c_callable {
    ($(#[$attr:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$attr])*
        extern "C" fn $name($($arg: <$ty as $crate::livepatch::CArg>::Raw),*)
            $(-> <$ret as $crate::livepatch::CRet>::Raw)?
        {
            // The body as written, so that `return` returns the Rust type.
            fn klp_rs_body($($arg: $ty),*) $(-> $ret)? $body
            let _frame = $crate::livepatch::CallFrame::new();
            $(
                // SAFETY: `$arg` is what the C caller passed; what it
                // borrows borrows `_frame`, which ends with the call.
                let $arg = unsafe { <$ty as $crate::livepatch::CArg>::from_raw($arg, &_frame) };
            )*
            $crate::livepatch::CRet::into_raw(klp_rs_body($($arg),*))
        }
    };
}
pub(crate) use c_callable;

/// The name of the entry symbol of system call `$name` on this arch, a
/// string literal, e.g. `"__x64_sys_getpid"` on x86_64
/// (`CONFIG_ARCH_HAS_SYSCALL_WRAPPER`). Each arch's entry takes the
/// registers, `const struct pt_regs *` (`struct pt_regs *` on s390x), and
/// returns a `long`.
#[cfg(target_arch = "x86_64")]
#[allow(unused_macros, reason = "each patch module uses some of the macros")]
macro_rules! syscall_name {
    ($name:ident) => {
        concat!("__x64_sys_", stringify!($name))
    };
}
#[cfg(target_arch = "aarch64")]
#[allow(unused_macros, reason = "each patch module uses some of the macros")]
macro_rules! syscall_name {
    ($name:ident) => {
        concat!("__arm64_sys_", stringify!($name))
    };
}
#[cfg(target_arch = "s390x")]
#[allow(unused_macros, reason = "each patch module uses some of the macros")]
macro_rules! syscall_name {
    ($name:ident) => {
        concat!("__s390x_sys_", stringify!($name))
    };
}
#[cfg(target_arch = "powerpc64")]
#[allow(unused_macros, reason = "each patch module uses some of the macros")]
macro_rules! syscall_name {
    ($name:ident) => {
        concat!("sys_", stringify!($name))
    };
}
pub(crate) use syscall_name;
/// The [`Patch`](super::Patch) a module hands to the kernel: its states and
/// its objects, in the syntax of [`patch!`]. For modules that write their
/// own init (e.g. to set something up before the patch is enabled).
#[allow(unused_macros, reason = "each patch module uses some of the macros")]
macro_rules! spec {
    (states: [$($state:expr),* $(,)?], $($objects:tt)+) => {
        $crate::livepatch::Patch {
            objects: $crate::livepatch::patch!(@objects [] $($objects)+),
            states: &[$($state.declared()),*],
        }
    };
    ($($objects:tt)+) => {
        $crate::livepatch::spec!(states: [], $($objects)+)
    };
}
pub(crate) use spec;

/// The `livepatch=Y` modinfo tag, without which `klp_enable_patch()` refuses
/// a patch. [`patch!`] emits it; modules that write their own init use this.
#[allow(unused_macros, reason = "each patch module uses some of the macros")]
macro_rules! livepatch_modinfo {
    () => {
        #[link_section = ".modinfo"]
        #[used(compiler)]
        // The leading NUL makes the entry start a string even when it comes
        // first in `.modinfo`: busybox's `modinfo` only finds a key right
        // after a NUL (the kernel skips the empty string).
        static KLP_RS_LIVEPATCH_MODINFO: [u8; 13] = *b"\0livepatch=Y\0";
    };
}
pub(crate) use livepatch_modinfo;

/// One `.modinfo` entry, `key=value`, from string pieces known at compile
/// time.
#[allow(unused_macros, reason = "each patch module uses some of the macros")]
macro_rules! modinfo {
    ($($part:expr),+) => {
        const _: () = {
            const PARTS: &[&str] = &[$($part),+];
            #[link_section = ".modinfo"]
            #[used(compiler)]
            static ENTRY: [u8; $crate::livepatch::param::modinfo_len(PARTS)] =
                $crate::livepatch::param::modinfo(PARTS);
        };
    };
}
pub(crate) use modinfo;

/// Declares a module parameter shown in `/sys/module/<module>/parameters/`
/// with permissions `perm`, parsed by the kernel's own `param_ops_*`, and
/// described to `modinfo`:
///
/// ```ignore
/// livepatch::param!(pre_patch_ret: i32 = 0, 0o644, "pre_patch_ret (default=0)");
/// livepatch::param!(klp_pids: [i32; 64], 0, "Array of pids");
/// ```
///
/// A scalar becomes a `static` [`Param`](super::Param) (`.get()`, `.set()`);
/// an array an [`IntArrayParam`](super::IntArrayParam).
#[allow(unused_macros, reason = "each patch module uses some of the macros")]
macro_rules! param {
    ($pname:ident: i32 = $default:expr, $perm:literal, $desc:literal) => {
        $crate::livepatch::param!(@scalar $pname, i32, $default, $perm, $desc, param_ops_int);
    };
    ($pname:ident: bool = $default:expr, $perm:literal, $desc:literal) => {
        $crate::livepatch::param!(@scalar $pname, bool, $default, $perm, $desc, param_ops_bool);
    };
    ($pname:ident: [i32; $max:expr], $perm:literal, $desc:literal) => {
        #[allow(non_upper_case_globals, reason = "named as the parameter users set")]
        static $pname: $crate::livepatch::IntArrayParam<{ $max }> =
            $crate::livepatch::IntArrayParam::new();
        const _: () = {
            static ARRAY: $crate::livepatch::param::KernelParamArray = $pname.describe();
            $crate::livepatch::param!(@entry $pname, $perm, $desc, "array of int",
                $crate::livepatch::param::ParamTarget::Array(&ARRAY));
        };
    };
    (@scalar $pname:ident, $ty:ty, $default:expr, $perm:literal, $desc:literal, $ops:ident) => {
        #[allow(non_upper_case_globals, reason = "named as the parameter users set")]
        static $pname: $crate::livepatch::Param<$ty> = $crate::livepatch::Param::new($default);
        const _: () = {
            $crate::livepatch::param!(@entry $pname, $perm, $desc,
                <$ty as $crate::livepatch::param::ParamType>::NAME,
                $crate::livepatch::param::ParamTarget::Scalar(
                    $pname.as_arg(),
                    &raw const ::kernel::bindings::$ops,
                ));
        };
    };
    (@entry $pname:ident, $perm:literal, $desc:literal, $tyname:expr, $target:expr) => {
        #[link_section = "__param"]
        #[used(compiler)]
        static ENTRY: $crate::livepatch::param::KernelParam =
            $crate::livepatch::param::KernelParam::new(
                ::kernel::c_str!(stringify!($pname)),
                $target,
                $perm,
            );
        const TYPE: &[&str] = &["parmtype=", stringify!($pname), ":", $tyname];
        #[link_section = ".modinfo"]
        #[used(compiler)]
        static PARMTYPE: [u8; $crate::livepatch::param::modinfo_len(TYPE)] =
            $crate::livepatch::param::modinfo(TYPE);
        const DESC: &[&str] = &["parm=", stringify!($pname), ":", $desc];
        #[link_section = ".modinfo"]
        #[used(compiler)]
        static PARM: [u8; $crate::livepatch::param::modinfo_len(DESC)] =
            $crate::livepatch::param::modinfo(DESC);
    };
}
pub(crate) use param;
