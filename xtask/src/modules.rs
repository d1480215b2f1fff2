//! `cargo xtask build --arch A`: the patch modules under `kmod/`, built by
//! Kbuild (`make -C <kernel> M=<repo> MO=<out>`) against the cached kernel.

use crate::{
    arch::Arch,
    cache::Cache,
    kernel, repo_root, run, samples, setup,
    signing::{self, SigningKey},
};
use anyhow::{bail, Context, Result};
use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// `cargo xtask build`.
#[derive(clap::Args, Debug)]
pub struct BuildCmd {
    /// A directory of patch modules (its `Kbuild` lists them; each Rust
    /// patch includes `kmod/livepatch`), inside or outside the repository
    /// (default: every module under `kmod/`).
    dir: Option<PathBuf>,
    /// Guest architecture.
    #[arg(long, default_value = "x86_64")]
    arch: Arch,
    /// A kernel build of your own (its `O=` directory or tree) instead of
    /// the cached one; its arch is read from its `.config`.
    #[arg(long, value_name = "DIR", conflicts_with = "arch")]
    kdir: Option<PathBuf>,
    /// Sign with this private key (PEM) instead of the kernel build's own
    /// `certs/signing_key.pem`.
    #[arg(long, value_name = "KEY.pem", requires = "sign_cert")]
    sign_key: Option<PathBuf>,
    /// The certificate of `--sign-key` (X.509, PEM or DER).
    #[arg(long, value_name = "CERT.x509", requires = "sign_key")]
    sign_cert: Option<PathBuf>,
}

impl BuildCmd {
    pub fn run(self, cache: &Cache) -> Result<()> {
        let key = match (&self.sign_key, &self.sign_cert) {
            (Some(key), Some(cert)) => Some(SigningKey::named(key, cert)?),
            _ => None,
        };
        let dir = self.dir.as_deref().map(PatchDir::new).transpose()?;
        let tc = setup::ensure(cache, false)?;
        let kernel = match &self.kdir {
            Some(dir) => kernel::Kernel::of_tree(dir)?,
            None => kernel::build(cache, &tc, self.arch)?,
        };
        let dir = dir.unwrap_or_else(|| PatchDir {
            dir: repo_root(),
            what: "modules".into(),
        });
        for ko in dir.build(cache, &tc, &kernel, key.as_ref())? {
            println!("{}", ko.display());
        }
        Ok(())
    }
}

/// A directory of patch modules with its `Kbuild`, inside the repository
/// or not, as `cargo xtask build DIR` and `cargo xtask qemu --modules DIR`
/// take it.
#[derive(Clone, Debug)]
pub struct PatchDir {
    /// The directory, canonical.
    pub dir: PathBuf,
    /// Its name in logs and output directories: `dir-<name>-<hash of its
    /// path>`.
    pub what: String,
}

impl PatchDir {
    /// `dir`, which must have a `Kbuild` (or a `Makefile`).
    pub fn new(dir: &Path) -> Result<Self> {
        let dir = std::fs::canonicalize(dir).with_context(|| {
            format!(
                "no directory `{}`: name a directory of patch modules with its `Kbuild`",
                dir.display()
            )
        })?;
        if !dir.join("Kbuild").is_file() && !dir.join("Makefile").is_file() {
            bail!(
                "`{}` has no `Kbuild`: write one listing the modules \
                 (`obj-m += my_patch.o`), then `include <klp-rs>/kmod/livepatch/livepatch.mk` \
                 (see `kmod/samples/Kbuild`)",
                dir.display()
            );
        }
        let name = dir
            .file_name()
            .map_or("dir".into(), |n| n.to_string_lossy().into_owned());
        let what = format!(
            "dir-{name}-{:016x}",
            crate::kernel::fnv1a(dir.as_os_str().as_encoded_bytes())
        );
        Ok(Self { dir, what })
    }

    /// Lints its modules (clippy, warnings denied, as `cargo xtask test`
    /// lints `kmod/`), then builds, post-links and signs them with `key`
    /// (default: the kernel build's); the `.ko` files.
    pub fn build(
        &self,
        cache: &Cache,
        tc: &setup::Toolchain,
        kernel: &kernel::Kernel,
        key: Option<&SigningKey>,
    ) -> Result<Vec<PathBuf>> {
        let (dir, what) = (&self.dir, &self.what);
        build_in(cache, tc, kernel, Lint::DenyWarnings, dir, what, None)?;
        build_in(cache, tc, kernel, Lint::No, dir, what, key)
    }
}

/// Whether to build with clippy and warnings denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lint {
    No,
    /// `CLIPPY=1 KRUSTFLAGS=-Dwarnings`, into a separate output directory.
    DenyWarnings,
}

/// Builds every module and returns the `.ko` files, in `modules.order` order.
pub fn build(
    cache: &Cache,
    tc: &setup::Toolchain,
    kernel: &kernel::Kernel,
    lint: Lint,
) -> Result<Vec<PathBuf>> {
    // The targets of the samples' twins come first: the post-link step
    // checks the twins' replacements against them.
    samples::build(cache, tc, kernel)?;
    build_in(cache, tc, kernel, lint, &repo_root(), "modules", None)
}

/// Builds the patches of real fixes (`kmod/fixes/`, not part of the other
/// suites: each is meant for a kernel built without its fix).
pub fn build_fixes(
    cache: &Cache,
    tc: &setup::Toolchain,
    kernel: &kernel::Kernel,
    lint: Lint,
) -> Result<Vec<PathBuf>> {
    build_in(
        cache,
        tc,
        kernel,
        lint,
        &repo_root().join("kmod/fixes"),
        "fixes",
        None,
    )
}

/// Builds the Kbuild tree at `dir` into `klp-rs-<what>[-lint]` and, unless
/// linting, signs every module with `key` (default: the kernel build's).
pub fn build_in(
    cache: &Cache,
    tc: &setup::Toolchain,
    kernel: &kernel::Kernel,
    lint: Lint,
    dir: &Path,
    what: &str,
    key: Option<&SigningKey>,
) -> Result<Vec<PathBuf>> {
    let convert = convert_tool(cache)?;
    let kos = make(tc, kernel, lint, dir, what, Some(&convert), cache)?;
    if lint == Lint::No {
        let key = match key {
            Some(key) => key.clone(),
            None => SigningKey::of_build(kernel)?,
        };
        signing::sign_all(kernel, &key, &kos)?;
    }
    Ok(kos)
}

/// The guest path of [`unconverted`]'s module.
pub const UNCONVERTED: &str = "lib/klp/unconverted/klp_rs_reloc_vmlinux.ko";

/// `kmod/relocations/klp_rs_reloc_vmlinux.ko` built the way a user who
/// skips the post-link step would (plain `make`, then signed): its
/// `klp_extern!` references are still weak undefined symbols, which the
/// crate must refuse to enable (the `relocations` suite loads it).
pub fn unconverted(
    cache: &Cache,
    tc: &setup::Toolchain,
    kernel: &kernel::Kernel,
) -> Result<crate::initramfs::File> {
    let dir = repo_root().join("kmod/relocations");
    let kos = make(tc, kernel, Lint::No, &dir, "unconverted", None, cache)?;
    let Some(ko) = kos.iter().find(|k| k.ends_with("klp_rs_reloc_vmlinux.ko")) else {
        bail!(
            "the build of `{}` made no `klp_rs_reloc_vmlinux.ko`",
            dir.display()
        );
    };
    signing::sign_all(
        kernel,
        &SigningKey::of_build(kernel)?,
        std::slice::from_ref(ko),
    )?;
    Ok(crate::initramfs::File {
        path: UNCONVERTED.into(),
        executable: false,
        data: std::fs::read(ko)?,
    })
}

/// Runs Kbuild on `dir` into `klp-rs-<what>[-lint]`, with the post-link
/// step `convert` on every `.ko` it links (`None`: without it).
fn make(
    tc: &setup::Toolchain,
    kernel: &kernel::Kernel,
    lint: Lint,
    dir: &Path,
    what: &str,
    convert: Option<&Path>,
    cache: &Cache,
) -> Result<Vec<PathBuf>> {
    let out = output_dir(kernel, lint, what);
    std::fs::create_dir_all(&out)?;
    let mut make = kernel::make_in(kernel, tc);
    make.arg(format!("M={}", dir.display()))
        .arg(format!("MO={}", out.display()));
    if let Some(convert) = convert {
        make.arg(format!("KLP_RS_CONVERT={}", convert.display()))
            .arg(CONVERT_HOOK);
        // The kernel's C samples, once built, are targets too.
        let samples = samples::modules_order(kernel);
        if samples.is_file() {
            make.arg(format!("KLP_RS_MODULES_ORDERS={}", samples.display()));
        }
    }
    make.args(
        kernel
            .arch
            .module_rustflags()
            .map(|f| format!("RUSTFLAGS_MODULE={f}")),
    )
    // The default `released` date of patch metadata.
    .env("KLP_RS_KERNEL_RELEASED", &tc.source_released);
    if lint == Lint::DenyWarnings {
        make.args(["CLIPPY=1", "KRUSTFLAGS=-Dwarnings"]);
    }
    let doing = match lint {
        Lint::No => "building",
        Lint::DenyWarnings => "linting (clippy, warnings denied)",
    };
    run::logged(
        &format!(
            "{doing} the {what} under {} for {}",
            dir.display(),
            kernel.arch
        ),
        &mut make,
        &build_log(cache, kernel, lint, what),
    )?;
    modules_in(&out)
}

/// The module `name` among the built modules `kos`.
pub fn find(kos: &[PathBuf], name: &str) -> Result<PathBuf> {
    kos.iter()
        .find(|k| k.file_stem().is_some_and(|s| s == name))
        .cloned()
        .with_context(|| format!("the module build made no `{name}.ko`"))
}

/// The log of [`build_in`]'s build of `what`; the lint keeps a log of its
/// own, which the build after it would otherwise overwrite.
pub fn build_log(cache: &Cache, kernel: &kernel::Kernel, lint: Lint, what: &str) -> PathBuf {
    cache.logs().join(match lint {
        Lint::No => format!("{what}-{}.log", kernel.arch),
        Lint::DenyWarnings => format!("{what}-lint-{}.log", kernel.arch),
    })
}

/// Where [`build_in`] builds the tree `what` (Kbuild's `MO=`).
pub fn output_dir(kernel: &kernel::Kernel, lint: Lint, what: &str) -> PathBuf {
    kernel.checkout_dir().join(match lint {
        Lint::No => format!("klp-rs-{what}"),
        Lint::DenyWarnings => format!("klp-rs-{what}-lint"),
    })
}

/// The post-link step of every `.ko` (`tools/klp-convert`), run by Kbuild's
/// final module link (`scripts/Makefile.modfinal`). That makefile reads no
/// Kbuild file of ours; its one hook after the link is the command it runs
/// on each `.ko` it (re)makes, `cmd_check_tracepoint`, unset unless
/// `WARN_ON_UNUSED_TRACEPOINTS` is (its own command then still runs). A
/// failure fails the build, and `.DELETE_ON_ERROR` removes the `.ko`.
const CONVERT_HOOK: &str = "cmd_check_tracepoint=$(KLP_RS_CONVERT) \
--kernel $(objtree) --modules-order modules.order \
$(foreach o,$(KLP_RS_MODULES_ORDERS),--modules-order $(o)) $@\
$(if $(WARN_ON_UNUSED_TRACEPOINTS),; $(objtree)/scripts/tracepoint-update --module $<)";

/// Builds `tools/klp-convert` for the host and returns its path.
pub fn convert_tool(cache: &Cache) -> Result<PathBuf> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    run::logged(
        "building the post-link step (tools/klp-convert)",
        Command::new(cargo).current_dir(repo_root()).args([
            "build",
            "--release",
            "--package",
            "klp-convert",
        ]),
        &cache.logs().join("klp-convert.log"),
    )?;
    Ok(repo_root().join("target/release/klp-convert"))
}

/// Where [`build_kernel_c_modules`] builds `name`.
pub fn c_modules_dir(kernel: &kernel::Kernel, name: &str) -> PathBuf {
    kernel.checkout_dir().join(format!("klp-rs-{name}"))
}

/// Builds the C modules of the kernel tree's directory `dir` (`vars`: make
/// variables such as `CONFIG_SAMPLE_LIVEPATCH=m`) against `kernel`, into
/// `<checkout dir>/klp-rs-<name>` (the source tree is left untouched), and
/// signs them with the build's key. `what` names them in progress lines;
/// the log is `<name>-modules-<arch>.log`.
pub fn build_kernel_c_modules(
    cache: &Cache,
    tc: &setup::Toolchain,
    kernel: &kernel::Kernel,
    dir: &Path,
    vars: &[&str],
    what: &str,
    name: &str,
) -> Result<Vec<PathBuf>> {
    let out = c_modules_dir(kernel, name);
    std::fs::create_dir_all(&out)?;
    let mut make = kernel::make_in(kernel, tc);
    make.arg(format!("M={}", dir.display()))
        .arg(format!("MO={}", out.display()))
        .args(vars);
    run::logged(
        &format!("building {what} for {}", kernel.arch),
        &mut make,
        &cache
            .logs()
            .join(format!("{name}-modules-{}.log", kernel.arch)),
    )?;
    let kos = modules_in(&out)?;
    signing::sign_all(kernel, &SigningKey::of_build(kernel)?, &kos)?;
    Ok(kos)
}

/// The `.ko` files a module build into `out` made, in `modules.order` order.
pub fn modules_in(out: &Path) -> Result<Vec<PathBuf>> {
    let order = out.join("modules.order");
    let text = std::fs::read_to_string(&order)
        .with_context(|| format!("the module build left no `{}`", order.display()))?;
    let mut kos = Vec::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let ko = out.join(line).with_extension("ko");
        if !ko.is_file() {
            bail!(
                "`{}` lists `{line}` but `{}` is missing",
                order.display(),
                ko.display()
            );
        }
        kos.push(ko);
    }
    Ok(kos)
}
