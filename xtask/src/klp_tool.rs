//! The `klp` admin tool (`tools/klp`) as a static binary for a guest arch,
//! built by the host's cargo: for musl on x86_64, for glibc linked
//! statically by Debian's cross gcc elsewhere.

use crate::{arch::Arch, cache::Cache, initramfs, repo_root, run};
use anyhow::{bail, Context, Result};
use std::process::Command;

/// Builds `klp` for `arch` and returns it as the guest's `/bin/klp`.
pub fn build(cache: &Cache, arch: Arch) -> Result<initramfs::File> {
    let target = arch.static_rust_target();
    add_target(target)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build.current_dir(repo_root()).args([
        "build",
        "--release",
        "--package",
        "klp",
        "--target",
        target,
    ]);
    if arch.cross_compile().is_some() {
        let var = target.to_uppercase().replace('-', "_");
        build
            .env(format!("CARGO_TARGET_{var}_LINKER"), arch.user_cc())
            .env(
                format!("CARGO_TARGET_{var}_RUSTFLAGS"),
                "-C target-feature=+crt-static",
            );
    }
    run::logged(
        &format!("building the klp tool for {arch} ({target})"),
        &mut build,
        &cache.logs().join(format!("klp-tool-{arch}.log")),
    )?;
    let path = repo_root().join("target").join(target).join("release/klp");
    let data = std::fs::read(&path).with_context(|| format!("cannot read `{}`", path.display()))?;
    if !initramfs::is_static_elf(&data) || initramfs::elf_machine(&data) != Some(arch.elf_machine())
    {
        bail!(
            "`{}` is not a static {arch} binary; the guest has no C library",
            path.display()
        );
    }
    Ok(initramfs::File {
        path: "bin/klp".into(),
        executable: true,
        data,
    })
}

/// Makes rustup install the standard library of `target` for the toolchain
/// that runs xtask (a no-op when it is there).
fn add_target(target: &str) -> Result<()> {
    let mut cmd = Command::new("rustup");
    cmd.args(["target", "add", target]);
    if let Ok(toolchain) = std::env::var("RUSTUP_TOOLCHAIN") {
        cmd.args(["--toolchain", &toolchain]);
    }
    run::output(&mut cmd).map(drop).with_context(|| {
        format!("cannot install the Rust target {target} (rustup target add {target})")
    })
}
