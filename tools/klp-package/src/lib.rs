//! klp-rs live patches as `.deb` and `.rpm` packages.
//!
//! In SUSE's model an admin never handles a `.ko`: a live patch is a
//! package, one package name per kernel release
//! (`klp-rs-livepatch-7_3_4`), whose version is the patch's cumulative
//! version (`klp_version`). An upgrade installs the newer cumulative patch,
//! and the packages of different kernel releases coexist. The maintainer
//! scripts load the patch through `klp` when its kernel is running and
//! refresh that kernel's initramfs, which carries the active patch through
//! the hooks of the common package ([`common`]), which every patch package
//! depends on (one file belongs to one Debian package, so the hooks cannot
//! be in each).

pub mod arch;
pub mod deb;
pub mod lifecycle;
pub mod rpmpkg;
pub mod scripts;

use anyhow::{bail, Context, Result};
use arch::Arch;
use klp::{date::Date, modinfo::PatchFile};
use std::path::Path;

/// The common package: the initramfs-tools and dracut integration.
pub const COMMON: &str = "klp-rs-livepatch-common";

/// The version of the common package (this crate's).
pub const COMMON_VERSION: &str = env!("CARGO_PKG_VERSION");

/// A file a package installs.
#[derive(Clone, Debug)]
pub struct File {
    /// The absolute path where it is installed.
    pub path: String,
    /// Its permission bits.
    pub mode: u32,
    /// Its contents.
    pub data: Vec<u8>,
}

/// The maintainer scripts of a package, in shell.
#[derive(Clone, Debug, Default)]
pub struct Scripts {
    /// After an install or an upgrade (deb `postinst`, rpm `%post`).
    pub post_install: Option<String>,
    /// Before a removal (deb `prerm`, rpm `%preun`).
    pub pre_remove: Option<String>,
    /// After a removal (deb `postrm`, rpm `%postun`).
    pub post_remove: Option<String>,
}

/// A package, whatever its format.
#[derive(Clone, Debug)]
pub struct Package {
    /// The package name.
    pub name: String,
    /// The package version.
    pub version: String,
    /// The architecture; `None` for a package of every one (deb `all`, rpm
    /// `noarch`).
    pub arch: Option<Arch>,
    /// Who makes it: Debian's `Maintainer:`, RPM's packager.
    pub maintainer: String,
    /// One line.
    pub summary: String,
    /// Paragraphs separated by an empty line.
    pub description: String,
    /// Packages it needs, with an optional minimum version.
    pub depends: Vec<(String, Option<String>)>,
    /// What Debian's control shows beyond the standard fields
    /// (`Klp-End-Of-Support`).
    pub extra_fields: Vec<(String, String)>,
    /// Its files.
    pub files: Vec<File>,
    /// Its scripts for Debian.
    pub deb_scripts: Scripts,
    /// Its scripts for RPM systems.
    pub rpm_scripts: Scripts,
}

/// What a patch package is made of beyond the module.
#[derive(Clone, Debug)]
pub struct Options {
    /// Months of support after the kernel's release.
    pub support_months: u32,
    /// The Debian `Maintainer:` and RPM packager.
    pub maintainer: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            support_months: lifecycle::DEFAULT_SUPPORT_MONTHS,
            maintainer: "klp-rs <klp-rs@localhost>".to_string(),
        }
    }
}

/// The package name of the patches of kernel `release`: `.` and `-` become
/// `_` (`7.3.4` → `klp-rs-livepatch-7_3_4`).
pub fn package_name(release: &str) -> String {
    format!("klp-rs-livepatch-{}", release.replace(['.', '-'], "_"))
}

/// Whether `s` is safe in a package name, a path and a shell word.
fn plain(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-~".contains(&b))
}

/// The package of the patch module at `path`.
pub fn patch_package(path: &Path, options: &Options) -> Result<Package> {
    let data = std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    patch_package_from(path, data, options)
}

/// The package of the patch module image `data`, read from `path`.
pub fn patch_package_from(path: &Path, data: Vec<u8>, options: &Options) -> Result<Package> {
    let patch = PatchFile::from_bytes(path, &data)
        .with_context(|| format!("`{}` is not a klp-rs patch module", path.display()))?;
    let arch = Arch::of_elf(&data)?;
    let meta = &patch.meta;
    for (what, value) in [
        ("kernel release", &meta.kernel),
        ("module name", &patch.name),
    ] {
        if !plain(value) {
            bail!("the patch's {what} `{value}` has characters a package cannot carry");
        }
    }
    let released = meta.released.with_context(|| {
        format!(
            "patch `{}` has no `klp_released=`: its end of support is unknown",
            patch.name
        )
    })?;
    let end = released.add_months(options.support_months);
    let name = package_name(&meta.kernel);
    let version = meta.version.to_string();
    let module = format!("/lib/modules/{}/livepatch/{}.ko", meta.kernel, patch.name);
    let description = description(&patch, released, end, options.support_months);
    let vars = scripts::Vars {
        package: &name,
        kernel: &meta.kernel,
        name: &patch.name,
        module: &module,
    };
    let (deb_scripts, rpm_scripts) = (scripts::deb(&vars), scripts::rpm(&vars));
    Ok(Package {
        maintainer: options.maintainer.clone(),
        summary: format!("klp-rs live patch {version} of Linux {}", meta.kernel),
        description,
        depends: vec![
            (COMMON.to_string(), Some(COMMON_VERSION.to_string())),
            ("kmod".to_string(), None),
        ],
        extra_fields: vec![
            ("Klp-Kernel-Release".to_string(), meta.kernel.clone()),
            ("Klp-End-Of-Support".to_string(), end.to_string()),
        ],
        files: vec![
            File {
                path: module,
                mode: 0o644,
                data,
            },
            File {
                path: lifecycle::path(&name),
                mode: 0o644,
                data: lifecycle::file(&name, &version, &meta.kernel, released, end).into_bytes(),
            },
        ],
        deb_scripts,
        rpm_scripts,
        name,
        version,
        arch: Some(arch),
    })
}

/// The long description: the patch's own, its CVEs and bugs, its kernel
/// and end of support.
fn description(patch: &PatchFile, released: Date, end: Date, months: u32) -> String {
    let meta = &patch.meta;
    let mut text = if meta.description.is_empty() {
        format!("Live patch `{}`.", patch.name)
    } else {
        meta.description.clone()
    };
    if meta.seed {
        text.push_str("\n\nThe seed: the empty initial patch of this kernel build.");
    }
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.join(" ")
        }
    };
    text.push_str(&format!(
        "\n\nCVEs: {}\nBugs: {}\n\nKernel: {} (released {released})\nModule: {}, cumulative \
         version {} (atomic replace)\nSupported until: {end} ({months} months after the \
         kernel's release)",
        list(&meta.cves),
        list(&meta.bugs),
        meta.kernel,
        patch.name,
        meta.version,
    ));
    text
}

/// The common package: the initramfs-tools hook and boot script, and the
/// dracut module, which carry the active patch of a kernel into its
/// initramfs.
pub fn common_package(options: &Options) -> Package {
    let file = |path: &str, data: String| File {
        path: path.to_string(),
        mode: 0o755,
        data: data.into_bytes(),
    };
    let boot = scripts::boot_files();
    Package {
        name: COMMON.to_string(),
        version: COMMON_VERSION.to_string(),
        arch: None,
        maintainer: options.maintainer.clone(),
        summary: "klp-rs live patches: initramfs integration".to_string(),
        description: "Carries the active klp-rs live patch of a kernel (the installed one of the \
                      highest cumulative version) into its initramfs, which loads it before \
                      the root file system is mounted: an initramfs-tools hook and boot \
                      script, and a dracut module."
            .to_string(),
        depends: vec![("kmod".to_string(), None)],
        extra_fields: Vec::new(),
        files: boot
            .into_iter()
            .map(|(path, data)| file(path, data))
            .collect(),
        deb_scripts: Scripts::default(),
        rpm_scripts: Scripts::default(),
    }
}
