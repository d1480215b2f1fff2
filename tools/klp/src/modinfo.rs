//! The `.modinfo` section of a module file, and the klp-rs patch metadata
//! it carries.
//!
//! `.modinfo` holds NUL-separated `key=value` strings
//! (`srctree/include/linux/moduleparam.h`: `__MODULE_INFO`); a key may be
//! repeated (`klp_cve=`, `klp_bug=`).

use crate::livepatch::Metadata;
use anyhow::{bail, Context, Result};
use object::{Object, ObjectSection};
use std::path::{Path, PathBuf};

/// The `key=value` entries of a module's `.modinfo`, in file order.
#[derive(Debug, Default)]
pub struct ModInfo {
    entries: Vec<(String, String)>,
}

impl ModInfo {
    /// Reads the `.modinfo` of an ELF module image.
    ///
    /// Fails on data that is not ELF, on a compressed module (which must be
    /// decompressed first), and on a missing `.modinfo` section.
    pub fn parse(data: &[u8]) -> Result<ModInfo> {
        if data.starts_with(b"\xfd7zXZ\0") || data.starts_with(b"\x28\xb5\x2f\xfd") {
            bail!(
                "the module is compressed (xz or zstd): decompress it first (`xz -d`, `zstd -d`)"
            );
        }
        if data.starts_with(b"\x1f\x8b") {
            bail!("the module is compressed (gzip): decompress it first (`gzip -d`)");
        }
        if !data.starts_with(b"\x7fELF") {
            bail!("not an ELF file");
        }
        let file = object::File::parse(data).context("not a valid ELF file")?;
        let section = file
            .section_by_name(".modinfo")
            .context("no `.modinfo` section: not a kernel module")?;
        let bytes = section
            .data()
            .context("cannot read the `.modinfo` section")?;
        let mut entries = Vec::new();
        for (i, raw) in bytes.split(|&b| b == 0).enumerate() {
            if raw.is_empty() {
                continue;
            }
            let text = std::str::from_utf8(raw)
                .with_context(|| format!("`.modinfo` entry {i} is not UTF-8"))?;
            let (key, value) = text
                .split_once('=')
                .with_context(|| format!("`.modinfo` entry `{text}` has no `=`"))?;
            entries.push((key.to_string(), value.to_string()));
        }
        Ok(ModInfo { entries })
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in file order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.entries
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A klp-rs patch module file and its metadata.
#[derive(Clone, Debug)]
pub struct PatchFile {
    /// Where the file is.
    pub path: PathBuf,
    /// The module name (`name=`, else the file name with `-` as `_`).
    pub name: String,
    /// `klp_version=`, `klp_kernel=`, `klp_released=`, `klp_cve=` (one per
    /// CVE), `klp_bug=`, `klp_seed=Y` and `description=` (empty if none):
    /// what the loaded module shows under `/sys/module/<name>/klp_rs/`.
    pub meta: Metadata,
}

impl PatchFile {
    /// Reads and checks a patch module file.
    pub fn read(path: &Path) -> Result<PatchFile> {
        let data =
            std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
        PatchFile::from_bytes(path, &data)
            .with_context(|| format!("`{}` is not a klp-rs patch module", path.display()))
    }

    /// Checks the metadata of the module image `data`, read from `path`.
    pub fn from_bytes(path: &Path, data: &[u8]) -> Result<PatchFile> {
        let info = ModInfo::parse(data)?;
        if info.get("livepatch") != Some("Y") {
            bail!("it is not a livepatch module (no `livepatch=Y` in `.modinfo`)");
        }
        let version = info
            .get("klp_version")
            .context("no `klp_version=` in `.modinfo` (not built with klp-rs)")?;
        let version = version
            .parse()
            .with_context(|| format!("`klp_version={version}` is not a number"))?;
        let kernel = info
            .get("klp_kernel")
            .filter(|k| !k.is_empty())
            .context("no `klp_kernel=` in `.modinfo`")?
            .to_string();
        let released = match info.get("klp_released").filter(|r| !r.is_empty()) {
            Some(r) => Some(r.parse().context("bad `klp_released=`")?),
            None => None,
        };
        let seed = match info.get("klp_seed") {
            None | Some("N" | "n" | "0") => false,
            Some("Y" | "y" | "1") => true,
            Some(other) => bail!("`klp_seed={other}` is neither `Y` nor `N`"),
        };
        let stem = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        let name = match info.get("name").filter(|n| !n.is_empty()) {
            Some(n) => n.to_string(),
            None => stem.trim_end_matches(".ko").replace('-', "_"),
        };
        Ok(PatchFile {
            path: path.to_path_buf(),
            name,
            meta: Metadata {
                version,
                kernel,
                released,
                cves: info.all("klp_cve").map(str::to_string).collect(),
                bugs: info.all("klp_bug").map(str::to_string).collect(),
                seed,
                description: info.get("description").unwrap_or_default().to_string(),
            },
        })
    }
}
