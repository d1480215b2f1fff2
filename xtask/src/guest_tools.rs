//! Programs from Debian's archive that a guest needs but the host does not
//! install: static busybox and bash for a foreign-arch guest, and a newer
//! QEMU for s390x. They are downloaded with a project-owned apt
//! configuration and unpacked into the cache, never installed (the system's
//! sources and packages stay as they are).

use crate::{arch::Arch, cache::Cache, initramfs, run};
use anyhow::{bail, Context, Result};
use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// The static shell programs a guest runs.
pub struct GuestTools {
    pub busybox: PathBuf,
    pub bash: PathBuf,
}

/// The tools for `arch`: the host's own for x86_64 (setup installs them),
/// Debian 12's builds for the arch otherwise.
pub fn ensure(cache: &Cache, arch: Arch) -> Result<GuestTools> {
    let Some(debian_arch) = arch.foreign_debian_arch() else {
        return Ok(GuestTools {
            busybox: "/bin/busybox".into(),
            bash: "/bin/bash-static".into(),
        });
    };
    let root = unpacked(
        cache,
        &format!("guest-tools/{debian_arch}"),
        "bookworm",
        debian_arch,
        &[
            &format!("busybox-static:{debian_arch}"),
            &format!("bash-static:{debian_arch}"),
        ],
        &format!("busybox-static and bash-static for {debian_arch}"),
    )?;
    let tools = GuestTools {
        busybox: root.join("bin/busybox"),
        bash: root.join("bin/bash-static"),
    };
    for path in [&tools.busybox, &tools.bash] {
        check_static(path, arch)?;
    }
    Ok(tools)
}

/// The QEMU that boots `arch` guests, with the folder of its firmware when
/// it is not the system's.
#[derive(Clone, Debug)]
pub struct Emulator {
    pub program: PathBuf,
    pub firmware: Option<PathBuf>,
}

/// QEMU for `arch`: the system's (Debian 12's 7.2), except for s390x, where
/// 7.2's emulation intermittently runs stale code after a module is
/// unloaded and another loaded at the same address (the `selftests` suite's
/// `test-state.sh` failed in 3 runs of 3; with 10.0 it passed in 3 of 3).
/// There it is 10.0 from bookworm-backports, unpacked into the cache.
pub fn emulator(cache: &Cache, arch: Arch) -> Result<Emulator> {
    if arch != Arch::S390x {
        return Ok(Emulator {
            program: arch.qemu().into(),
            firmware: None,
        });
    }
    let root = unpacked(
        cache,
        "qemu-s390x",
        "bookworm-backports",
        "amd64",
        &[
            "qemu-system-s390x/bookworm-backports",
            "qemu-system-data/bookworm-backports",
        ],
        "QEMU 10 for s390x guests (bookworm-backports)",
    )?;
    let emulator = Emulator {
        program: root.join("usr/bin").join(arch.qemu()),
        firmware: Some(root.join("usr/share/qemu")),
    };
    let version = run::output(Command::new(&emulator.program).arg("--version"))
        .with_context(|| format!("`{}` does not run", emulator.program.display()))?;
    if !version.contains("version 10.") {
        bail!(
            "`{}` is not QEMU 10: {}",
            emulator.program.display(),
            version.trim()
        );
    }
    Ok(emulator)
}

/// Downloads `packages` of Debian `suite` for `debian_arch` and unpacks them
/// into `<cache>/<dir>/root`, once; returns that root.
fn unpacked(
    cache: &Cache,
    dir: &str,
    suite: &str,
    debian_arch: &str,
    packages: &[&str],
    what: &str,
) -> Result<PathBuf> {
    let log_name = dir.replace('/', "-");
    let dir = cache.root().join(dir);
    let root = dir.join("root");
    let done = dir.join("unpacked");
    if done.is_file() {
        return Ok(root);
    }
    let apt = dir.join("apt");
    let debs = apt.join("debs");
    let _ = std::fs::remove_dir_all(&debs);
    for sub in ["lists/partial", "cache/archives/partial", "debs"] {
        std::fs::create_dir_all(apt.join(sub))?;
    }
    let list = apt.join("sources.list");
    std::fs::write(
        &list,
        format!(
            "deb [arch={debian_arch} signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian {suite} main\n"
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
    let log = |step: &str| cache.logs().join(format!("{log_name}-{step}.log"));
    run::logged(
        &format!("updating the {suite} package lists for {debian_arch}"),
        apt_get().arg("update"),
        &log("update"),
    )?;
    run::logged(
        &format!("downloading {what}"),
        apt_get().current_dir(&debs).arg("download").args(packages),
        &log("download"),
    )?;
    let _ = std::fs::remove_dir_all(&root);
    for entry in std::fs::read_dir(&debs)? {
        let deb = entry?.path();
        run::output(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&root))
            .with_context(|| format!("cannot unpack `{}`", deb.display()))?;
    }
    std::fs::write(&done, packages.join("\n"))?;
    Ok(root)
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
