// SPDX-License-Identifier: GPL-2.0

//! Kernel live patches written in safe Rust.
//!
//! A patch module declares, with [`patch!`], the objects it patches (`vmlinux`
//! or a module by name) and, for each, the functions it replaces with Rust
//! functions. The macro emits the module, its `livepatch=Y` modinfo tag and an
//! init that enables the patch; the kernel then redirects every call of an old
//! function to its replacement through ftrace.
//!
//! Every patch module compiles this crate into itself, so a patch `.ko` stands
//! alone. Its crate root starts with exactly these two lines:
//!
//! ```ignore
//! #[path = "../livepatch/mod.rs"]
//! pub mod livepatch;
//! ```
//!
//! Besides [`patch!`], a patch module may use [`c_struct!`] (a C struct a
//! replacement takes), [`klp_extern!`] (what the target does not export),
//! [`param!`] (module parameters) and [`c_callable!`] (a Rust body that C
//! code calls). The macros are `pub(crate)`, the crate's API to the patch
//! module that includes it, so their pages are under the modules that
//! define them.
//!
//! C header: [`include/linux/livepatch.h`](srctree/include/linux/livepatch.h)

mod c_types;
mod callbacks;
mod func;
mod klp_sym;
mod macros;
mod metadata;
pub mod param;
mod post_link;
mod registration;
mod shadow;
mod shadow_type;
mod state;
pub mod sysfs;
mod time;

#[allow(unused_imports, reason = "only patches that take C structs use it")]
pub(crate) use c_types::c_struct;
pub use c_types::{
    CRet,
    CType, //
};
pub use callbacks::{
    Callbacks,
    ModuleState,
    ObjectRef, //
};
pub use func::{
    CArg,
    CallFrame,
    Func,
    Object, //
};
#[allow(
    unused_imports,
    reason = "only patches that call or read unexported symbols use it"
)]
pub(crate) use klp_sym::klp_extern;
pub use klp_sym::{
    signature_code,
    KlpStatic,
    Plain, //
};
#[allow(
    unused_imports,
    reason = "each patch module uses some of these macros, none uses all"
)]
pub(crate) use klp_sym::{
    signature_of,
    syms_line, //
};
#[allow(
    unused_imports,
    reason = "each patch module uses some of these macros, none uses all"
)]
pub(crate) use macros::{
    c_callable,
    livepatch_modinfo,
    modinfo,
    param,
    patch,
    spec,
    syscall_name,
    unwritten, //
};
pub use metadata::{
    Metadata,
    Published, //
};
pub use param::{
    IntArrayParam,
    Param, //
};
pub use registration::{
    Patch,
    Registration, //
};
pub use shadow::{
    Destroy,
    LocalShadow,
    Shadow,
    Unload, //
};
pub use shadow_type::{
    BoundShadows,
    ShadowDecl, //
};
pub use state::{
    State,
    StateId,
    StateRef, //
};
pub use time::{
    jiffies,
    secs_to_jiffies,
    time_after, //
};

/// The kernel's livepatch types, generated at module build time from this
/// kernel's `include/linux/livepatch.h` by `kmod/livepatch/livepatch.mk`.
#[allow(
    non_camel_case_types,
    non_upper_case_globals,
    improper_ctypes,
    dead_code,
    unreachable_pub,
    clippy::all,
    clippy::as_underscore,
    clippy::cast_lossless,
    clippy::ptr_as_ptr,
    clippy::ref_as_ptr,
    clippy::undocumented_unsafe_blocks,
    reason = "bindgen output, whose items vary with the kernel version"
)]
mod bindings {
    include!(env!("KLP_RS_BINDINGS"));
}
