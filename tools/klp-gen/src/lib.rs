//! Live patches generated from a source fix, on every arch klp-rs runs on:
//! the fix applied to a copy of the kernel tree (with `#line` directives, so
//! that moved lines change nothing), each unit it touches compiled as it was
//! and as it is now with the build's own command line plus a section per
//! function and variable, the two compared by the `klp-diff` engine, what
//! changed extracted into one object per unit, and a klp-rs patch module
//! around them: registration, metadata and atomic replace are the Rust
//! crate's, the code is the kernel's own.
//!
//! What cannot be live-patched is refused, naming the symbol and the
//! reason: changed layout or initial value of existing data, init code,
//! code without an ftrace site, a new reference to a symbol another module
//! exports, each arch's limits.

pub mod compare;
pub mod compile;
pub mod extract;
pub mod module;
pub mod patchset;
pub mod report;
pub mod resolve;
pub mod source;
pub mod special;
pub mod symbols;
pub mod units;

use std::path::{Path, PathBuf};

/// Why no patch was generated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{what}: {why}")]
    Input { what: String, why: String },
    #[error("`{}`: {why}", path.display())]
    Io { path: PathBuf, why: String },
    #[error("`{tool}`: {why}")]
    Tool { tool: String, why: String },
    #[error("the patch `{}` does not apply: {why}", patch.display())]
    DoesNotApply { patch: PathBuf, why: String },
    #[error("`{file}` is not compiled in this build: {why}")]
    NotCompiled { file: String, why: String },
    #[error("compiling `{unit}` from `{}` failed:\n{stderr}", tree.display())]
    Compile {
        unit: String,
        tree: PathBuf,
        stderr: String,
    },
    #[error("{what}: {why}")]
    Unsupported { what: String, why: String },
    #[error("no changes: the patches change no code or data of the units they touch ({0}); only comments, blank lines or code this build leaves out")]
    NoChanges(String),
    #[error("this cannot be live-patched:\n  {}", .0.join("\n  "))]
    Refused(Vec<String>),
}

/// A built kernel tree: where the build's outputs are, and its sources.
#[derive(Clone, Debug)]
pub struct Build {
    /// The build directory (`O=`, or the tree itself).
    pub dir: PathBuf,
    /// The source tree the fix applies to, and the original is compiled
    /// from.
    pub source: PathBuf,
    /// The source tree the build's commands name (its `source` link).
    pub named: PathBuf,
}

impl Build {
    /// The build in `dir`: `O=` builds have a `source` link to their tree.
    pub fn open(dir: &Path) -> Result<Self, Error> {
        for needed in ["vmlinux", "Module.symvers", ".config"] {
            if !dir.join(needed).exists() {
                return Err(Error::Input {
                    what: format!("the kernel build `{}`", dir.display()),
                    why: format!("it has no `{needed}`: build the kernel first (`make`)"),
                });
            }
        }
        let source =
            std::fs::canonicalize(dir.join("source")).unwrap_or_else(|_| dir.to_path_buf());
        Ok(Self {
            dir: dir.to_path_buf(),
            named: source.clone(),
            source,
        })
    }

    /// The same build, its sources being `tree` (a copy of the named tree
    /// as this build compiled it, e.g. with a fix reverted).
    pub fn with_source(mut self, tree: &Path) -> Self {
        self.source = tree.to_path_buf();
        self
    }

    /// `path` (as a `.cmd` file names it) relative to the source tree.
    pub fn relative_source(&self, path: &str) -> String {
        let src = format!("{}/", self.named.display());
        path.strip_prefix(&src)
            .or_else(|| path.strip_prefix("./"))
            .unwrap_or(path)
            .to_string()
    }

    /// Whether `.config` sets `option` (`None`: cannot read it).
    pub fn config_has(&self, option: &str) -> Option<bool> {
        let text = std::fs::read_to_string(self.dir.join(".config")).ok()?;
        let set = format!("{option}=");
        Some(text.lines().any(|l| l.starts_with(&set)))
    }
}

/// What to generate.
#[derive(Clone, Debug)]
pub struct Request {
    pub patches: Vec<PathBuf>,
    pub meta: module::Metadata,
    /// `kmod/livepatch`, which the module's Rust part includes.
    pub livepatch: PathBuf,
    /// Rust parts beside the generated code (`--rust`): callbacks, states,
    /// functions the fixed C code calls (shadow variables in safe Rust).
    pub rust: Option<PathBuf>,
    /// Scratch space, emptied first.
    pub work: PathBuf,
    /// The Kbuild directory of the module, written anew.
    pub out: PathBuf,
}

/// What was generated.
#[derive(Debug)]
pub struct Generated {
    /// The module's Kbuild directory.
    pub dir: PathBuf,
    /// The review report (also `<name>.report.txt` in `dir`).
    pub report: String,
    /// The extracted objects (`<name>_gen<N>.o` in `dir`, each with the
    /// `.cmd` file Kbuild keeps of an object), prebuilt parts of the
    /// module, which Kbuild takes from its output directory.
    pub parts: Vec<PathBuf>,
    /// Hunks applied with fuzz or offset.
    pub warnings: Vec<String>,
    /// The modules the patch patches, by name, with their `.ko` in the
    /// build (none for a patch of `vmlinux` alone).
    pub modules: Vec<(String, PathBuf)>,
}

/// `name` without the numeric parts GCC adds to local and cloned names
/// (`x.12` is `x`, `foo.isra.0` is `foo.isra`), which differ between builds
/// of the same source.
pub fn stem(name: &str) -> String {
    let mut parts = name.split('.');
    let mut out = parts.next().unwrap_or_default().to_string();
    for p in parts {
        if !p.is_empty() && !p.bytes().all(|b| b.is_ascii_digit()) {
            out.push('.');
            out.push_str(p);
        }
    }
    out
}

/// Generates the patch module of `request` against `build`.
pub fn generate(build: &Build, request: &Request) -> Result<Generated, Error> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e: std::io::Error| Error::Io {
            path: path.clone(),
            why: e.to_string(),
        }
    };
    let patches: Vec<patchset::Patch> = request
        .patches
        .iter()
        .map(|p| patchset::Patch::read(p))
        .collect::<Result<_, _>>()?;
    let mut files: Vec<String> = Vec::new();
    for p in &patches {
        for f in p.files()? {
            if !files.contains(&f) {
                files.push(f);
            }
        }
    }
    let rust = match &request.rust {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(io(path))?;
            Some(module::RustParts::scan(path, &text))
        }
        None => None,
    };
    // The units first: a patch that touches nothing compiled is refused
    // before any copying.
    let units = units::affected(build, &files)?;

    if request.work.starts_with(&build.source) {
        return Err(Error::Input {
            what: format!("the work directory `{}`", request.work.display()),
            why: format!(
                "it lies inside the kernel tree `{}`, which is copied into it: choose one outside",
                build.source.display()
            ),
        });
    }
    if request.work.exists() {
        std::fs::remove_dir_all(&request.work).map_err(io(&request.work))?;
    }
    std::fs::create_dir_all(&request.work).map_err(io(&request.work))?;
    let tree = request.work.join("tree");
    let status = std::process::Command::new("cp")
        .arg("-al")
        .arg(&build.source)
        .arg(&tree)
        .status()
        .map_err(|e| Error::Tool {
            tool: "cp".into(),
            why: e.to_string(),
        })?;
    if !status.success() {
        return Err(Error::Tool {
            tool: "cp -al".into(),
            why: format!("copying `{}` as hard links failed", build.source.display()),
        });
    }
    let mut warnings = Vec::new();
    for p in &patches {
        warnings.extend(patchset::apply(&tree, p)?);
    }
    // Lines after a change keep their numbers; where the changes are.
    let mut changed_source: Vec<(String, Vec<String>)> = Vec::new();
    for f in files
        .iter()
        .filter(|f| f.ends_with(".c") || f.ends_with(".h"))
    {
        let (old_path, new_path) = (build.source.join(f), tree.join(f));
        let old = std::fs::read_to_string(&old_path).unwrap_or_default();
        let new = std::fs::read_to_string(&new_path).map_err(io(&new_path))?;
        changed_source.push((f.clone(), source::changed_functions(&old, &new)));
        let text = patchset::with_line_directives(&old, &new);
        std::fs::write(&new_path, text).map_err(io(&new_path))?;
    }

    let symvers = symbols::read_symvers(&build.dir.join("Module.symvers"))?;
    let exports: std::collections::BTreeSet<String> = symvers.keys().cloned().collect();
    let mut targets: std::collections::BTreeMap<String, symbols::Target> = Default::default();
    let mut modules: Vec<(String, PathBuf)> = Vec::new();
    let mut parts = Vec::new();
    let mut replacements = Vec::new();
    let mut sections = Vec::new();
    let mut problems = Vec::new();
    let compared: Vec<compare::Compared> = units
        .iter()
        .map(|u| compare::Compared::run(build, u, &tree, &request.work, &exports))
        .collect::<Result<_, _>>()?;
    // New global symbols of one unit that another's code uses are the
    // module's own.
    let internal: std::collections::BTreeSet<String> = compared
        .iter()
        .flat_map(|c| c.new_globals())
        .chain(rust.iter().flat_map(|r| r.exports.iter().cloned()))
        .collect();
    for (i, c) in compared.into_iter().enumerate() {
        problems.extend(c.refusals());
        if c.replaced.is_empty() && c.new.is_empty() {
            continue;
        }
        let unit = &c.unit;
        if !targets.contains_key(&unit.target) {
            let path = target_path(build, &unit.target)?;
            if unit.target != "vmlinux" {
                modules.push((unit.target.clone(), path.clone()));
            }
            targets.insert(
                unit.target.clone(),
                symbols::Target::read(&path, &unit.target)?,
            );
        }
        let target = &targets[&unit.target];
        let original_names = c.original_names();
        let unit_file = unit
            .source
            .rsplit('/')
            .next()
            .unwrap_or(&unit.source)
            .to_string();
        let resolver = resolve::UnitResolver {
            target,
            symvers: &symvers,
            unit_file: &unit_file,
            unit_names: &original_names,
            internal: &internal,
        };
        let extracted = match extract::extract(
            &extract::Request {
                object: &c.patched,
                original: &c.original,
                replaced: &c.replaced,
                new: &c.new,
                original_names: &original_names,
            },
            &resolver,
        ) {
            Ok(x) => x,
            Err(Error::Refused(p)) => {
                problems.extend(p);
                continue;
            }
            Err(e) => return Err(e),
        };
        for (old, entry_point) in &extracted.entry_points {
            match resolver.old_function(old) {
                Ok(found) => replacements.push(module::Replacement {
                    target: unit.target.clone(),
                    old: found.name,
                    sympos: found.sympos,
                    entry_point: entry_point.clone(),
                }),
                Err(why) => problems.push(format!("`{old}`: {why}")),
            }
        }
        let part = format!("{}_gen{i}", request.meta.name);
        sections.push(report::UnitReport {
            unit: c.unit.clone(),
            report: c.report,
            extracted,
            part: part.clone(),
        });
        parts.push(part);
    }
    if !problems.is_empty() {
        problems.sort();
        problems.dedup();
        return Err(Error::Refused(problems));
    }
    if parts.is_empty() {
        return Err(Error::NoChanges(
            units
                .iter()
                .map(|u| u.source.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = replacements
        .iter()
        .find(|r| !seen.insert(r.entry_point.clone()))
    {
        return Err(Error::Unsupported {
            what: format!("`{}`", dup.old),
            why: "two units of the fix change a function of this name; generate one patch per unit"
                .into(),
        });
    }

    // The module directory.
    let out = &request.out;
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(io(out))?;
    }
    std::fs::create_dir_all(out).map_err(io(out))?;
    let name = &request.meta.name;
    let patch_names: Vec<String> = request
        .patches
        .iter()
        .map(|p| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let write = |file: String, text: &[u8]| {
        let path = out.join(file);
        std::fs::write(&path, text).map_err(io(&path))
    };
    write(
        format!("{name}_rs.rs"),
        module::rust_source(
            &request.meta,
            &request.livepatch,
            &patch_names,
            &replacements,
            rust.as_ref(),
        )
        .as_bytes(),
    )?;
    write(
        "Kbuild".into(),
        module::kbuild(name, &parts, &request.livepatch).as_bytes(),
    )?;
    let mut part_files = Vec::new();
    for s in &sections {
        write(format!("{}.o", s.part), &s.extracted.object)?;
        // What Kbuild keeps of each object it made, and `modpost` reads.
        let cmd = format!(".{}.o.cmd", s.part);
        write(
            cmd.clone(),
            format!("savedcmd_{}.o := # extracted by klp-gen\n", s.part).as_bytes(),
        )?;
        part_files.push(out.join(format!("{}.o", s.part)));
        part_files.push(out.join(cmd));
    }
    let text = report::render(
        &request.meta,
        &patch_names,
        &warnings,
        &changed_source,
        &replacements,
        &sections,
    );
    write(format!("{name}.report.txt"), text.as_bytes())?;
    Ok(Generated {
        dir: out.clone(),
        report: text,
        parts: part_files,
        warnings,
        modules,
    })
}

/// The linked file of `target`: `vmlinux`, or the module's `.ko`.
fn target_path(build: &Build, target: &str) -> Result<PathBuf, Error> {
    if target == "vmlinux" {
        return Ok(build.dir.join("vmlinux"));
    }
    let order = std::fs::read_to_string(build.dir.join("modules.order")).unwrap_or_default();
    order
        .lines()
        .filter_map(|l| l.strip_suffix(".o"))
        .find(|l| units::module_name(l) == target)
        .map(|l| build.dir.join(format!("{l}.ko")))
        .filter(|p| p.is_file())
        .ok_or_else(|| Error::Input {
            what: format!("the module `{target}`"),
            why: "the build has no `.ko` of it: build the modules first (`make modules`)".into(),
        })
}

#[cfg(test)]
mod tests {
    #[test]
    fn stems_drop_gcc_numbers_only() {
        assert_eq!(super::stem("x.12"), "x");
        assert_eq!(super::stem("foo.isra.0"), "foo.isra");
        assert_eq!(super::stem("foo.cold"), "foo.cold");
        assert_eq!(super::stem("plain"), "plain");
    }
}
