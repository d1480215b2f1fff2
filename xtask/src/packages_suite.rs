//! The `packages` suite (x86_64): live patches as packages on a Debian
//! system ([`crate::debian_root`]). The series of `kmod/series/` (the seed,
//! versions 1 and 2), built for the guest's kernel, becomes `.deb`s in a
//! flat apt repository on the guest's disk and `.rpm`s beside it, with the
//! bad input: the seed of another kernel release, version 2 unsigned. The
//! guest installs, upgrades and downgrades them with dpkg, apt and `klp`
//! and rebuilds its initramfs (`qemu/guest/scenarios/packages.sh`); the
//! host reads that initramfs back from the disk and boots it, and the
//! guest checks the patch was active before its first program ran, then
//! installs the RPMs (`packages-reboot.sh`).

use crate::{
    arch::Arch,
    cache::Cache,
    debian_root, kernel, klp_tool,
    modules::{self, Lint},
    package::{write_deb, write_rpm},
    qemu, repo_root, setup,
};
use anyhow::{Context, Result};
use klp_package::{common_package, patch_package, patch_package_from, Options};
use std::path::{Path, PathBuf};

/// The suite's name: its scenario is `qemu/guest/scenarios/packages.sh`.
pub const SUITE: &str = "packages";
/// The second boot's suite.
pub const REBOOT: &str = "packages-reboot";
/// The scenarios the guest's disk holds in `/scenarios/`.
const SCENARIOS: &[&str] = &[
    "ktap.sh",
    "packages-lib.sh",
    "packages.sh",
    "packages-reboot.sh",
];
/// The cumulative series, seed first.
const SERIES: &[&str] = &["klp_series_v0", "klp_series_v1", "klp_series_v2"];
/// The version shipped again unsigned.
const UNSIGNED: &str = "klp_series_v2";
/// The module whose load taints the kernel with a warning.
const WARN_MODULE: &str = "klp_rs_test_warn";
/// The guest's apt repository (`file:` URI), on its disk.
const REPOSITORY: &str = "var/local/klp-rs";
/// Where the scenarios write every command they ran with its output.
const TRANSCRIPT: &str = "/root/klp-rs/transcript.txt";
/// Bad input and the RPMs, on the guest's disk.
const FILES: &str = "root/klp-rs";

/// Runs the suite on `arch` (x86_64: see [`debian_root::root`]), both
/// boots; the second only if the first passed.
pub fn run(
    cache: &Cache,
    tc: &setup::Toolchain,
    arch: Arch,
    accel: qemu::Accel,
    timeout: Option<u64>,
) -> Result<qemu::Outcome> {
    let kernel = debian_root::kernel(cache, tc, arch)?;
    let release = kernel.release()?;
    let kos = modules::build(cache, tc, &kernel, Lint::No)?;
    let base = kernel::build(cache, tc, arch)?;
    let base_kos = modules::build(cache, tc, &base, Lint::No)?;
    let root = debian_root::root(cache, arch)?;

    let dir = kernel.checkout_dir().join(SUITE);
    let files = dir.join("files");
    if files.exists() {
        std::fs::remove_dir_all(&files)
            .with_context(|| format!("cannot remove `{}`", files.display()))?;
    }
    write_files(cache, &kernel, &release, &kos, &base_kos, &files)?;
    let image = dir.join("disk.img");
    eprintln!("==> writing the guest's disk `{}`", image.display());
    debian_root::disk_image(&root, &files, &image)?;

    let timeout = timeout.unwrap_or_else(|| qemu::suite_timeout(SUITE));
    let first = qemu::Guest::on_disk(cache, kernel.clone(), image.clone(), None)?;
    let mut outcome = first.run_suite(cache, SUITE, accel, timeout)?;
    if outcome.report.success() {
        let initrd = dir.join("initrd.img");
        debian_root::read_file(&image, &format!("/boot/initrd.img-{release}"), &initrd)?;
        eprintln!(
            "==> rebooting {arch} from the initramfs update-initramfs wrote on the guest's disk"
        );
        let second = qemu::Guest::on_disk(cache, kernel, image.clone(), Some(initrd))?;
        outcome.then(second.run_suite(cache, REBOOT, accel, timeout)?);
    }
    let transcript = cache.logs().join(format!("{SUITE}-transcript.txt"));
    match debian_root::read_file(&image, TRANSCRIPT, &transcript) {
        Ok(()) => eprintln!(
            "==> the guest's commands and their output: {}",
            transcript.display()
        ),
        Err(e) => eprintln!("==> no transcript of the guest's commands: {e:#}"),
    }
    Ok(outcome)
}

/// Lays out in `out` what the guest's disk holds beyond Debian: its init,
/// the scenarios, `klp`, the kernel's config and `modules.builtin` (for
/// depmod and update-initramfs), the apt repository and the other packages, the
/// warning module, and the apt and initramfs-tools configuration.
fn write_files(
    cache: &Cache,
    kernel: &kernel::Kernel,
    release: &str,
    kos: &[PathBuf],
    base_kos: &[PathBuf],
    out: &Path,
) -> Result<()> {
    let guest = repo_root().join("qemu/guest");
    copy(&guest.join("debian-init"), &out.join("sbin/klp-rs-init"))?;
    for scenario in SCENARIOS {
        copy(
            &guest.join("scenarios").join(scenario),
            &out.join("scenarios").join(scenario),
        )?;
    }
    let klp = klp_tool::build(cache, kernel.arch)?;
    // Where a distribution's package puts it: apt runs dpkg with
    // `DPkg::Path`, which has no `/usr/local`.
    write(&out.join("usr/sbin/klp"), &klp.data, 0o755)?;
    // What a kernel package installs beside its modules; mkinitramfs reads
    // the config for the compressions the kernel unpacks.
    copy(
        &kernel.dir.join(".config"),
        &out.join("boot").join(format!("config-{release}")),
    )?;
    for name in [
        "modules.builtin",
        "modules.builtin.modinfo",
        "modules.order",
    ] {
        copy(
            &kernel.dir.join(name),
            &out.join("lib/modules").join(release).join(name),
        )?;
    }
    write(
        &out.join("etc/apt/sources.list.d/klp-rs.list"),
        format!("deb [trusted=yes] file:/{REPOSITORY} ./\n").as_bytes(),
        0o644,
    )?;
    write(
        &out.join("etc/initramfs-tools/conf.d/klp-rs-guest"),
        b"# The guest's kernel has its drivers built in: no module to carry.\nMODULES=list\n",
        0o644,
    )?;

    let options = Options::default();
    let repository = dirs(&out.join(REPOSITORY))?;
    let rpms = dirs(&out.join(FILES).join("rpms"))?;
    let common = common_package(&options);
    write_deb(&common, &repository)?;
    write_rpm(&common, &rpms)?;
    for name in SERIES {
        let package = patch_package(&modules::find(kos, name)?, &options)?;
        write_deb(&package, &repository)?;
        write_rpm(&package, &rpms)?;
    }
    let other = patch_package(&modules::find(base_kos, SERIES[0])?, &options)?;
    write_deb(&other, &dirs(&out.join(FILES).join("other-kernel"))?)?;
    let signed_path = modules::find(kos, UNSIGNED)?;
    let signed = std::fs::read(&signed_path)?;
    let unsigned = klp::signature::unsigned(&signed).to_vec();
    anyhow::ensure!(
        unsigned.len() < signed.len(),
        "`{}` was built but not signed",
        signed_path.display()
    );
    let package = patch_package_from(&signed_path, unsigned, &options)?;
    write_deb(&package, &dirs(&out.join(FILES).join("unsigned"))?)?;
    let warn = modules::find(kos, WARN_MODULE)?;
    copy(
        &warn,
        &out.join(FILES)
            .join("modules")
            .join(format!("{WARN_MODULE}.ko")),
    )
}

/// Creates `dir` and its parents; returns it.
fn dirs(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    Ok(dir.to_path_buf())
}

/// Copies `from` to `to`, keeping its mode.
fn copy(from: &Path, to: &Path) -> Result<()> {
    if let Some(parent) = to.parent() {
        dirs(parent)?;
    }
    std::fs::copy(from, to)
        .map(drop)
        .with_context(|| format!("cannot copy `{}` to `{}`", from.display(), to.display()))
}

/// Writes `data` to `path` with `mode`.
fn write(path: &Path, data: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    if let Some(parent) = path.parent() {
        dirs(parent)?;
    }
    std::fs::write(path, data).with_context(|| format!("cannot write `{}`", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of `{}`", path.display()))
}
