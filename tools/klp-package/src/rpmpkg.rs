//! An `.rpm`, written by the `rpm` crate (rpm-rs).

use crate::Package;
use anyhow::{Context, Result};
use rpm::{Dependency, FileMode, FileOptions, PackageBuilder, Scriptlet};
use std::io::Write;

/// The RPM release of every package: the cumulative version alone says
/// which patch it is.
pub const RELEASE: &str = "1";

/// The file name RPM gives the package:
/// `<name>-<version>-<release>.<arch>.rpm`.
pub fn file_name(p: &Package) -> String {
    format!("{}-{}-{RELEASE}.{}.rpm", p.name, p.version, arch(p))
}

fn arch(p: &Package) -> &'static str {
    p.arch.map_or("noarch", |a| a.rpm())
}

/// A scriptlet run by `/bin/sh`, said in the package.
fn sh(script: &str) -> Scriptlet {
    Scriptlet::new(script).prog(vec!["/bin/sh"])
}

/// Writes the `.rpm` of `p`.
pub fn write(p: &Package, w: &mut impl Write) -> Result<()> {
    let mut b = PackageBuilder::new(&p.name, &p.version, "GPL-2.0-only", arch(p), &p.summary)
        .release(RELEASE)
        .description(&p.description)
        .packager(&p.maintainer)
        .vendor("klp-rs");
    for (name, min) in &p.depends {
        b = b.requires(match min {
            Some(v) => Dependency::greater_eq(name, v),
            None => Dependency::any(name),
        });
    }
    for f in &p.files {
        let mode = u16::try_from(f.mode).context("a file mode beyond 16 bits")?;
        b = b
            .with_file_contents(
                f.data.clone(),
                FileOptions::new(&f.path).mode(FileMode::regular(mode)),
            )
            .with_context(|| format!("cannot add `{}` to the rpm", f.path))?;
    }
    // Each scriptlet needs its interpreter at its time (rpmbuild adds
    // these `Requires(post): /bin/sh` itself).
    if let Some(s) = &p.rpm_scripts.post_install {
        b = b
            .post_install_script(sh(s))
            .requires(Dependency::script_post("/bin/sh"));
    }
    if let Some(s) = &p.rpm_scripts.pre_remove {
        b = b
            .pre_uninstall_script(sh(s))
            .requires(Dependency::script_preun("/bin/sh"));
    }
    if let Some(s) = &p.rpm_scripts.post_remove {
        b = b
            .post_uninstall_script(sh(s))
            .requires(Dependency::script_postun("/bin/sh"));
    }
    let package = b.build().context("cannot build the rpm")?;
    package.write(w).context("cannot write the rpm")?;
    Ok(())
}
