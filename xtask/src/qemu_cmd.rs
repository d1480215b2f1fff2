//! `cargo xtask qemu`: the front end of [`crate::qemu`].
//!
//! - `--suite S`: most suites boot the guest kernel with every module of
//!   `kmod/`; the `signing` suite boots the kernel that enforces module
//!   signatures; the `generate` suite, the patches it generates from
//!   `kmod/corpus/`; the `packages` suite (x86_64), a Debian system on a
//!   disk that installs the patches as packages, booted twice.
//! - `--modules DIR --script FILE`: the patch modules of a directory of
//!   your own, built for the arch as `cargo xtask build DIR` builds them
//!   (lint, post-link, signing), in the guest's `/lib/klp/`, and FILE run
//!   there with the suites' helpers (`qemu/guest/scenarios/script.sh`).
//! - `--shell`: the same guest (or, without `--modules`, the suites'),
//!   with an interactive shell on this terminal.
//!
//! - `--debug --suite S`: the suite on the arch's debug kernel, with the
//!   checks of `qemu/guest/scenarios/debug-checks.sh` after it.
//!
//! `--arch all` runs the four arches one after another, then prints a
//! table of their results.

use crate::{
    arch::{Arch, Arches},
    cache::Cache,
    corpus, debug_kernel, initramfs, kernel,
    modules::PatchDir,
    packages_suite,
    qemu::{self, render_matrix, MatrixCell},
    setup, signing_suite, Failed,
};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

/// The suite that runs a script of `--script`: `qemu/guest/scenarios/script.sh`.
pub const SCRIPT_SUITE: &str = "script";

/// `cargo xtask qemu`.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("run").args(["script", "shell"])))]
pub struct QemuCmd {
    /// Guest architecture, or `all` (the four, one after another, then a
    /// table).
    #[arg(long, default_value = "x86_64")]
    arch: Arches,
    /// The scenario to run: a script in `qemu/guest/scenarios/`.
    #[arg(long, default_value = "smoke", conflicts_with_all = ["modules", "script", "shell"])]
    suite: String,
    /// A directory of patch modules of your own with its `Kbuild` (as
    /// `cargo xtask build DIR` takes it), built for the arch (lint,
    /// post-link, signing); each `.ko` goes into the guest's `/lib/klp/`.
    /// With `--script` or `--shell`.
    #[arg(long, value_name = "DIR", requires = "run")]
    modules: Option<PathBuf>,
    /// A POSIX sh script the guest runs (busybox sh), as
    /// `/scenarios/user/<its name>`, with the suites' helpers of
    /// `qemu/guest/scenarios/ktap.sh` (`check NAME CMD...` reports a KTAP
    /// point; `wait_for`, `file_is`, `transcript`); two points follow: it
    /// exited 0, and the kernel log has no WARNING, BUG or Oops.
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,
    /// An interactive shell on the guest's serial console, this terminal
    /// (Ctrl-C goes to the guest; `exit` powers it off; Ctrl-A X stops
    /// QEMU). Without `--modules`, the suites' guest (every module of
    /// `kmod/` in `/lib/klp/`).
    #[arg(long)]
    shell: bool,
    /// Run the suite on the debug kernel of the arch (`cargo xtask kernel
    /// --debug`); after the suite, the guest checks that kmemleak finds no
    /// leak and that KFENCE, UBSAN, lockdep, SLUB and DEBUG_ATOMIC_SLEEP
    /// reported nothing.
    #[arg(long, conflicts_with_all = ["modules", "script", "shell"])]
    debug: bool,
    /// Try KVM (only used if a probe boot under KVM works).
    #[arg(long)]
    kvm: bool,
    /// Seconds before a hung guest is killed [default: 180; 600 for the
    /// `selftests*` and `klp` suites].
    #[arg(long)]
    timeout: Option<u64>,
}

impl QemuCmd {
    pub fn run(self, cache: &Cache) -> Result<()> {
        // What the user named is checked before anything starts.
        let dir = self.modules.as_deref().map(PatchDir::new).transpose()?;
        let script = self.script.as_deref().map(Script::read).transpose()?;
        let arches = &self.arch.0;
        if self.shell {
            let [arch] = arches[..] else {
                bail!("`--shell` boots one guest: name its arch (`--arch x86_64`), not `all`");
            };
            let guest = guest(cache, arch, dir.as_ref(), None)?;
            let accel = guest.accel(cache, self.kvm)?;
            return guest.shell(accel);
        }
        if let [arch] = arches[..] {
            return self
                .run_one(cache, arch, dir.as_ref(), script.as_ref())?
                .check();
        }
        let mut cells = Vec::new();
        let mut verdicts = Vec::new();
        for &arch in arches {
            let result = self
                .run_one(cache, arch, dir.as_ref(), script.as_ref())
                .and_then(|outcome| {
                    cells.push(MatrixCell::of(&outcome));
                    outcome.check()
                });
            if let Err(e) = &result {
                eprintln!("error: {arch}: {e:#}");
            }
            verdicts.push((arch, result));
        }
        println!("\n{}", render_matrix(&cells));
        let failed: Vec<String> = verdicts
            .iter()
            .filter(|(_, r)| r.is_err())
            .map(|(arch, _)| arch.to_string())
            .collect();
        println!(
            "{} arches passed, {} failed",
            verdicts.len() - failed.len(),
            failed.len()
        );
        if failed.is_empty() {
            Ok(())
        } else {
            Err(Failed(format!("failed on {}", failed.join(", "))).into())
        }
    }

    /// Boots one guest of `arch` and runs the suite or the script.
    fn run_one(
        &self,
        cache: &Cache,
        arch: Arch,
        dir: Option<&PatchDir>,
        script: Option<&Script>,
    ) -> Result<qemu::Outcome> {
        if let Some(script) = script {
            let guest = guest(cache, arch, dir, Some(script))?;
            let accel = guest.accel(cache, self.kvm)?;
            return run_script(cache, &guest, script, accel, self.timeout);
        }
        if self.debug {
            if [corpus::SUITE, signing_suite::SUITE, packages_suite::SUITE]
                .contains(&self.suite.as_str())
            {
                bail!(
                    "the `{}` suite boots kernels of its own; `--debug` runs the other suites",
                    self.suite
                );
            }
            let guest = qemu::Guest::prepare_debug(cache, arch)?;
            let accel = guest.accel(cache, self.kvm)?;
            let timeout = self
                .timeout
                .unwrap_or_else(|| debug_kernel::suite_timeout(&self.suite));
            return guest.run_suite(cache, &self.suite, accel, timeout);
        }
        if self.suite == packages_suite::SUITE {
            // A Debian system on a disk, booted twice.
            let tc = setup::ensure(cache, false)?;
            return packages_suite::run(cache, &tc, arch, qemu::Accel::Tcg, self.timeout);
        }
        if self.suite == corpus::SUITE {
            // Its guest holds the patches it generates first.
            let tc = setup::ensure(cache, false)?;
            return corpus::prove(cache, &tc, arch, qemu::Accel::Tcg);
        }
        let guest = if self.suite == signing_suite::SUITE {
            let tc = setup::ensure(cache, false)?;
            signing_suite::guest(cache, &tc, arch)?
        } else {
            qemu::Guest::prepare(cache, arch)?
        };
        let accel = guest.accel(cache, self.kvm)?;
        let timeout = self
            .timeout
            .unwrap_or_else(|| qemu::suite_timeout(&self.suite));
        guest.run_suite(cache, &self.suite, accel, timeout)
    }
}

/// A script of `--script`, read on the host.
#[derive(Clone, Debug)]
pub struct Script {
    /// Its file name, which it keeps in the guest and names its points.
    pub name: String,
    pub text: Vec<u8>,
}

impl Script {
    /// Reads the script at `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read(path).with_context(|| {
            format!(
                "cannot read the script `{}`: name a POSIX sh script for the guest to run",
                path.display()
            )
        })?;
        let name = path
            .file_name()
            .with_context(|| format!("the script `{}` has no file name", path.display()))?
            .to_string_lossy()
            .into_owned();
        Ok(Self { name, text })
    }

    fn file(&self) -> initramfs::File {
        initramfs::File {
            path: format!("scenarios/user/{}", self.name),
            executable: true,
            data: self.text.clone(),
        }
    }
}

/// The guest of `arch`'s kernel with the modules of `dir` (built as `cargo
/// xtask build DIR` builds them) in `/lib/klp/` and the `klp` tool, or
/// without `dir` the suites' guest; with `script`, if any, in
/// `/scenarios/user/`.
pub fn guest(
    cache: &Cache,
    arch: Arch,
    dir: Option<&PatchDir>,
    script: Option<&Script>,
) -> Result<qemu::Guest> {
    let files: Vec<initramfs::File> = script.iter().map(|s| s.file()).collect();
    let Some(dir) = dir else {
        return qemu::Guest::prepare_with(cache, arch, files);
    };
    let tc = setup::ensure(cache, false)?;
    let kernel = kernel::build(cache, &tc, arch)?;
    let kos = dir.build(cache, &tc, &kernel, None)?;
    qemu::Guest::with_modules(cache, kernel, &kos, files)
}

/// Boots `guest`, which holds `script`, and runs it (`timeout`: seconds,
/// default that of the suites); the outcome is named after the script.
pub fn run_script(
    cache: &Cache,
    guest: &qemu::Guest,
    script: &Script,
    accel: qemu::Accel,
    timeout: Option<u64>,
) -> Result<qemu::Outcome> {
    let timeout = timeout.unwrap_or_else(|| qemu::suite_timeout(SCRIPT_SUITE));
    let mut outcome = guest.run_suite(cache, SCRIPT_SUITE, accel, timeout)?;
    outcome.suite = script.name.clone();
    Ok(outcome)
}
