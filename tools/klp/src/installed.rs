//! Installed patches: the `.ko` files of `/lib/modules/<release>/livepatch/`.

use crate::modinfo::PatchFile;
use anyhow::{Context, Result};
use std::{
    fs, io,
    path::{Path, PathBuf},
};

/// The release of the running kernel (`uname -r`), from
/// `/proc/sys/kernel/osrelease`.
pub fn running_release(root: &Path) -> Result<String> {
    let path = root.join("proc/sys/kernel/osrelease");
    let release = fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read the running kernel's release from `{}` (is procfs mounted?)",
            path.display()
        )
    })?;
    Ok(release.trim().to_string())
}

/// The directory of the installed patches for kernel `release`.
pub fn dir(root: &Path, release: &str) -> PathBuf {
    root.join("lib/modules").join(release).join("livepatch")
}

/// The installed patches of kernel `release`, by version then name, and the
/// files that are not klp-rs patches with the reason.
pub fn list(root: &Path, release: &str) -> Result<(Vec<PatchFile>, Vec<anyhow::Error>)> {
    let dir = dir(root, release);
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(e).with_context(|| format!("cannot list `{}`", dir.display())),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot list `{}`", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "ko") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    let mut patches = Vec::new();
    let mut bad = Vec::new();
    for path in paths {
        match PatchFile::read(&path) {
            Ok(p) => patches.push(p),
            Err(e) => bad.push(e),
        }
    }
    patches.sort_by(|a, b| (a.meta.version, &a.name).cmp(&(b.meta.version, &b.name)));
    Ok((patches, bad))
}
