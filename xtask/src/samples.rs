//! The kernel's own C live patch samples (`samples/livepatch/`), built from
//! the same kernel tree: the target modules the Rust twins of
//! `kmod/samples/` patch (whose DWARF the post-link step checks the twins'
//! replacements against), and, for the `samples` suite, the C patches the
//! twins are compared with.

use crate::{cache::Cache, initramfs, kernel, modules, setup};
use anyhow::{Context, Result};
use std::path::PathBuf;

/// Where the guest finds them: `/samples/c/<file>.ko`.
const GUEST_DIR: &str = "samples/c";

/// The name of their build (`<checkout dir>/klp-rs-samples-c`).
const BUILD: &str = "samples-c";

/// Builds the C samples against `kernel` (Kbuild makes nothing when they
/// are up to date) and returns their modules.
pub fn build(
    cache: &Cache,
    tc: &setup::Toolchain,
    kernel: &kernel::Kernel,
) -> Result<Vec<PathBuf>> {
    modules::build_kernel_c_modules(
        cache,
        tc,
        kernel,
        &tc.source.join("samples/livepatch"),
        // Their Makefile builds them only for this option, which the guest
        // kernel leaves unset: the samples are built out of tree.
        &["CONFIG_SAMPLE_LIVEPATCH=m"],
        "the kernel's C livepatch samples",
        BUILD,
    )
}

/// The `modules.order` of their build, which lists the target modules.
pub fn modules_order(kernel: &kernel::Kernel) -> PathBuf {
    modules::c_modules_dir(kernel, BUILD).join("modules.order")
}

/// Builds the C samples against `kernel` and returns them as initramfs
/// files.
pub fn files(
    cache: &Cache,
    tc: &setup::Toolchain,
    kernel: &kernel::Kernel,
) -> Result<Vec<initramfs::File>> {
    build(cache, tc, kernel)?
        .iter()
        .map(|ko| {
            let name = ko
                .file_name()
                .with_context(|| format!("module `{}` has no name", ko.display()))?;
            Ok(initramfs::File {
                path: format!("{GUEST_DIR}/{}", name.to_string_lossy()),
                executable: false,
                data: std::fs::read(ko)
                    .with_context(|| format!("cannot read `{}`", ko.display()))?,
            })
        })
        .collect()
}
