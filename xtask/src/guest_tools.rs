//! busybox and bash for a guest: the host's static builds for x86_64
//! (installed by setup), Debian's static builds for the other arches,
//! downloaded with a project-owned apt configuration and unpacked into the
//! cache, never installed on the host.

use crate::{arch::Arch, cache::Cache, initramfs, run};
use anyhow::{bail, Context, Result};
use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// The Debian suite the foreign-arch packages come from.
const SUITE: &str = "bookworm";

/// The static shell programs a guest runs.
pub struct GuestTools {
    pub busybox: PathBuf,
    pub bash: PathBuf,
}

/// The tools for `arch`, downloaded if missing.
pub fn ensure(cache: &Cache, arch: Arch) -> Result<GuestTools> {
    let Some(debian_arch) = arch.foreign_debian_arch() else {
        return Ok(GuestTools {
            busybox: "/bin/busybox".into(),
            bash: "/bin/bash-static".into(),
        });
    };
    let dir = cache.root().join("guest-tools").join(debian_arch);
    let tools = GuestTools {
        busybox: dir.join("root/bin/busybox"),
        bash: dir.join("root/bin/bash-static"),
    };
    if tools.busybox.is_file() && tools.bash.is_file() {
        return Ok(tools);
    }
    let apt = dir.join("apt");
    for sub in ["lists/partial", "cache/archives/partial", "debs"] {
        std::fs::create_dir_all(apt.join(sub))?;
    }
    let list = apt.join("sources.list");
    std::fs::write(
        &list,
        format!(
            "deb [arch={debian_arch} signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian {SUITE} main\n"
        ),
    )?;
    let apt_get = || {
        let mut cmd = Command::new("apt-get");
        for option in [
            format!("Dir::Etc::sourcelist={}", list.display()),
            "Dir::Etc::sourceparts=-".into(),
            format!("Dir::State::Lists={}", apt.join("lists").display()),
            format!("Dir::Cache={}", apt.join("cache").display()),
            // Only this arch's package lists; no host dpkg state involved.
            format!("APT::Architectures={debian_arch}"),
            format!("APT::Architecture={debian_arch}"),
            "Dir::State::status=/dev/null".into(),
            "APT::Sandbox::User=root".into(),
        ] {
            cmd.arg("-o").arg(option);
        }
        cmd
    };
    let logs = cache.logs();
    run::logged(
        &format!("updating the {SUITE} package lists for {debian_arch}"),
        apt_get().arg("update"),
        &logs.join(format!("guest-tools-{arch}-update.log")),
    )?;
    let debs = apt.join("debs");
    run::logged(
        &format!("downloading busybox-static and bash-static for {debian_arch}"),
        apt_get().current_dir(&debs).args([
            "download",
            &format!("busybox-static:{debian_arch}"),
            &format!("bash-static:{debian_arch}"),
        ]),
        &logs.join(format!("guest-tools-{arch}-download.log")),
    )?;
    let root = dir.join("root");
    for entry in std::fs::read_dir(&debs)? {
        let deb = entry?.path();
        run::output(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))
            .with_context(|| format!("cannot unpack `{}`", deb.display()))?;
    }
    for path in [&tools.busybox, &tools.bash] {
        check_static(path, arch)?;
    }
    Ok(tools)
}

/// `path` is a static executable for `arch`.
fn check_static(path: &Path, arch: Arch) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| {
        format!(
            "`{}` is missing: the Debian package did not have it",
            path.display()
        )
    })?;
    if !initramfs::is_static_elf(&bytes)
        || initramfs::elf_machine(&bytes) != Some(arch.elf_machine())
    {
        bail!("`{}` is not a static {arch} executable", path.display());
    }
    Ok(())
}
