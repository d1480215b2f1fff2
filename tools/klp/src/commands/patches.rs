//! `klp patches`: the patches registered with the kernel.
//!
//! Each shows its name, klp-rs version and state; `-v` adds CVEs, bugs
//! and the package that installed it (name, version, package manager);
//! `-vv` the kernel it is built for, its end of support (from the
//! package's lifecycle file, else `--months` after its kernel's release),
//! whether a newer version of its package is installed or available, and
//! the objects and functions it replaces.

use crate::{
    date::Date,
    installed,
    livepatch::{Livepatch, Metadata, Patch},
    output::{opt, table, Ctx, Row},
    package::{self, Package},
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
    /// `-v`: the package that installed it, `null` if none did (absent
    /// for a foreign patch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<Option<Package>>,
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
    /// From the package's lifecycle file, else `--months` after
    /// `released`.
    pub end_of_support: Option<Date>,
    /// The lifecycle file `end_of_support` is from.
    pub lifecycle: Option<std::path::PathBuf>,
    /// The installed version of its package when newer than the patch
    /// (the patch it installed is not loaded).
    pub newer_installed: Option<String>,
    /// The newest version of its package the system can install, when
    /// newer than the installed one.
    pub newer_available: Option<String>,
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

/// What the package manager says of a patch.
#[derive(Default)]
struct FromPackage {
    package: Option<Package>,
    end_of_support: Option<(Date, std::path::PathBuf)>,
    newer_installed: Option<String>,
    newer_available: Option<String>,
}

fn from_package(ctx: &mut Ctx, meta: &Metadata, name: &str) -> Result<FromPackage> {
    let (files, _) = installed::list(ctx.root(), &meta.kernel)?;
    let Some(file) = files.into_iter().find(|f| f.name == name) else {
        return Ok(FromPackage::default());
    };
    let Some(pkg) = super::package_of(ctx, &file.path)? else {
        return Ok(FromPackage::default());
    };
    let mut found = FromPackage::default();
    if ctx.verbose >= 2 {
        let root = ctx.root().to_path_buf();
        found.end_of_support = package::end_of_support(&root, &pkg.name, &pkg.version)?
            .map(|d| (d, package::lifecycle_file(&root, &pkg.name)));
        if package::compare(&pkg.version, &meta.version.to_string()).is_gt() {
            found.newer_installed = Some(pkg.version.clone());
        }
        found.newer_available = package::candidates(ctx.host, &root, &pkg)?
            .into_iter()
            .map(|c| c.version)
            .rfind(|v| package::compare(v, &pkg.version).is_gt());
    }
    found.package = Some(pkg);
    Ok(found)
}

fn record(p: &Patch, verbose: u8, months: u32, pkg: FromPackage) -> PatchRecord {
    let meta = p.meta.as_ref();
    let list = |f: fn(&Metadata) -> &Vec<String>| meta.filter(|_| verbose >= 1).map(f).cloned();
    PatchRecord {
        name: p.name.clone(),
        version: meta.map(|m| m.version),
        state: p.state(),
        cves: list(|m| &m.cves),
        bugs: list(|m| &m.bugs),
        package: meta.filter(|_| verbose >= 1).map(|_| pkg.package),
        details: (verbose >= 2).then(|| Details {
            description: meta.map(|m| m.description.clone()),
            kernel: meta.map(|m| m.kernel.clone()),
            released: meta.and_then(|m| m.released),
            end_of_support: match &pkg.end_of_support {
                Some((date, _)) => Some(*date),
                None => meta.and_then(|m| m.released).map(|r| r.add_months(months)),
            },
            lifecycle: pkg.end_of_support.map(|(_, file)| file),
            newer_installed: pkg.newer_installed,
            newer_available: pkg.newer_available,
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
    match &r.package {
        Some(Some(p)) => row.details.push(format!(
            "  package: {} {} ({})",
            p.name,
            p.version,
            p.manager.program()
        )),
        Some(None) => row.details.push("  package: none".to_string()),
        None => {}
    }
    if let Some(d) = &r.details {
        if let Some(description) = &d.description {
            row.details.push(format!("  description: {description}"));
        }
        if let Some(kernel) = &d.kernel {
            row.details.push(format!("  kernel: {kernel}"));
            let from = d
                .lifecycle
                .as_ref()
                .map_or_else(String::new, |f| format!(" (from `{}`)", f.display()));
            row.details.push(format!(
                "  released: {}, end of support: {}{from}",
                opt(d.released),
                opt(d.end_of_support)
            ));
        }
        if let Some(Some(p)) = &r.package {
            let mut newer = Vec::new();
            if let Some(v) = &d.newer_installed {
                newer.push(format!("{v} installed but not loaded (`klp load`)"));
            }
            if let Some(v) = &d.newer_available {
                newer.push(format!(
                    "{v} available ({})",
                    match p.manager {
                        package::Manager::Dpkg => "apt-get install",
                        package::Manager::Rpm => "zypper install",
                    }
                ));
            }
            let newer = if newer.is_empty() {
                "none".to_string()
            } else {
                newer.join(", ")
            };
            row.details.push(format!("  newer package: {newer}"));
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
    let mut records = Vec::new();
    for p in &patches {
        let pkg = match &p.meta {
            Some(meta) if ctx.verbose >= 1 => from_package(ctx, meta, &p.name)
                .with_context(|| format!("failed to find the package of patch `{}`", p.name))?,
            _ => FromPackage::default(),
        };
        records.push(record(p, ctx.verbose, args.months, pkg));
    }
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
