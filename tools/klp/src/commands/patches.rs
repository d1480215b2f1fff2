//! `klp patches`: the patches registered with the kernel.
//!
//! Each shows its name, klp-rs version and state; `-v` adds CVEs and bugs,
//! `-vv` the kernel it is built for, its end of support, and the objects
//! and functions it replaces.

use crate::{
    date::Date,
    livepatch::{Livepatch, Metadata, Patch},
    output::{opt, table, Ctx, Row},
};
use anyhow::{Context, Result};
use serde::Serialize;

/// Options of `klp patches`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Months of support after the kernel's release date (shown under `-vv`).
    #[arg(long, value_name = "N", default_value_t = super::lifecycle::DEFAULT_MONTHS)]
    months: u32,
}

/// A registered patch, as much as the verbosity asks for.
#[derive(Debug, Serialize)]
pub struct PatchRecord {
    /// The patch (module) name.
    pub name: String,
    /// The klp-rs version, `null` for a foreign patch.
    pub version: Option<u32>,
    /// `enabled`, `disabled` or `transition`.
    pub state: &'static str,
    /// `-v`: CVE ids it fixes (absent for a foreign patch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cves: Option<Vec<String>>,
    /// `-v`: bug references it fixes (absent for a foreign patch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bugs: Option<Vec<String>>,
    /// `-vv`: the `-vv` details.
    #[serde(flatten)]
    pub details: Option<Details>,
}

/// What `-vv` adds to a patch.
#[derive(Debug, Serialize)]
pub struct Details {
    /// The module description.
    pub description: Option<String>,
    /// The kernel release it is built for.
    pub kernel: Option<String>,
    /// The release date of that kernel.
    pub released: Option<Date>,
    /// `--months` after `released`.
    pub end_of_support: Option<Date>,
    /// Whether it is an atomic-replace (cumulative) patch.
    pub replace: Option<bool>,
    /// The objects it changes.
    pub objects: Vec<ObjectRecord>,
}

/// An object a patch changes.
#[derive(Debug, Serialize)]
pub struct ObjectRecord {
    /// `vmlinux` or a module name.
    pub name: String,
    /// Whether it is patched now.
    pub patched: Option<bool>,
    /// Replaced functions as `<function>,<sympos>`.
    pub functions: Vec<String>,
}

fn record(p: &Patch, verbose: u8, months: u32) -> PatchRecord {
    let meta = p.meta.as_ref();
    let list = |f: fn(&Metadata) -> &Vec<String>| meta.filter(|_| verbose >= 1).map(f).cloned();
    PatchRecord {
        name: p.name.clone(),
        version: meta.map(|m| m.version),
        state: p.state(),
        cves: list(|m| &m.cves),
        bugs: list(|m| &m.bugs),
        details: (verbose >= 2).then(|| Details {
            description: meta.map(|m| m.description.clone()),
            kernel: meta.map(|m| m.kernel.clone()),
            released: meta.and_then(|m| m.released),
            end_of_support: meta.and_then(|m| m.released).map(|r| r.add_months(months)),
            replace: p.replace,
            objects: p
                .objects
                .iter()
                .map(|o| ObjectRecord {
                    name: o.name.clone(),
                    patched: o.patched,
                    functions: o
                        .funcs
                        .iter()
                        .map(|f| format!("{},{}", f.name, f.sympos))
                        .collect(),
                })
                .collect(),
        }),
    }
}

fn row(r: &PatchRecord, verbose: u8) -> Row {
    let mut row = Row::new(vec![r.name.clone(), opt(r.version), r.state.to_string()]);
    let words = |v: &[String]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(" ")
        }
    };
    if verbose >= 1 && r.version.is_none() {
        row.details
            .push("  not a klp-rs patch: no metadata".to_string());
    }
    if let Some(cves) = &r.cves {
        row.details.push(format!("  cves: {}", words(cves)));
    }
    if let Some(bugs) = &r.bugs {
        row.details.push(format!("  bugs: {}", words(bugs)));
    }
    if let Some(d) = &r.details {
        if let Some(description) = &d.description {
            row.details.push(format!("  description: {description}"));
        }
        if let Some(kernel) = &d.kernel {
            row.details.push(format!("  kernel: {kernel}"));
            row.details.push(format!(
                "  released: {}, end of support: {}",
                opt(d.released),
                opt(d.end_of_support)
            ));
        }
        let replace = match d.replace {
            Some(true) => "yes",
            Some(false) => "no",
            None => "-",
        };
        row.details.push(format!("  replace: {replace}"));
        for o in &d.objects {
            let patched = match o.patched {
                Some(true) => " (patched)",
                Some(false) => " (not patched)",
                None => "",
            };
            row.details.push(format!("  {}{patched}:", o.name));
            row.details
                .extend(o.functions.iter().map(|f| format!("    {f}")));
        }
    }
    row
}

/// Runs `klp patches`.
pub fn exec(ctx: &mut Ctx, args: &Args) -> Result<u8> {
    let patches = Livepatch::open(ctx.root())
        .and_then(|lp| lp.patches(ctx.kernel))
        .context("failed to read the livepatch state")?;
    let records: Vec<PatchRecord> = patches
        .iter()
        .map(|p| record(p, ctx.verbose, args.months))
        .collect();
    let verbose = ctx.verbose;
    ctx.print_list(
        &records,
        "no patch is registered with the kernel",
        |w, records| {
            let rows: Vec<Row> = records.iter().map(|r| row(r, verbose)).collect();
            table(w, &["NAME", "VERSION", "STATE"], &rows)
        },
    )?;
    Ok(0)
}
