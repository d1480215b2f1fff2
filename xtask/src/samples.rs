//! The kernel's own C live patch samples (`samples/livepatch/`), built from
//! the same kernel tree, for the `samples` suite: the target modules the
//! Rust twins of `kmod/samples/` patch, and the C patches they twin.

use crate::{cache::Cache, initramfs, kernel, modules, setup};
use anyhow::{Context, Result};

/// Where the guest finds them: `/samples/c/<file>.ko`.
const GUEST_DIR: &str = "samples/c";

/// Builds the C samples against `kernel` and returns them as initramfs
/// files.
pub fn files(
    cache: &Cache,
    tc: &setup::Toolchain,
    kernel: &kernel::Kernel,
) -> Result<Vec<initramfs::File>> {
    let kos = modules::build_kernel_c_modules(
        cache,
        tc,
        kernel,
        &tc.source.join("samples/livepatch"),
        // Their Makefile builds them only for this option, which the guest
        // kernel leaves unset: the samples are built out of tree.
        &["CONFIG_SAMPLE_LIVEPATCH=m"],
        "the kernel's C livepatch samples",
        "samples-c",
    )?;
    kos.iter()
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
