//! `cargo xtask diff OLD NEW`: what changed between two builds of a kernel
//! or module, from their ELF and DWARF (the `klp-diff` engine): functions to
//! replace, callers with inlined copies, types that changed layout,
//! functions that cannot be patched. A report, or `--json` (schema in
//! README.md).
//!
//! Given two directories (kernel images: a `vmlinux` and its modules each),
//! one verdict on the whole update instead (`klp_diff::compare_images`):
//! per object, which changed functions a live patch can replace and which
//! it cannot and why, and the shares of both.

use crate::{cache::Cache, repo_root, skeleton};
use anyhow::{bail, Context, Result};
use klp_diff::{Binary, Mapping, Options};
use std::{
    collections::BTreeSet,
    io::{BufWriter, ErrorKind, Write},
    path::{Path, PathBuf},
};

/// `cargo xtask diff`.
#[derive(clap::Args, Debug)]
pub struct DiffCmd {
    /// The old build: a vmlinux, a module (.ko) or an object (.o), with
    /// DWARF; or a directory holding a whole kernel image (a vmlinux and
    /// its modules), for one verdict on the update.
    old: PathBuf,
    /// The new build, of the same architecture.
    new: PathBuf,
    /// Print one JSON document instead of the report.
    #[arg(long)]
    json: bool,
    /// Worker threads (default: one per core); the output is the same for any.
    #[arg(short = 'j', long, value_name = "N")]
    threads: Option<usize>,
    /// Also write a Rust patch module to start from into DIR (a directory
    /// beside `kmod/livepatch`): `<name>.rs` and its `Kbuild`.
    #[arg(long, value_name = "DIR")]
    emit_skeleton: Option<PathBuf>,
    /// The skeleton module's name (default: `klp_fix_` and NEW's file stem).
    #[arg(long, requires = "emit_skeleton")]
    name: Option<String>,
    /// The object the skeleton patches: `vmlinux`, or a module's name
    /// (default: the module NEW is, else vmlinux).
    #[arg(long, requires = "emit_skeleton")]
    object: Option<String>,
    /// The target build's `Module.symvers`: tells the skeleton which
    /// symbols an object calls are exported elsewhere in the kernel.
    #[arg(long, value_name = "FILE", requires = "emit_skeleton")]
    exports: Option<PathBuf>,
}

impl DiffCmd {
    pub fn run(self, _cache: &Cache) -> Result<()> {
        if self.old.is_dir() || self.new.is_dir() {
            return self.update();
        }
        let (old, new) = (Mapping::open(&self.old)?, Mapping::open(&self.new)?);
        let (old_name, new_name) = (
            self.old.display().to_string(),
            self.new.display().to_string(),
        );
        let (o, n) = std::thread::scope(|s| {
            let o = s.spawn(|| Binary::parse(&old_name, old.data()));
            let n = Binary::parse(&new_name, new.data());
            (o.join().unwrap_or_else(|p| std::panic::resume_unwind(p)), n)
        });
        let mut opts = Options::default();
        if let Some(t) = self.threads {
            opts.threads = t.max(1);
        }
        opts.describe = self.emit_skeleton.is_some();
        if let Some(path) = &self.exports {
            opts.exports = read_symvers(path)?;
        }
        let report = klp_diff::diff(&o?, &n?, &opts)?;
        if let Some(dir) = &self.emit_skeleton {
            self.skeleton(&report, dir, new.data())?;
        }
        let mut out = BufWriter::new(std::io::stdout().lock());
        let written = if self.json {
            report.write_json(&mut out)
        } else {
            report.write_text(&mut out)
        }
        .and_then(|()| out.flush());
        match written {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
            r => r.context("cannot write the report"),
        }
    }
}

impl DiffCmd {
    /// The verdict on the update from the image in `old` to the one in
    /// `new`.
    fn update(&self) -> Result<()> {
        if !(self.old.is_dir() && self.new.is_dir()) {
            bail!(
                "`{}` and `{}`: give two files (builds of one object) or two directories (kernel images)",
                self.old.display(),
                self.new.display()
            );
        }
        if self.emit_skeleton.is_some() {
            bail!("--emit-skeleton takes two files, not two directories");
        }
        let (old, new) = (
            klp_diff::Image::scan(&self.old)?,
            klp_diff::Image::scan(&self.new)?,
        );
        let threads = self.threads.unwrap_or_else(|| Options::default().threads);
        let verdict = klp_diff::compare_images(&old, &new, threads)?;
        let mut out = BufWriter::new(std::io::stdout().lock());
        let written = if self.json {
            verdict.write_json(&mut out)
        } else {
            verdict.write_text(&mut out)
        }
        .and_then(|()| out.flush());
        match written {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
            r => r.context("cannot write the verdict"),
        }
    }

    fn skeleton(&self, report: &klp_diff::Report, dir: &Path, new: &[u8]) -> Result<()> {
        if report.replacements.is_empty() {
            bail!("the diff names no function a patch can replace: there is nothing to write a skeleton for");
        }
        let stem = self
            .new
            .file_stem()
            .map(|s| s.to_string_lossy().replace(['-', '.'], "_"))
            .unwrap_or_default();
        let name = self
            .name
            .clone()
            .unwrap_or_else(|| format!("klp_fix_{stem}"));
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("`{name}` cannot name a module: use letters, digits and `_` (--name)");
        }
        // A `.ko` names itself in `.modinfo`.
        let module = klp::modinfo::ModInfo::parse(new)
            .ok()
            .and_then(|m| m.get("name").map(str::to_string));
        let object = match self.object.as_deref().or(module.as_deref()) {
            None | Some("vmlinux") => None,
            Some(m) => Some(m),
        };
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
        let livepatch = relative(dir, &repo_root().join("kmod/livepatch"))?;
        skeleton::write(
            report,
            &skeleton::Spec {
                name: &name,
                object,
                old: &self.old.display().to_string(),
                new: &self.new.display().to_string(),
                livepatch: &livepatch,
                tree: None,
            },
            dir,
        )
    }
}

/// The symbols a `Module.symvers` lists (`CRC<TAB>name<TAB>...`).
pub fn read_symvers(path: &Path) -> Result<BTreeSet<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the export list `{}`", path.display()))?;
    let names: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.split('\t').nth(1))
        .map(str::to_string)
        .collect();
    if names.is_empty() && !text.is_empty() {
        bail!(
            "`{}` is not a Module.symvers (CRC, name, ... separated by tabs)",
            path.display()
        );
    }
    Ok(names)
}

/// `to` as a path relative to the directory `from`, both existing.
fn relative(from: &Path, to: &Path) -> Result<String> {
    let canon = |p: &Path| {
        p.canonicalize()
            .with_context(|| format!("cannot resolve `{}`", p.display()))
    };
    let (from, to) = (canon(from)?, canon(to)?);
    let common = from
        .components()
        .zip(to.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = from
        .components()
        .skip(common)
        .map(|_| "..".to_string())
        .collect();
    parts.extend(
        to.components()
            .skip(common)
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::{read_symvers, relative};

    #[test]
    fn relative_paths_climb_then_descend() {
        let base = std::env::temp_dir().join(format!("klp-rs-rel-{}", std::process::id()));
        let (a, b) = (base.join("kmod/patch"), base.join("kmod/livepatch"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        assert_eq!(relative(&a, &b).unwrap(), "../livepatch");
        assert_eq!(relative(&base, &b).unwrap(), "kmod/livepatch");
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn symvers_gives_the_names_and_refuses_other_text() {
        let dir = std::env::temp_dir().join(format!("klp-rs-symvers-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("Module.symvers");
        std::fs::write(&good, "0x00000000\tkfree\tvmlinux\tEXPORT_SYMBOL\t\n").unwrap();
        assert!(read_symvers(&good).unwrap().contains("kfree"));
        let bad = dir.join("other");
        std::fs::write(&bad, "not a symvers\n").unwrap();
        assert!(read_symvers(&bad).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
