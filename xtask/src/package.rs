//! `cargo xtask package FILE.ko...`: each built patch module as a `.deb`
//! and an `.rpm` (one package name per kernel release, the cumulative
//! version as the package version), plus the common package of the
//! initramfs integration they depend on (`tools/klp-package`).

use crate::{cache::Cache, repo_root};
use anyhow::{Context, Result};
use klp_package::{common_package, deb, lifecycle, patch_package, rpmpkg, Options, Package};
use std::path::{Path, PathBuf};

/// `cargo xtask package`.
#[derive(clap::Args, Debug)]
pub struct PackageCmd {
    /// Built, post-linked, signed patch modules (`cargo xtask build` prints
    /// their paths).
    #[arg(required = true, value_name = "FILE.ko")]
    modules: Vec<PathBuf>,
    /// Where the packages go (default: `target/packages/` of the checkout).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Months of support after the kernel's release.
    #[arg(long, value_name = "N", default_value_t = lifecycle::DEFAULT_SUPPORT_MONTHS)]
    support_months: u32,
    /// Debian's `Maintainer:` and RPM's packager.
    #[arg(long, value_name = "NAME <EMAIL>")]
    maintainer: Option<String>,
}

impl PackageCmd {
    pub fn run(self, _cache: &Cache) -> Result<()> {
        let out = self
            .out
            .unwrap_or_else(|| repo_root().join("target/packages"));
        std::fs::create_dir_all(&out)
            .with_context(|| format!("cannot create `{}`", out.display()))?;
        let mut options = Options {
            support_months: self.support_months,
            ..Options::default()
        };
        if let Some(m) = self.maintainer {
            options.maintainer = m;
        }
        for ko in &self.modules {
            let package = patch_package(ko, &options)?;
            eprintln!(
                "==> {} version {} ({}; {})",
                package.name,
                package.version,
                ko.display(),
                package.summary
            );
            write_both(&package, &out)?;
        }
        write_both(&common_package(&options), &out)
    }
}

/// Writes the `.deb` and the `.rpm` of `package` into `out` and prints
/// their paths.
fn write_both(package: &Package, out: &Path) -> Result<()> {
    println!("{}", write_deb(package, out)?.display());
    println!("{}", write_rpm(package, out)?.display());
    Ok(())
}

/// Writes the `.deb` of `package` into `out`; returns its path.
pub(crate) fn write_deb(package: &Package, out: &Path) -> Result<PathBuf> {
    let path = out.join(deb::file_name(package));
    let file = std::fs::File::create(&path)
        .with_context(|| format!("cannot create `{}`", path.display()))?;
    deb::write(package, file).with_context(|| format!("writing `{}`", path.display()))?;
    Ok(path)
}

/// Writes the `.rpm` of `package` into `out`; returns its path.
pub(crate) fn write_rpm(package: &Package, out: &Path) -> Result<PathBuf> {
    let path = out.join(rpmpkg::file_name(package));
    let mut file = std::fs::File::create(&path)
        .with_context(|| format!("cannot create `{}`", path.display()))?;
    rpmpkg::write(package, &mut file).with_context(|| format!("writing `{}`", path.display()))?;
    Ok(path)
}
