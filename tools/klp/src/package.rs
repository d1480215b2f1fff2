//! The package a patch module file came from, the other versions of that
//! package, and its end of support.
//!
//! klp-rs's packages install `/lib/modules/<release>/livepatch/<name>.ko`,
//! are named `klp-rs-livepatch-<release, `.` and `-` as `_`>` and have the
//! patch's `klp_version` as version. `klp` asks the package manager that
//! owns the file, `dpkg` (with `apt-cache` and `apt-get`) or `rpm` (with
//! `zypper`), through [`Host`], and only if it is installed. The end of
//! support of a package version is in
//! `/usr/share/klp-rs/lifecycle/<package>.lifecycle`, one `package,
//! version, YYYY-MM-DD` a line (as SUSE's `/usr/share/lifecycle/data/`).

use crate::{date::Date, host::Host};
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::{
    cmp::Ordering,
    fs, io,
    path::{Path, PathBuf},
};

/// A package manager.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Manager {
    /// Debian's, with `apt-cache` and `apt-get` for repositories.
    Dpkg,
    /// RPM, with `zypper` for repositories.
    Rpm,
}

impl Manager {
    /// Those on this system, `dpkg` first: a Debian system may have `rpm`
    /// too, and an RPM system `dpkg`.
    pub fn present(host: &dyn Host) -> Vec<Manager> {
        [Manager::Dpkg, Manager::Rpm]
            .into_iter()
            .filter(|m| host.find_program(m.program()).is_some())
            .collect()
    }

    /// The names of `managers`: `dpkg or rpm`.
    pub fn names(managers: &[Manager]) -> String {
        let names: Vec<&str> = managers.iter().map(|m| m.program()).collect();
        names.join(" or ")
    }

    /// Its program.
    pub fn program(self) -> &'static str {
        match self {
            Manager::Dpkg => "dpkg",
            Manager::Rpm => "rpm",
        }
    }
}

/// An installed package.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Package {
    /// Who installed it.
    pub manager: Manager,
    /// Its name.
    pub name: String,
    /// Its installed version.
    pub version: String,
}

/// Where another version of a package can be installed from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A configured repository (`apt-cache madison`, `zypper search`).
    Repository,
    /// A package file in the local cache (`/var/cache/apt/archives`,
    /// `/var/cache/zypp/packages`).
    File(PathBuf),
}

/// A version of a package that can be installed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Candidate {
    /// The version.
    pub version: String,
    /// Where it is.
    pub source: Source,
}

/// The path the package database knows `file` by: `file` without `root`.
fn system_path(root: &Path, file: &Path) -> String {
    match file.strip_prefix(root) {
        Ok(rel) => format!("/{}", rel.display()),
        Err(_) => file.display().to_string(),
    }
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// The package owning `file` in the first of `managers` that has one.
pub fn owner_in(
    host: &mut dyn Host,
    managers: &[Manager],
    root: &Path,
    file: &Path,
) -> Result<Option<Package>> {
    for &manager in managers {
        if let Some(package) = owner(host, manager, root, file)? {
            return Ok(Some(package));
        }
    }
    Ok(None)
}

/// The package owning `file`, `None` if `manager` knows no package owns it.
pub fn owner(
    host: &mut dyn Host,
    manager: Manager,
    root: &Path,
    file: &Path,
) -> Result<Option<Package>> {
    let path = system_path(root, file);
    match manager {
        Manager::Dpkg => {
            let ran = host
                .run("dpkg", &args(&["-S", &path]))
                .context("cannot run `dpkg -S`")?;
            if !ran.success() {
                return Ok(None);
            }
            // `klp-rs-livepatch-7_3_4: /lib/modules/...`, maybe with an
            // architecture after the name (`name:amd64`).
            let Some(name) = ran
                .stdout
                .lines()
                .find(|l| !l.starts_with("diversion "))
                .and_then(|l| l.split_once(": "))
                .map(|(names, _)| names.split(", ").next().unwrap_or(names))
                .map(|n| n.split(':').next().unwrap_or(n).to_string())
            else {
                return Ok(None);
            };
            let ran = host
                .run("dpkg-query", &args(&["-W", "-f=${Version}", &name]))
                .context("cannot run `dpkg-query`")?;
            if !ran.success() {
                bail!("`dpkg-query -W {name}` failed: {}", ran.stderr.trim());
            }
            Ok(Some(Package {
                manager,
                name,
                version: ran.stdout.trim().to_string(),
            }))
        }
        Manager::Rpm => {
            let ran = host
                .run(
                    "rpm",
                    &args(&["-qf", "--queryformat", "%{NAME} %{VERSION}\\n", &path]),
                )
                .context("cannot run `rpm -qf`")?;
            if !ran.success() {
                return Ok(None);
            }
            let Some((name, version)) = ran.stdout.lines().next().and_then(|l| l.split_once(' '))
            else {
                return Ok(None);
            };
            Ok(Some(Package {
                manager,
                name: name.to_string(),
                version: version.trim().to_string(),
            }))
        }
    }
}

/// The upstream part of a version (no epoch, no Debian revision or RPM
/// release), as numbers: `1:2-3` is `[2]`.
pub fn upstream(version: &str) -> Vec<u64> {
    let v = version.split_once(':').map_or(version, |(_, v)| v);
    let v = v.split('-').next().unwrap_or(v);
    v.split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// Compares two versions by their [`upstream`] parts.
pub fn compare(a: &str, b: &str) -> Ordering {
    upstream(a).cmp(&upstream(b))
}

/// The versions of `package` the system can install: from its
/// repositories (when their tool is installed) and its local package
/// cache, a version in both counted as a repository's; sorted, oldest
/// first.
pub fn candidates(host: &mut dyn Host, root: &Path, package: &Package) -> Result<Vec<Candidate>> {
    let name = &package.name;
    let mut found = Vec::new();
    match package.manager {
        Manager::Dpkg if host.find_program("apt-cache").is_some() => {
            let ran = host
                .run("apt-cache", &args(&["madison", name]))
                .context("cannot run `apt-cache madison`")?;
            // ` klp-rs-livepatch-7_3_4 |          1 | file:/srv/repo ./ Packages`
            for line in ran.stdout.lines() {
                let cols: Vec<&str> = line.split('|').map(str::trim).collect();
                if cols.len() >= 3 && cols[0] == name {
                    found.push(Candidate {
                        version: cols[1].to_string(),
                        source: Source::Repository,
                    });
                }
            }
        }
        Manager::Rpm if host.find_program("zypper").is_some() => {
            let ran = host
                .run(
                    "zypper",
                    &args(&[
                        "--non-interactive",
                        "--quiet",
                        "search",
                        "--details",
                        "--match-exact",
                        name,
                    ]),
                )
                .context("cannot run `zypper search`")?;
            // `   | klp-rs-livepatch-7_3_4 | package | 1-1 | x86_64 | repo`
            for line in ran.stdout.lines() {
                let cols: Vec<&str> = line.split('|').map(str::trim).collect();
                if cols.len() >= 4 && cols[1] == name && cols[2] == "package" {
                    found.push(Candidate {
                        version: cols[3].to_string(),
                        source: Source::Repository,
                    });
                }
            }
        }
        _ => {}
    }
    for (version, file) in cached(root, package)? {
        if !found.iter().any(|c| compare(&c.version, &version).is_eq()) {
            found.push(Candidate {
                version,
                source: Source::File(file),
            });
        }
    }
    found.sort_by(|a, b| compare(&a.version, &b.version));
    found.dedup_by(|a, b| compare(&a.version, &b.version).is_eq());
    Ok(found)
}

/// The package files of `package` in the local cache: `<name>_<version>_<arch>.deb`
/// in `/var/cache/apt/archives`, `<name>-<version>-<release>.<arch>.rpm`
/// anywhere under `/var/cache/zypp/packages`.
fn cached(root: &Path, package: &Package) -> Result<Vec<(String, PathBuf)>> {
    let (dir, depth) = match package.manager {
        Manager::Dpkg => (root.join("var/cache/apt/archives"), 0),
        Manager::Rpm => (root.join("var/cache/zypp/packages"), 3),
    };
    let mut files = Vec::new();
    walk(&dir, depth, &mut files)?;
    let mut found = Vec::new();
    for file in files {
        let Some(base) = file.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let version = match package.manager {
            Manager::Dpkg => base
                .strip_suffix(".deb")
                .and_then(|b| b.strip_prefix(&format!("{}_", package.name)))
                .and_then(|b| b.rsplit_once('_'))
                .map(|(v, _arch)| v.replace("%3a", ":")),
            Manager::Rpm => base
                .strip_suffix(".rpm")
                .and_then(|b| b.strip_prefix(&format!("{}-", package.name)))
                .and_then(|b| b.rsplit_once('.'))
                .map(|(v, _arch)| v.to_string())
                .filter(|v| v.starts_with(|c: char| c.is_ascii_digit())),
        };
        if let Some(version) = version {
            found.push((version, file));
        }
    }
    Ok(found)
}

fn walk(dir: &Path, depth: u32, files: &mut Vec<PathBuf>) -> Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).with_context(|| format!("cannot list `{}`", dir.display())),
    };
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot list `{}`", dir.display()))?
            .path();
        if path.is_dir() && depth > 0 {
            walk(&path, depth - 1, files)?;
        } else if path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(())
}

/// The command that installs `candidate` of `package` in place of a newer
/// version.
pub fn downgrade_command(package: &Package, candidate: &Candidate) -> Vec<String> {
    let pinned = format!("{}={}", package.name, candidate.version);
    match (package.manager, &candidate.source) {
        (Manager::Dpkg, Source::Repository) => {
            args(&["apt-get", "install", "-y", "--allow-downgrades", &pinned])
        }
        (Manager::Dpkg, Source::File(f)) => args(&["dpkg", "-i", &f.display().to_string()]),
        (Manager::Rpm, Source::Repository) => args(&[
            "zypper",
            "--non-interactive",
            "install",
            "--oldpackage",
            &pinned,
        ]),
        (Manager::Rpm, Source::File(f)) => {
            args(&["rpm", "-Uvh", "--oldpackage", &f.display().to_string()])
        }
    }
}

/// The lifecycle file of the package `name`.
pub fn lifecycle_file(root: &Path, name: &str) -> PathBuf {
    root.join("usr/share/klp-rs/lifecycle")
        .join(format!("{name}.lifecycle"))
}

/// The end of support of `version` of the package `name` from its
/// lifecycle file: `None` if there is no file or no line for that version
/// (a version `*` stands for any).
pub fn end_of_support(root: &Path, name: &str, version: &str) -> Result<Option<Date>> {
    let path = lifecycle_file(root, name);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    };
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split(',').map(str::trim).collect();
        let [package, v, date] = cols[..] else {
            bail!(
                "`{}` line {}: `{line}` is not `package, version, YYYY-MM-DD`",
                path.display(),
                i + 1
            );
        };
        if package == name && (v == "*" || compare(v, version).is_eq()) {
            let date = date
                .parse()
                .with_context(|| format!("`{}` line {}", path.display(), i + 1))?;
            return Ok(Some(date));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_upstream_versions() {
        assert_eq!(upstream("1:2-3"), [2]);
        assert_eq!(upstream("10"), [10]);
        assert!(compare("2", "10").is_lt());
        assert!(compare("2-1", "2").is_eq());
    }
}
