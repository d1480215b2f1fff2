// SPDX-License-Identifier: GPL-2.0

//! Kernel facilities that the Rust twins of the kernel's livepatch selftest
//! modules need and the kernel crate does not wrap: the console loglevel,
//! static work items and completions, a `/proc` file, a kprobe, and a
//! read-only attribute under `/sys/kernel`.
//!
//! A module that uses it includes it after the livepatch crate:
//!
//! ```ignore
//! #[path = "../testing/mod.rs"]
//! pub mod testing;
//! ```
//!
//! and its directory's Kbuild includes `testing.mk` after `livepatch.mk`.

mod console;
mod kprobe;
mod proc;
mod sysfs;
mod work;

pub use console::{
    console_loglevel,
    set_console_loglevel,
    CONSOLE_LOGLEVEL_MOTORMOUTH, //
};
pub use kprobe::Kprobe;
pub use proc::{
    ProcEntry,
    ShowFn, //
};
pub use sysfs::{
    KernelDir,
    ShowU32, //
};
pub use work::{
    msleep,
    StaticCompletion,
    StaticWork, //
};

/// Bindings for `kmod/testing/testing_bindings.h`, generated at module build
/// time by `kmod/testing/testing.mk`.
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
    include!(env!("KLP_RS_TESTING_BINDINGS"));
}
