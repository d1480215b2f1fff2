//! `klp list`: the installed patches of the running kernel
//! (`/lib/modules/<release>/livepatch/*.ko`).
//!
//! A file there that is not a klp-rs patch module is skipped with a warning.

use crate::{
    installed,
    livepatch::{self, Livepatch},
    output::{opt, table, Ctx, Row},
};
use anyhow::{Context, Result};
use serde::Serialize;
use std::path::PathBuf;

/// Options of `klp list`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// An installed patch.
#[derive(Debug, Serialize)]
pub struct Installed {
    /// The patch (module) name.
    pub name: String,
    /// The klp-rs version.
    pub version: u32,
    /// The kernel release it is built for.
    pub kernel: String,
    /// The empty initial patch of a kernel build.
    pub seed: bool,
    /// `active` (registered with the kernel), `loaded` (its module is
    /// loaded, the patch was replaced or disabled) or `installed`.
    pub state: &'static str,
    /// `-v`: the module file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// `-v`: CVE ids it fixes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cves: Option<Vec<String>>,
}

/// Runs `klp list`.
pub fn exec(ctx: &mut Ctx, _args: &Args) -> Result<u8> {
    let lp = Livepatch::open(ctx.root()).context("failed to read the livepatch state")?;
    let release = installed::running_release(ctx.root())?;
    let (files, bad) =
        installed::list(ctx.root(), &release).context("failed to list the installed patches")?;
    for e in &bad {
        ctx.warn(e)?;
    }
    let mut records = Vec::new();
    for f in files {
        let state = if lp.patch(ctx.kernel, &f.name)?.is_some() {
            "active"
        } else if livepatch::module_loaded(ctx.root(), &f.name) {
            "loaded"
        } else {
            "installed"
        };
        records.push(Installed {
            name: f.name,
            version: f.meta.version,
            kernel: f.meta.kernel,
            seed: f.meta.seed,
            state,
            file: (ctx.verbose >= 1).then_some(f.path),
            cves: (ctx.verbose >= 1).then_some(f.meta.cves),
        });
    }
    let none = format!(
        "no patch is installed in `{}`",
        installed::dir(ctx.root(), &release).display()
    );
    ctx.print_list(&records, &none, |w, records| {
        let rows: Vec<Row> = records
            .iter()
            .map(|r| {
                let mut row = Row::new(vec![
                    r.name.clone(),
                    r.version.to_string(),
                    r.kernel.clone(),
                    if r.seed { "yes" } else { "no" }.to_string(),
                    r.state.to_string(),
                ]);
                if let Some(file) = &r.file {
                    row.details.push(format!("  file: {}", file.display()));
                }
                if let Some(cves) = &r.cves {
                    let cves = (!cves.is_empty()).then(|| cves.join(" "));
                    row.details.push(format!("  cves: {}", opt(cves)));
                }
                row
            })
            .collect();
        table(w, &["NAME", "VERSION", "KERNEL", "SEED", "STATE"], &rows)
    })?;
    Ok(0)
}
