//! `cargo xtask kernel --arch A [--without FIX | --sig-force | --debug]`: the front end
//! of [`crate::kernel`], for a guest kernel or one of its variants.

use crate::{arch::Arch, cache::Cache, debug_kernel, fix::Fix, kernel, setup, signing};
use anyhow::Result;

/// `cargo xtask kernel`.
#[derive(clap::Args, Debug)]
pub struct KernelCmd {
    /// Guest architecture.
    #[arg(long, default_value = "x86_64")]
    arch: Arch,
    /// The kernel with this fix of `kmod/fixes/` reverted
    /// (`sysctl_negate`): one that still has the bug.
    #[arg(long, value_name = "FIX", conflicts_with_all = ["sig_force", "debug"])]
    without: Option<String>,
    /// The kernel with `CONFIG_MODULE_SIG_FORCE`: it loads signed modules
    /// only.
    #[arg(long, conflicts_with = "debug")]
    sig_force: bool,
    /// The debug kernel: kmemleak, lockdep (`PROVE_LOCKING`, `PROVE_RCU`),
    /// `DEBUG_ATOMIC_SLEEP`, UBSAN, KFENCE and SLUB debugging
    /// (`qemu/configs/debug.config`).
    #[arg(long)]
    debug: bool,
}

impl KernelCmd {
    pub fn run(self, cache: &Cache) -> Result<()> {
        let fix = self.without.as_deref().map(Fix::load).transpose()?;
        let tc = setup::ensure(cache, false)?;
        let kernel = match fix {
            Some(fix) => fix.kernel_without(cache, &tc, self.arch)?,
            None if self.sig_force => signing::enforcing_kernel(cache, &tc, self.arch)?,
            None if self.debug => debug_kernel::build(cache, &tc, self.arch)?,
            None => kernel::build(cache, &tc, self.arch)?,
        };
        println!("{}", kernel.image.display());
        Ok(())
    }
}
