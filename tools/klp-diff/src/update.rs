//! The verdict on a whole update of a kernel: two images (a `vmlinux` and
//! its modules each), every object of one paired with its counterpart in the
//! other, every pair compared, and one answer per object and in total: which
//! changed functions a live patch can replace, which it cannot and why.
//!
//! # What counts
//!
//! - An *object* is the `vmlinux` or a module (`*.ko`), named by its path
//!   below `lib/modules/<release>/` (else below the image's directory), so
//!   that the same module pairs across releases. A module found in both
//!   images under other directories (the same file name, once in each) has
//!   *moved* and is compared; one found in only one image was *added* or
//!   *removed*, and is listed but not counted: there is nothing to patch.
//! - A *changed function* is one whose code changed ([`Report`]'s
//!   `changed_functions`), so not one whose only difference is line numbers
//!   (in its code or in its BUG/WARN sites), a moved or renamed-by-suffix
//!   symbol (`.constprop.0` to `.constprop.1`), or a new or removed function
//!   (a patch adds new functions along with the ones calling them). Nor is
//!   one whose only difference is the kernel version it names
//!   ([`Options::ignore_release`]: `UTS_RELEASE` in a string or copied by
//!   immediates, `LINUX_VERSION_CODE`; the version's parts used as separate
//!   numbers, `LINUX_VERSION_SUBLEVEL`, are not recognized): a live patch
//!   leaves the running kernel's version as it is. A changed cold part
//!   (`f.cold`) is not an entry point: it counts as `f`, once, replaced
//!   with `f`.
//! - A changed function *cannot* be replaced when `klp-diff` says so (code
//!   freed after boot, no ftrace call site), or when it uses a type whose
//!   layout changed: instances already in memory keep the old layout, so
//!   the new code needs a shadow variable written by hand. Others can.
//! - Besides functions, an object *cannot* be patched as it is when a type
//!   whose layout changed is in it (whether or not a changed function uses
//!   it) or a writable variable changed size: both need shadow variables.
//! - A writable variable whose initial value changed, and a read-only one
//!   that changed at all, are listed, but do not make an object changed or
//!   not livepatchable: a live patch leaves data in memory as it is (the
//!   kernel release in `linux_banner` stays the running one), and when a
//!   new value matters a callback must write it, which is beyond what a
//!   diff can judge. Read-only data (string literals such as `__func__.12`,
//!   whose numbers shift when functions are added; constant tables) needs
//!   no shadow variable: a patch carries a new copy and replaces the
//!   functions reading it, which the verdict does not name. New and
//!   removed variables are not counted either, and variables in `.modinfo`
//!   and `.note*` sections (the module's `vermagic`, build notes) are left
//!   out altogether: they are metadata of the file, not data of the running
//!   kernel.
//! - An object is *changed* if it has a changed function, a type whose
//!   layout changed or a writable variable that changed size;
//!   *livepatchable* if it is changed and every one of these can be
//!   replaced.
//!
//! An object whose functions and variables are all the same, but for the
//! kernel version, is unchanged without more: its DWARF is not read, so
//! neither its types nor its BUG/WARN line numbers are compared (a type
//! whose layout changed under code that did not is not this object's
//! problem; line numbers are not counted anyway). The others are compared
//! in full, as `cargo xtask diff` compares two files.
//!
//! Pairs are compared largest first, the large ones one at a time (each on
//! every thread), the others side by side (one thread each), each with its
//! files mapped only while it is compared, so memory holds one large pair
//! or a few small ones, and the small verdict of each; the verdict is the
//! same whatever the number of threads. An error in any pair is the error of the whole: no verdict is
//! given on part of an update.

use crate::{
    code::{base_name, compare, Outcome, Releases, Side},
    diff::{cold_part_reason, diff, Options, NOT_ITEMS},
    elf::{Binary, Mapping, Section, SymKind},
    error::{Error, Result},
    pool,
    report::{FunctionRef, Json, Report},
};
use std::{
    collections::{BTreeMap, BTreeSet},
    io::{self, Write},
    path::{Path, PathBuf},
};

/// The name of the kernel image among an image's objects.
const VMLINUX: &str = "vmlinux";

/// Pairs whose two files together are at least this large are compared one
/// at a time (on every thread), the others side by side.
const ALONE: u64 = 256 << 20;

/// Suffixes of compressed modules, and the command that decompresses each.
const COMPRESSED: &[(&str, &str)] = &[
    (".ko.xz", "xz -d"),
    (".ko.zst", "zstd -d --rm"),
    (".ko.gz", "gzip -d"),
];

/// The objects of one kernel image: its `vmlinux` and its modules, found
/// under a directory.
#[derive(Clone, Debug)]
pub struct Image {
    dir: PathBuf,
    /// By object name (`vmlinux`, or the module's path below the modules
    /// directory): the file.
    objects: BTreeMap<String, PathBuf>,
}

impl Image {
    /// Finds the objects under `dir`: every `*.ko`, and the `vmlinux`
    /// nearest to `dir` (a kernel build tree also has
    /// `arch/*/boot/compressed/vmlinux`). Symbolic links are not followed
    /// (Debian's debug packages link `boot/vmlinux-<release>` and
    /// `.build-id/` names to the same files).
    ///
    /// Compressed modules (`.ko.xz`, `.ko.zst`, `.ko.gz`) are an error that
    /// names the command to decompress them with.
    pub fn scan(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref().to_path_buf();
        let mut objects = BTreeMap::new();
        let mut vmlinux: Vec<(usize, PathBuf)> = Vec::new();
        let mut todo = vec![dir.clone()];
        while let Some(d) = todo.pop() {
            let io = |source| Error::Io {
                path: d.clone(),
                source,
            };
            let mut entries: Vec<_> = std::fs::read_dir(&d)
                .map_err(io)?
                .collect::<std::io::Result<_>>()
                .map_err(io)?;
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                let path = e.path();
                let kind = e.file_type().map_err(io)?;
                if kind.is_dir() {
                    todo.push(path);
                    continue;
                }
                if !kind.is_file() {
                    continue;
                }
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some((suffix, tool)) = COMPRESSED.iter().find(|(s, _)| name.ends_with(s)) {
                    return Err(Error::Compressed {
                        path,
                        command: format!(
                            "find {} -name '*{suffix}' -exec {tool} {{}} +",
                            dir.display()
                        ),
                    });
                }
                let rel = path.strip_prefix(&dir).unwrap_or(&path);
                if name == VMLINUX {
                    vmlinux.push((rel.components().count(), path.clone()));
                } else if name.ends_with(".ko") {
                    let name = module_name(rel);
                    if let Some(first) = objects.insert(name.clone(), path.clone()) {
                        return Err(Error::TwoImages {
                            name,
                            first,
                            second: path,
                        });
                    }
                }
            }
        }
        vmlinux.sort();
        if let [(depth, first), (next, second), ..] = &vmlinux[..] {
            if depth == next {
                return Err(Error::TwoImages {
                    name: VMLINUX.into(),
                    first: first.clone(),
                    second: second.clone(),
                });
            }
        }
        if let Some((_, v)) = vmlinux.into_iter().next() {
            objects.insert(VMLINUX.to_string(), v);
        }
        if objects.is_empty() {
            return Err(Error::NoObjects { dir });
        }
        Ok(Self { dir, objects })
    }

    /// The directory it was found under.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The objects: `vmlinux` or a module's name, and its file, by name.
    pub fn objects(&self) -> impl Iterator<Item = (&str, &Path)> {
        self.objects.iter().map(|(n, p)| (n.as_str(), p.as_path()))
    }
}

/// A module's name for pairing: its path below `lib/modules/<release>/`
/// if it has one (the release differs between the images), else `rel`.
fn module_name(rel: &Path) -> String {
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let start = parts
        .windows(2)
        .rposition(|w| w[0] == "lib" && w[1] == "modules")
        .map_or(0, |i| (i + 3).min(parts.len() - 1));
    parts[start..].join("/")
}

/// What happened to an object between the images.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Presence {
    /// In both, at the same place: compared.
    Both,
    /// In both, at another place (the old name): compared.
    Moved(String),
    /// Only in the new image.
    Added,
    /// Only in the old image.
    Removed,
}

/// One changed function, and whether a live patch can replace it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FunctionVerdict {
    pub func: FunctionRef,
    /// Why it cannot be replaced; `None` if it can.
    pub cannot: Option<String>,
    /// What else to know (a changed signature, a changed cold part).
    pub note: Option<String>,
}

/// A type whose layout or values changed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TypeVerdict {
    pub name: String,
    /// Whether instances change shape, so that the object needs a shadow
    /// variable (else only an enum's values changed).
    pub needs_shadow: bool,
    /// Changed functions using it.
    pub used_by: Vec<String>,
}

/// A variable that changed size or initial value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct VariableVerdict {
    pub var: FunctionRef,
    /// `(old, new)` size if it changed size, `None` if only its initial
    /// value changed.
    pub resized: Option<(u64, u64)>,
    /// Whether it is in a read-only section (constant data, a string
    /// literal's `__func__.N`), which only functions that read it see.
    pub constant: bool,
}

impl VariableVerdict {
    /// Whether it needs a shadow variable: data the kernel may change,
    /// whose size changed.
    pub fn needs_shadow(&self) -> bool {
        self.resized.is_some() && !self.constant
    }
}

/// The verdict on one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectVerdict {
    /// `vmlinux`, or the module's path below the modules directory (in the
    /// new image, but for a removed module).
    pub name: String,
    pub presence: Presence,
    /// Changed functions, sorted.
    pub functions: Vec<FunctionVerdict>,
    pub types: Vec<TypeVerdict>,
    pub variables: Vec<VariableVerdict>,
    /// Functions whose only change is line numbers (not counted).
    pub line_only: usize,
    /// Functions whose only change is the kernel version they name (not
    /// counted).
    pub release_only: usize,
    pub new_functions: usize,
    pub removed_functions: usize,
}

impl ObjectVerdict {
    fn alone(name: &str, presence: Presence) -> Self {
        Self {
            name: name.to_string(),
            presence,
            functions: Vec::new(),
            types: Vec::new(),
            variables: Vec::new(),
            line_only: 0,
            release_only: 0,
            new_functions: 0,
            removed_functions: 0,
        }
    }

    /// Whether it has a change that counts: a changed function, a type
    /// whose layout changed, a variable that changed size.
    pub fn changed(&self) -> bool {
        !self.functions.is_empty() || self.obstacles() > 0
    }

    /// Changes that need more than replacing functions: types whose layout
    /// changed and resized variables.
    fn obstacles(&self) -> usize {
        self.types.iter().filter(|t| t.needs_shadow).count()
            + self.variables.iter().filter(|v| v.needs_shadow()).count()
    }

    /// Changed functions a live patch can replace.
    pub fn replaceable(&self) -> usize {
        self.functions.iter().filter(|f| f.cannot.is_none()).count()
    }

    /// Whether it is changed and every change can be replaced.
    pub fn livepatchable(&self) -> bool {
        self.changed() && self.obstacles() == 0 && self.replaceable() == self.functions.len()
    }

    /// Whether the verdict says anything about it (it is listed).
    fn listed(&self) -> bool {
        self.presence != Presence::Both
            || self.changed()
            || !self.variables.is_empty()
            || !self.types.is_empty()
    }
}

/// The counts of a verdict.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    pub old_objects: usize,
    pub new_objects: usize,
    /// Pairs compared (moved ones included).
    pub compared: usize,
    pub moved: usize,
    pub added: usize,
    pub removed: usize,
    pub changed_objects: usize,
    pub livepatchable_objects: usize,
    pub changed_functions: usize,
    pub livepatchable_functions: usize,
    /// Not counted as changes: functions whose only change is line
    /// numbers or the kernel version they name, new and removed functions,
    /// variables whose initial value changed.
    pub line_only_functions: usize,
    pub release_only_functions: usize,
    pub new_functions: usize,
    pub removed_functions: usize,
    /// Variables whose initial value changed, and read-only ones that
    /// changed at all.
    pub changed_values: usize,
}

/// `part` of `whole` in percent, if `whole` is not 0.
pub fn share(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| part as f64 * 100.0 / whole as f64)
}

fn percent(part: usize, whole: usize) -> String {
    share(part, whole).map_or_else(|| "-".into(), |s| format!("{s:.1}%"))
}

/// The verdict on an update.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    pub arch: &'static str,
    /// Every object that is changed, moved, added or removed, or has a
    /// changed type or variable, by name.
    pub objects: Vec<ObjectVerdict>,
    pub totals: Totals,
}

/// Compares every object of `old` with its counterpart in `new`, on
/// `threads` threads (at least 1); the verdict does not depend on their
/// number.
pub fn compare_images(old: &Image, new: &Image, threads: usize) -> Result<Verdict> {
    let threads = threads.max(1);
    // Pairs by name, then the rest by file name (moved modules).
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    let mut only_old: Vec<&str> = Vec::new();
    let mut only_new: BTreeSet<&str> = new.objects.keys().map(String::as_str).collect();
    for name in old.objects.keys() {
        if only_new.remove(name.as_str()) {
            pairs.push((name, name));
        } else {
            only_old.push(name);
        }
    }
    let file_name = |n: &str| n.rsplit('/').next().unwrap_or(n).to_string();
    let mut by_file: BTreeMap<String, (Vec<&str>, Vec<&str>)> = BTreeMap::new();
    for n in &only_old {
        by_file.entry(file_name(n)).or_default().0.push(n);
    }
    for n in &only_new {
        by_file.entry(file_name(n)).or_default().1.push(n);
    }
    let mut objects = Vec::new();
    for (olds, news) in by_file.values() {
        match (&olds[..], &news[..]) {
            ([o], [n]) => pairs.push((o, n)),
            _ => {
                objects.extend(
                    olds.iter()
                        .map(|o| ObjectVerdict::alone(o, Presence::Removed)),
                );
                objects.extend(
                    news.iter()
                        .map(|n| ObjectVerdict::alone(n, Presence::Added)),
                );
            }
        }
    }

    // Largest first: the large pairs one at a time, each on every thread,
    // so that two never meet in memory; then the others side by side, one
    // thread each, the last to finish a small one.
    let size = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.len());
    let mut jobs: Vec<(u64, &str, &str)> = pairs
        .iter()
        .map(|&(o, n)| (size(&old.objects[o]) + size(&new.objects[n]), o, n))
        .collect();
    jobs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let large = jobs.partition_point(|j| j.0 >= ALONE);
    let mut verdicts = Vec::with_capacity(jobs.len());
    for &(_, o, n) in &jobs[..large] {
        verdicts.push(compare_pair(
            o,
            &old.objects[o],
            n,
            &new.objects[n],
            threads,
        )?);
    }
    let small = &jobs[large..];
    verdicts.extend(pool::map(threads, small.len(), |i| {
        let (_, o, n) = small[i];
        compare_pair(o, &old.objects[o], n, &new.objects[n], 1)
    })?);
    let mut arch = "";
    for (arch_of, v) in verdicts {
        if arch.is_empty() || v.name == VMLINUX {
            arch = arch_of;
        }
        objects.push(v);
    }
    objects.sort_by(|a, b| a.name.cmp(&b.name).then(a.presence.cmp(&b.presence)));

    let mut t = Totals {
        old_objects: old.objects.len(),
        new_objects: new.objects.len(),
        compared: jobs.len(),
        ..Totals::default()
    };
    for o in &objects {
        match o.presence {
            Presence::Moved(_) => t.moved += 1,
            Presence::Added => t.added += 1,
            Presence::Removed => t.removed += 1,
            Presence::Both => {}
        }
        if o.changed() {
            t.changed_objects += 1;
        }
        if o.livepatchable() {
            t.livepatchable_objects += 1;
        }
        t.changed_functions += o.functions.len();
        t.livepatchable_functions += o.replaceable();
        t.line_only_functions += o.line_only;
        t.release_only_functions += o.release_only;
        t.new_functions += o.new_functions;
        t.removed_functions += o.removed_functions;
        t.changed_values += o.variables.iter().filter(|v| !v.needs_shadow()).count();
    }
    objects.retain(ObjectVerdict::listed);
    Ok(Verdict {
        arch,
        objects,
        totals: t,
    })
}

/// Maps, parses and compares one pair; returns its architecture and
/// verdict. The files are unmapped when it returns.
fn compare_pair(
    old_name: &str,
    old_path: &Path,
    new_name: &str,
    new_path: &Path,
    threads: usize,
) -> Result<(&'static str, ObjectVerdict)> {
    let (om, nm) = (Mapping::open(old_path)?, Mapping::open(new_path)?);
    let (op, np) = (
        old_path.display().to_string(),
        new_path.display().to_string(),
    );
    let presence = if old_name == new_name {
        Presence::Both
    } else {
        Presence::Moved(old_name.to_string())
    };
    // First the code and data alone: most objects of an update did not
    // change, and then their DWARF need not be read.
    {
        let ob = Binary::parse_without_dwarf(&op, om.data())?;
        let nb = Binary::parse_without_dwarf(&np, nm.data())?;
        for b in [&ob, &nb] {
            has_code(b)?;
        }
        let same = if ob.arch == nb.arch {
            same_code(&ob, &nb)
        } else {
            None
        };
        if let Some(release_only) = same {
            let mut v = ObjectVerdict::alone(new_name, presence);
            v.release_only = release_only;
            return Ok((ob.arch.name(), v));
        }
    }
    let (ob, nb) = if threads > 1 {
        std::thread::scope(|s| {
            let o = s.spawn(|| Binary::parse_mapped(&op, &om));
            let n = Binary::parse_mapped(&np, &nm);
            (o.join().unwrap_or_else(|p| std::panic::resume_unwind(p)), n)
        })
    } else {
        (
            Binary::parse_mapped(&op, &om),
            Binary::parse_mapped(&np, &nm),
        )
    };
    let (ob, nb) = (ob?, nb?);
    let report = diff(
        &ob,
        &nb,
        &Options {
            threads,
            describe: false,
            exports: BTreeSet::new(),
            ignore_release: true,
        },
    )?;
    let data = |name: &str| {
        if all_in(&ob, name, metadata) && all_in(&nb, name, metadata) {
            Data::Metadata
        } else if all_in(&ob, name, |s| !s.write) {
            Data::Constant
        } else {
            Data::Writable
        }
    };
    Ok((report.arch, judge(new_name, presence, &report, data)))
}

/// An error if `b` has code sections without contents (a debug-only file).
fn has_code(b: &Binary<'_>) -> Result<()> {
    match b
        .sections
        .iter()
        .find(|s| s.exec && s.size > 0 && s.data.is_empty())
    {
        Some(s) => Err(Error::NoCode {
            file: b.file.clone(),
            section: String::from_utf8_lossy(s.name).into_owned(),
        }),
        None => Ok(()),
    }
}

/// Whether `old` and `new` hold the same functions and variables (paired
/// by name, by file for local ones, and by address among equal names),
/// each the same as [`diff`] compares them, but for the kernel version
/// they name and for metadata (`.modinfo`, `.note*`); if so, how many
/// functions differ by that version. Line numbers are not told apart from
/// other changes here (that needs the DWARF).
fn same_code(old: &Binary<'_>, new: &Binary<'_>) -> Option<usize> {
    let releases = match (old.kernel_release(), new.kernel_release()) {
        (Some(o), Some(n)) => Releases::new(o, n, old.little_endian),
        _ => None,
    };
    let (a, b) = (code_items(old), code_items(new));
    if a.len() != b.len() {
        return None;
    }
    let mut release_only = 0;
    for (x, y) in a.iter().zip(&b) {
        let (so, sn) = (&old.syms[x.3 as usize], &new.syms[y.3 as usize]);
        if (x.0, x.1) != (y.0, y.1) || so.kind != sn.kind {
            return None;
        }
        let (o, n) = (Side { bin: old, sym: so }, Side { bin: new, sym: sn });
        match compare(o, n, None, releases.as_ref()) {
            Outcome::Same => {}
            Outcome::ReleaseOnly if so.kind == SymKind::Func => release_only += 1,
            Outcome::ReleaseOnly => {}
            Outcome::LineOnly | Outcome::Changed => return None,
        }
    }
    Some(release_only)
}

/// The functions and variables of `b` but metadata, keyed for pairing:
/// name without numeric suffixes, file for local ones, address; and the
/// symbol index. Sorted.
fn code_items<'b>(b: &'b Binary<'_>) -> Vec<(&'b [u8], &'b [u8], u64, u32)> {
    let mut v: Vec<(&[u8], &[u8], u64, u32)> = b
        .by_addr
        .iter()
        .filter_map(|&i| {
            let s = &b.syms[i as usize];
            let kept = !NOT_ITEMS.iter().any(|p| s.name.starts_with(p))
                && s.section.is_some_and(|x| !metadata(&b.sections[x]));
            let file = if s.local {
                s.file.unwrap_or_default()
            } else {
                &[]
            };
            kept.then(|| (base_name(s.name), file, s.addr, i))
        })
        .collect();
    v.sort_unstable();
    v
}

/// What a changed variable is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Data {
    /// Metadata of the file (in `.modinfo` or `.note*` in both files).
    Metadata,
    /// Read-only data (in the old file).
    Constant,
    Writable,
}

/// Whether every definition of the variable `name` in `bin` is in a
/// section that `is`.
fn all_in(bin: &Binary<'_>, name: &str, is: impl Fn(&Section<'_>) -> bool) -> bool {
    let mut defs = bin
        .syms
        .iter()
        .filter(|s| s.name == name.as_bytes())
        .filter_map(|s| s.section)
        .peekable();
    defs.peek().is_some() && defs.all(|i| is(&bin.sections[i]))
}

/// Whether a section holds metadata of the file (`.modinfo`, `.note*`),
/// not data of the running kernel.
fn metadata(s: &Section<'_>) -> bool {
    s.name == b".modinfo" || s.name.starts_with(b".note")
}

/// The verdict on one compared pair, from its report; `data` tells what a
/// changed variable is.
fn judge(
    name: &str,
    presence: Presence,
    report: &Report,
    data: impl Fn(&str) -> Data,
) -> ObjectVerdict {
    let cannot: BTreeMap<&FunctionRef, &str> = report
        .unpatchable
        .iter()
        .map(|u| (&u.func, u.reason.as_str()))
        .collect();
    let shadow: BTreeSet<&str> = report
        .changed_types
        .iter()
        .filter(|t| t.needs_shadow)
        .map(|t| t.name.as_str())
        .collect();
    let changed: BTreeSet<(&str, &str)> = report
        .changed_functions
        .iter()
        .map(|c| (c.func.name.as_str(), c.func.file.as_str()))
        .collect();
    let mut functions: BTreeMap<FunctionRef, FunctionVerdict> = BTreeMap::new();
    for c in &report.changed_functions {
        let reason = cannot.get(&c.func).copied();
        // A cold part is replaced with the function it was split from.
        if let Some(at) = c.func.name.find(".cold") {
            let parent = &c.func.name[..at];
            if reason.is_none_or(|r| r == cold_part_reason(parent)) {
                if changed.contains(&(parent, c.func.file.as_str())) {
                    continue;
                }
                let func = FunctionRef {
                    name: parent.to_string(),
                    file: c.func.file.clone(),
                    sympos: 0,
                };
                functions.entry(func.clone()).or_insert(FunctionVerdict {
                    func,
                    cannot: None,
                    note: Some(format!("its cold part `{}` changed", c.func.name)),
                });
                continue;
            }
        }
        let layouts: Vec<&str> = c
            .uses_changed_types
            .iter()
            .map(String::as_str)
            .filter(|t| shadow.contains(t))
            .collect();
        let cannot = match reason {
            Some(r) => Some(r.to_string()),
            None if !layouts.is_empty() => Some(format!(
                "uses `{}`, whose layout changed: instances in memory need a shadow variable",
                layouts.join("`, `")
            )),
            None => None,
        };
        let note = c.signature.as_ref().map(|(o, n)| {
            format!("signature changed: `{o}` -> `{n}`: every caller must be replaced too")
        });
        functions.insert(
            c.func.clone(),
            FunctionVerdict {
                func: c.func.clone(),
                cannot,
                note,
            },
        );
    }
    let types = report
        .changed_types
        .iter()
        .map(|t| TypeVerdict {
            name: t.name.clone(),
            needs_shadow: t.needs_shadow,
            used_by: t.used_by.clone(),
        })
        .collect();
    let mut variables: Vec<VariableVerdict> = report
        .changed_data
        .iter()
        .filter(|d| matches!(d.change, "size" | "value"))
        .filter_map(|d| {
            let kind = data(&d.var.name);
            (kind != Data::Metadata).then(|| VariableVerdict {
                var: d.var.clone(),
                resized: match (d.change, d.old_size, d.new_size) {
                    ("size", Some(o), Some(n)) => Some((o, n)),
                    _ => None,
                },
                constant: kind == Data::Constant,
            })
        })
        .collect();
    variables.sort();
    ObjectVerdict {
        name: name.to_string(),
        presence,
        functions: functions.into_values().collect(),
        types,
        variables,
        line_only: report.line_only_functions.len(),
        release_only: report.release_only_functions.len(),
        new_functions: report.new_functions.len(),
        removed_functions: report.removed_functions.len(),
    }
}

fn place(f: &FunctionRef) -> String {
    let mut s = f.name.clone();
    if !f.file.is_empty() {
        s.push_str(&format!(" [{}]", f.file));
    }
    if f.sympos != 0 {
        s.push_str(&format!(" sympos {}", f.sympos));
    }
    s
}

impl Verdict {
    /// Why changed functions cannot be replaced, with how many each, the
    /// most frequent first.
    pub fn reasons(&self) -> Vec<(String, usize)> {
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for f in self.objects.iter().flat_map(|o| &o.functions) {
            if let Some(r) = &f.cannot {
                // Reasons naming types are grouped as one.
                let key = if r.starts_with("uses `") {
                    "uses a type whose layout changed: instances in memory need a shadow variable"
                } else {
                    r.as_str()
                };
                *count.entry(key).or_default() += 1;
            }
        }
        let mut v: Vec<(String, usize)> =
            count.into_iter().map(|(r, n)| (r.to_string(), n)).collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    }

    /// Writes the verdict for people: the totals, the reasons, then each
    /// object that changed, moved, appeared or disappeared.
    pub fn write_text(&self, w: &mut impl Write) -> io::Result<()> {
        let t = &self.totals;
        writeln!(w, "architecture: {}", self.arch)?;
        writeln!(
            w,
            "objects: {} old, {} new; {} compared ({} moved), {} added, {} removed",
            t.old_objects, t.new_objects, t.compared, t.moved, t.added, t.removed
        )?;
        writeln!(
            w,
            "changed objects: {}, livepatchable: {} ({})",
            t.changed_objects,
            t.livepatchable_objects,
            percent(t.livepatchable_objects, t.changed_objects)
        )?;
        writeln!(
            w,
            "changed functions: {}, livepatchable: {} ({})",
            t.changed_functions,
            t.livepatchable_functions,
            percent(t.livepatchable_functions, t.changed_functions)
        )?;
        writeln!(
            w,
            "not counted: {} functions with only line numbers changed, {} with only the kernel version they name, {} new and {} removed functions, {} variables with a new initial value or read-only contents",
            t.line_only_functions, t.release_only_functions, t.new_functions, t.removed_functions, t.changed_values
        )?;
        let reasons = self.reasons();
        writeln!(
            w,
            "\ncannot replace, by reason ({}):",
            t.changed_functions - t.livepatchable_functions
        )?;
        for (r, n) in &reasons {
            writeln!(w, "  {n:>5}  {r}")?;
        }
        writeln!(w, "\nby object ({}):", self.objects.len())?;
        for o in &self.objects {
            let what = match &o.presence {
                Presence::Added => "added".to_string(),
                Presence::Removed => "removed".to_string(),
                p => {
                    let verdict = if o.livepatchable() {
                        "livepatchable".to_string()
                    } else if o.changed() {
                        "not livepatchable".to_string()
                    } else {
                        "no change counted".to_string()
                    };
                    match p {
                        Presence::Moved(from) => format!("{verdict}, moved from {from}"),
                        _ => verdict,
                    }
                }
            };
            if o.functions.is_empty() {
                writeln!(w, "{}: {what}", o.name)?;
            } else {
                writeln!(
                    w,
                    "{}: {what} ({} of {} changed functions replaceable)",
                    o.name,
                    o.replaceable(),
                    o.functions.len()
                )?;
            }
            for f in &o.functions {
                match &f.cannot {
                    None => writeln!(w, "  replace {}", place(&f.func))?,
                    Some(r) => writeln!(w, "  cannot  {}: {r}", place(&f.func))?,
                }
                if let Some(n) = &f.note {
                    writeln!(w, "    {n}")?;
                }
            }
            for ty in &o.types {
                let what = if ty.needs_shadow {
                    "layout changed: needs a shadow variable"
                } else {
                    "values changed, same layout: not counted"
                };
                write!(w, "  type {}: {what}", ty.name)?;
                if !ty.used_by.is_empty() {
                    write!(w, " (used by {})", ty.used_by.join(", "))?;
                }
                writeln!(w)?;
            }
            for v in &o.variables {
                let what = match (v.resized, v.constant) {
                    (Some((a, b)), false) => format!("size {a} -> {b}: needs a shadow variable"),
                    (Some((a, b)), true) => format!("read-only, size {a} -> {b}: not counted"),
                    (None, true) => "read-only, contents changed: not counted".to_string(),
                    (None, false) => "initial value changed: not counted".to_string(),
                };
                writeln!(w, "  variable {}: {what}", place(&v.var))?;
            }
        }
        Ok(())
    }

    /// Writes the verdict as one JSON document, with the same contents.
    pub fn write_json(&self, w: &mut impl Write) -> io::Result<()> {
        let t = &self.totals;
        let mut j = Json::new(w);
        j.open('{')?;
        j.key("arch")?;
        j.str(self.arch)?;
        j.key("totals")?;
        j.open('{')?;
        for (k, v) in [
            ("old_objects", t.old_objects),
            ("new_objects", t.new_objects),
            ("compared", t.compared),
            ("moved", t.moved),
            ("added", t.added),
            ("removed", t.removed),
            ("changed_objects", t.changed_objects),
            ("livepatchable_objects", t.livepatchable_objects),
            ("changed_functions", t.changed_functions),
            ("livepatchable_functions", t.livepatchable_functions),
            ("line_only_functions", t.line_only_functions),
            ("release_only_functions", t.release_only_functions),
            ("new_functions", t.new_functions),
            ("removed_functions", t.removed_functions),
            ("changed_values", t.changed_values),
        ] {
            j.key(k)?;
            j.num(v as u64)?;
        }
        for (k, part, whole) in [
            (
                "livepatchable_objects_percent",
                t.livepatchable_objects,
                t.changed_objects,
            ),
            (
                "livepatchable_functions_percent",
                t.livepatchable_functions,
                t.changed_functions,
            ),
        ] {
            j.key(k)?;
            match share(part, whole) {
                Some(s) => j.raw(&format!("{s:.1}"))?,
                None => j.raw("null")?,
            }
        }
        j.close('}')?;
        j.key("reasons")?;
        j.list(&self.reasons(), |j, (r, n)| {
            j.key("reason")?;
            j.str(r)?;
            j.key("functions")?;
            j.num(*n as u64)
        })?;
        j.key("objects")?;
        j.list(&self.objects, |j, o| {
            j.key("name")?;
            j.str(&o.name)?;
            j.key("presence")?;
            j.str(match o.presence {
                Presence::Both => "both",
                Presence::Moved(_) => "moved",
                Presence::Added => "added",
                Presence::Removed => "removed",
            })?;
            if let Presence::Moved(from) = &o.presence {
                j.key("moved_from")?;
                j.str(from)?;
            }
            j.key("changed")?;
            j.raw(bool_text(o.changed()))?;
            j.key("livepatchable")?;
            j.raw(bool_text(o.livepatchable()))?;
            j.key("functions")?;
            j.list(&o.functions, |j, f| {
                j.func(&f.func)?;
                j.key("replaceable")?;
                j.raw(bool_text(f.cannot.is_none()))?;
                j.key("reason")?;
                opt_str(j, f.cannot.as_deref())?;
                j.key("note")?;
                opt_str(j, f.note.as_deref())
            })?;
            j.key("types")?;
            j.list(&o.types, |j, ty| {
                j.key("name")?;
                j.str(&ty.name)?;
                j.key("needs_shadow")?;
                j.raw(bool_text(ty.needs_shadow))?;
                j.key("used_by")?;
                j.strs(&ty.used_by)
            })?;
            j.key("variables")?;
            j.list(&o.variables, |j, v| {
                j.func(&v.var)?;
                j.key("constant")?;
                j.raw(bool_text(v.constant))?;
                j.key("needs_shadow")?;
                j.raw(bool_text(v.needs_shadow()))?;
                j.key("old_size")?;
                j.opt_num(v.resized.map(|r| r.0))?;
                j.key("new_size")?;
                j.opt_num(v.resized.map(|r| r.1))
            })?;
            j.key("line_only_functions")?;
            j.num(o.line_only as u64)?;
            j.key("release_only_functions")?;
            j.num(o.release_only as u64)?;
            j.key("new_functions")?;
            j.num(o.new_functions as u64)?;
            j.key("removed_functions")?;
            j.num(o.removed_functions as u64)
        })?;
        j.close('}')?;
        writeln!(j.w)
    }
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

fn opt_str<W: Write>(j: &mut Json<'_, W>, s: Option<&str>) -> io::Result<()> {
    match s {
        Some(s) => j.str(s),
        None => j.raw("null"),
    }
}

#[cfg(test)]
mod tests {
    use super::{judge, module_name, Data, Presence};
    use crate::{
        diff::cold_part_reason,
        report::{ChangedData, ChangedFunction, ChangedType, FunctionRef, Report, Unpatchable},
    };
    use std::path::Path;

    fn func(name: &str) -> FunctionRef {
        FunctionRef {
            name: name.into(),
            file: "a.c".into(),
            sympos: 0,
        }
    }

    fn changed(name: &str, types: &[&str]) -> ChangedFunction {
        ChangedFunction {
            func: func(name),
            old_size: 8,
            new_size: 8,
            signature: None,
            uses_changed_types: types.iter().map(|t| t.to_string()).collect(),
            changed_inlines: Vec::new(),
        }
    }

    fn ty(name: &str, needs_shadow: bool) -> ChangedType {
        ChangedType {
            name: name.into(),
            old_size: 4,
            new_size: 8,
            changes: Vec::new(),
            used_by: Vec::new(),
            needs_shadow,
        }
    }

    fn var(name: &str, change: &'static str, sizes: (u64, u64)) -> ChangedData {
        ChangedData {
            var: func(name),
            change,
            old_size: Some(sizes.0),
            new_size: Some(sizes.1),
        }
    }

    #[test]
    fn modules_are_named_below_their_release() {
        let name = |p: &str| module_name(Path::new(p));
        assert_eq!(
            name("usr/lib/debug/lib/modules/7.2.11+deb13-amd64/kernel/fs/ext4/ext4.ko"),
            "kernel/fs/ext4/ext4.ko"
        );
        assert_eq!(name("fs/ext4/ext4.ko"), "fs/ext4/ext4.ko");
        assert_eq!(name("lib/modules/ext4.ko"), "ext4.ko");
    }

    #[test]
    fn what_counts_in_one_object() {
        let mut signature = changed("sig", &[]);
        signature.signature = Some(("int (int)".into(), "long int (int)".into()));
        let report = Report {
            changed_functions: vec![
                changed("both", &[]),
                changed("both.cold", &[]),
                changed("alone.cold", &[]),
                changed("boot.cold", &[]),
                changed("shadowed", &["struct s"]),
                changed("enum_user", &["enum e"]),
                signature,
            ],
            unpatchable: vec![
                Unpatchable {
                    func: func("both.cold"),
                    reason: cold_part_reason("both"),
                },
                Unpatchable {
                    func: func("alone.cold"),
                    reason: cold_part_reason("alone"),
                },
                Unpatchable {
                    func: func("boot.cold"),
                    reason: "in `.init.text`: freed after boot".into(),
                },
            ],
            changed_types: vec![ty("struct s", true), ty("enum e", false)],
            changed_data: vec![
                var("__UNIQUE_ID_vermagic", "value", (20, 20)),
                var("table", "size", (16, 24)),
                var("__func__.3", "size", (5, 7)),
                var("banner", "value", (6, 6)),
                var("added", "new", (0, 4)),
            ],
            ..Report::default()
        };
        let data = |name: &str| match name {
            "__UNIQUE_ID_vermagic" => Data::Metadata,
            "__func__.3" => Data::Constant,
            _ => Data::Writable,
        };
        let v = judge("m.ko", Presence::Both, &report, data);
        let verdicts: Vec<(&str, Option<&str>, Option<&str>)> = v
            .functions
            .iter()
            .map(|f| (f.func.name.as_str(), f.cannot.as_deref(), f.note.as_deref()))
            .collect();
        assert_eq!(
            verdicts,
            [
                ("alone", None, Some("its cold part `alone.cold` changed")),
                ("boot.cold", Some("in `.init.text`: freed after boot"), None),
                ("both", None, None),
                ("enum_user", None, None),
                (
                    "shadowed",
                    Some(
                        "uses `struct s`, whose layout changed: instances in memory need a \
                         shadow variable"
                    ),
                    None
                ),
                (
                    "sig",
                    None,
                    Some(
                        "signature changed: `int (int)` -> `long int (int)`: every caller \
                         must be replaced too"
                    )
                ),
            ]
        );
        let vars: Vec<(&str, bool)> = v
            .variables
            .iter()
            .map(|x| (x.var.name.as_str(), x.needs_shadow()))
            .collect();
        assert_eq!(
            vars,
            [("__func__.3", false), ("banner", false), ("table", true)]
        );
        assert!(v.changed() && !v.livepatchable());
        assert_eq!((v.replaceable(), v.functions.len()), (4, 6));
    }
}
