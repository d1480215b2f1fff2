//! The cache directory outside the repository where setup installs tools and
//! kernel builds live, shared by later commands and by CI on the same machine.

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// The environment variable that overrides the cache location.
pub const ENV: &str = "KLP_RS_CACHE";

/// Paths inside the cache.
#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// `$KLP_RS_CACHE`, else `$XDG_CACHE_HOME/klp-rs`, else `~/.cache/klp-rs`.
    pub fn locate() -> Result<Self> {
        let root = if let Some(dir) = std::env::var_os(ENV) {
            PathBuf::from(dir)
        } else if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
            PathBuf::from(dir).join("klp-rs")
        } else if let Some(home) = std::env::var_os("HOME") {
            PathBuf::from(home).join(".cache/klp-rs")
        } else {
            bail!("cannot place the cache: set {ENV} (or HOME) to a writable directory");
        };
        if !root.is_absolute() {
            bail!("{ENV} must be an absolute path, got `{}`", root.display());
        }
        let cache = Self { root };
        for dir in [cache.root(), &cache.logs()] {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create cache `{}`: {e}", dir.display()))?;
        }
        Ok(cache)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The project-owned apt configuration, lists, and downloaded packages.
    pub fn apt(&self) -> PathBuf {
        self.root.join("apt")
    }

    /// `cargo install --root` of bindgen-cli.
    pub fn bindgen(&self) -> PathBuf {
        self.root.join("bindgen")
    }

    /// `cargo install --root` of cargo-fuzz.
    pub fn cargo_fuzz(&self) -> PathBuf {
        self.root.join("cargo-fuzz")
    }

    /// The fuzz targets' build, the corpus libFuzzer grows from the
    /// repository's, and the inputs it found a failure with.
    pub fn fuzz(&self) -> PathBuf {
        self.root.join("fuzz")
    }

    /// The unpacked libclang wheel.
    pub fn libclang(&self) -> PathBuf {
        self.root.join("libclang")
    }

    /// Unpacked kernel sources, one directory per package version.
    pub fn sources(&self) -> PathBuf {
        self.root.join("src")
    }

    /// Kernel build directories, one per arch and cache key.
    pub fn builds(&self) -> PathBuf {
        self.root.join("build")
    }

    /// Logs of long steps (downloads, builds, guest consoles) run from this
    /// checkout: `logs/<checkout name>-<checkout key>/` (see
    /// [`crate::checkout_key`]), so that two checkouts at work at once never
    /// write the same log.
    pub fn logs(&self) -> PathBuf {
        self.root
            .join("logs")
            .join(logs_dir_name(&crate::repo_root()))
    }
}

/// The name of the logs directory of the checkout at `root`.
fn logs_dir_name(root: &Path) -> String {
    let name = root
        .file_name()
        .map_or("klp-rs".into(), |n| n.to_string_lossy().into_owned());
    format!("{name}-{}", crate::checkout_key_of(root))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_checkout_logs_into_a_directory_of_its_own() {
        assert_eq!(
            logs_dir_name(Path::new("/work/main")),
            "main-f40b091684beef61"
        );
        assert_eq!(
            logs_dir_name(Path::new("/work/wt-flow")),
            "wt-flow-e4f156a082e643aa"
        );
        let cache = Cache { root: "/c".into() };
        assert_eq!(
            cache.logs(),
            Path::new("/c/logs").join(logs_dir_name(&crate::repo_root()))
        );
    }
}
