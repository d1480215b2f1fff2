//! `klp install FILE.ko`: adds a patch module to the installed patches of
//! the kernel it is built for, `/lib/modules/<klp_kernel>/livepatch/<name>.ko`.
//!
//! The file must be a klp-rs livepatch module (`livepatch=Y`,
//! `klp_version=`, `klp_kernel=` in its `.modinfo`). It is written to a
//! temporary file then renamed, so a failure changes nothing.

use super::Step;
use crate::{installed, modinfo::PatchFile, output::Ctx};
use anyhow::{bail, Context, Result};
use std::{fs, io, path::Path};

/// Options of `klp install`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The patch module file.
    file: std::path::PathBuf,
    /// Replace an installed file of the same name whose contents differ.
    #[arg(long)]
    force: bool,
}

/// Runs `klp install`.
pub fn exec(ctx: &mut Ctx, args: &Args) -> Result<u8> {
    let step = install(ctx, args)
        .with_context(|| format!("failed to install `{}`", args.file.display()))?;
    if let Some(step) = step {
        super::print_steps(ctx, &[step])?;
    }
    Ok(0)
}

fn install(ctx: &mut Ctx, args: &Args) -> Result<Option<Step>> {
    let data =
        fs::read(&args.file).with_context(|| format!("cannot read `{}`", args.file.display()))?;
    let patch =
        PatchFile::from_bytes(&args.file, &data).context("it is not a klp-rs patch module")?;
    let dir = installed::dir(ctx.root(), &patch.meta.kernel);
    let dest = dir.join(format!("{}.ko", patch.name));
    let (others, _) = installed::list(ctx.root(), &patch.meta.kernel)?;
    if let Some(o) = others
        .iter()
        .find(|o| o.path != dest && (o.name == patch.name || o.meta.version == patch.meta.version))
    {
        bail!(
            "`{}` already holds patch `{}` version {} for kernel {}",
            o.path.display(),
            o.name,
            o.meta.version,
            o.meta.kernel
        );
    }
    match fs::read(&dest) {
        Ok(old) if old == data => {
            ctx.note(&format!(
                "patch `{}` (version {}) is already installed as `{}`",
                patch.name,
                patch.meta.version,
                dest.display()
            ))?;
            return Ok(None);
        }
        Ok(_) if !args.force => bail!(
            "`{}` exists with other contents (`--force` replaces it)",
            dest.display()
        ),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", dest.display())),
    }
    if let Ok(running) = installed::running_release(ctx.root()) {
        if running != patch.meta.kernel {
            ctx.note(&format!(
                "note: patch `{}` is for kernel {}, not for the running kernel {running}",
                patch.name, patch.meta.kernel
            ))?;
        }
    }
    write_atomically(&dir, &dest, &data).map_err(|e| {
        let hint = if e.kind() == io::ErrorKind::PermissionDenied {
            " (run `klp install` as root)"
        } else {
            ""
        };
        anyhow::Error::new(e).context(format!("cannot write `{}`{hint}", dest.display()))
    })?;
    Ok(Some(Step {
        action: "install",
        patch: patch.name,
        version: Some(patch.meta.version),
        file: Some(dest),
        command: None,
        dry_run: false,
    }))
}

/// Writes `data` to `dest` through a temporary file in `dir`.
fn write_atomically(dir: &Path, dest: &Path, data: &[u8]) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        dest.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let result = fs::write(&tmp, data).and_then(|()| fs::rename(&tmp, dest));
    if result.is_err() {
        // The temporary file may not exist; the first error is the one to tell.
        let _ = fs::remove_file(&tmp);
    }
    result
}
