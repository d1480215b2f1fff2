//! `cargo xtask seed --arch A`: the initial (seed) patch of a kernel build:
//! version 0 of the build's cumulative series, empty, atomic replace
//! (`kmod/series/klp_series_v0.rs`), built against that kernel and laid out
//! as installed patches are (`lib/modules/<release>/livepatch/`), ready to
//! ship with the kernel.

use crate::{arch::Arch, cache::Cache, initramfs, kernel, modules, setup};
use anyhow::{bail, Context, Result};
use klp::modinfo::ModInfo;
use std::path::PathBuf;

/// The seed's module name.
pub const SEED: &str = "klp_series_v0";

/// `cargo xtask seed`.
#[derive(clap::Args, Debug)]
pub struct SeedCmd {
    /// Guest architecture.
    #[arg(long, default_value = "x86_64")]
    arch: Arch,
}

impl SeedCmd {
    pub fn run(self, cache: &Cache) -> Result<()> {
        let tc = setup::ensure(cache, false)?;
        let kernel = kernel::build(cache, &tc, self.arch)?;
        let kos = modules::build(cache, &tc, &kernel, modules::Lint::No)?;
        let seed = install_seed(&kernel, &kos)?;
        println!("{}", seed.display());
        Ok(())
    }
}

/// Checks the seed among `kos` and copies it to
/// `klp-rs-seed/lib/modules/<release>/livepatch/` of the checkout's
/// directory in the kernel build.
pub fn install_seed(kernel: &kernel::Kernel, kos: &[PathBuf]) -> Result<PathBuf> {
    let ko = &crate::modules::find(kos, SEED)?;
    let release = kernel.release()?;
    let data = std::fs::read(ko).with_context(|| format!("cannot read `{}`", ko.display()))?;
    let info = ModInfo::parse(&data).with_context(|| format!("reading `{}`", ko.display()))?;
    let get = |key: &str| info.get(key).unwrap_or("(missing)");
    let checks = [
        ("livepatch", "Y"),
        ("klp_seed", "Y"),
        ("klp_version", "0"),
        ("klp_kernel", release.as_str()),
    ];
    for (key, want) in checks {
        if get(key) != want {
            bail!(
                "`{}` is not a seed for kernel {release}: `{key}` is `{}`, not `{want}`",
                ko.display(),
                get(key)
            );
        }
    }
    let dir = kernel
        .checkout_dir()
        .join("klp-rs-seed/lib/modules")
        .join(&release)
        .join("livepatch");
    std::fs::create_dir_all(&dir)?;
    let installed = dir.join(format!("{SEED}.ko"));
    std::fs::copy(ko, &installed)
        .with_context(|| format!("cannot copy the seed to `{}`", installed.display()))?;
    eprintln!(
        "==> seed of kernel {release} (released {}): {SEED}, version 0, atomic replace",
        get("klp_released")
    );
    Ok(installed)
}

/// The seed as the guest's kernel ships it: installed in
/// `/lib/modules/<release>/livepatch/`.
pub fn installed_file(kernel: &kernel::Kernel, kos: &[PathBuf]) -> Result<initramfs::File> {
    let installed = install_seed(kernel, kos)?;
    Ok(initramfs::File {
        path: format!("lib/modules/{}/livepatch/{SEED}.ko", kernel.release()?),
        executable: false,
        data: std::fs::read(&installed)?,
    })
}
