//! The livepatch state of the running kernel, from sysfs.
//!
//! `srctree/kernel/livepatch/core.c` ("Sysfs Interface") and
//! `srctree/Documentation/ABI/testing/sysfs-kernel-livepatch`:
//!
//! ```text
//! /sys/kernel/livepatch/<patch>/{enabled,transition,force,replace,stack_order}
//! /sys/kernel/livepatch/<patch>/<object>/patched
//! /sys/kernel/livepatch/<patch>/<object>/<function,sympos>/
//! ```
//!
//! and, for a klp-rs patch module, its metadata in
//! `/sys/module/<patch>/klp_rs/{version,kernel,released,cves,bugs,seed,description}`.

use crate::{date::Date, error::Failure, sys::Kernel};
use anyhow::{bail, Context, Result};
use std::{
    fs, io,
    path::{Path, PathBuf},
    thread,
    time::{Duration, Instant},
};

/// The metadata of a klp-rs patch module: of a loaded one (sysfs), or of
/// a module file (`.modinfo`, see `modinfo::PatchFile`).
#[derive(Clone, Debug)]
pub struct Metadata {
    /// Rises along a cumulative series.
    pub version: u32,
    /// The kernel release the patch is built for.
    pub kernel: String,
    /// The release date of that kernel.
    pub released: Option<Date>,
    /// CVE ids the patch fixes.
    pub cves: Vec<String>,
    /// Bug references the patch fixes.
    pub bugs: Vec<String>,
    /// The empty initial patch of a kernel build.
    pub seed: bool,
    /// The module description.
    pub description: String,
}

/// A function a patch replaces: `<object>/<function,sympos>`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Func {
    /// The replaced function.
    pub name: String,
    /// Which of several local symbols of that name (1 for a unique one).
    pub sympos: u32,
}

/// An object (`vmlinux` or a module) a patch changes.
#[derive(Clone, Debug)]
pub struct Object {
    /// `vmlinux` or the module name.
    pub name: String,
    /// Whether the object is patched now (`None` before Linux 6.1).
    pub patched: Option<bool>,
    /// The replaced functions, sorted.
    pub funcs: Vec<Func>,
}

/// A patch registered with the kernel.
#[derive(Clone, Debug)]
pub struct Patch {
    /// The patch (module) name.
    pub name: String,
    /// `enabled`: the target state of the patch.
    pub enabled: bool,
    /// `transition`: the patch is being enabled or disabled.
    pub transition: bool,
    /// `replace`: an atomic-replace (cumulative) patch (`None` before 6.11).
    pub replace: Option<bool>,
    /// `stack_order`: 1 for the first patch applied (`None` before 6.14).
    pub stack_order: Option<u32>,
    /// The objects it changes, sorted by name.
    pub objects: Vec<Object>,
    /// The klp-rs metadata, `None` for a foreign patch.
    pub meta: Option<Metadata>,
}

impl Patch {
    /// `enabled`, `disabled` or `transition`.
    pub fn state(&self) -> &'static str {
        match (self.transition, self.enabled) {
            (true, _) => "transition",
            (false, true) => "enabled",
            (false, false) => "disabled",
        }
    }
}

/// `/sys/kernel/livepatch` under a root directory.
pub struct Livepatch {
    root: PathBuf,
    dir: PathBuf,
}

impl Livepatch {
    /// Opens the livepatch directory, failing if the kernel has none.
    pub fn open(root: &Path) -> Result<Livepatch> {
        let dir = root.join("sys/kernel/livepatch");
        if !dir.is_dir() {
            let kernel = root.join("sys/kernel");
            if !kernel.is_dir() {
                bail!(
                    "`{}` does not exist: is sysfs mounted (`mount -t sysfs sysfs /sys`)?",
                    kernel.display()
                );
            }
            bail!(
                "`{}` does not exist: this kernel has no livepatch support (boot one built with \
                 `CONFIG_LIVEPATCH=y`)",
                dir.display()
            );
        }
        Ok(Livepatch {
            root: root.to_path_buf(),
            dir,
        })
    }

    /// Every registered patch, in stack order (then by name).
    pub fn patches(&self, kernel: &dyn Kernel) -> Result<Vec<Patch>> {
        let mut patches = Vec::new();
        for name in subdirs(&self.dir)? {
            if let Some(patch) = self.patch(kernel, &name)? {
                patches.push(patch);
            }
        }
        patches.sort_by(|a, b| (a.stack_order, &a.name).cmp(&(b.stack_order, &b.name)));
        Ok(patches)
    }

    /// The patch `name`, `None` if it is not registered (or went away while
    /// being read).
    ///
    /// The kernel frees a disabled patch's sysfs directory asynchronously,
    /// from a work item (`srctree/kernel/livepatch/core.c`:
    /// `klp_free_patch_finish()`): its attributes first answer `ENODEV` (in
    /// `srctree/fs/kernfs/file.c`, a node being removed fails
    /// `kernfs_get_active()`), then the directory vanishes (`ENOENT`). Either
    /// means the patch is gone, not an error. `enabled` and `transition`,
    /// which every kernel has, are read last: if they still answer, the patch
    /// was there all along, and a missing `replace`, `stack_order` or
    /// `patched` is one this kernel lacks (or an object's directory that
    /// went alone, as the nop objects of an atomic replace do). The metadata
    /// is read first: the patch holds its module until freed, so a failure
    /// to read it counts only if the patch is still there.
    pub fn patch(&self, kernel: &dyn Kernel, name: &str) -> Result<Option<Patch>> {
        let dir = self.dir.join(name);
        let meta = metadata(&self.root, name);
        let mut objects = Vec::new();
        for obj in subdirs(&dir)? {
            let obj_dir = dir.join(&obj);
            let patched = attr(kernel, &obj_dir.join("patched"))?
                .map(|p| parse_bool(&obj_dir.join("patched"), &p))
                .transpose()?;
            let mut funcs = Vec::new();
            for func in subdirs(&obj_dir)? {
                let parsed = func
                    .rsplit_once(',')
                    .and_then(|(n, pos)| Some((n, pos.parse().ok()?)));
                let Some((name, sympos)) = parsed else {
                    bail!(
                        "`{}`: a function directory is named `<function>,<sympos>`",
                        obj_dir.join(&func).display()
                    );
                };
                funcs.push(Func {
                    name: name.to_string(),
                    sympos,
                });
            }
            funcs.sort();
            objects.push(Object {
                name: obj,
                patched,
                funcs,
            });
        }
        let replace = attr(kernel, &dir.join("replace"))?
            .map(|r| parse_bool(&dir.join("replace"), &r))
            .transpose()?;
        let stack_order = attr(kernel, &dir.join("stack_order"))?
            .map(|s| parse_num(&dir.join("stack_order"), &s))
            .transpose()?;
        let Some(enabled) = attr(kernel, &dir.join("enabled"))? else {
            return Ok(None);
        };
        let Some(transition) = attr(kernel, &dir.join("transition"))? else {
            return Ok(None);
        };
        Ok(Some(Patch {
            name: name.to_string(),
            enabled: parse_bool(&dir.join("enabled"), &enabled)?,
            transition: parse_bool(&dir.join("transition"), &transition)?,
            replace,
            stack_order,
            objects,
            meta: meta?,
        }))
    }

    /// The patch in transition, if any (the kernel runs one at a time).
    pub fn in_transition(&self, kernel: &dyn Kernel) -> Result<Option<Patch>> {
        Ok(self.patches(kernel)?.into_iter().find(|p| p.transition))
    }

    /// Fails with [`Failure::InTransition`] if a transition is running.
    pub fn ensure_idle(&self, kernel: &dyn Kernel) -> Result<()> {
        match self.in_transition(kernel)? {
            Some(p) => Err(Failure::InTransition {
                patch: p.name,
                waited: None,
            }
            .into()),
            None => Ok(()),
        }
    }

    /// Writes `enabled` of the patch `name`.
    pub fn set_enabled(&self, kernel: &mut dyn Kernel, name: &str, enabled: bool) -> Result<()> {
        let path = self.dir.join(name).join("enabled");
        let value = if enabled { "1" } else { "0" };
        kernel
            .write_attr(&path, value)
            .map_err(|source| Failure::Refused {
                what: format!("write `{value}` to `{}`", path.display()),
                source,
            })?;
        Ok(())
    }

    /// Waits until the patch `name` is out of transition (or gone), polling
    /// every 50 ms for at most `timeout`.
    ///
    /// Returns whether the patch is still registered; fails with
    /// [`Failure::InTransition`] when the time is up.
    pub fn wait(&self, kernel: &dyn Kernel, name: &str, timeout: Duration) -> Result<bool> {
        let start = Instant::now();
        loop {
            match self.patch(kernel, name)? {
                None => return Ok(false),
                Some(p) if !p.transition => return Ok(true),
                Some(_) if start.elapsed() >= timeout => {
                    return Err(Failure::InTransition {
                        patch: name.to_string(),
                        waited: Some(timeout),
                    }
                    .into())
                }
                Some(_) => thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

/// Whether the module `name` is loaded (`/sys/module/<name>` exists).
pub fn module_loaded(root: &Path, name: &str) -> bool {
    root.join("sys/module").join(name).is_dir()
}

/// The klp-rs metadata of the loaded module `name`, `None` if it has none.
pub fn metadata(root: &Path, name: &str) -> Result<Option<Metadata>> {
    let dir = root.join("sys/module").join(name).join("klp_rs");
    if !dir.is_dir() {
        return Ok(None);
    }
    let read = |f: &str| -> Result<(PathBuf, String)> {
        let path = dir.join(f);
        let text = fs::read_to_string(&path)
            .with_context(|| format!("cannot read klp-rs metadata `{}`", path.display()))?;
        Ok((path, text.trim().to_string()))
    };
    let lines = |f: &str| -> Result<Vec<String>> {
        Ok(read(f)?
            .1
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect())
    };
    let (version_path, version) = read("version")?;
    let (released_path, released) = read("released")?;
    let released = match released.as_str() {
        "" => None,
        r => Some(
            r.parse()
                .with_context(|| format!("bad klp-rs metadata `{}`", released_path.display()))?,
        ),
    };
    let (seed_path, seed) = read("seed")?;
    Ok(Some(Metadata {
        version: parse_num(&version_path, &version)?,
        kernel: read("kernel")?.1,
        released,
        cves: lines("cves")?,
        bugs: lines("bugs")?,
        seed: parse_bool(&seed_path, &seed)?,
        description: read("description")?.1,
    }))
}

/// The names of the subdirectories of `dir`, sorted; none if `dir` is
/// [`gone`].
fn subdirs(dir: &Path) -> Result<Vec<String>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if gone(&e) => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot list `{}`", dir.display())),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list `{}`", dir.display()))?;
        if entry.path().is_dir() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// The contents of the attribute `path` of a patch's sysfs directory,
/// `None` if it is [`gone`] (see [`Livepatch::patch`]).
fn attr(kernel: &dyn Kernel, path: &Path) -> Result<Option<String>> {
    match kernel.read_attr(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if gone(&e) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

/// Whether `err` is how sysfs says a node is gone: `ENOENT`, or `ENODEV`
/// while the kernel removes it.
fn gone(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::NotFound || err.raw_os_error() == Some(libc::ENODEV)
}

fn parse_bool(path: &Path, text: &str) -> Result<bool> {
    match text.trim() {
        "1" | "Y" => Ok(true),
        "0" | "N" => Ok(false),
        other => bail!("`{}` holds `{other}`, not `0` or `1`", path.display()),
    }
}

fn parse_num(path: &Path, text: &str) -> Result<u32> {
    text.trim()
        .parse()
        .with_context(|| format!("`{}` holds `{}`, not a number", path.display(), text.trim()))
}
