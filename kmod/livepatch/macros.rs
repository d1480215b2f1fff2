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
/// `struct seq_file *`). `#[sympos = N]` before `old_name` picks the N-th of
/// several local functions of that name in the object. `replace: true` makes
/// the patch a cumulative one that atomically replaces all earlier patches.
/// Objects are `vmlinux { ... }` or `module "name" { ... }`.
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
macro_rules! patch {
    (
        name: $name:tt,
        authors: [$($author:tt),* $(,)?],
        description: $description:tt,
        $(replace: $replace:literal,)?
        $($kind:ident $($objname:literal)? { $($funcs:tt)* })+
    ) => {
        ::kernel::prelude::module! {
            type: KlpRsPatchModule,
            name: $name,
            authors: [$($author),*],
            description: $description,
            license: "GPL",
        }

        /// The modinfo tag without which `klp_enable_patch()` refuses the patch.
        #[link_section = ".modinfo"]
        #[used(compiler)]
        static KLP_RS_LIVEPATCH_MODINFO: [u8; 12] = *b"livepatch=Y\0";

        struct KlpRsPatchModule {
            _registration: $crate::livepatch::Registration,
        }

        impl ::kernel::Module for KlpRsPatchModule {
            fn init(module: &'static ::kernel::ThisModule) -> ::kernel::error::Result<Self> {
                static PATCH: $crate::livepatch::Patch = $crate::livepatch::Patch {
                    objects: &[$($crate::livepatch::patch!(@object $kind $($objname)? { $($funcs)* })),+],
                    replace: $crate::livepatch::patch!(@or_false $($replace)?),
                };
                Ok(Self {
                    _registration: $crate::livepatch::Registration::enable(module, &PATCH)?,
                })
            }
        }
    };

    (@object vmlinux { $($funcs:tt)* }) => {
        $crate::livepatch::Object::vmlinux($crate::livepatch::patch!(@funcs $($funcs)*))
    };
    (@object module $objname:literal { $($funcs:tt)* }) => {
        $crate::livepatch::Object::module(::kernel::c_str!($objname), $crate::livepatch::patch!(@funcs $($funcs)*))
    };
    (@object $other:ident $($rest:tt)*) => {
        ::core::compile_error!(concat!(
            "unknown object kind `", stringify!($other), "`: use `vmlinux { ... }` or `module \"name\" { ... }`"
        ))
    };

    (@funcs $(
        $(#[sympos = $pos:literal])?
        $old:ident => fn $new:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block
    )*) => {{
        $(
            extern "C" fn $new($($arg: <$ty as $crate::livepatch::CArg>::Raw),*) $(-> $ret)? {
                $(
                    // SAFETY: `$arg` is what the caller of the patched function
                    // passed, and the converted value lives only for this call.
                    let $arg: $ty = unsafe { <$ty as $crate::livepatch::CArg>::from_raw($arg) };
                )*
                $body
            }
        )*
        const FUNCS: &[$crate::livepatch::Func] = &[$(
            // SAFETY: `$new` was just defined as an `extern "C"` function with
            // the declared parameters, which take the C types of `$old`.
            unsafe {
                $crate::livepatch::Func::new(
                    ::kernel::c_str!(stringify!($old)),
                    $new as *const ::kernel::ffi::c_void,
                    $crate::livepatch::patch!(@or_zero $($pos)?),
                )
            }
        ),*];
        FUNCS
    }};

    (@or_false $value:literal) => { $value };
    (@or_false) => { false };
    (@or_zero $value:literal) => { $value };
    (@or_zero) => { 0 };
}
pub(crate) use patch;
