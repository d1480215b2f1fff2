//! A Debian system for a guest: its root file system built by mmdebstrap
//! from the machine's own Debian mirror (cached, keyed by the mirror, the
//! suite and the package list), the kernel that boots it from a virtio
//! disk (`qemu/configs/debian-root.config`, derived from the cached build),
//! and the disk image: the cached system plus a run's files, made an ext4
//! image by `mke2fs -d`, read back with `debugfs` after the guest ran.

use crate::{apt_sources, arch::Arch, cache::Cache, kernel, run, setup};
use anyhow::{bail, Context, Result};
use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// The fragment of the kernel that boots a Debian system from a disk.
const FRAGMENT: &str = "qemu/configs/debian-root.config";

/// What the system holds beyond Debian's `minbase` (dpkg, apt and the
/// essential packages): initramfs-tools and its zstd, a flat repository's
/// index (`apt-ftparchive`), rpm, kmod, and busybox (`reboot -f` with no
/// init system).
const PACKAGES: &[&str] = &[
    "initramfs-tools",
    "zstd",
    "apt-utils",
    "rpm",
    "kmod",
    "busybox",
];

/// Changes when the way the root file system is made changes.
const RECIPE: &str = "klp-rs debian root 1: mmdebstrap --variant=minbase";

/// Free space in the disk image beyond what the files take, in MiB: the
/// packages installed, the initramfs images written.
const FREE_MIB: u64 = 256;

/// The kernel of `arch` that boots a Debian system from a virtio disk,
/// built (once, then cached) from the arch's guest kernel.
pub fn kernel(cache: &Cache, tc: &setup::Toolchain, arch: Arch) -> Result<kernel::Kernel> {
    kernel::derive_with_fragment(cache, tc, arch, "debian-root", FRAGMENT)
}

/// The root file system of a minimal Debian system for `arch` (the
/// machine's mirror and release), built by mmdebstrap once and cached.
pub fn root(cache: &Cache, arch: Arch) -> Result<PathBuf> {
    if arch.foreign_debian_arch().is_some() {
        bail!(
            "a Debian root file system is built for the host's arch (x86_64) only: for {arch}, \
             mmdebstrap would run its packages' scripts under qemu-user"
        );
    }
    let debian_arch = "amd64";
    let mirror = apt_sources::machine_mirror()?;
    let key = format!(
        "{RECIPE}\narch {}\nmirror {}\nsuite {}\npackages {}",
        debian_arch,
        mirror.uri,
        mirror.suite,
        PACKAGES.join(",")
    );
    let dir = cache.root().join("debian-root").join(format!(
        "{}-{}-{:016x}",
        mirror.suite,
        debian_arch,
        kernel::fnv1a(key.as_bytes())
    ));
    let root = dir.join("root");
    let stamp = dir.join("built");
    if stamp.is_file() {
        eprintln!(
            "==> Debian root file system is up to date: {}",
            root.display()
        );
        return Ok(root);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .with_context(|| format!("cannot remove the partial `{}`", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    let mut cmd = Command::new("mmdebstrap");
    cmd.arg("--variant=minbase")
        .arg(format!("--architectures={}", debian_arch))
        .arg(format!("--include={}", PACKAGES.join(",")))
        // The guest has no network: its apt sees only the run's own
        // repository.
        .arg("--customize-hook=rm -f \"$1/etc/apt/sources.list\"")
        .arg(&mirror.suite)
        .arg(&root)
        .arg(&mirror.uri);
    run::logged(
        &format!(
            "building a Debian {} root file system for {arch} from {} (about a minute)",
            mirror.suite, mirror.uri
        ),
        &mut cmd,
        &cache.logs().join(format!("debian-root-{arch}.log")),
    )
    .context("mmdebstrap failed; `cargo xtask setup` installs it")?;
    std::fs::write(&stamp, &key)?;
    Ok(root)
}

/// Writes `image`: an ext4 file system holding `root` with `extra` copied
/// over it (a directory laid out like the root), and [`FREE_MIB`] free.
pub fn disk_image(root: &Path, extra: &Path, image: &Path) -> Result<()> {
    let staging = image.with_extension("staging");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("cannot remove `{}`", staging.display()))?;
    }
    // `cp -a` keeps owners, modes, links and device nodes.
    run::output(Command::new("cp").arg("-a").arg(root).arg(&staging))?;
    // Through tar, which follows the root's links of merged /usr (`/lib`
    // is `usr/lib`) instead of replacing them.
    run::output(
        Command::new("sh")
            .arg("-c")
            .arg("tar -C \"$0\" -c . | tar -C \"$1\" -x --keep-directory-symlink --no-same-owner")
            .arg(extra)
            .arg(&staging),
    )?;
    let used = run::output(Command::new("du").args(["-s", "-m"]).arg(&staging))?;
    let used: u64 = used
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .with_context(|| format!("`du -s -m {}` said `{}`", staging.display(), used.trim()))?;
    let _ = std::fs::remove_file(image);
    let made = run::output(
        Command::new("mke2fs")
            .args(["-q", "-F", "-t", "ext4", "-L", "root", "-d"])
            .arg(&staging)
            .arg(image)
            .arg(format!("{}M", used * 5 / 4 + FREE_MIB)),
    );
    std::fs::remove_dir_all(&staging)
        .with_context(|| format!("cannot remove `{}`", staging.display()))?;
    made.map(drop)
        .context("cannot make the disk image; `cargo xtask setup` installs e2fsprogs")
}

/// Copies the file `path` of the ext4 `image` to `out` (the guest has
/// powered off).
pub fn read_file(image: &Path, path: &str, out: &Path) -> Result<()> {
    let _ = std::fs::remove_file(out);
    run::output(
        Command::new("debugfs")
            .arg("-R")
            .arg(format!("dump {path} {}", out.display()))
            .arg(image),
    )?;
    // debugfs says a missing file on stderr and still exits 0.
    match std::fs::metadata(out) {
        Ok(m) if m.len() > 0 => Ok(()),
        _ => bail!(
            "the guest's disk `{}` has no `{path}`: the guest did not write it",
            image.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_disk_image_holds_the_root_and_the_extra_files_over_it() {
        let dir = std::env::temp_dir().join(format!("klp-rs-disk-{}", std::process::id()));
        let (root, extra) = (dir.join("root"), dir.join("extra"));
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::create_dir_all(root.join("usr/lib")).unwrap();
        std::os::unix::fs::symlink("usr/lib", root.join("lib")).unwrap();
        std::fs::create_dir_all(extra.join("etc")).unwrap();
        std::fs::create_dir_all(extra.join("lib/modules")).unwrap();
        std::fs::write(extra.join("lib/modules/modules.order"), "x.ko\n").unwrap();
        std::fs::write(root.join("etc/os-release"), "ID=debian\n").unwrap();
        std::fs::write(root.join("etc/hostname"), "root\n").unwrap();
        std::fs::write(extra.join("etc/hostname"), "extra\n").unwrap();
        let image = dir.join("disk.img");
        disk_image(&root, &extra, &image).unwrap();
        assert!(!image.with_extension("staging").exists());
        let out = dir.join("out");
        read_file(&image, "/etc/hostname", &out).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "extra\n");
        read_file(&image, "/etc/os-release", &out).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "ID=debian\n");
        // Merged /usr: the extra `lib/` went through the root's link.
        read_file(&image, "/usr/lib/modules/modules.order", &out).unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "x.ko\n");
        let err = read_file(&image, "/boot/initrd.img-7.3.4", &out)
            .unwrap_err()
            .to_string();
        assert!(err.contains("has no `/boot/initrd.img-7.3.4`"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
