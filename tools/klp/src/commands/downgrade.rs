//! `klp downgrade [--dry-run] [--force]`: replaces the active cumulative
//! patch with the one of the version before it.
//!
//! When the active patch's file belongs to a package (`dpkg -S`, `rpm
//! -qf`), the package manager goes back one version first (`apt-get
//! install --allow-downgrades`, `dpkg -i` of a cached file, `zypper install
//! --oldpackage`, `rpm -Uvh --oldpackage`), and its exit status is checked;
//! without a package manager, or for a patch no package owns, the
//! installed patch files are all there is, and `klp` says so. Then the
//! earlier patch is loaded (atomic replace disables the active one), and
//! the module of the replaced patch is removed (only that, if the older
//! package's scripts loaded its patch themselves). An earlier patch whose
//! module is still loaded (it was replaced before) is removed first, since
//! a module cannot be loaded twice.
//!
//! A kernel tainted by a warning (`W`) or an oops (`D`) is refused unless
//! `--force`; a terminal is asked before anything changes unless `klp -n`;
//! `--dry-run` prints the steps and does nothing.

use super::{Step, Wait};
use crate::{
    installed,
    livepatch::{self, Livepatch, Metadata, Patch},
    modinfo::PatchFile,
    output::Ctx,
    package::{self, Candidate, Manager, Package},
    taint,
};
use anyhow::{bail, Context, Result};

/// Options of `klp downgrade`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print what would be done, do nothing.
    #[arg(long)]
    dry_run: bool,
    /// Downgrade even when the kernel is tainted by a warning or an oops.
    #[arg(long)]
    force: bool,
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

/// The active klp-rs patch a downgrade starts from; fails if there is
/// none, it is not cumulative, or a transition is running.
pub fn active(ctx: &mut Ctx, lp: &Livepatch) -> Result<(Patch, Metadata)> {
    lp.ensure_idle(ctx.kernel)?;
    let patches = lp.patches(ctx.kernel)?;
    let Some((active, meta)) = patches
        .iter()
        .rev()
        .filter(|p| p.enabled)
        .find_map(|p| Some((p, p.meta.clone()?)))
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
    for other in patches
        .iter()
        .filter(|p| p.enabled && p.name != active.name)
    {
        ctx.note(&format!(
            "note: patch `{}` is active too; the earlier patch (atomic replace) replaces it as \
             well",
            other.name
        ))?;
    }
    Ok((active.clone(), meta))
}

/// What a downgrade with the installed patch files does, in order; fails
/// if none of them is earlier than the active patch.
pub fn plan(ctx: &mut Ctx, active: &Patch, meta: &Metadata) -> Result<Vec<Action>> {
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
             `{}` (installed versions: {}); nothing changed",
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

/// The package the active patch came from and its version to go back to;
/// `None`, having said why, when the package manager has no part in it.
fn from_package(
    ctx: &mut Ctx,
    active: &Patch,
    meta: &Metadata,
) -> Result<Option<(Package, Candidate)>> {
    let (files, _) = installed::list(ctx.root(), &meta.kernel)?;
    let dir = installed::dir(ctx.root(), &meta.kernel);
    let Some(file) = files.into_iter().find(|f| f.name == active.name) else {
        ctx.note(&format!(
            "patch `{}` has no file in `{}`: downgrading with klp's own files",
            active.name,
            dir.display()
        ))?;
        return Ok(None);
    };
    let managers = Manager::present(ctx.host);
    if managers.is_empty() {
        ctx.note(&format!(
            "no package manager (dpkg, rpm) on this system: downgrading with klp's own files in \
             `{}`",
            dir.display()
        ))?;
        return Ok(None);
    }
    let Some(owner) = package::owner_in(ctx.host, &managers, &ctx.root, &file.path)? else {
        ctx.note(&format!(
            "`{}` belongs to no {} package: downgrading with klp's own files",
            file.path.display(),
            Manager::names(&managers)
        ))?;
        return Ok(None);
    };
    let candidates = package::candidates(ctx.host, &ctx.root, &owner)?;
    let older = candidates
        .iter()
        .rev()
        .find(|c| package::compare(&c.version, &owner.version).is_lt());
    let Some(older) = older else {
        let known: Vec<&str> = candidates.iter().map(|c| c.version.as_str()).collect();
        bail!(
            "no version of package `{}` older than {} is installed or available (known \
             versions: {}): nothing to downgrade to; nothing changed",
            owner.name,
            owner.version,
            if known.is_empty() {
                owner.version.clone()
            } else {
                known.join(", ")
            }
        );
    };
    let older = older.clone();
    Ok(Some((owner, older)))
}

/// Fails unless `--force` when the kernel is tainted by a warning or an
/// oops.
fn check_taint(ctx: &Ctx, force: bool) -> Result<()> {
    let flags = taint::read(ctx.root())?;
    if force || !flags.iter().any(|f| taint::UNSAFE.contains(&f.letter)) {
        return Ok(());
    }
    bail!(
        "the kernel is tainted: {}; after a warning or an oops its state is not the one the \
         patches were tested on: find the cause in the kernel log (`dmesg`), or downgrade \
         anyway with `--force`",
        taint::describe(&flags)
    );
}

/// Runs `klp downgrade`.
pub fn exec(ctx: &mut Ctx, args: &Args) -> Result<u8> {
    downgrade(ctx, args).context("failed to downgrade the active patch")?;
    Ok(0)
}

fn downgrade(ctx: &mut Ctx, args: &Args) -> Result<()> {
    let timeout = args.wait.timeout;
    let lp = Livepatch::open(ctx.root())?;
    let (active, meta) = active(ctx, &lp)?;
    check_taint(ctx, args.force)?;
    if !args.dry_run {
        super::require_root(ctx, "downgrade")?;
    }
    if let Some((owner, older)) = from_package(ctx, &active, &meta)? {
        let command = package::downgrade_command(&owner, &older);
        let version = package::upstream(&older.version).first().copied();
        let version = version.and_then(|v| u32::try_from(v).ok());
        if args.dry_run {
            let steps = [
                Step::run(&owner.name, &command, true),
                Step::load_from_package(&owner.name, version, true),
                Step::unload(&active.name, Some(meta.version), true),
            ];
            super::print_steps(ctx, &steps)?;
            return Ok(());
        }
        ctx.note(&format!(
            "patch `{}` (version {}) is from package `{}` {} ({}): going back to {}",
            active.name,
            meta.version,
            owner.name,
            owner.version,
            owner.manager.program(),
            older.version
        ))?;
        ctx.confirm(&format!(
            "Run `{}`, then load the patch it installs and unload `{}`",
            command.join(" "),
            active.name
        ))?;
        let ran = ctx
            .host
            .run(&command[0], &command[1..])
            .with_context(|| format!("cannot run `{}`", command.join(" ")))?;
        if !ran.success() {
            let status = ran
                .code
                .map_or_else(|| "a signal".to_string(), |c| format!("exit status {c}"));
            let output = format!("{}{}", ran.stdout, ran.stderr);
            bail!(
                "`{}` failed ({status}); the patches are unchanged{}",
                command.join(" "),
                if output.trim().is_empty() {
                    String::new()
                } else {
                    format!(":\n{}", output.trim_end())
                }
            );
        }
        super::print_steps(ctx, &[Step::run(&owner.name, &command, false)])?;
        // A package's scripts may load the patch they install: then only
        // the newer module is left to remove.
        let loaded = lp.patches(ctx.kernel)?.into_iter().rev().find(|p| {
            p.enabled
                && p.name != active.name
                && p.meta.as_ref().is_some_and(|m| m.version < meta.version)
        });
        if let Some(earlier) = loaded {
            ctx.note(&format!(
                "the package's scripts loaded patch `{}`",
                earlier.name
            ))?;
            super::wait_noting(ctx, &lp, &earlier.name, timeout)?;
            let unload = Action::Unload {
                name: active.name.clone(),
                version: meta.version,
            };
            return act(ctx, &lp, &[unload], timeout);
        }
        let actions = plan(ctx, &active, &meta)?;
        return act(ctx, &lp, &actions, timeout);
    }
    let actions = plan(ctx, &active, &meta)?;
    if args.dry_run {
        let steps: Vec<Step> = actions.iter().map(|a| a.step(true)).collect();
        super::print_steps(ctx, &steps)?;
        return Ok(());
    }
    let steps: Vec<String> = actions.iter().map(|a| a.step(true).text()).collect();
    ctx.confirm(&format!(
        "Downgrade: {}",
        steps.join(", ").trim_start_matches("would ")
    ))?;
    act(ctx, &lp, &actions, timeout)
}

fn act(
    ctx: &mut Ctx,
    lp: &Livepatch,
    actions: &[Action],
    timeout: std::time::Duration,
) -> Result<()> {
    for action in actions {
        match action {
            Action::Load(file) => super::load_and_wait(ctx, lp, file, timeout)?,
            Action::Unload { name, .. } => super::disable_and_remove(ctx, lp, name, timeout)?,
        }
        super::print_steps(ctx, &[action.step(false)])?;
    }
    Ok(())
}
