//! `klp lifecycle`: when support of each active and installed patch ends.
//!
//! A patch installed by a package is supported until the date its
//! package's lifecycle file gives that package version
//! (`/usr/share/klp-rs/lifecycle/<package>.lifecycle`); any other patch,
//! or a package version the file does not list, for `--months` (default
//! 13) after the release date of the kernel it is built for. Support has
//! ended once that date has passed.

use crate::{
    date::Date,
    installed,
    livepatch::Livepatch,
    output::{opt, table, Ctx, Row},
    package,
};
use anyhow::{Context, Result};
use serde::Serialize;
use std::{collections::BTreeMap, path::Path};

/// Months of support after a kernel's release date.
pub const DEFAULT_MONTHS: u32 = 13;

/// Options of `klp lifecycle`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Months of support after the kernel's release date.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MONTHS)]
    months: u32,
    /// Today's date, instead of the system clock's (for tests).
    #[arg(long, value_name = "YYYY-MM-DD")]
    today: Option<Date>,
}

/// The support of one patch.
#[derive(Debug, Serialize)]
pub struct Support {
    /// The patch (module) name.
    pub name: String,
    /// The klp-rs version, `null` for a foreign patch.
    pub version: Option<u32>,
    /// The kernel release it is built for.
    pub kernel: Option<String>,
    /// The package that installed it, as `name=version`.
    pub package: Option<String>,
    /// Registered with the kernel.
    pub active: bool,
    /// In the installed patches of the running kernel.
    pub installed: bool,
    /// The release date of its kernel.
    pub released: Option<Date>,
    /// From the package's lifecycle file, else `--months` after
    /// `released`.
    pub end_of_support: Option<Date>,
    /// Whether `end_of_support` is from a lifecycle file.
    pub from_lifecycle: bool,
    /// Whether `end_of_support` has passed.
    pub expired: Option<bool>,
}

/// Runs `klp lifecycle`.
pub fn exec(ctx: &mut Ctx, args: &Args) -> Result<u8> {
    let today = args.today.unwrap_or_else(Date::today);
    let active = Livepatch::open(ctx.root())
        .and_then(|lp| lp.patches(ctx.kernel))
        .context("failed to read the livepatch state")?;
    let release = installed::running_release(ctx.root())?;
    let (files, bad) =
        installed::list(ctx.root(), &release).context("failed to list the installed patches")?;
    for e in &bad {
        ctx.warn(e)?;
    }
    let mut by_name: BTreeMap<String, Support> = BTreeMap::new();
    for f in &files {
        let mut end_of_support = None;
        let pkg = super::package_of(ctx, &f.path)
            .with_context(|| format!("failed to find the package of `{}`", f.path.display()))?;
        if let Some(p) = &pkg {
            end_of_support = package::end_of_support(ctx.root(), &p.name, &p.version)?;
        }
        by_name.insert(
            f.name.clone(),
            Support {
                name: f.name.clone(),
                version: Some(f.meta.version),
                kernel: Some(f.meta.kernel.clone()),
                package: pkg.map(|p| format!("{}={}", p.name, p.version)),
                active: false,
                installed: true,
                released: f.meta.released,
                end_of_support,
                from_lifecycle: end_of_support.is_some(),
                expired: None,
            },
        );
    }
    for p in &active {
        let entry = by_name.entry(p.name.clone()).or_insert_with(|| Support {
            name: p.name.clone(),
            version: None,
            kernel: None,
            package: None,
            active: false,
            installed: false,
            released: None,
            end_of_support: None,
            from_lifecycle: false,
            expired: None,
        });
        entry.active = true;
        if let Some(m) = &p.meta {
            entry.version = Some(m.version);
            entry.kernel = Some(m.kernel.clone());
            entry.released = m.released;
        }
    }
    let mut records: Vec<Support> = by_name.into_values().collect();
    for r in &mut records {
        if !r.from_lifecycle {
            r.end_of_support = r.released.map(|d| d.add_months(args.months));
        }
        r.expired = r.end_of_support.map(|end| today > end);
    }
    records.sort_by(|a, b| {
        let key = |s: &Support| (s.version.is_none(), s.kernel.clone(), s.version);
        key(a).cmp(&key(b)).then_with(|| a.name.cmp(&b.name))
    });
    ctx.print_list(&records, "no patch is active or installed", |w, records| {
        let yes = |b: bool| if b { "yes" } else { "no" }.to_string();
        let rows: Vec<Row> = records
            .iter()
            .map(|r| {
                Row::new(vec![
                    r.name.clone(),
                    opt(r.version),
                    opt(r.package.as_ref()),
                    yes(r.active),
                    yes(r.installed),
                    opt(r.released),
                    match (r.end_of_support, r.from_lifecycle) {
                        (Some(d), true) => format!("{d}*"),
                        (d, _) => opt(d),
                    },
                    r.expired.map_or_else(|| "-".to_string(), yes),
                ])
            })
            .collect();
        table(
            w,
            &[
                "NAME",
                "VERSION",
                "PACKAGE",
                "ACTIVE",
                "INSTALLED",
                "RELEASED",
                "END OF SUPPORT",
                "EXPIRED",
            ],
            &rows,
        )?;
        if records.iter().any(|r| r.from_lifecycle) {
            writeln!(
                w,
                "* from the package's lifecycle file in `{}`",
                package::lifecycle_file(Path::new("/"), "")
                    .parent()
                    .unwrap_or(Path::new("/"))
                    .display()
            )?;
        }
        Ok(())
    })?;
    Ok(0)
}
