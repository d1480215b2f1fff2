//! Each unit compiled twice, from the original tree and from the patched
//! copy, with the build's own command line plus `-ffunction-sections
//! -fdata-sections` (each function and variable in a section of its own,
//! so that one can be taken without the others), into the work directory:
//! the build's own outputs are never written.

use crate::{units::Unit, Build, Error};
use std::{path::Path, process::Command};

/// Compiles `unit` from `tree` (the build's source tree, or a patched copy
/// of it) into `out`, running what the build runs after the compiler on
/// the object (ppc64le: `objtool --mcount`) on `out` as well.
pub fn compile(build: &Build, unit: &Unit, tree: &Path, out: &Path) -> Result<(), Error> {
    let (dir, file) = unit.object.rsplit_once('/').unwrap_or(("", &unit.object));
    let depfile = if dir.is_empty() {
        format!("-Wp,-MMD,.{file}.d")
    } else {
        format!("-Wp,-MMD,{dir}/.{file}.d")
    };
    let object = format!("-o {}", unit.object);
    let mut parts = unit.command.split(';');
    let compiler = parts.next().unwrap_or_default();
    if !compiler.contains(&object) {
        return Err(Error::Unsupported {
            what: format!("the compile command of `{}`", unit.object),
            why: format!("it has no `{object}`: not a Kbuild C compile"),
        });
    }
    let out_s = format!("'{}'", out.display());
    let mut text = compiler
        .replace(&depfile, "")
        .replace(&object, &format!("-o {out_s}"));
    // The source tree is named by absolute path in an `O=` build; an
    // in-tree build names it relatively and runs in the copy instead.
    let named = build.named.display().to_string();
    let absolute = text.contains(&named);
    if absolute {
        text = text.replace(&named, &tree.display().to_string());
    }
    text.push_str(" -ffunction-sections -fdata-sections");
    // ppc64le: the code model of modules (the patch is one), so that every
    // address goes through a TOC entry and none is TOC-relative to the
    // kernel's own data; both builds alike, so the comparison holds.
    if compiler.contains("-mprofile-kernel") && compiler.contains("-mcmodel=medium") {
        text.push_str(" -mcmodel=large");
    }
    // Helpers a fix may include (`<klp-rs/syscall.h>`).
    text.push_str(&format!(" -I'{}'", include_dir().display()));
    // Both builds name their sources as the build does, so that their
    // DWARF (units, file names) compares equal.
    text.push_str(&format!(
        " -fdebug-prefix-map='{}'='{}'",
        tree.display(),
        build.named.display()
    ));
    if !compiler.split_whitespace().any(|w| w.starts_with("-g")) {
        text.push_str(" -g");
    }
    for step in parts {
        let step = step.trim();
        if step.is_empty() {
            continue;
        }
        // objtool's checks and tables (ORC, return sites, ...) are made
        // when the patch module links (its parts are never single-object
        // modules); only ppc64le's `--mcount`, the ftrace call sites its
        // compiler does not list, is needed here.
        let objtool = step
            .split_whitespace()
            .next()
            .is_some_and(|w| w.ends_with("/objtool"));
        if objtool && !step.split_whitespace().any(|w| w == "--mcount") {
            continue;
        }
        let words: Vec<&str> = step.split_whitespace().collect();
        if !words.contains(&unit.object.as_str()) {
            return Err(Error::Unsupported {
                what: format!("the compile command of `{}`", unit.object),
                why: format!(
                    "it runs `{step}` after the compiler, on something else than the object"
                ),
            });
        }
        let step: Vec<String> = words
            .iter()
            .map(|w| {
                if *w == unit.object {
                    out_s.clone()
                } else {
                    (*w).to_string()
                }
            })
            .collect();
        text.push_str(" && ");
        text.push_str(&step.join(" "));
    }
    let cwd = if absolute || tree == build.named {
        build.dir.as_path()
    } else {
        tree
    };
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::Io {
            path: parent.to_path_buf(),
            why: e.to_string(),
        })?;
    }
    let output = Command::new("sh")
        .current_dir(cwd)
        .arg("-c")
        .arg(&text)
        .output()
        .map_err(|e| Error::Tool {
            tool: "sh".into(),
            why: e.to_string(),
        })?;
    if !output.status.success() {
        return Err(Error::Compile {
            unit: unit.source.clone(),
            tree: tree.to_path_buf(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(())
}

/// The directory of the headers fixes may include (`<klp-rs/syscall.h>`).
pub fn include_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("include")
}
