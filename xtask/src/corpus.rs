//! The corpus of generated patches (`kmod/corpus/`), modelled on kpatch's
//! integration tests: each `<case>.patch` is a fix against the kernel tree,
//! each `<case>-LOADED.test` a script that passes only while its patch is
//! loaded. `cargo xtask test` generates every case on every arch and runs
//! the suite `generate` in one guest: each test fails, the patch loads, the
//! test passes, the patch unloads, the test fails again. A case whose patch
//! targets a module is also proven with the module loaded after the patch.
//!
//! A case the generator must refuse on an arch has `<case>.<arch>.refused`:
//! the lines its refusal must say.
//!
//! The guest kernel is the arch's kernel with one module more,
//! `samples/kobject` (`kobject_example`, built `=m`), for the case whose
//! target is a module.

use crate::{
    arch::Arch, cache::Cache, generate, initramfs, kernel, qemu, repo_root, setup, signing,
};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The guest suite.
pub const SUITE: &str = "generate";

/// The options that add the module some cases patch.
const MODULE_OPTIONS: &str = "CONFIG_SAMPLES=y\nCONFIG_SAMPLE_KOBJECT=m\n";

/// A case: its patch, its test script, the module generated from it.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    /// `klp_` and the name, for the corpus.
    pub module: String,
    pub patch: PathBuf,
    pub test: PathBuf,
    /// `<case>.rs`, its Rust parts (`--rust`), if it has some.
    pub rust: Option<PathBuf>,
}

/// A case generated: its patch module, and the module it patches (with
/// its name) if it patches one.
pub struct Built {
    pub case: Case,
    pub ko: PathBuf,
    pub target: Option<(String, PathBuf)>,
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
            rust: Some(dir.join(format!("{name}.rs"))).filter(|r| r.is_file()),
        });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cases)
}

/// The corpus's kernel of `arch`: the cached one with `kobject_example`.
pub fn kernel(cache: &Cache, tc: &setup::Toolchain, arch: Arch) -> Result<kernel::Kernel> {
    let base = kernel::build(cache, tc, arch)?;
    let variant = kernel::Variant {
        label: "corpus".into(),
        key: MODULE_OPTIONS.into(),
        change: kernel::Change::Config(MODULE_OPTIONS.into()),
    };
    kernel::derive(cache, tc, &base, &variant)
}

/// Generates every case for `arch` (checking the expected refusals) and
/// runs the suite on the others.
pub fn prove(
    cache: &Cache,
    tc: &setup::Toolchain,
    arch: Arch,
    accel: qemu::Accel,
) -> Result<qemu::Outcome> {
    let kernel = kernel(cache, tc, arch)?;
    let mut built = Vec::new();
    for case in cases()? {
        let refused = case
            .patch
            .with_file_name(format!("{}.{arch}.refused", case.name));
        let meta = case.metadata();
        let dest = kernel.checkout_dir().join("corpus");
        let input = generate::Input {
            patches: std::slice::from_ref(&case.patch),
            rust: case.rust.as_deref(),
            source: None,
            meta: &meta,
        };
        let result = generate::generate(cache, tc, &kernel, &input, &dest);
        if refused.is_file() {
            check_refusal(&case, &refused, result)?;
            continue;
        }
        let out = result?;
        built.push(Built {
            case,
            ko: out.ko,
            target: out.modules.into_iter().next(),
        });
    }
    run_guest(cache, kernel, &built, accel, Loader::Klp)
}

/// The generation of `case` must have failed, saying every line of
/// `expected`.
fn check_refusal(case: &Case, expected: &Path, result: Result<generate::Output>) -> Result<()> {
    let want = std::fs::read_to_string(expected)
        .with_context(|| format!("cannot read `{}`", expected.display()))?;
    let got = match result {
        Ok(out) => bail!(
            "`{}` should be refused (`{}`), but generated `{}`",
            case.name,
            expected.display(),
            out.ko.display()
        ),
        Err(e) => format!("{e:#}"),
    };
    for line in want.lines().filter(|l| !l.trim().is_empty()) {
        if !got.contains(line.trim()) {
            bail!(
                "`{}` was refused, but not saying `{}`:\n{got}",
                case.name,
                line.trim()
            );
        }
    }
    eprintln!("==> `{}` refused as expected:\n{got}", case.name);
    Ok(())
}

impl Case {
    /// The metadata of the case's generated module.
    pub fn metadata(&self) -> klp_gen::module::Metadata {
        klp_gen::module::Metadata {
            name: self.module.clone(),
            description: format!("kmod/corpus/{}.patch, generated", self.name),
            version: 1,
            replace: true,
            cves: Vec::new(),
            bugs: Vec::new(),
        }
    }
}

/// How the suite loads and unloads the patches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loader {
    /// `klp load`, `klp unload`: klp-rs patch modules.
    Klp,
    /// `insmod`, then `enabled` and `rmmod`: any livepatch module (another
    /// tool's, without klp-rs metadata).
    Insmod,
}

/// Boots `kernel` with the generated modules, the modules they patch and
/// the cases' tests, and runs the suite on them, in order.
pub fn run_guest(
    cache: &Cache,
    kernel: kernel::Kernel,
    built: &[Built],
    accel: qemu::Accel,
    loader: Loader,
) -> Result<qemu::Outcome> {
    let mut list = String::new();
    let mut extra = Vec::new();
    if loader == Loader::Insmod {
        extra.push(initramfs::File {
            path: "lib/klp-corpus/insmod".into(),
            executable: false,
            data: Vec::new(),
        });
    }
    let mut targets = Vec::new();
    for b in built {
        let target = b.target.as_ref().map_or("-", |(n, _)| n.as_str());
        list.push_str(&format!("{} {} {target}\n", b.case.name, b.case.module));
        extra.push(initramfs::File {
            path: format!("lib/klp-corpus/{}-LOADED.test", b.case.name),
            executable: true,
            data: read(&b.case.test)?,
        });
        if let Some((name, ko)) = &b.target {
            let copy = kernel.checkout_dir().join(format!("corpus-{name}.ko"));
            std::fs::copy(ko, &copy)?;
            targets.push((name.clone(), copy));
        }
    }
    if !targets.is_empty() {
        let key = signing::SigningKey::of_build(&kernel)?;
        let kos: Vec<PathBuf> = targets.iter().map(|(_, k)| k.clone()).collect();
        signing::sign_all(&kernel, &key, &kos)?;
        for (name, ko) in &targets {
            extra.push(initramfs::File {
                path: format!("lib/klp-corpus/targets/{name}.ko"),
                executable: false,
                data: read(ko)?,
            });
        }
    }
    extra.push(initramfs::File {
        path: "lib/klp-corpus/cases".into(),
        executable: false,
        data: list.into_bytes(),
    });
    let kos: Vec<PathBuf> = built.iter().map(|b| b.ko.clone()).collect();
    let guest = qemu::Guest::with_modules(cache, kernel, &kos, extra)?;
    guest.run_suite(cache, SUITE, accel, qemu::suite_timeout(SUITE))
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))
}
