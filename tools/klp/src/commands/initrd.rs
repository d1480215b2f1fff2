//! `klp initrd --output FILE`: an uncompressed `newc` cpio archive holding
//! the active klp-rs patches' module files at `lib/klp-rs/boot/<name>.ko`.
//!
//! Appended to an initramfs (the kernel unpacks concatenated archives), it
//! lets the guest's init load the patches before anything else. The module
//! files are the installed ones of the running kernel, found by name.

use crate::{cpio::Archive, installed, livepatch::Livepatch, output::Ctx};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::{fs, path::PathBuf};

/// Where the archive puts the modules.
pub const BOOT_DIR: &str = "lib/klp-rs/boot";

/// Options of `klp initrd`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The archive to write.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
}

/// A patch put in the archive.
#[derive(Debug, Serialize)]
pub struct Entry {
    /// The patch (module) name.
    pub patch: String,
    /// Its klp-rs version.
    pub version: u32,
    /// The installed module file.
    pub file: PathBuf,
    /// Its path in the archive.
    pub path: String,
    /// The archive.
    pub archive: PathBuf,
}

/// Runs `klp initrd`.
pub fn exec(ctx: &mut Ctx, args: &Args) -> Result<u8> {
    let entries = initrd(ctx, args).with_context(|| {
        format!(
            "failed to write the boot archive `{}`",
            args.output.display()
        )
    })?;
    ctx.print(&entries, |w, entries| {
        entries.iter().try_for_each(|e| {
            writeln!(
                w,
                "added patch `{}` (version {}) from `{}` as `{}` to `{}`",
                e.patch,
                e.version,
                e.file.display(),
                e.path,
                e.archive.display()
            )
        })
    })?;
    Ok(0)
}

fn initrd(ctx: &mut Ctx, args: &Args) -> Result<Vec<Entry>> {
    let lp = Livepatch::open(ctx.root())?;
    lp.ensure_idle(ctx.kernel)?;
    let active: Vec<_> = lp
        .patches(ctx.kernel)?
        .into_iter()
        .filter(|p| p.enabled && p.meta.is_some())
        .collect();
    if active.is_empty() {
        bail!("no klp-rs patch is active: there is nothing to load at boot");
    }
    let release = installed::running_release(ctx.root())?;
    let (files, bad) = installed::list(ctx.root(), &release)?;
    for e in &bad {
        ctx.warn(e)?;
    }
    let mut archive = Archive::default();
    let mut dir = String::new();
    for part in BOOT_DIR.split('/') {
        if !dir.is_empty() {
            dir.push('/');
        }
        dir.push_str(part);
        archive.dir(&dir);
    }
    let mut entries = Vec::new();
    for patch in &active {
        let Some(file) = files.iter().find(|f| f.name == patch.name) else {
            bail!(
                "the active patch `{}` is not installed in `{}` (`klp install FILE.ko` installs it)",
                patch.name,
                installed::dir(ctx.root(), &release).display()
            );
        };
        let active_version = patch.meta.as_ref().map(|m| m.version);
        if active_version != Some(file.meta.version) {
            bail!(
                "`{}` is version {} of patch `{}`, the active one is version {}",
                file.path.display(),
                file.meta.version,
                patch.name,
                crate::output::opt(active_version)
            );
        }
        let data = fs::read(&file.path)
            .with_context(|| format!("cannot read `{}`", file.path.display()))?;
        let path = format!("{BOOT_DIR}/{}.ko", patch.name);
        archive.file(&path, &data);
        entries.push(Entry {
            patch: patch.name.clone(),
            version: file.meta.version,
            file: file.path.clone(),
            path,
            archive: args.output.clone(),
        });
    }
    fs::write(&args.output, archive.finish())
        .with_context(|| format!("cannot write `{}`", args.output.display()))?;
    Ok(entries)
}
