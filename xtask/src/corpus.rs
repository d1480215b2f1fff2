//! The corpus of generated patches (`kmod/corpus/`), modelled on kpatch's
//! integration tests: each `<case>.patch` is a fix against the kernel tree,
//! each `<case>-LOADED.test` a script that passes only while its patch is
//! loaded. `cargo xtask test` generates every case on every arch and runs
//! the suite `generate` in one guest: each test fails, the patch loads, the
//! test passes, the patch unloads, the test fails again.

use crate::{arch::Arch, cache::Cache, generate, initramfs, kernel, qemu, repo_root, setup};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// The guest suite.
pub const SUITE: &str = "generate";

/// A case: its patch, its test script, the module generated from it.
pub struct Case {
    pub name: String,
    /// `klp_` and the name, for the corpus.
    pub module: String,
    pub patch: PathBuf,
    pub test: PathBuf,
}

/// The cases of `kmod/corpus/`, sorted; each patch must have its test.
pub fn cases() -> Result<Vec<Case>> {
    let dir = repo_root().join("kmod/corpus");
    let mut cases = Vec::new();
    for entry in
        std::fs::read_dir(&dir).with_context(|| format!("cannot list `{}`", dir.display()))?
    {
        let path = entry?.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".patch"))
        else {
            continue;
        };
        let test = dir.join(format!("{name}-LOADED.test"));
        anyhow::ensure!(
            test.is_file(),
            "the case `{name}` has no `{}`",
            test.display()
        );
        cases.push(Case {
            name: name.to_string(),
            module: format!("klp_{}", name.replace('-', "_")),
            patch: path.clone(),
            test,
        });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cases)
}

/// Generates every case for `arch` and runs the suite.
pub fn prove(
    cache: &Cache,
    tc: &setup::Toolchain,
    arch: Arch,
    accel: qemu::Accel,
) -> Result<qemu::Outcome> {
    let kernel = kernel::build(cache, tc, arch)?;
    let mut built = Vec::new();
    for case in cases()? {
        let meta = klp_gen::module::Metadata {
            name: case.module.clone(),
            description: format!("kmod/corpus/{}.patch, generated", case.name),
            version: 1,
            replace: true,
            cves: Vec::new(),
            bugs: Vec::new(),
        };
        let dest = kernel.checkout_dir().join("corpus");
        let ko = generate::generate(
            cache,
            tc,
            &kernel,
            None,
            std::slice::from_ref(&case.patch),
            &meta,
            &dest,
        )?;
        built.push((case, ko));
    }
    run_guest(cache, kernel, &built, accel)
}

/// Boots `kernel` with the generated modules and the cases' tests, and
/// runs the suite on them, in order.
pub fn run_guest(
    cache: &Cache,
    kernel: kernel::Kernel,
    built: &[(Case, PathBuf)],
    accel: qemu::Accel,
) -> Result<qemu::Outcome> {
    let mut list = String::new();
    let mut extra = Vec::new();
    for (case, _) in built {
        list.push_str(&format!("{} {}\n", case.name, case.module));
        extra.push(initramfs::File {
            path: format!("lib/klp-corpus/{}-LOADED.test", case.name),
            executable: true,
            data: read(&case.test)?,
        });
    }
    extra.push(initramfs::File {
        path: "lib/klp-corpus/cases".into(),
        executable: false,
        data: list.into_bytes(),
    });
    let kos: Vec<PathBuf> = built.iter().map(|(_, ko)| ko.clone()).collect();
    let guest = qemu::Guest::with_modules(cache, kernel, &kos, extra)?;
    guest.run_suite(cache, SUITE, accel, qemu::suite_timeout(SUITE))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))
}
