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
        std::fs::create_dir_all(&root)
            .map_err(|e| anyhow::anyhow!("cannot create cache `{}`: {e}", root.display()))?;
        Ok(Self { root })
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

    /// Logs of long steps (downloads, builds, guest consoles).
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }
}
