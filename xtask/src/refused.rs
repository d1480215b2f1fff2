//! Patch modules whose build must fail: each directory of
//! `kmod/tests/refused/` holds one (its `Kbuild` builds it), which the
//! post-link step must refuse with the text of the directory's `expected`
//! file (e.g. a replacement whose parameter list differs from the replaced
//! function's).

use crate::{cache::Cache, kernel, modules, repo_root, setup, Failed};
use anyhow::{Context, Result};
use std::path::PathBuf;

/// Where the cases are.
const DIR: &str = "kmod/tests/refused";

/// The directories of the cases, sorted.
pub fn cases() -> Result<Vec<PathBuf>> {
    let dir = repo_root().join(DIR);
    let mut cases = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot list `{DIR}`"))? {
        let path = entry?.path();
        if path.is_dir() {
            cases.push(path);
        }
    }
    cases.sort();
    Ok(cases)
}

/// Builds every case against `kernel`; each must fail, its build log
/// holding its `expected` text.
pub fn check(cache: &Cache, tc: &setup::Toolchain, kernel: &kernel::Kernel) -> Result<()> {
    for dir in cases()? {
        let name = dir
            .file_name()
            .map_or("case".into(), |n| n.to_string_lossy().into_owned());
        let expected_file = dir.join("expected");
        let expected = std::fs::read_to_string(&expected_file)
            .with_context(|| format!("cannot read `{}`", expected_file.display()))?;
        let expected = expected.trim_end();
        let what = format!("refused-{name}");
        if modules::build_in(cache, tc, kernel, modules::Lint::No, &dir, &what, None).is_ok() {
            return Err(Failed(format!(
                "`{}` built for {}, but its build must fail with: {expected}",
                dir.display(),
                kernel.arch
            ))
            .into());
        }
        let log = modules::build_log(cache, kernel, modules::Lint::No, &what);
        let text = std::fs::read_to_string(&log)
            .with_context(|| format!("cannot read `{}`", log.display()))?;
        if !text.contains(expected) {
            return Err(Failed(format!(
                "the build of `{}` failed for {}, but not with its expected error (see `{}`): {expected}",
                dir.display(),
                kernel.arch,
                log.display()
            ))
            .into());
        }
        eprintln!("    refused as expected: {name}");
    }
    Ok(())
}
