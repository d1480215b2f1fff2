//! `cargo xtask fix NAME`: a real fix, end to end. A fix is a unified
//! diff, old -> new, as a stable update made it (`kmod/fixes/<name>.diff`),
//! that the packaged kernel source already has. The command
//!
//! 1. compiles the changed unit as the packaged source has it and with the
//!    diff reverted, with the kernel build's own command line plus `-g`,
//!    and runs the diff engine on the two objects;
//! 2. writes the patch skeleton of that diff and checks it is the one
//!    checked in for the arch (`kmod/fixes/<name>.<arch>.skeleton`), which
//!    the patch (`kmod/fixes/klp_fix_<name>.rs`) was written from;
//! 3. derives a kernel without the fix from the cached one (its build
//!    copied, the changed units compiled from a hard-linked copy of the
//!    source with the diff reverted, relinked), builds the patch against
//!    it, and boots it with
//!    the suite `fix-<name>`: the bug, the patch loaded, the fix at work,
//!    the patch removed, the bug back.

use crate::{
    arch::Arch,
    cache::Cache,
    kernel, modules, own_diff, qemu, repo_root, run, setup, skeleton,
    unidiff::{parse, revert},
};
use anyhow::{bail, Context, Result};
use klp_diff::{Binary, Options};
use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// `cargo xtask fix NAME`.
#[derive(clap::Args, Debug)]
pub struct FixCmd {
    /// The fix: `kmod/fixes/<NAME>.diff` (`sysctl_negate`).
    name: String,
    /// Guest architecture.
    #[arg(long, default_value = "x86_64")]
    arch: Arch,
    /// Write the skeleton the diff gives over the checked-in one instead
    /// of comparing them.
    #[arg(long, conflicts_with = "generated")]
    bless: bool,
    /// Boot the patch `cargo xtask generate` makes from the diff instead
    /// of the hand-written one (no skeleton check).
    #[arg(long)]
    generated: bool,
}

impl FixCmd {
    pub fn run(self, cache: &Cache) -> Result<()> {
        let tc = setup::ensure(cache, false)?;
        if self.generated {
            return prove_generated(cache, &tc, self.arch, &self.name, qemu::Accel::Tcg)?.check();
        }
        prove(
            cache,
            &tc,
            self.arch,
            &self.name,
            qemu::Accel::Tcg,
            self.bless,
        )?
        .check()
    }
}

/// Every step of the fix `name` on `arch` (`bless`: take the skeleton the
/// diff gives as the checked-in one); the guest's outcome.
pub fn prove(
    cache: &Cache,
    tc: &setup::Toolchain,
    arch: Arch,
    name: &str,
    accel: qemu::Accel,
    bless: bool,
) -> Result<qemu::Outcome> {
    let fix = Fix::load(name)?;
    let kernel = kernel::build(cache, tc, arch)?;
    check_skeleton(cache, tc, &kernel, &fix, bless)?;
    run_guest(cache, tc, arch, &fix, accel)
}

/// The fix `name` on `arch` with its patch generated from the diff (the
/// same module name and metadata as the hand-written one): the guest's
/// outcome of the same suite.
pub fn prove_generated(
    cache: &Cache,
    tc: &setup::Toolchain,
    arch: Arch,
    name: &str,
    accel: qemu::Accel,
) -> Result<qemu::Outcome> {
    let fix = Fix::load(name)?;
    let without = fix.kernel_without(cache, tc, arch)?;
    let meta = klp_gen::module::Metadata {
        name: module_name(&fix),
        description: fix
            .trailer("Description")
            .into_iter()
            .next()
            .unwrap_or_default(),
        version: 1,
        replace: true,
        cves: fix.trailer("Cve"),
        bugs: fix.trailer("Bug"),
    };
    let dest = without
        .checkout_dir()
        .join(format!("fix-{}-generated", fix.name));
    let reverted = fix.reverted_tree(cache, &tc.source)?;
    let input = crate::generate::Input {
        patches: &[repo_root().join("kmod/fixes").join(format!("{name}.diff"))],
        rust: None,
        source: Some(&reverted),
        meta: &meta,
    };
    let ko = crate::generate::generate(cache, tc, &without, &input, &dest)?.ko;
    let guest = qemu::Guest::with_modules(cache, without, &[ko], Vec::new())?;
    let suite = format!("fix-{}", fix.name);
    guest.run_suite(cache, &suite, accel, qemu::suite_timeout(&suite))
}

/// The fixes of `kmod/fixes/` (`<name>.diff`), sorted.
pub fn names() -> Result<Vec<String>> {
    let dir = repo_root().join("kmod/fixes");
    let mut names = Vec::new();
    for entry in
        std::fs::read_dir(&dir).with_context(|| format!("cannot list `{}`", dir.display()))?
    {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "diff") {
            if let Some(stem) = path.file_stem() {
                names.push(stem.to_string_lossy().into_owned());
            }
        }
    }
    names.sort();
    Ok(names)
}

/// The patch module of a fix.
pub fn module_name(fix: &Fix) -> String {
    format!("klp_fix_{}", fix.name)
}

/// Steps 1 and 2: the diff of the unit without and with the fix, and its
/// skeleton compared with the checked-in one.
fn check_skeleton(
    cache: &Cache,
    tc: &setup::Toolchain,
    kernel: &kernel::Kernel,
    fix: &Fix,
    bless: bool,
) -> Result<()> {
    let [unit] = &fix.files()?[..] else {
        bail!(
            "the fix `{}` changes more than one file; a fix here is one C unit",
            fix.name
        );
    };
    let work = kernel.checkout_dir().join(format!("fix-{}", fix.name));
    std::fs::create_dir_all(&work)?;
    let command = own_diff::compile_command(kernel, unit)?;
    let original = tc.source.join(unit);
    let reverted = fix.reverted_tree(cache, &tc.source)?.join(unit);
    let (old, new) = (work.join("old.o"), work.join("new.o"));
    own_diff::compile(kernel, unit, &command, &original, &reverted, &old)?;
    own_diff::compile(kernel, unit, &command, &original, &original, &new)?;
    let (old_bytes, new_bytes) = (std::fs::read(&old)?, std::fs::read(&new)?);
    let object = unit.replace(".c", ".o");
    let (old_name, new_name) = (format!("{object} without the fix"), object.clone());
    let opts = Options {
        describe: true,
        exports: crate::diff::read_symvers(&kernel.dir.join("Module.symvers"))?,
        ..Options::default()
    };
    let report = klp_diff::diff(
        &Binary::parse(&old_name, &old_bytes)?,
        &Binary::parse(&new_name, &new_bytes)?,
        &opts,
    )?;
    let mut text = Vec::new();
    report.write_text(&mut text)?;
    eprintln!(
        "==> the diff of {unit} without and with the fix:\n{}",
        String::from_utf8_lossy(&text)
    );
    let name = module_name(fix);
    let got = skeleton::render(
        &report,
        &skeleton::Spec {
            name: &name,
            object: None,
            old: &old_name,
            new: &new_name,
            livepatch: "../livepatch",
            tree: Some(&tc.source),
        },
    );
    // GCC inlines differently on each arch, so each has its skeleton.
    let expected_path = repo_root()
        .join("kmod/fixes")
        .join(format!("{}.{}.skeleton", fix.name, kernel.arch));
    if bless {
        std::fs::write(&expected_path, &got)?;
        eprintln!("==> wrote {}", expected_path.display());
        return Ok(());
    }
    let expected = std::fs::read_to_string(&expected_path)
        .with_context(|| format!("cannot read `{}`", expected_path.display()))?;
    if got != expected {
        let got_path = work.join(format!("{}.skeleton", fix.name));
        std::fs::write(&got_path, &got)?;
        bail!(
            "the skeleton of the diff differs from `{}`: compare it with `{}` (`cargo xtask fix {} --bless` takes the new one)",
            expected_path.display(),
            got_path.display(),
            fix.name
        );
    }
    eprintln!("==> its skeleton is `{}`", expected_path.display());
    refuses_to_build(tc, kernel, &report, &work, &name)
}

/// The skeleton as generated, built against `kernel`, must fail with one
/// error per replacement, the one `livepatch::unwritten!` gives, and no
/// other: the rest of it (declarations, signatures, metadata) compiles.
fn refuses_to_build(
    tc: &setup::Toolchain,
    kernel: &kernel::Kernel,
    report: &klp_diff::Report,
    work: &Path,
    name: &str,
) -> Result<()> {
    let dir = work.join("skeleton");
    let livepatch = repo_root().join("kmod/livepatch");
    skeleton::write(
        report,
        &skeleton::Spec {
            name,
            object: None,
            old: "old",
            new: "new",
            livepatch: &livepatch.display().to_string(),
            tree: Some(&tc.source),
        },
        &dir,
    )?;
    let output = kernel::make_in(kernel, tc)
        .arg(format!("M={}", dir.display()))
        .arg(format!("MO={}", work.join("skeleton-build").display()))
        .env("KLP_RS_KERNEL_RELEASED", &tc.source_released)
        .output()
        .context("cannot run make for the skeleton")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("error") && !l.starts_with("error: aborting"))
        .collect();
    let expected: Vec<String> = report
        .replacements
        .iter()
        .map(|r| format!("error: write the replacement of `{}()`", r.func.name))
        .collect();
    let as_expected = !output.status.success()
        && errors.len() == expected.len()
        && expected
            .iter()
            .all(|e| errors.iter().any(|l| l.starts_with(e.as_str())));
    if !as_expected {
        bail!(
            "the skeleton in `{}` should fail to build with exactly {} `unwritten!` error(s); make said:\n{stderr}",
            dir.display(),
            expected.len()
        );
    }
    eprintln!(
        "==> as generated, it refuses to build: {}",
        errors.join("; ")
    );
    Ok(())
}

/// Step 3: the kernel without the fix, the patch built against it, and
/// the guest's suite `fix-<name>`.
fn run_guest(
    cache: &Cache,
    tc: &setup::Toolchain,
    arch: Arch,
    fix: &Fix,
    accel: qemu::Accel,
) -> Result<qemu::Outcome> {
    let without = fix.kernel_without(cache, tc, arch)?;
    modules::build_fixes(cache, tc, &without, modules::Lint::DenyWarnings)?;
    let kos = modules::build_fixes(cache, tc, &without, modules::Lint::No)?;
    let name = module_name(fix);
    let kos: Vec<PathBuf> = kos
        .into_iter()
        .filter(|k| k.file_stem().is_some_and(|s| s == name.as_str()))
        .collect();
    if kos.is_empty() {
        bail!("`kmod/fixes/` built no `{name}.ko`");
    }
    let guest = qemu::Guest::with_modules(cache, without, &kos, Vec::new())?;
    let suite = format!("fix-{}", fix.name);
    guest.run_suite(cache, &suite, accel, qemu::suite_timeout(&suite))
}

/// A fix of `kmod/fixes/`.
#[derive(Clone, Debug)]
pub struct Fix {
    /// `sysctl_negate` for `kmod/fixes/sysctl_negate.diff`.
    pub name: String,
    /// The diff, as read.
    pub diff: String,
}

impl Fix {
    /// Reads `kmod/fixes/<name>.diff`.
    pub fn load(name: &str) -> Result<Self> {
        let path = repo_root().join("kmod/fixes").join(format!("{name}.diff"));
        let diff = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read the fix `{}`", path.display()))?;
        Ok(Self {
            name: name.to_string(),
            diff,
        })
    }

    /// The values of the description's `Klp-<key>: value` lines.
    pub fn trailer(&self, key: &str) -> Vec<String> {
        let prefix = format!("Klp-{key}: ");
        self.diff[..self.diff.len() - self.hunks_text().len()]
            .lines()
            .filter_map(|l| l.strip_prefix(&prefix))
            .map(str::to_string)
            .collect()
    }

    /// The diff without its description: what a build depends on.
    pub fn hunks_text(&self) -> &str {
        let start = self
            .diff
            .match_indices("--- ")
            .find(|(i, _)| *i == 0 || self.diff.as_bytes()[i - 1] == b'\n')
            .map_or(0, |(i, _)| i);
        &self.diff[start..]
    }

    /// The kernel of `arch` built without this fix: the cached kernel with
    /// the units the fix changes compiled from [`Fix::reverted_tree`].
    pub fn kernel_without(
        &self,
        cache: &Cache,
        tc: &setup::Toolchain,
        arch: Arch,
    ) -> Result<kernel::Kernel> {
        let base = kernel::build(cache, tc, arch)?;
        let variant = kernel::Variant {
            label: format!("without-{}", self.name),
            key: self.hunks_text().to_string(),
            change: kernel::Change::Units {
                tree: self.reverted_tree(cache, &tc.source)?,
                files: self.files()?,
            },
        };
        kernel::derive(cache, tc, &base, &variant)
    }

    /// The source files the fix changes, relative to the tree.
    pub fn files(&self) -> Result<Vec<String>> {
        Ok(parse(&self.diff)?.into_iter().map(|f| f.path).collect())
    }

    /// `source` (an unpacked, never built tree) without this fix: made
    /// once next to it, then reused.
    pub fn reverted_tree(&self, cache: &Cache, source: &Path) -> Result<PathBuf> {
        let files = parse(&self.diff)?;
        let version = source
            .parent()
            .and_then(Path::file_name)
            .context("the kernel source lies in a version directory")?
            .to_string_lossy()
            .into_owned();
        let root = cache.sources().join(format!(
            "{version}-without-{}-{:016x}",
            self.name,
            crate::kernel::fnv1a(self.hunks_text().as_bytes())
        ));
        let tree = root.join(source.file_name().context("the source has a name")?);
        let done = root.join(".klp-rs-reverted");
        if done.is_file() {
            return Ok(tree);
        }
        if root.exists() {
            std::fs::remove_dir_all(&root)
                .with_context(|| format!("cannot remove the partial tree `{}`", root.display()))?;
        }
        std::fs::create_dir_all(&root)?;
        // Hard links: the copy costs no space, and no file of the original
        // is written (a changed file is unlinked, then written anew).
        run::output(Command::new("cp").arg("-al").arg(source).arg(&tree))
            .with_context(|| format!("copying `{}` as hard links", source.display()))?;
        for f in &files {
            let path = tree.join(&f.path);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("the fix changes `{}`, which cannot be read", f.path))?;
            let reverted = revert(&text, f)?;
            std::fs::remove_file(&path)?;
            std::fs::write(&path, reverted)?;
        }
        std::fs::write(&done, &self.name)?;
        Ok(tree)
    }
}

#[cfg(test)]
mod tests {
    use super::Fix;

    #[test]
    fn the_description_is_not_part_of_what_builds_depend_on() {
        let fix = |text: &str| Fix {
            name: "f".into(),
            diff: text.into(),
        };
        let hunks = "--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n-a\n+b\n";
        assert_eq!(
            fix(&format!("why, in words\n\n{hunks}")).hunks_text(),
            hunks
        );
        assert_eq!(fix(hunks).hunks_text(), hunks);
    }
}
