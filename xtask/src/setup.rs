//! `cargo xtask setup`: installs and verifies everything the project needs,
//! from the package registries only, into the system (Debian packages) and
//! the cache (the rest). Idempotent: what is present and right is kept.

use crate::{cache::Cache, run};
use anyhow::{bail, Context, Result};
use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    process::Command,
};

/// The one rustc that builds the kernel and the modules on every arch
/// (s390 needs >= 1.96.0, powerpc >= 1.95.0 in 7.3).
pub const RUST_VERSION: &str = "1.96.1";
const RUST_COMPONENTS: &[&str] = &["rust-src", "rustfmt", "clippy"];
const BINDGEN_VERSION: &str = "0.72.1";
/// The cargo-fuzz release that builds and runs the fuzz targets.
const CARGO_FUZZ_VERSION: &str = "0.13.2";
/// PyPI's `libclang` wheel carries a self-contained `libclang.so` (the
/// kernel needs >= 17; Debian 12 ships 14).
const LIBCLANG_VERSION: &str = "18.1.1";
const LIBCLANG_MIN_MAJOR: u32 = 17;
/// Debian's kernel source package and the suite that has it.
const SOURCE_PACKAGE: &str = "linux-source-7.3";
const SOURCE_SUITE: &str = "trixie-backports";

/// Debian packages for the host, installed with `--no-install-recommends`.
const DEBIAN_PACKAGES: &[&str] = &[
    "gcc",
    "libc6-dev",
    "make",
    "flex",
    "bison",
    "bc",
    "libelf-dev",
    // `CONFIG_GENDWARFKSYMS` (symbol versions from DWARF, as distributions
    // build): `scripts/gendwarfksyms` includes `<dwarf.h>` and links libdw.
    "libdw-dev",
    "libssl-dev",
    "cpio",
    "xz-utils",
    // `cargo xtask generate` applies fixes with GNU patch.
    "patch",
    "busybox-static",
    // The kernel's livepatch selftests are bash scripts.
    "bash-static",
    "qemu-system-x86",
    // The other guests: emulators (s390x is in `misc`), cross compilers for
    // their kernels, and their C libraries for the static user programs.
    "qemu-system-arm",
    "qemu-system-ppc",
    "qemu-system-misc",
    "libc6-dev-arm64-cross",
    "libc6-dev-ppc64el-cross",
    "libc6-dev-s390x-cross",
    "python3-pip",
    // `cargo xtask diff`: fixtures for the other three arches, and the peers
    // `cargo xtask bench diff` measures (`time` measures them).
    "gcc-aarch64-linux-gnu",
    "gcc-powerpc64le-linux-gnu",
    "gcc-s390x-linux-gnu",
    "dwarves",
    "abigail-tools",
    "time",
    // libFuzzer, built by the fuzz targets (`cargo xtask bench fuzz`, and
    // a bounded run in `cargo xtask test`).
    "g++",
    // `cargo xtask bench generate` runs upstream's klp-build: objtool's klp
    // subcommands need xxhash, the script needs `recountdiff` and gawk.
    "libxxhash-dev",
    "patchutils",
    "gawk",
    // `cargo test` of tools/klp-package reads the packages it builds back
    // with `rpm -qip` (and `dpkg-deb`, in dpkg itself), and runs its
    // initramfs hooks' choice of a patch, which reads `modinfo`.
    "rpm",
    "kmod",
    // The Debian root file system of the `packages` suite: built by
    // mmdebstrap, made a disk image by mke2fs, its initramfs read back by
    // debugfs (both e2fsprogs).
    "mmdebstrap",
    "e2fsprogs",
];

/// What the other tasks need from setup.
#[derive(Clone, Debug)]
pub struct Toolchain {
    /// `bin` of the pinned Rust toolchain.
    rust_bin: PathBuf,
    /// `bin` of bindgen-cli.
    bindgen_bin: PathBuf,
    /// The folder holding `libclang.so`.
    libclang_dir: PathBuf,
    /// The unpacked kernel source tree.
    pub source: PathBuf,
    /// The Debian version of the kernel source package.
    pub source_version: String,
    /// The kernel's release date (`YYYY-MM-DD`), that of the package: the
    /// day support for its live patches starts counting.
    pub source_released: String,
    /// Versions of every tool that shapes a kernel build, for the cache key.
    pub fingerprint: String,
}

impl Toolchain {
    /// The directories that go before `PATH`: the pinned Rust toolchain's
    /// and bindgen's.
    pub fn path_dirs(&self) -> [&Path; 2] {
        [&self.rust_bin, &self.bindgen_bin]
    }

    /// The folder holding `libclang.so` (`LIBCLANG_PATH`).
    pub fn libclang_dir(&self) -> &Path {
        &self.libclang_dir
    }

    /// Points `cmd` at the pinned toolchain, bindgen and libclang.
    pub fn apply<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        let mut path = OsString::new();
        let old = std::env::var_os("PATH");
        for dir in self
            .path_dirs()
            .iter()
            .map(|d| d.as_os_str())
            .chain(old.as_deref())
        {
            if !path.is_empty() {
                path.push(":");
            }
            path.push(dir);
        }
        cmd.env("PATH", path)
            .env("LIBCLANG_PATH", &self.libclang_dir)
    }

    /// The pinned toolchain's `tool` (`rustdoc`), beside its `rustc`.
    pub fn rust_tool(&self, tool: &str) -> PathBuf {
        self.rust_bin.join(tool)
    }

    /// A command run with the pinned toolchain.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut cmd = Command::new(program);
        self.apply(&mut cmd);
        cmd
    }
}

/// `cargo xtask setup`.
#[derive(clap::Args, Debug)]
pub struct Setup {
    /// Also look for a newer kernel source package than the one unpacked.
    #[arg(long)]
    update: bool,
}

impl Setup {
    pub fn run(self, cache: &Cache) -> Result<()> {
        let tc = ensure(cache, self.update)?;
        println!("setup complete; cache: {}", cache.root().display());
        println!("  rust:    {}", tc.rust_bin.display());
        println!("  bindgen: {}", tc.bindgen_bin.display());
        println!("  cargo-fuzz: {}", cache.cargo_fuzz().join("bin").display());
        println!("  libclang: {}", tc.libclang_dir.display());
        println!(
            "  kernel source {}: {}",
            tc.source_version,
            tc.source.display()
        );
        Ok(())
    }
}

/// Installs what is missing and returns the toolchain. With `refresh`, also
/// asks Debian for a newer kernel source package.
pub fn ensure(cache: &Cache, refresh: bool) -> Result<Toolchain> {
    debian_packages(cache)?;
    let rust_bin = rust_toolchain()?;
    let bindgen_bin = bindgen(cache)?;
    cargo_fuzz(cache)?;
    let libclang_dir = libclang(cache)?;
    let (source_version, source) = kernel_source(cache, refresh)?;
    let source_released = std::fs::read_to_string(source.join(RELEASED_FILE))
        .map(|d| d.trim().to_string())
        .with_context(|| {
            format!(
                "`{}` has no {RELEASED_FILE}; run `cargo xtask setup --update`",
                source.display()
            )
        })?;
    let mut tc = Toolchain {
        rust_bin,
        bindgen_bin,
        libclang_dir,
        source,
        source_version,
        source_released,
        fingerprint: String::new(),
    };
    let clang = libclang_version(&tc)?;
    let rustc = run::output(tc.command("rustc").arg("-vV"))?;
    let gcc = run::output(Command::new("gcc").arg("--version"))?;
    tc.fingerprint = format!(
        "source {}\nrustc {rustc}\ngcc {}\nbindgen {BINDGEN_VERSION}\nlibclang {clang}\n",
        tc.source_version,
        gcc.lines().next().unwrap_or_default()
    );
    Ok(tc)
}

fn debian_packages(cache: &Cache) -> Result<()> {
    let missing: Vec<&str> = DEBIAN_PACKAGES
        .iter()
        .copied()
        .filter(|p| !dpkg_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut sudo: Vec<&str> = Vec::new();
    if !is_root() {
        if Command::new("sudo")
            .arg("-n")
            .arg("true")
            .status()
            .is_ok_and(|s| s.success())
        {
            sudo.push("sudo");
        } else {
            bail!(
                "Debian packages missing: {}\n  run as root, or install them: apt-get install --no-install-recommends {}",
                missing.join(" "),
                missing.join(" ")
            );
        }
    }
    let logs = cache.logs();
    let apt = |args: &[&str]| {
        let mut cmd = Command::new(sudo.first().copied().unwrap_or("apt-get"));
        if !sudo.is_empty() {
            cmd.arg("apt-get");
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    run::logged(
        "apt-get update",
        &mut apt(&["update"]),
        &logs.join("apt-update.log"),
    )?;
    let mut install = apt(&["install", "-y", "--no-install-recommends"]);
    install.args(&missing);
    run::logged(
        &format!("installing {}", missing.join(" ")),
        &mut install,
        &logs.join("apt-install.log"),
    )?;
    let still: Vec<&str> = missing.into_iter().filter(|p| !dpkg_installed(p)).collect();
    if !still.is_empty() {
        bail!(
            "apt-get reported success but these are still not installed: {}",
            still.join(" ")
        );
    }
    Ok(())
}

fn dpkg_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.ends_with(b"install ok installed"))
}

fn is_root() -> bool {
    run::output(Command::new("id").arg("-u")).is_ok_and(|s| s.trim() == "0")
}

/// Installs the pinned toolchain with its components; returns its `bin`.
fn rust_toolchain() -> Result<PathBuf> {
    let toolchains = run::output(Command::new("rustup").args(["toolchain", "list"]))
        .context("rustup is needed to install the pinned Rust toolchain (https://rustup.rs)")?;
    if !toolchains
        .lines()
        .any(|l| l.starts_with(&format!("{RUST_VERSION}-")))
    {
        let mut cmd = Command::new("rustup");
        cmd.args(["toolchain", "install", RUST_VERSION, "--profile", "minimal"]);
        for c in RUST_COMPONENTS {
            cmd.args(["-c", c]);
        }
        run::logged(
            &format!("installing Rust {RUST_VERSION}"),
            &mut cmd,
            &log_in_tmp("rustup"),
        )?;
    }
    let installed = run::output(Command::new("rustup").args([
        "component",
        "list",
        "--installed",
        "--toolchain",
        RUST_VERSION,
    ]))?;
    let missing: Vec<&str> = RUST_COMPONENTS
        .iter()
        .copied()
        .filter(|c| {
            !installed
                .lines()
                .any(|l| l.starts_with(&format!("{c}-")) || l == *c)
        })
        .collect();
    if !missing.is_empty() {
        let mut cmd = Command::new("rustup");
        cmd.args(["component", "add", "--toolchain", RUST_VERSION])
            .args(&missing);
        run::logged(
            "adding Rust components",
            &mut cmd,
            &log_in_tmp("rustup-components"),
        )?;
    }
    let sysroot = run::output(Command::new("rustup").args([
        "run",
        RUST_VERSION,
        "rustc",
        "--print",
        "sysroot",
    ]))?;
    let bin = Path::new(sysroot.trim()).join("bin");
    let version = run::output(Command::new(bin.join("rustc")).arg("--version"))?;
    if !version.starts_with(&format!("rustc {RUST_VERSION} ")) {
        bail!("toolchain {RUST_VERSION} reports `{}`; reinstall it: rustup toolchain uninstall {RUST_VERSION}", version.trim());
    }
    Ok(bin)
}

/// rustup runs before the cache is needed, so its log goes to the temp dir.
fn log_in_tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("klp-rs-{name}.log"))
}

/// Installs bindgen-cli into the cache; returns its `bin`.
fn bindgen(cache: &Cache) -> Result<PathBuf> {
    let root = cache.bindgen();
    let bin = root.join("bin");
    let version =
        run::output(Command::new(bin.join("bindgen")).arg("--version")).unwrap_or_default();
    if version.trim() != format!("bindgen {BINDGEN_VERSION}") {
        let mut cmd = Command::new("cargo");
        cmd.args(["install", "--locked", "--force", "--root"])
            .arg(&root)
            .args(["bindgen-cli", "--version", BINDGEN_VERSION]);
        run::logged(
            &format!("building bindgen-cli {BINDGEN_VERSION} (about 3 minutes)"),
            &mut cmd,
            &cache.logs().join("bindgen-install.log"),
        )?;
    }
    Ok(bin)
}

/// Installs cargo-fuzz into the cache, unless that version is there;
/// returns its `bin`.
pub fn cargo_fuzz(cache: &Cache) -> Result<PathBuf> {
    let root = cache.cargo_fuzz();
    let bin = root.join("bin");
    let version =
        run::output(Command::new(bin.join("cargo-fuzz")).arg("--version")).unwrap_or_default();
    if version.trim() != format!("cargo-fuzz {CARGO_FUZZ_VERSION}") {
        let mut cmd = Command::new("cargo");
        cmd.args(["install", "--locked", "--force", "--root"])
            .arg(&root)
            .args(["cargo-fuzz", "--version", CARGO_FUZZ_VERSION]);
        run::logged(
            &format!("building cargo-fuzz {CARGO_FUZZ_VERSION} (about a minute)"),
            &mut cmd,
            &cache.logs().join("cargo-fuzz-install.log"),
        )?;
    }
    Ok(bin)
}

/// Unpacks PyPI's libclang wheel into the cache; returns the folder of
/// `libclang.so`.
fn libclang(cache: &Cache) -> Result<PathBuf> {
    let root = cache.libclang();
    let dir = root
        .join(format!("libclang-{LIBCLANG_VERSION}.data"))
        .join("platlib/clang/native");
    if dir.join("libclang.so").is_file() {
        return Ok(dir);
    }
    let wheels = root.join("wheel");
    let mut download = Command::new("python3");
    download
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--dest",
        ])
        .arg(&wheels)
        .arg(format!("libclang=={LIBCLANG_VERSION}"));
    run::logged(
        &format!("downloading libclang {LIBCLANG_VERSION} from PyPI"),
        &mut download,
        &cache.logs().join("libclang-download.log"),
    )?;
    let wheel = std::fs::read_dir(&wheels)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .with_context(|| format!("pip left no wheel in `{}`", wheels.display()))?;
    let mut unzip = Command::new("python3");
    unzip.args(["-m", "zipfile", "-e"]).arg(&wheel).arg(&root);
    run::output(&mut unzip)?;
    if !dir.join("libclang.so").is_file() {
        bail!(
            "the wheel `{}` has no libclang.so at `{}`",
            wheel.display(),
            dir.display()
        );
    }
    Ok(dir)
}

/// The libclang version bindgen loads, checked against the kernel's minimum.
fn libclang_version(tc: &Toolchain) -> Result<String> {
    let probe = tc
        .source
        .join("scripts/rust_is_available_bindgen_libclang.h");
    let out = tc
        .command("bindgen")
        .arg(&probe)
        .output()
        .with_context(|| format!("cannot run bindgen from `{}`", tc.bindgen_bin.display()))?;
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    let version = text
        .split("clang version ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .with_context(|| format!("bindgen did not report a libclang version; it printed:\n{text}"))?
        .to_string();
    let major: u32 = version
        .split('.')
        .next()
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    if major < LIBCLANG_MIN_MAJOR {
        bail!(
            "libclang {version} at `{}` is too old: the kernel needs >= {LIBCLANG_MIN_MAJOR}",
            tc.libclang_dir.display()
        );
    }
    Ok(version)
}

/// Fetches Debian's kernel source package with the project's own apt
/// configuration (never the system's sources) and unpacks it; returns the
/// package version and the source tree.
fn kernel_source(cache: &Cache, refresh: bool) -> Result<(String, PathBuf)> {
    let current = cache.sources().join("current");
    if !refresh {
        if let Ok(version) = std::fs::read_to_string(&current) {
            let tree = source_tree(cache, version.trim());
            if tree.join(".klp-rs-unpacked").is_file() && tree.join(RELEASED_FILE).is_file() {
                return Ok((version.trim().to_string(), tree));
            }
        }
    }
    let apt = AptConfig::create(cache)?;
    run::logged(
        &format!("updating the package lists of {SOURCE_SUITE}"),
        apt.command("apt-get").arg("update"),
        &cache.logs().join("apt-source-update.log"),
    )?;
    let policy = run::output(apt.command("apt-cache").args(["policy", SOURCE_PACKAGE]))?;
    let version = policy
        .lines()
        .find_map(|l| l.trim().strip_prefix("Candidate:"))
        .map(str::trim)
        .filter(|v| *v != "(none)")
        .with_context(|| {
            format!("{SOURCE_SUITE} has no {SOURCE_PACKAGE}; apt-cache policy said:\n{policy}")
        })?
        .to_string();
    let tree = source_tree(cache, &version);
    if !tree.join(".klp-rs-unpacked").is_file() {
        let deb = download_source(cache, &apt, &version)?;
        unpack_source(cache, &deb, &tree)?;
    } else if !tree.join(RELEASED_FILE).is_file() {
        let deb = download_source(cache, &apt, &version)?;
        std::fs::write(tree.join(RELEASED_FILE), release_date(&deb)?)?;
    }
    std::fs::write(&current, &version)?;
    Ok((version, tree))
}

fn source_tree(cache: &Cache, version: &str) -> PathBuf {
    // Kbuild dislikes `~` and `+` in paths; the version only names the folder.
    let folder: String = version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    cache.sources().join(folder).join(SOURCE_PACKAGE)
}

/// Downloads the `.deb` (again, if the one there is corrupt).
fn download_source(cache: &Cache, apt: &AptConfig, version: &str) -> Result<PathBuf> {
    let debs = cache.apt().join("debs");
    std::fs::create_dir_all(&debs)?;
    let name = format!("{SOURCE_PACKAGE}_{}_all.deb", version.replace(':', "%3a"));
    let deb = debs.join(&name);
    if deb.is_file() && deb_is_valid(&deb) {
        return Ok(deb);
    }
    let _ = std::fs::remove_file(&deb);
    run::logged(
        &format!("downloading {SOURCE_PACKAGE} {version}"),
        apt.command("apt-get")
            .current_dir(&debs)
            .args(["download", &format!("{SOURCE_PACKAGE}={version}")]),
        &cache.logs().join("apt-source-download.log"),
    )?;
    if !deb_is_valid(&deb) {
        let _ = std::fs::remove_file(&deb);
        bail!(
            "downloaded `{}` is not a valid Debian package; run `cargo xtask setup` again",
            deb.display()
        );
    }
    Ok(deb)
}

fn deb_is_valid(deb: &Path) -> bool {
    Command::new("dpkg-deb")
        .arg("--info")
        .arg(deb)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Unpacks the package, then the tarball inside it, into `tree`; the marker
/// file is written last so that an interrupted unpack is redone.
fn unpack_source(cache: &Cache, deb: &Path, tree: &Path) -> Result<()> {
    let parent = tree.parent().context("source tree has no parent")?;
    let staging = parent.join("deb");
    let _ = std::fs::remove_dir_all(parent);
    std::fs::create_dir_all(parent)?;
    run::logged(
        "unpacking the source package",
        Command::new("dpkg-deb").arg("-x").arg(deb).arg(&staging),
        &cache.logs().join("unpack-deb.log"),
    )?;
    let tarball = staging.join(format!("usr/src/{SOURCE_PACKAGE}.tar.xz"));
    if !tarball.is_file() {
        bail!("`{}` has no {}", deb.display(), tarball.display());
    }
    run::logged(
        "unpacking the kernel source tarball",
        Command::new("tar")
            .arg("-xf")
            .arg(&tarball)
            .arg("-C")
            .arg(parent),
        &cache.logs().join("unpack-tar.log"),
    )?;
    std::fs::remove_dir_all(&staging)?;
    if !tree.join("Makefile").is_file() {
        bail!(
            "the tarball `{}` did not unpack to `{}`",
            tarball.display(),
            tree.display()
        );
    }
    std::fs::write(tree.join(RELEASED_FILE), release_date(deb)?)?;
    std::fs::write(tree.join(".klp-rs-unpacked"), deb.display().to_string())?;
    Ok(())
}

/// Where the unpacked tree keeps the package's date.
const RELEASED_FILE: &str = ".klp-rs-released";

/// The date of the package's latest changelog entry, `YYYY-MM-DD`.
fn release_date(deb: &Path) -> Result<String> {
    let changelog = format!("./usr/share/doc/{SOURCE_PACKAGE}/changelog.Debian.gz");
    let script = format!(
        "dpkg-deb --fsys-tarfile \"$0\" | tar -xO {changelog} | zcat | sed -n 's/^ -- .*>  //p' | head -n 1"
    );
    let stamp = run::output(Command::new("sh").arg("-c").arg(&script).arg(deb))?;
    let date = run::output(Command::new("date").args(["-u", "+%F", "-d", stamp.trim()]))
        .with_context(|| format!("`{}` has no dated changelog entry", deb.display()))?;
    Ok(date.trim().to_string())
}

/// apt, pointed at the project's own sources list, lists and cache.
pub(crate) struct AptConfig {
    options: Vec<String>,
}

impl AptConfig {
    pub(crate) fn create(cache: &Cache) -> Result<Self> {
        let dir = cache.apt();
        for sub in ["lists/partial", "cache/archives/partial"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        let list = dir.join("sources.list");
        let mirror = crate::apt_sources::machine_mirror()?.uri;
        std::fs::write(
            &list,
            format!(
                "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] {mirror} {SOURCE_SUITE} main\n"
            ),
        )?;
        let d = dir.display();
        Ok(Self {
            options: vec![
                format!("Dir::Etc::sourcelist={}", list.display()),
                "Dir::Etc::sourceparts=-".into(),
                format!("Dir::State::Lists={d}/lists"),
                format!("Dir::Cache={d}/cache"),
                "APT::Get::List-Cleanup=0".into(),
                // The cache belongs to the invoking user, who downloads.
                "APT::Sandbox::User=root".into(),
            ],
        })
    }

    pub(crate) fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        for o in &self.options {
            cmd.arg("-o").arg(o);
        }
        cmd
    }
}
