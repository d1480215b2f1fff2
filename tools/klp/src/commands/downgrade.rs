//! `klp downgrade [-n]`: replaces the active cumulative patch with the
//! installed patch of the same kernel with the highest version below it.
//!
//! The earlier patch is loaded (atomic replace disables the active one),
//! then the module of the replaced patch is removed. An earlier patch whose
//! module is still loaded (it was replaced before) is removed first, since
//! a module cannot be loaded twice. `-n` prints the steps and does nothing.

use super::{Step, Wait};
use crate::{
    installed,
    livepatch::{self, Livepatch},
    modinfo::PatchFile,
    output::Ctx,
};
use anyhow::{bail, Context, Result};

/// Options of `klp downgrade`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print what would be done, do nothing.
    #[arg(short = 'n', long)]
    dry_run: bool,
    #[command(flatten)]
    wait: Wait,
}

/// One step of a downgrade.
#[derive(Debug)]
pub enum Action {
    /// Load this patch and wait for its transition.
    Load(PatchFile),
    /// Disable this patch if registered, wait, remove its module.
    Unload {
        /// The patch (module) name.
        name: String,
        /// Its klp-rs version.
        version: u32,
    },
}

impl Action {
    fn step(&self, dry_run: bool) -> Step {
        match self {
            Action::Load(file) => Step::load(file, dry_run),
            Action::Unload { name, version } => Step::unload(name, Some(*version), dry_run),
        }
    }
}

/// What a downgrade does, in order; fails if there is nothing to
/// downgrade, or a transition is running.
pub fn plan(ctx: &mut Ctx, lp: &Livepatch) -> Result<Vec<Action>> {
    lp.ensure_idle(ctx.kernel)?;
    let patches = lp.patches(ctx.kernel)?;
    let Some((active, meta)) = patches
        .iter()
        .rev()
        .filter(|p| p.enabled)
        .find_map(|p| Some((p, p.meta.as_ref()?)))
    else {
        bail!("no klp-rs patch is active: nothing to downgrade");
    };
    if active.replace == Some(false) {
        bail!(
            "patch `{}` is not a cumulative (atomic-replace) patch: `klp unload {}` removes it",
            active.name,
            active.name
        );
    }
    let (files, bad) = installed::list(ctx.root(), &meta.kernel)?;
    for e in &bad {
        ctx.warn(e)?;
    }
    let earlier = files
        .iter()
        .filter(|f| f.meta.version < meta.version && f.name != active.name)
        .max_by_key(|f| f.meta.version);
    let Some(earlier) = earlier else {
        let versions: Vec<String> = files.iter().map(|f| f.meta.version.to_string()).collect();
        bail!(
            "nothing to downgrade to: `{}` holds no patch for kernel {} below version {} of \
             `{}` (installed versions: {})",
            installed::dir(ctx.root(), &meta.kernel).display(),
            meta.kernel,
            meta.version,
            active.name,
            if versions.is_empty() {
                "none".to_string()
            } else {
                versions.join(", ")
            }
        );
    };
    for other in patches
        .iter()
        .filter(|p| p.enabled && p.name != active.name)
    {
        ctx.note(&format!(
            "note: patch `{}` is active too; loading `{}` (atomic replace) replaces it as well",
            other.name, earlier.name
        ))?;
    }
    let mut actions = Vec::new();
    if livepatch::module_loaded(ctx.root(), &earlier.name) {
        actions.push(Action::Unload {
            name: earlier.name.clone(),
            version: earlier.meta.version,
        });
    }
    actions.push(Action::Load(earlier.clone()));
    actions.push(Action::Unload {
        name: active.name.clone(),
        version: meta.version,
    });
    Ok(actions)
}

/// Runs `klp downgrade`.
pub fn exec(ctx: &mut Ctx, args: &Args) -> Result<u8> {
    downgrade(ctx, args).context("failed to downgrade the active patch")?;
    Ok(0)
}

fn downgrade(ctx: &mut Ctx, args: &Args) -> Result<()> {
    let timeout = args.wait.timeout;
    let lp = Livepatch::open(ctx.root())?;
    let actions = plan(ctx, &lp)?;
    if args.dry_run {
        let steps: Vec<Step> = actions.iter().map(|a| a.step(true)).collect();
        super::print_steps(ctx, &steps)?;
        return Ok(());
    }
    super::require_root(ctx, "downgrade")?;
    for action in &actions {
        match action {
            Action::Load(file) => super::load_and_wait(ctx, &lp, file, timeout)?,
            Action::Unload { name, .. } => super::disable_and_remove(ctx, &lp, name, timeout)?,
        }
        super::print_steps(ctx, &[action.step(false)])?;
    }
    Ok(())
}
