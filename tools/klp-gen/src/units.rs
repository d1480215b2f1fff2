//! Which compiled units a fix touches, read from the kernel build's own
//! `.cmd` files: a changed `.c` file is the unit whose `source_` it is; a
//! changed header, every unit whose `deps_` list names it. Each unit goes
//! into `vmlinux` or into a module (its `.mod` file lists it).

use crate::{Build, Error};
use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

/// One C unit of the build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    /// The object, relative to the build directory (`kernel/sysctl.o`).
    pub object: String,
    /// The source, relative to the source tree (`kernel/sysctl.c`).
    pub source: String,
    /// The build's compile command, as Kbuild saved it.
    pub command: String,
    /// `vmlinux`, or the module the unit is linked into.
    pub target: String,
}

/// What one `.o.cmd` file says.
struct CmdFile {
    object: String,
    command: String,
    source: Option<String>,
    deps: Vec<String>,
}

fn read_cmd(path: &Path, build: &Build) -> Option<CmdFile> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut object = None;
    let mut command = None;
    let mut source = None;
    let mut deps = Vec::new();
    let mut in_deps = false;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("savedcmd_") {
            let (obj, cmd) = rest.split_once(" := ")?;
            object = Some(obj.to_string());
            command = Some(cmd.to_string());
        } else if let Some(rest) = line.strip_prefix("source_") {
            source = rest.split_once(" := ").map(|(_, s)| s.trim().to_string());
        } else if line.starts_with("deps_") {
            in_deps = true;
        } else if in_deps {
            let dep = line.trim().trim_end_matches('\\').trim();
            if dep.is_empty() {
                in_deps = false;
                continue;
            }
            if !dep.starts_with("$(wildcard") {
                deps.push(dep.to_string());
            }
        }
    }
    let source = source.map(|s| build.relative_source(&s));
    Some(CmdFile {
        object: object?,
        command: command?,
        source,
        deps: deps
            .into_iter()
            .map(|d| build.relative_source(&d))
            .collect(),
    })
}

/// The units that compile `files` (relative to the source tree). A `.c`
/// file no unit compiles is an error naming the config option that would
/// build it; assembly and Rust sources are refused.
pub fn affected(build: &Build, files: &[String]) -> Result<Vec<Unit>, Error> {
    let modules = module_objects(build)?;
    let mut units: BTreeMap<String, Unit> = BTreeMap::new();
    let headers: Vec<&String> = files.iter().filter(|f| f.ends_with(".h")).collect();
    for file in files {
        if file.ends_with(".h") {
            continue;
        }
        let Some(stem) = file.strip_suffix(".c") else {
            return Err(Error::Unsupported {
                what: format!("`{file}`"),
                why: "only C sources and headers can be generated from (assembly, Rust and build files cannot)".into(),
            });
        };
        let object = format!("{stem}.o");
        let cmd = cmd_path(&build.dir, &object);
        let cmd = read_cmd(&cmd, build)
            .filter(|c| c.source.as_deref() == Some(file.as_str()))
            .ok_or_else(|| not_compiled(build, file))?;
        units.insert(cmd.object.clone(), unit(cmd, &modules));
    }
    if !headers.is_empty() {
        let mut found = Vec::new();
        walk_cmd_files(&build.dir, &mut found);
        let mut included: Vec<&String> = Vec::new();
        for path in found {
            let Some(cmd) = read_cmd(&path, build) else {
                continue;
            };
            if !cmd.source.as_deref().is_some_and(|s| s.ends_with(".c")) {
                continue;
            }
            let mut uses = false;
            for h in &headers {
                if cmd.deps.iter().any(|d| d == *h) {
                    uses = true;
                    if !included.contains(h) {
                        included.push(h);
                    }
                }
            }
            if uses {
                units.insert(cmd.object.clone(), unit(cmd, &modules));
            }
        }
        if let Some(h) = headers.iter().find(|h| !included.contains(h)) {
            return Err(Error::NotCompiled {
                file: (*h).clone(),
                why: "no C unit of this build includes it".into(),
            });
        }
    }
    Ok(units.into_values().collect())
}

fn unit(cmd: CmdFile, modules: &BTreeMap<String, String>) -> Unit {
    let target = modules
        .get(&cmd.object)
        .cloned()
        .unwrap_or_else(|| "vmlinux".to_string());
    Unit {
        source: cmd.source.unwrap_or_default(),
        object: cmd.object,
        command: cmd.command,
        target,
    }
}

fn cmd_path(dir: &Path, object: &str) -> PathBuf {
    let (d, f) = object.rsplit_once('/').unwrap_or(("", object));
    dir.join(d).join(format!(".{f}.cmd"))
}

fn walk_cmd_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if kind.is_dir() && !name.starts_with('.') && name != "source" {
            walk_cmd_files(&path, out);
        } else if kind.is_file() && name.starts_with('.') && name.ends_with(".o.cmd") {
            out.push(path);
        }
    }
}

/// The objects of every module of the build, by object path, to the
/// module's name (`-` as `_`, as the kernel names it).
fn module_objects(build: &Build) -> Result<BTreeMap<String, String>, Error> {
    let mut map = BTreeMap::new();
    let order = build.dir.join("modules.order");
    let Ok(text) = std::fs::read_to_string(&order) else {
        return Ok(map);
    };
    for line in text.lines().filter(|l| !l.is_empty()) {
        let Some(stem) = line.strip_suffix(".o") else {
            continue;
        };
        let name = module_name(stem);
        let mod_file = build.dir.join(format!("{stem}.mod"));
        let listed = std::fs::read_to_string(&mod_file).unwrap_or_default();
        for obj in listed.split_whitespace() {
            map.insert(obj.to_string(), name.clone());
        }
    }
    Ok(map)
}

/// The kernel's name of the module built as `path` (`drivers/x/foo-bar`
/// or `.../foo-bar.ko`): its file stem, `-` as `_`.
pub fn module_name(path: &str) -> String {
    let file = path.rsplit('/').next().unwrap_or(path);
    file.strip_suffix(".ko").unwrap_or(file).replace('-', "_")
}

/// Why `file` is not compiled: the option its directory's Makefile builds
/// it under, when one is named there.
fn not_compiled(build: &Build, file: &str) -> Error {
    let (dir, name) = file.rsplit_once('/').unwrap_or(("", file));
    let stem = name.trim_end_matches(".c");
    let mut option = None;
    for makefile in ["Makefile", "Kbuild"] {
        let Ok(text) = std::fs::read_to_string(build.source.join(dir).join(makefile)) else {
            continue;
        };
        option = option.or_else(|| option_building(&text, stem));
    }
    let why = match option {
        Some(opt) if build.config_has(&opt) == Some(false) => {
            format!(
                "its Makefile builds it under `{opt}`, which this build's `.config` does not set"
            )
        }
        Some(opt) => format!(
            "its Makefile builds it under `{opt}`, but this build has no `.{stem}.o.cmd` for it"
        ),
        None => "no unit of this build compiles it".to_string(),
    };
    Error::NotCompiled {
        file: file.to_string(),
        why,
    }
}

/// The `CONFIG_` option of the Makefile line that adds `<stem>.o`, following
/// a composite object (`foo-y += stem.o`, `obj-$(CONFIG_X) += foo.o`).
fn option_building(makefile: &str, stem: &str) -> Option<String> {
    let mut want = format!("{stem}.o");
    for _ in 0..4 {
        let line = makefile.lines().find(|l| {
            l.split_whitespace().any(|w| w == want)
                && (l.contains("+=") || l.contains(":="))
                && !l.trim_start().starts_with('#')
        })?;
        let lhs = line.split(['+', ':']).next().unwrap_or("").trim();
        if let Some(opt) = lhs
            .split("$(")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .filter(|o| o.starts_with("CONFIG_"))
        {
            return Some(opt.to_string());
        }
        // `foo-y += stem.o`: follow `foo.o`.
        let base = lhs.rsplit_once('-').map(|(b, _)| b)?;
        if base == "obj" {
            return None;
        }
        want = format!("{base}.o");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::option_building;

    #[test]
    fn the_option_of_a_unit_follows_composite_objects() {
        let mk = "obj-y += a.o\nobj-$(CONFIG_FOO) += foo.o\nfoo-y := x.o y.o\nobj-$(CONFIG_BAR) += bar.o\n";
        assert_eq!(option_building(mk, "y").as_deref(), Some("CONFIG_FOO"));
        assert_eq!(option_building(mk, "bar").as_deref(), Some("CONFIG_BAR"));
        assert_eq!(option_building(mk, "a"), None);
        assert_eq!(option_building(mk, "zzz"), None);
    }
}
