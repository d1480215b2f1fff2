//! `klp unload NAME`: disables a patch (`0` to its `enabled`), waits for the
//! transition, and removes its module.
//!
//! A patch already replaced or disabled, whose module is still loaded, only
//! has its module removed.

use super::{Step, Wait};
use crate::{
    livepatch::{self, Livepatch},
    output::Ctx,
};
use anyhow::{bail, Context, Result};

/// Options of `klp unload`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The patch (module) name.
    patch: String,
    #[command(flatten)]
    wait: Wait,
}

/// Runs `klp unload`.
pub fn exec(ctx: &mut Ctx, args: &Args) -> Result<u8> {
    let step =
        unload(ctx, args).with_context(|| format!("failed to unload patch `{}`", args.patch))?;
    super::print_steps(ctx, &[step])?;
    Ok(0)
}

fn unload(ctx: &mut Ctx, args: &Args) -> Result<Step> {
    let timeout = args.wait.timeout;
    let lp = Livepatch::open(ctx.root())?;
    let name = args.patch.as_str();
    let meta = livepatch::metadata(ctx.root(), name)?;
    if lp.patch(ctx.kernel, name)?.is_none() && meta.is_none() {
        if livepatch::module_loaded(ctx.root(), name) {
            bail!(
                "module `{name}` is neither a registered live patch nor a klp-rs patch: `klp` \
                 leaves it alone"
            );
        }
        bail!("no patch named `{name}` is loaded (`klp patches` shows those that are)");
    }
    if let Some(t) = lp.in_transition(ctx.kernel)?.filter(|t| t.name != name) {
        return Err(crate::error::Failure::InTransition {
            patch: t.name,
            waited: None,
        }
        .into());
    }
    let version = meta.map(|m| m.version);
    super::require_root(ctx, "unload")?;
    ctx.confirm(&format!("Disable patch `{name}` and remove its module"))?;
    super::disable_and_remove(ctx, &lp, name, timeout)?;
    Ok(Step::unload(name, version, false))
}
