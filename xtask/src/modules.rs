//! `cargo xtask build --arch A`: the patch modules under `kmod/`, built by
//! Kbuild (`make -C <kernel> M=<repo> MO=<out>`) against the cached kernel.

use crate::{arch::Arch, cache::Cache, kernel, repo_root, run, setup};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// `cargo xtask build`.
#[derive(clap::Args, Debug)]
pub struct BuildCmd {
    /// Guest architecture.
    #[arg(long, default_value = "x86_64")]
    arch: Arch,
}

impl BuildCmd {
    pub fn run(self, cache: &Cache) -> Result<()> {
        let tc = setup::ensure(cache, false)?;
        let kernel = kernel::build(cache, &tc, self.arch)?;
        for ko in build(cache, &tc, &kernel, Lint::No)? {
            println!("{}", ko.display());
        }
        Ok(())
    }
}

/// Whether to build with clippy and warnings denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lint {
    No,
    /// `CLIPPY=1 KRUSTFLAGS=-Dwarnings`, into a separate output directory.
    DenyWarnings,
}

/// Builds every module and returns the `.ko` files, in `modules.order` order.
pub fn build(
    cache: &Cache,
    tc: &setup::Toolchain,
    kernel: &kernel::Kernel,
    lint: Lint,
) -> Result<Vec<PathBuf>> {
    let out = kernel.checkout_dir().join(match lint {
        Lint::No => "klp-rs-modules",
        Lint::DenyWarnings => "klp-rs-modules-lint",
    });
    std::fs::create_dir_all(&out)?;
    let mut make = kernel::make_in(kernel, tc);
    make.arg(format!("M={}", repo_root().display()))
        .arg(format!("MO={}", out.display()))
        // The default `released` date of patch metadata.
        .env("KLP_RS_KERNEL_RELEASED", &tc.source_released);
    if lint == Lint::DenyWarnings {
        make.args(["CLIPPY=1", "KRUSTFLAGS=-Dwarnings"]);
    }
    let what = match lint {
        Lint::No => "building the patch modules",
        Lint::DenyWarnings => "linting the patch modules (clippy, warnings denied)",
    };
    run::logged(
        &format!("{what} for {}", kernel.arch),
        &mut make,
        &cache.logs().join(format!("modules-{}.log", kernel.arch)),
    )?;
    modules_in(&out)
}

/// The `.ko` files a module build into `out` made, in `modules.order` order.
pub fn modules_in(out: &Path) -> Result<Vec<PathBuf>> {
    let order = out.join("modules.order");
    let text = std::fs::read_to_string(&order)
        .with_context(|| format!("the module build left no `{}`", order.display()))?;
    let mut kos = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let ko = out.join(line).with_extension("ko");
        if !ko.is_file() {
            bail!(
                "`{}` lists `{line}` but `{}` is missing",
                order.display(),
                ko.display()
            );
        }
        kos.push(ko);
    }
    Ok(kos)
}
