//! One module per subcommand, each with its clap `Args` and an `exec`, as
//! cargo's `src/bin/cargo/commands/` has.

pub mod blocking;
pub mod check;
pub mod downgrade;
pub mod initrd;
pub mod install;
pub mod lifecycle;
pub mod list;
pub mod load;
pub mod patches;
pub mod status;
pub mod unload;

use crate::{
    error::Failure,
    installed,
    livepatch::{self, Livepatch},
    modinfo::PatchFile,
    output::Ctx,
    package, signature,
    sys::Kernel,
};
use anyhow::{bail, Result};
use serde::Serialize;
use std::{
    io,
    path::{Path, PathBuf},
    thread,
    time::{Duration, Instant},
};

/// The subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print `ready`, or `in_progress` while a patch is in transition.
    Status(status::Args),
    /// Like `status`, exiting with 1 while a transition is in progress.
    Check(check::Args),
    /// List the patches registered with the kernel.
    Patches(patches::Args),
    /// List the tasks that hold back the running transition.
    Blocking(blocking::Args),
    /// Show when support of each active and installed patch ends.
    Lifecycle(lifecycle::Args),
    /// List the installed patches of the running kernel.
    List(list::Args),
    /// Install a patch module file for its kernel.
    Install(install::Args),
    /// Load a patch and wait for its transition.
    Load(load::Args),
    /// Disable a patch, wait for its transition, remove its module.
    Unload(unload::Args),
    /// Go back one version of the active cumulative patch (through its
    /// package manager if a package installed it).
    Downgrade(downgrade::Args),
    /// Write a cpio archive that loads the active patch at boot.
    Initrd(initrd::Args),
}

impl Command {
    /// Runs the subcommand; returns the exit code of a success (0, or 1 for
    /// `check` during a transition).
    pub fn exec(&self, ctx: &mut Ctx) -> Result<u8> {
        match self {
            Command::Status(a) => status::exec(ctx, a),
            Command::Check(a) => check::exec(ctx, a),
            Command::Patches(a) => patches::exec(ctx, a),
            Command::Blocking(a) => blocking::exec(ctx, a),
            Command::Lifecycle(a) => lifecycle::exec(ctx, a),
            Command::List(a) => list::exec(ctx, a),
            Command::Install(a) => install::exec(ctx, a),
            Command::Load(a) => load::exec(ctx, a),
            Command::Unload(a) => unload::exec(ctx, a),
            Command::Downgrade(a) => downgrade::exec(ctx, a),
            Command::Initrd(a) => initrd::exec(ctx, a),
        }
    }
}

/// The `--timeout` of the subcommands that wait for a transition.
#[derive(Debug, clap::Args)]
pub struct Wait {
    /// Seconds to wait for the transition (0: do not wait).
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = seconds)]
    timeout: Duration,
}

fn seconds(arg: &str) -> Result<Duration, String> {
    arg.parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .ok_or_else(|| format!("`{arg}` is not a number of seconds"))
}

/// Something `load`, `unload` or `downgrade` did or, with `--dry-run`,
/// would do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    /// `load`, `unload`, `install` or `run` (a package manager's command).
    pub action: &'static str,
    /// The patch module; for `run`, and a `load` of the patch a package
    /// will install, the package.
    pub patch: String,
    /// Its klp-rs version, `null` for a foreign patch.
    pub version: Option<u32>,
    /// The module file loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// `run`: the command, as the shell would take it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Whether the step was only planned (`--dry-run`).
    pub dry_run: bool,
}

impl Step {
    fn load(file: &PatchFile, dry_run: bool) -> Step {
        Step {
            action: "load",
            patch: file.name.clone(),
            version: Some(file.meta.version),
            file: Some(file.path.clone()),
            command: None,
            dry_run,
        }
    }

    fn unload(patch: &str, version: Option<u32>, dry_run: bool) -> Step {
        Step {
            action: "unload",
            patch: patch.to_string(),
            version,
            file: None,
            command: None,
            dry_run,
        }
    }

    fn run(package: &str, command: &[String], dry_run: bool) -> Step {
        Step {
            action: "run",
            patch: package.to_string(),
            version: None,
            file: None,
            command: Some(command.join(" ")),
            dry_run,
        }
    }

    /// Loading the patch `package` installs, whose name is not known yet.
    fn load_from_package(package: &str, version: Option<u32>, dry_run: bool) -> Step {
        Step {
            action: "load",
            patch: package.to_string(),
            version,
            file: None,
            command: None,
            dry_run,
        }
    }

    fn text(&self) -> String {
        let version = self
            .version
            .map_or_else(String::new, |v| format!(" (version {v})"));
        if let Some(command) = &self.command {
            let verb = if self.dry_run { "would run" } else { "ran" };
            return format!("{verb} `{command}`");
        }
        if self.action == "load" && self.file.is_none() {
            let verb = if self.dry_run { "would load" } else { "loaded" };
            return format!(
                "{verb} the patch package `{}`{version} installs",
                self.patch
            );
        }
        let verb = match (self.action, self.dry_run) {
            ("load", false) => "loaded",
            ("load", true) => "would load",
            ("install", _) => "installed",
            (_, false) => "unloaded",
            (_, true) => "would unload",
        };
        let from = if self.action == "install" {
            "as"
        } else {
            "from"
        };
        match &self.file {
            Some(file) => format!(
                "{verb} patch `{}`{version} {from} `{}`",
                self.patch,
                file.display()
            ),
            None => format!("{verb} patch `{}`{version}", self.patch),
        }
    }
}

/// Prints steps, one a line.
fn print_steps(ctx: &mut Ctx, steps: &[Step]) -> io::Result<()> {
    ctx.print(steps, |w, steps| {
        steps.iter().try_for_each(|s| writeln!(w, "{}", s.text()))
    })
}

/// The package that installed `file`, `None` when there is no package
/// manager or none owns it.
fn package_of(ctx: &mut Ctx, file: &Path) -> Result<Option<package::Package>> {
    let managers = package::Manager::present(ctx.host);
    package::owner_in(ctx.host, &managers, &ctx.root, file)
}

/// Fails unless the caller may load and remove modules.
fn require_root(ctx: &Ctx, verb: &str) -> Result<()> {
    if !ctx.kernel.is_root() {
        bail!(
            "`klp {verb}` must run as root (loading and removing modules needs `CAP_SYS_MODULE`)"
        );
    }
    Ok(())
}

/// The patch a `load` argument names: a module file (a path, or a name
/// ending in `.ko`), or the name of an installed patch of the running
/// kernel.
fn resolve(ctx: &mut Ctx, arg: &str) -> Result<PatchFile> {
    if arg.ends_with(".ko") || arg.contains('/') {
        return PatchFile::read(arg.as_ref());
    }
    let release = installed::running_release(ctx.root())?;
    let (patches, bad) = installed::list(ctx.root(), &release)?;
    for e in &bad {
        ctx.warn(e)?;
    }
    if let Some(p) = patches.into_iter().find(|p| p.name == arg) {
        return Ok(p);
    }
    bail!(
        "no patch named `{arg}` is installed in `{}` (`klp list` shows what is; `klp install` \
         adds one)",
        installed::dir(ctx.root(), &release).display()
    )
}

/// Loads `file` and waits for its transition. The caller has checked the
/// patch is for the running kernel and not loaded.
fn load_and_wait(ctx: &mut Ctx, lp: &Livepatch, file: &PatchFile, timeout: Duration) -> Result<()> {
    ctx.kernel
        .load_module(&file.path)
        .map_err(|source| Failure::Refused {
            what: match signature_refusal(&file.path, &source) {
                Some(why) => format!("load `{}`: {why}", file.path.display()),
                None => format!(
                    "load `{}` (the kernel log, `dmesg`, says why)",
                    file.path.display()
                ),
            },
            source,
        })?;
    wait_noting(ctx, lp, &file.name, timeout)?;
    Ok(())
}

/// Why the kernel refused `file` for its signature, and how to sign it,
/// when the error is one the module loader's signature check gives
/// (`srctree/kernel/module/signing.c`).
fn signature_refusal(file: &Path, error: &std::io::Error) -> Option<String> {
    let errno = error.raw_os_error()?;
    if ![
        libc::EKEYREJECTED,
        libc::ENOKEY,
        libc::EBADMSG,
        libc::ENOPKG,
        libc::EKEYEXPIRED,
    ]
    .contains(&errno)
    {
        return None;
    }
    let state = match std::fs::read(file).map(|d| signature::appended(&d).map(|s| s.is_some())) {
        Ok(Ok(false)) => "the module is not signed".to_string(),
        Ok(Ok(true)) => "its signature does not verify: it was changed after signing, or \
                          signed with a key the kernel does not trust"
            .to_string(),
        Ok(Err(e)) => format!("its signature is malformed ({e})"),
        Err(e) => format!("it cannot be read again ({e})"),
    };
    Some(format!(
        "this kernel accepts only modules signed with a key it trusts, and {state}; sign it with \
         the key of its kernel build (`scripts/sign-file sha256 certs/signing_key.pem \
         certs/signing_key.x509 FILE` in that build; `cargo xtask build` signs every module it \
         builds), then load it again"
    ))
}

/// How long a transition may take before `klp` says it is waiting. The
/// kernel retries a transition that could not switch every task once a
/// second (`srctree/kernel/livepatch/transition.c`: `klp_transition_work`),
/// and on SMP a task running on another CPU always needs one retry: a few
/// seconds are ordinary, longer is worth a note.
const QUIET_WAIT: Duration = Duration::from_secs(3);

/// Waits for the transition of `name`, saying so when it runs longer than
/// [`QUIET_WAIT`].
fn wait_noting(ctx: &mut Ctx, lp: &Livepatch, name: &str, timeout: Duration) -> Result<bool> {
    let quiet = timeout.min(QUIET_WAIT);
    match lp.wait(ctx.kernel, name, quiet) {
        Err(e) if quiet < timeout && e.is::<Failure>() => {}
        done => return done,
    }
    ctx.note(&format!("waiting for the transition of patch `{name}`..."))?;
    lp.wait(ctx.kernel, name, timeout - quiet).map_err(|e| {
        match e.downcast::<Failure>() {
            // The whole time waited, not what was left of it.
            Ok(Failure::InTransition { patch, .. }) => Failure::InTransition {
                patch,
                waited: Some(timeout),
            }
            .into(),
            Ok(other) => other.into(),
            Err(e) => e,
        }
    })
}

/// Disables the patch `name` if it is registered, waits for the
/// transition, and removes its module.
fn disable_and_remove(ctx: &mut Ctx, lp: &Livepatch, name: &str, timeout: Duration) -> Result<()> {
    if let Some(patch) = lp.patch(ctx.kernel, name)? {
        if patch.enabled {
            lp.set_enabled(ctx.kernel, name, false)?;
        }
        if wait_noting(ctx, lp, name, timeout)? {
            // Out of transition yet still registered: the kernel frees a
            // disabled patch's sysfs directory asynchronously, give it the
            // rest of the time.
            wait_gone(ctx.kernel, lp, name, timeout)?;
        }
    }
    // The patch holds its module until the kernel has freed it, a moment
    // after its sysfs directory went (`klp_free_patch_finish()`): retry a
    // busy module for at most `timeout`.
    let start = Instant::now();
    loop {
        match ctx.kernel.remove_module(name) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && start.elapsed() < timeout => {
                thread::sleep(Duration::from_millis(50));
            }
            Err(source) => {
                let what = format!("remove module `{name}`");
                return Err(Failure::Refused { what, source }.into());
            }
            Ok(()) => return Ok(()),
        }
    }
}

fn wait_gone(kernel: &dyn Kernel, lp: &Livepatch, name: &str, timeout: Duration) -> Result<()> {
    let start = Instant::now();
    while let Some(p) = lp.patch(kernel, name)? {
        if p.enabled {
            bail!("patch `{name}` was enabled again while being unloaded");
        }
        if start.elapsed() >= timeout {
            return Err(Failure::InTransition {
                patch: name.to_string(),
                waited: Some(timeout),
            }
            .into());
        }
        thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Fails if the module `name` is loaded, saying what to do.
fn ensure_not_loaded(ctx: &Ctx, lp: &Livepatch, name: &str) -> Result<()> {
    if lp.patch(ctx.kernel, name)?.is_some() {
        bail!("patch `{name}` is already loaded (`klp patches` shows it)");
    }
    if livepatch::module_loaded(ctx.root(), name) {
        bail!(
            "module `{name}` is loaded but its patch is not active (it was replaced or \
             disabled): `klp unload {name}` first"
        );
    }
    Ok(())
}
