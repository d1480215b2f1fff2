//! `cargo xtask kernel --arch A`: `tinyconfig` plus the fragments of
//! `qemu/configs/`, checked after `olddefconfig`, built with GCC and the
//! pinned Rust toolchain into a cache directory keyed by everything that
//! shapes the build, so that a second call is a no-op.

use crate::{arch::Arch, cache::Cache, kconfig, repo_root, run, setup};
use anyhow::{bail, Context, Result};
use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// Bump when the way kernels are configured or built changes.
const RECIPE: &str = "klp-rs kernel recipe 1";
/// Written into the build directory once a build has fully succeeded.
const STAMP: &str = "klp-rs-built";

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
        self.dir
            .join(format!("klp-rs-checkout-{}", crate::checkout_key()))
    }

    /// A kernel someone built (an `O=` directory or a tree built in
    /// place): its arch from its `.config`, which must enable what a Rust
    /// live patch needs.
    pub fn of_tree(dir: &Path) -> Result<Self> {
        let config = std::fs::read_to_string(dir.join(".config")).with_context(|| {
            format!(
                "`{}` has no `.config`: name a configured and built kernel tree",
                dir.display()
            )
        })?;
        let has = |o: &str| config.lines().any(|l| l == format!("{o}=y"));
        for (option, why) in [
            ("CONFIG_LIVEPATCH", "live patches"),
            ("CONFIG_RUST", "Rust modules"),
        ] {
            if !has(option) {
                bail!(
                    "the kernel in `{}` is built without `{option}=y`, which {why} need: \
                     enable it and rebuild the kernel",
                    dir.display()
                );
            }
        }
        let arch = if has("CONFIG_X86_64") {
            Arch::X86_64
        } else if has("CONFIG_ARM64") {
            Arch::Aarch64
        } else if has("CONFIG_PPC64") && has("CONFIG_CPU_LITTLE_ENDIAN") {
            Arch::Ppc64le
        } else if has("CONFIG_S390") {
            Arch::S390x
        } else {
            bail!(
                "the kernel in `{}` is of no arch klp-rs supports (x86_64, aarch64, ppc64le, s390x)",
                dir.display()
            );
        };
        let dir = std::fs::canonicalize(dir)?;
        Ok(Self {
            arch,
            image: dir.join(arch.image()),
            dir,
        })
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
    let fragments = fragments(arch)?;
    let mut key = format!("{RECIPE}\narch {arch}\n{}", tc.fingerprint);
    // The key holds what the fragments say, not where the checkout is, so
    // that every clone on this machine shares one build.
    for (path, text) in &fragments {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        key.push_str(&format!("fragment {name}\n{text}"));
    }
    let label = arch.to_string();
    let (kernel, _lock) = match claim(cache, arch, &key, &label)? {
        Claim::Built(kernel) => return Ok(kernel),
        Claim::ToBuild(kernel, lock) => (kernel, lock),
    };
    let dir = kernel.dir.clone();
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("klp-rs-key.txt"), &key)?;
    let logs = cache.logs();
    let make = |target: &[&str]| make_tree(tc, arch, &tc.source, &dir, target);
    run::logged(
        &format!("configuring {label}: tinyconfig"),
        &mut make(&["tinyconfig"])?,
        &logs.join(format!("kernel-{label}-tinyconfig.log")),
    )?;
    let text: String = fragments.iter().map(|(_, text)| text.as_str()).collect();
    configure(
        cache,
        &kernel,
        &tc.source,
        (&label, &text),
        &mut make(&["olddefconfig"])?,
    )?;
    run::logged(
        "checking the kernel's Rust requirements (make rustavailable)",
        &mut make(&["rustavailable"])?,
        &logs.join(format!("kernel-{label}-rustavailable.log")),
    )?;
    make_all(
        cache,
        (&kernel, &key),
        &label,
        "10 to 20 minutes on 2 cores",
        &mut make(&[])?,
    )?;
    Ok(kernel)
}

/// The build keyed by `key` in the cache, built already, or to build while
/// its lock is held.
enum Claim {
    Built(Kernel),
    ToBuild(Kernel, std::fs::File),
}

/// The cache directory of the build keyed by `key` (named `label` in
/// messages), waiting for any other build of it to end.
fn claim(cache: &Cache, arch: Arch, key: &str, label: &str) -> Result<Claim> {
    let dir = cache
        .builds()
        .join(format!("{arch}-{:016x}", fnv1a(key.as_bytes())));
    let kernel = Kernel {
        arch,
        image: dir.join(arch.image()),
        dir,
    };
    let lock = lock(cache, &kernel.dir)?;
    if kernel.dir.join(STAMP).is_file() && kernel.image.is_file() {
        eprintln!("==> kernel {label} is up to date: {}", kernel.dir.display());
        return Ok(Claim::Built(kernel));
    }
    Ok(Claim::ToBuild(kernel, lock))
}

/// Holds the lock of the build directory `dir`: one build per directory at
/// a time. Another command (or CI run) sharing the cache may be building
/// this very kernel; wait for it.
fn lock(cache: &Cache, dir: &Path) -> Result<std::fs::File> {
    std::fs::create_dir_all(cache.builds())?;
    let lock_path = dir.with_extension("lock");
    let lock = std::fs::File::create(&lock_path)
        .with_context(|| format!("cannot create `{}`", lock_path.display()))?;
    if lock.try_lock().is_err() {
        eprintln!("==> waiting for another build of {}", dir.display());
        lock.lock()
            .with_context(|| format!("cannot lock `{}`", lock_path.display()))?;
    }
    Ok(lock)
}

/// `make` of the kernel `source` into `dir` for `arch`, with the toolchain.
fn make_tree(
    tc: &setup::Toolchain,
    arch: Arch,
    source: &Path,
    dir: &Path,
    target: &[&str],
) -> Result<Command> {
    let mut cmd = tc.command("make");
    cmd.arg("-C")
        .arg(source)
        .arg(format!("O={}", dir.display()))
        .arg(format!("ARCH={}", arch.kernel_arch()))
        .args(arch.cross_compile().map(|p| format!("CROSS_COMPILE={p}")))
        .args(bindgen_overrides(arch, source)?)
        .args(target);
    Ok(cmd)
}

/// Appends `fragment` to the kernel's `.config`, runs `olddefconfig`, and
/// fails naming every option of the fragment Kconfig dropped and the
/// dependency it lacks.
fn configure(
    cache: &Cache,
    kernel: &Kernel,
    source: &Path,
    (label, fragment): (&str, &str),
    olddefconfig: &mut Command,
) -> Result<()> {
    let config_path = kernel.dir.join(".config");
    let mut config = std::fs::read_to_string(&config_path)?;
    config.push_str(fragment);
    std::fs::write(&config_path, config)?;
    run::logged(
        &format!("configuring {label}: fragments + olddefconfig"),
        olddefconfig,
        &cache
            .logs()
            .join(format!("kernel-{label}-olddefconfig.log")),
    )?;
    let wanted = kconfig::parse(fragment);
    let final_config = kconfig::parse(&std::fs::read_to_string(&config_path)?);
    let dropped = kconfig::dropped(&wanted, &final_config);
    if !dropped.is_empty() {
        let report = kconfig::explain(&dropped, &final_config, source)?;
        bail!(
            "Kconfig dropped {} option(s) of the fragments in qemu/configs/ for {label}:\n{report}  config: {}",
            dropped.len(),
            config_path.display()
        );
    }
    Ok(())
}

/// `make -jN` (everything), checks the image is there, and marks the build
/// done with its `key`.
fn make_all(
    cache: &Cache,
    (kernel, key): (&Kernel, &str),
    label: &str,
    how_long: &str,
    make: &mut Command,
) -> Result<()> {
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    run::logged(
        &format!("building the {label} kernel with {jobs} jobs ({how_long})"),
        make.arg(format!("-j{jobs}")),
        &cache.logs().join(format!("kernel-{label}-build.log")),
    )?;
    if !kernel.image.is_file() {
        bail!(
            "the build succeeded but left no image at `{}`",
            kernel.image.display()
        );
    }
    std::fs::write(kernel.dir.join(STAMP), key)?;
    Ok(())
}

/// A kernel that differs from the cached build of its arch by a few units
/// or a config option: built from a copy of that build, not from scratch.
#[derive(Clone, Debug)]
pub struct Variant {
    /// Names the build in messages and logs (`without-sysctl_negate`).
    pub label: String,
    /// What the variant depends on beyond its base (part of the cache key).
    pub key: String,
    pub change: Change,
}

/// What a [`Variant`] changes.
#[derive(Clone, Debug)]
pub enum Change {
    /// Options added to `.config` (`CONFIG_X=y` lines; each must survive
    /// `olddefconfig`); Kbuild recompiles what depends on them.
    Config(String),
    /// C units (paths relative to the tree) compiled from `tree`, a copy of
    /// the source where they differ, with the base's own command lines.
    Units { tree: PathBuf, files: Vec<String> },
}

/// The guest kernel of `arch` plus the config fragment `fragment` (a path
/// in the repository), derived as `label` (see [`derive`]).
pub fn derive_with_fragment(
    cache: &Cache,
    tc: &setup::Toolchain,
    arch: Arch,
    label: &str,
    fragment: &str,
) -> Result<Kernel> {
    let base = build(cache, tc, arch)?;
    let path = crate::repo_root().join(fragment);
    let options = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let variant = Variant {
        label: label.into(),
        key: options.clone(),
        change: Change::Config(options),
    };
    derive(cache, tc, &base, &variant)
}

/// The kernel `base` changed by `variant`, cached like any build: its build
/// directory copied, the change applied, and Kbuild run again to recompile
/// what depends on it and relink.
pub fn derive(
    cache: &Cache,
    tc: &setup::Toolchain,
    base: &Kernel,
    variant: &Variant,
) -> Result<Kernel> {
    let base_name = base
        .dir
        .file_name()
        .context("a kernel build directory has a name")?
        .to_string_lossy();
    let key = format!(
        "{RECIPE}\nbase {base_name}\nvariant {}\n{}",
        variant.label, variant.key
    );
    let arch = base.arch;
    let label = format!("{arch}-{}", variant.label);
    let (kernel, _lock) = match claim(cache, arch, &key, &label)? {
        Claim::Built(kernel) => return Ok(kernel),
        Claim::ToBuild(kernel, lock) => (kernel, lock),
    };
    let dir = kernel.dir.clone();
    copy_build(base, &dir)?;
    std::fs::write(dir.join("klp-rs-key.txt"), &key)?;
    let make = |target: &[&str]| make_tree(tc, arch, &tc.source, &dir, target);
    match &variant.change {
        Change::Config(fragment) => {
            configure(
                cache,
                &kernel,
                &tc.source,
                (&label, fragment),
                &mut make(&["olddefconfig"])?,
            )?;
        }
        Change::Units { tree, files } => {
            for file in files {
                recompile(base, &kernel, &tc.source, tree, file)?;
            }
        }
    }
    make_all(
        cache,
        (&kernel, &key),
        &label,
        "what the change touches, and a relink",
        &mut make(&[])?,
    )?;
    Ok(kernel)
}

/// Copies the build directory of `base` to `dir` (timestamps kept, so that
/// Kbuild sees nothing out of date), without the outputs of checkouts.
fn copy_build(base: &Kernel, dir: &Path) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("cannot remove the partial build `{}`", dir.display()))?;
    }
    eprintln!(
        "==> copying the build `{}` to `{}`",
        base.dir.display(),
        dir.display()
    );
    run::output(
        Command::new("cp")
            .args(["-a", "--reflink=auto"])
            .arg(&base.dir)
            .arg(dir),
    )
    .with_context(|| format!("copying `{}`", base.dir.display()))?;
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        if name.starts_with("klp-rs-checkout-") {
            std::fs::remove_dir_all(&path)?;
        } else if name == STAMP {
            std::fs::remove_file(&path)?;
        }
    }
    rebase_commands(&base.dir, dir)
}

/// Rewrites the build directory's own path from `old` to `new` in the
/// saved commands and dependency lists under `new` (`.cmd` and `.d` files:
/// the Rust crates and objtool are built with absolute output paths), so
/// that Kbuild finds every command unchanged and rebuilds nothing that the
/// change does not touch; each file keeps its time stamp.
fn rebase_commands(old: &Path, new: &Path) -> Result<()> {
    let (from, to) = (old.display().to_string(), new.display().to_string());
    let mut dirs = vec![new.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                dirs.push(path);
                continue;
            }
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if !kind.is_file() || !(name.ends_with(".cmd") || name.ends_with(".d")) {
                continue;
            }
            let text = std::fs::read(&path)?;
            let Ok(text) = String::from_utf8(text) else {
                continue;
            };
            if text.contains(&from) {
                let modified = entry.metadata()?.modified()?;
                std::fs::write(&path, text.replace(&from, &to))?;
                std::fs::File::options()
                    .write(true)
                    .open(&path)?
                    .set_modified(modified)
                    .with_context(|| format!("cannot restore the time of `{}`", path.display()))?;
            }
        }
    }
    Ok(())
}

/// Compiles `file` (`kernel/sysctl.c`) of `tree` into the object of
/// `kernel` with the base build's own command (from its `.cmd` file, which
/// stays as it is: Kbuild then sees an object newer than its source and
/// relinks it). `__FILE__` and the DWARF name the file as the base does.
fn recompile(base: &Kernel, kernel: &Kernel, source: &Path, tree: &Path, file: &str) -> Result<()> {
    let Some(stem) = file.strip_suffix(".c") else {
        bail!(
            "`{file}` is not a C file: a kernel derived by recompiling units can only change \
             `.c` files (a changed header changes every unit that includes it)"
        );
    };
    let (unit_dir, name) = stem.rsplit_once('/').unwrap_or((".", stem));
    let cmd_file = kernel.dir.join(format!("{unit_dir}/.{name}.o.cmd"));
    let saved = std::fs::read_to_string(&cmd_file).with_context(|| {
        format!(
            "cannot read `{}`: `{file}` is not built into this kernel",
            cmd_file.display()
        )
    })?;
    let command = compile_from(&saved, file, source, tree)
        .with_context(|| format!("reading `{}`", cmd_file.display()))?;
    run::output(
        Command::new("sh")
            .current_dir(&kernel.dir)
            .arg("-c")
            .arg(&command),
    )
    .with_context(|| {
        format!(
            "compiling `{}/{file}` into `{}`",
            tree.display(),
            kernel.dir.display()
        )
    })?;
    // The dependency file Kbuild would have folded into the `.cmd` file.
    let depfile = kernel.dir.join(format!("{unit_dir}/.{name}.o.d"));
    if depfile.exists() {
        std::fs::remove_file(&depfile)?;
    }
    let object = format!("{stem}.o");
    if std::fs::read(base.dir.join(&object))? == std::fs::read(kernel.dir.join(&object))? {
        bail!(
            "`{file}` of `{}` compiles to the same `{object}` as the source's: the change \
             does nothing to this kernel",
            tree.display()
        );
    }
    Ok(())
}

/// The compile command of `file` in `saved` (its `.cmd` file's text),
/// reading the file from `tree` instead of `source`, with `__FILE__` and
/// the DWARF naming it as a build from `source` does.
fn compile_from(saved: &str, file: &str, source: &Path, tree: &Path) -> Result<String> {
    let stem = file.strip_suffix(".c").unwrap_or(file);
    let prefix = format!("savedcmd_{stem}.o := ");
    let command = saved
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .context("no compile command")?;
    let original = format!(" {}/{file}", source.display());
    if !command.contains(&original) {
        bail!("the compile command does not name `{}`", original.trim());
    }
    // The compiler comes first; what follows a `;` post-processes its
    // object (ppc64le runs `objtool --mcount` on it) and keeps its options.
    let (compiler, after) = command.split_at(command.find(';').unwrap_or(command.len()));
    let (tree, source) = (tree.display(), source.display());
    Ok(format!(
        "{} -fmacro-prefix-map={tree}/= -fdebug-prefix-map={tree}={source}{after}",
        compiler
            .trim_end()
            .replace(&original, &format!(" {tree}/{file}"))
    ))
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

/// The command Kbuild saved for `object` (`kmod/samples/livepatch_sample.o`,
/// relative to the build directory `dir`, its `M=`/`MO=` output for external
/// modules) in the object's `.cmd` file (`savedcmd_<object> := ...`).
pub fn saved_command(dir: &Path, object: &str) -> Result<String> {
    let (obj_dir, name) = object.rsplit_once('/').unwrap_or((".", object));
    let cmd_file = dir.join(format!("{obj_dir}/.{name}.cmd"));
    let saved = std::fs::read_to_string(&cmd_file)
        .with_context(|| format!("cannot read `{}`", cmd_file.display()))?;
    let prefix = format!("savedcmd_{object} := ");
    saved
        .lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(str::to_string)
        .with_context(|| format!("`{}` holds no command for `{object}`", cmd_file.display()))
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
    use super::{compile_from, fnv1a, make_variable, rebase_commands};
    use std::path::Path;

    #[test]
    fn a_copied_build_names_itself_in_its_commands_and_keeps_their_times() {
        let root = std::env::temp_dir().join(format!("klp-rs-rebase-{}", std::process::id()));
        let (old, new) = (root.join("old"), root.join("new"));
        std::fs::create_dir_all(new.join("rust")).unwrap();
        let cmd = new.join("rust/.core.o.cmd");
        let text = format!(
            "savedcmd_rust/core.o := rustc --out-dir {}/rust\n",
            old.display()
        );
        std::fs::write(&cmd, &text).unwrap();
        let time = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1 << 30);
        std::fs::File::options()
            .write(true)
            .open(&cmd)
            .unwrap()
            .set_modified(time)
            .unwrap();
        let other = new.join("rust/core.o");
        std::fs::write(&other, old.display().to_string()).unwrap();
        rebase_commands(&old, &new).unwrap();
        assert_eq!(
            std::fs::read_to_string(&cmd).unwrap(),
            text.replace(&old.display().to_string(), &new.display().to_string())
        );
        assert_eq!(std::fs::metadata(&cmd).unwrap().modified().unwrap(), time);
        assert_eq!(
            std::fs::read_to_string(&other).unwrap(),
            old.display().to_string(),
            "only commands and dependency lists are rewritten"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_unit_compiles_from_the_other_tree_named_as_the_source() {
        let saved = "savedcmd_kernel/sysctl.o := gcc -I/src/include \
                     -fmacro-prefix-map=/src/= -c -o kernel/sysctl.o /src/kernel/sysctl.c  ; \
                     ./tools/objtool/objtool --mcount kernel/sysctl.o\n\n\
                     source_kernel/sysctl.o := /src/kernel/sysctl.c\n";
        let (src, tree) = (Path::new("/src"), Path::new("/tree"));
        assert_eq!(
            compile_from(saved, "kernel/sysctl.c", src, tree).unwrap(),
            "gcc -I/src/include -fmacro-prefix-map=/src/= -c -o kernel/sysctl.o \
             /tree/kernel/sysctl.c -fmacro-prefix-map=/tree/= -fdebug-prefix-map=/tree=/src; \
             ./tools/objtool/objtool --mcount kernel/sysctl.o"
        );
        let err = compile_from(saved, "kernel/fork.c", src, tree).unwrap_err();
        assert_eq!(err.to_string(), "no compile command");
        let other = saved.replace("/src/kernel/sysctl.c", "/elsewhere/sysctl.c");
        let err = compile_from(&other, "kernel/sysctl.c", src, tree).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the compile command does not name `/src/kernel/sysctl.c`"
        );
    }

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
