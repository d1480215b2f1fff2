//! `klp load NAME|FILE.ko`: loads a patch module and waits for its
//! transition.
//!
//! `NAME` is an installed patch of the running kernel; a path (or a name
//! ending in `.ko`) is a module file. The patch must be built for the
//! running kernel, not be loaded yet, and no transition may be running.
//! An atomic-replace patch replaces the active patches: their modules stay
//! loaded until `klp unload`.

use super::{Step, Wait};
use crate::{installed, livepatch::Livepatch, output::Ctx};
use anyhow::{bail, Context, Result};

/// Options of `klp load`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// An installed patch's name, or a patch module file.
    patch: String,
    #[command(flatten)]
    wait: Wait,
}

/// Runs `klp load`.
pub fn exec(ctx: &mut Ctx, args: &Args) -> Result<u8> {
    let step = load(ctx, args).with_context(|| format!("failed to load patch `{}`", args.patch))?;
    super::print_steps(ctx, &[step])?;
    Ok(0)
}

fn load(ctx: &mut Ctx, args: &Args) -> Result<Step> {
    let timeout = args.wait.timeout;
    let lp = Livepatch::open(ctx.root())?;
    let file = super::resolve(ctx, &args.patch)?;
    let release = installed::running_release(ctx.root())?;
    if file.meta.kernel != release {
        bail!(
            "patch `{}` is built for kernel {}, this kernel is {release}",
            file.name,
            file.meta.kernel
        );
    }
    super::ensure_not_loaded(ctx, &lp, &file.name)?;
    lp.ensure_idle(ctx.kernel)?;
    super::require_root(ctx, "load")?;
    ctx.confirm(&format!(
        "Load patch `{}` (version {}) from `{}`",
        file.name,
        file.meta.version,
        file.path.display()
    ))?;
    let before = lp.patches(ctx.kernel)?;
    super::load_and_wait(ctx, &lp, &file, timeout)?;
    // A replaced patch is disabled when the transition ends, and its sysfs
    // directory goes away a little later (the kernel frees it from a work
    // item): either way it was replaced.
    for old in before {
        if lp.patch(ctx.kernel, &old.name)?.is_none_or(|p| !p.enabled) {
            ctx.note(&format!(
                "patch `{}` was replaced; its module stays loaded until `klp unload {}`",
                old.name, old.name
            ))?;
        }
    }
    Ok(Step::load(&file, false))
}
