//! Programs from Debian's archive that a guest needs but the host does not
//! install: static busybox and bash for a foreign-arch guest, and a newer
//! QEMU. They are downloaded with a project-owned apt
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

/// The QEMU that boots `arch` guests, with the folders of its firmware in
/// the order it searches them.
#[derive(Clone, Debug)]
pub struct Emulator {
    pub program: PathBuf,
    pub firmware: Vec<PathBuf>,
}

/// QEMU 10 from bookworm-backports for `arch`, unpacked into the cache
/// (Debian 12's own is 7.2). Under 7.2's multi-threaded emulation a vCPU
/// ran code another had already rewritten: on x86_64 with 2 vCPUs, an
/// `int3` that `text_poke_bp()` had already replaced (an Oops in
/// `__schedule()` as a livepatch transition flipped a static key); on
/// s390x, with one vCPU, the instructions of a module unloaded before
/// another was loaded at its address. Neither happened under 10.0.
pub fn emulator(cache: &Cache, arch: Arch) -> Result<Emulator> {
    let package = match arch {
        Arch::X86_64 => "qemu-system-x86",
        Arch::Aarch64 => "qemu-system-arm",
        Arch::Ppc64le => "qemu-system-ppc",
        Arch::S390x => "qemu-system-s390x",
    };
    let root = unpacked(
        cache,
        &format!("qemu-{arch}"),
        "bookworm-backports",
        "amd64",
        &[
            &format!("{package}/bookworm-backports"),
            "qemu-system-data/bookworm-backports",
        ],
        &format!("QEMU 10 for {arch} guests (bookworm-backports)"),
    )?;
    let emulator = Emulator {
        program: root.join("usr/bin").join(arch.qemu()),
        // The data package links some firmware (SeaBIOS) to other
        // packages' folders; those are the system's (setup installs QEMU).
        firmware: vec![root.join("usr/share/qemu"), "/usr/share/qemu".into()],
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
    let mirror = crate::apt_sources::machine_mirror()?.uri;
    std::fs::write(
        &list,
        format!(
            "deb [arch={debian_arch} signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] {mirror} {suite} main\n"
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
