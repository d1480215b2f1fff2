//! `cargo xtask kernel --arch A`: `tinyconfig` plus the fragments of
//! `qemu/configs/`, checked after `olddefconfig`, built with GCC and the
//! pinned Rust toolchain into a cache directory keyed by everything that
//! shapes the build, so that a second call is a no-op.

use crate::{arch::Arch, cache::Cache, fix::Fix, kconfig, repo_root, run, setup};
use anyhow::{bail, Context, Result};
use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// Bump when the way kernels are configured or built changes.
const RECIPE: &str = "klp-rs kernel recipe 1";
/// Written into the build directory once a build has fully succeeded.
const STAMP: &str = "klp-rs-built";

/// `cargo xtask kernel`.
#[derive(clap::Args, Debug)]
pub struct KernelCmd {
    /// Guest architecture.
    #[arg(long, default_value = "x86_64")]
    arch: Arch,
    /// Build from the source with this fix of `kmod/fixes/` reverted
    /// (`sysctl_negate`): a kernel that still has the bug.
    #[arg(long, value_name = "FIX")]
    without: Option<String>,
}

impl KernelCmd {
    pub fn run(self, cache: &Cache) -> Result<()> {
        let tc = setup::ensure(cache, false)?;
        let fix = self.without.as_deref().map(Fix::load).transpose()?;
        let kernel = build_without(cache, &tc, self.arch, fix.as_ref())?;
        println!("{}", kernel.image.display());
        Ok(())
    }
}

/// A built kernel tree.
#[derive(Clone, Debug)]
pub struct Kernel {
    pub arch: Arch,
    /// The `O=` build directory (also what `make -C` takes for modules).
    pub dir: PathBuf,
    /// The boot image.
    pub image: PathBuf,
}

impl Kernel {
    /// Where this checkout's outputs built against the kernel go (modules,
    /// initramfs): one directory per checkout, so that clones sharing the
    /// cache (CI runs) never write into each other's.
    pub fn checkout_dir(&self) -> PathBuf {
        let checkout = crate::repo_root();
        self.dir.join(format!(
            "klp-rs-checkout-{:016x}",
            fnv1a(checkout.as_os_str().as_encoded_bytes())
        ))
    }

    /// The release the build gives itself (`uname -r` in the guest).
    pub fn release(&self) -> Result<String> {
        let path = self.dir.join("include/config/kernel.release");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        Ok(text.trim().to_string())
    }
}

/// The fragments for `arch`, in the order they apply.
fn fragments(arch: Arch) -> Result<Vec<(PathBuf, String)>> {
    let dir = repo_root().join("qemu/configs");
    ["common", arch.name()]
        .iter()
        .map(|name| {
            let path = dir.join(format!("{name}.config"));
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read config fragment `{}`", path.display()))?;
            Ok((path, text))
        })
        .collect()
}

/// FNV-1a, 64 bits: stable across Rust releases, unlike `DefaultHasher`.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Configures and builds the kernel for `arch`, unless the cache has it.
pub fn build(cache: &Cache, tc: &setup::Toolchain, arch: Arch) -> Result<Kernel> {
    build_without(cache, tc, arch, None)
}

/// The same, from the source with `fix` reverted (a kernel that still has
/// the bug a fix of `kmod/fixes/` removed); a build of its own.
pub fn build_without(
    cache: &Cache,
    tc: &setup::Toolchain,
    arch: Arch,
    fix: Option<&Fix>,
) -> Result<Kernel> {
    let fragments = fragments(arch)?;
    let mut key = format!("{RECIPE}\narch {arch}\n{}", tc.fingerprint);
    let source = match fix {
        None => tc.source.clone(),
        Some(fix) => {
            key.push_str(&format!("without {}\n{}", fix.name, fix.hunks_text()));
            fix.reverted_tree(cache, &tc.source)?
        }
    };
    // Names the build in messages and logs.
    let label = match fix {
        None => arch.to_string(),
        Some(fix) => format!("{arch}-without-{}", fix.name),
    };
    // The key holds what the fragments say, not where the checkout is, so
    // that every clone on this machine shares one build.
    for (path, text) in &fragments {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        key.push_str(&format!("fragment {name}\n{text}"));
    }
    let dir = cache
        .builds()
        .join(format!("{arch}-{:016x}", fnv1a(key.as_bytes())));
    let kernel = Kernel {
        arch,
        image: dir.join(arch.image()),
        dir: dir.clone(),
    };
    // One build per directory at a time: another command (or CI run) sharing
    // the cache may be building this very kernel; wait for it.
    std::fs::create_dir_all(cache.builds())?;
    let lock_path = dir.with_extension("lock");
    let lock = std::fs::File::create(&lock_path)
        .with_context(|| format!("cannot create `{}`", lock_path.display()))?;
    if lock.try_lock().is_err() {
        eprintln!("==> waiting for another build of {}", dir.display());
        lock.lock()
            .with_context(|| format!("cannot lock `{}`", lock_path.display()))?;
    }
    if dir.join(STAMP).is_file() && kernel.image.is_file() {
        eprintln!("==> kernel {label} is up to date: {}", dir.display());
        return Ok(kernel);
    }
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("klp-rs-key.txt"), &key)?;
    let logs = cache.logs();
    let overrides = bindgen_overrides(arch, &source)?;
    let make = |target: &[&str]| {
        let mut cmd = tc.command("make");
        cmd.arg("-C")
            .arg(&source)
            .arg(format!("O={}", dir.display()))
            .arg(format!("ARCH={}", arch.kernel_arch()))
            .args(arch.cross_compile().map(|p| format!("CROSS_COMPILE={p}")))
            .args(&overrides)
            .args(target);
        cmd
    };

    run::logged(
        &format!("configuring {label}: tinyconfig"),
        &mut make(&["tinyconfig"]),
        &logs.join(format!("kernel-{label}-tinyconfig.log")),
    )?;
    let config_path = dir.join(".config");
    let mut config = std::fs::read_to_string(&config_path)?;
    let mut wanted = kconfig::Options::new();
    for (_, text) in &fragments {
        config.push_str(text);
        wanted.extend(kconfig::parse(text));
    }
    std::fs::write(&config_path, config)?;
    run::logged(
        &format!("configuring {label}: fragments + olddefconfig"),
        &mut make(&["olddefconfig"]),
        &logs.join(format!("kernel-{label}-olddefconfig.log")),
    )?;
    let final_config = kconfig::parse(&std::fs::read_to_string(&config_path)?);
    let dropped = kconfig::dropped(&wanted, &final_config);
    if !dropped.is_empty() {
        let report = kconfig::explain(&dropped, &final_config, &source)?;
        bail!(
            "Kconfig dropped {} option(s) of the fragments in qemu/configs/ for {arch}:\n{report}  config: {}",
            dropped.len(),
            config_path.display()
        );
    }
    run::logged(
        "checking the kernel's Rust requirements (make rustavailable)",
        &mut make(&["rustavailable"]),
        &logs.join(format!("kernel-{label}-rustavailable.log")),
    )?;
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    run::logged(
        &format!("building the {label} kernel with {jobs} jobs (about 3 minutes on 2 cores)"),
        &mut make(&[&format!("-j{jobs}")]),
        &logs.join(format!("kernel-{label}-build.log")),
    )?;
    if !kernel.image.is_file() {
        bail!(
            "the build succeeded but left no image at `{}`",
            kernel.image.display()
        );
    }
    std::fs::write(dir.join(STAMP), &key)?;
    Ok(kernel)
}

/// `make` variables that let the kernel's own bindgen run on `arch`.
///
/// On ppc64le a GCC build passes `-mprofile-kernel`, which libclang rejects,
/// and `asm-compat.h` uses a GCC-only asm constraint unless
/// `CONFIG_CC_IS_CLANG` is defined (for bindgen only: no struct layout
/// depends on it). `rust/Makefile` has no knob for either, so its two
/// variables are overridden on the command line, the skip list being this
/// very tree's list plus the one flag (the tree itself stays unmodified).
fn bindgen_overrides(arch: Arch, source: &Path) -> Result<Vec<String>> {
    if arch != Arch::Ppc64le {
        return Ok(Vec::new());
    }
    let makefile = source.join("rust/Makefile");
    let text = std::fs::read_to_string(&makefile)
        .with_context(|| format!("cannot read `{}`", makefile.display()))?;
    let skip = make_variable(&text, "bindgen_skip_c_flags").with_context(|| {
        format!(
            "`{}` has no `bindgen_skip_c_flags :=`; this kernel tree is not supported on {arch}",
            makefile.display()
        )
    })?;
    Ok(vec![
        format!("bindgen_skip_c_flags={skip} -mprofile-kernel"),
        "bindgen_extra_c_flags=-w --target=$(BINDGEN_TARGET) -DCONFIG_CC_IS_CLANG".into(),
    ])
}

/// The value of `name :=` in a makefile, its continuation lines joined.
fn make_variable(text: &str, name: &str) -> Option<String> {
    let mut lines = text.lines();
    let first = lines.find_map(|l| l.strip_prefix(&format!("{name} :=")))?;
    let mut value = String::new();
    let mut line = first;
    loop {
        let (part, continued) = match line.strip_suffix('\\') {
            Some(part) => (part, true),
            None => (line, false),
        };
        value.push_str(part.trim());
        value.push(' ');
        if !continued {
            break;
        }
        line = lines.next()?;
    }
    Some(value.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// `make` in a built kernel tree (for external modules), with the toolchain.
pub fn make_in(kernel: &Kernel, tc: &setup::Toolchain) -> Command {
    let mut cmd = tc.command("make");
    cmd.arg("-C")
        .arg(&kernel.dir)
        .arg(format!("ARCH={}", kernel.arch.kernel_arch()))
        .args(
            kernel
                .arch
                .cross_compile()
                .map(|p| format!("CROSS_COMPILE={p}")),
        );
    cmd
}

#[cfg(test)]
mod tests {
    use super::{fnv1a, make_variable};

    #[test]
    fn reads_a_continued_make_variable() {
        let text = "x := 1\nflags := -a -b=% \\\n\t-c \\\n\t-d\n\nnext := 2\n";
        assert_eq!(
            make_variable(text, "flags").as_deref(),
            Some("-a -b=% -c -d")
        );
        assert_eq!(make_variable(text, "missing"), None);
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
