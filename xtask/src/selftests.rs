//! The kernel's own livepatch selftests (`tools/testing/selftests/livepatch`
//! of the kernel tree the guest boots), for the guest suites `selftests-c`
//! and `selftests`: the scripts run there unmodified, once against the C test
//! modules built from that tree (the reference) and once against their Rust
//! twins of `kmod/selftests/`.
//!
//! Each suite gets a copy of the selftests directory in the initramfs,
//! `/selftests/c/` and `/selftests/rust/`: the scripts of the Makefile's
//! `TEST_PROGS` (the list and order the kselftest runner uses; other files of
//! the directory are no tests), `functions.sh` and `settings`, the programs of
//! `TEST_GEN_FILES` compiled for the guest, `test_modules/*.ko`, and
//! `klp-rs-tests`, which lists each script followed by the test modules it
//! needs that this copy lacks (`qemu/guest/scenarios/kselftest.sh` fails such
//! a script naming them instead of running it).
//!
//! The scripts log `insmod`'s error and compare the kernel log exactly, so
//! the guest's `/bin/insmod` is `qemu/guest/insmod.c`, built here: busybox's
//! retries a failed load, which runs a failing module's init twice.

use crate::{cache::Cache, initramfs, kernel, modules, repo_root, run, setup};
use anyhow::{bail, Context, Result};
use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::Command,
};

/// The selftests inside a kernel source tree.
pub const SOURCE_DIR: &str = "tools/testing/selftests/livepatch";
/// Where the Rust twins are built, below the module output directory.
const RUST_TWINS: &str = "kmod/selftests";
/// The file listing a copy's scripts and the modules each one lacks.
const PLAN: &str = "klp-rs-tests";

/// What the selftests directory of a kernel tree holds.
#[derive(Debug)]
struct Selftests {
    dir: PathBuf,
    /// `TEST_PROGS`, in order.
    scripts: Vec<String>,
    /// `TEST_PROGS_EXTENDED` and `TEST_FILES`: what the scripts source or read.
    support: Vec<String>,
    /// `TEST_GEN_FILES`: programs built from `<name>.c`.
    programs: Vec<String>,
    /// `obj-m` of `test_modules/Makefile`, without `.o`.
    modules: BTreeSet<String>,
}

impl Selftests {
    fn read(source: &Path) -> Result<Self> {
        let dir = source.join(SOURCE_DIR);
        let read = |path: &Path| {
            std::fs::read_to_string(path).with_context(|| {
                format!(
                    "cannot read `{}`; the kernel source tree lacks its livepatch selftests",
                    path.display()
                )
            })
        };
        let makefile = read(&dir.join("Makefile"))?;
        let mods_makefile = read(&dir.join("test_modules/Makefile"))?;
        let selftests = Self {
            scripts: make_list(&makefile, "TEST_PROGS"),
            support: ["TEST_PROGS_EXTENDED", "TEST_FILES"]
                .iter()
                .flat_map(|var| make_list(&makefile, var))
                .collect(),
            programs: make_list(&makefile, "TEST_GEN_FILES"),
            modules: make_list(&mods_makefile, "obj-m")
                .iter()
                .filter_map(|o| o.strip_suffix(".o"))
                .map(str::to_string)
                .collect(),
            dir,
        };
        if selftests.scripts.is_empty() || selftests.modules.is_empty() {
            bail!(
                "found no TEST_PROGS in `{}/Makefile` or no obj-m in `{0}/test_modules/Makefile`; \
                 has the layout of the kernel's selftests changed?",
                selftests.dir.display()
            );
        }
        Ok(selftests)
    }
}

/// The words a Makefile assigns to `var` (`=`, `:=`, `?=`, `+=`), with
/// backslash-continued lines joined; references to other variables are kept
/// as they are.
pub fn make_list(makefile: &str, var: &str) -> Vec<String> {
    let joined = makefile.replace("\\\n", " ");
    let mut words = Vec::new();
    for line in joined.lines() {
        let Some(rest) = line.trim_start().strip_prefix(var) else {
            continue;
        };
        let rest = rest.trim_start();
        let (append, value) = if let Some(v) = rest.strip_prefix("+=") {
            (true, v)
        } else if let Some(v) = [":=", "?=", "="]
            .iter()
            .find_map(|op| rest.strip_prefix(op))
        {
            (false, v)
        } else {
            continue;
        };
        if !append {
            words.clear();
        }
        let value = value.split('#').next().unwrap_or_default();
        words.extend(value.split_whitespace().map(str::to_string));
    }
    words
}

/// The modules of `known` that a script names (as a whole word: the scripts
/// also name functions such as `test_klp_mod_target_exit`).
pub fn modules_named(script: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    script
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| known.contains(*word))
        .map(str::to_string)
        .collect()
}

/// The text of `klp-rs-tests`: each script on a line, followed by the modules
/// it needs that `present` lacks.
pub fn plan(scripts: &[(String, BTreeSet<String>)], present: &BTreeSet<String>) -> String {
    let mut text = String::new();
    for (script, needed) in scripts {
        text.push_str(script);
        for missing in needed.difference(present) {
            text.push(' ');
            text.push_str(missing);
        }
        text.push('\n');
    }
    text
}

/// Builds what the selftests suites need and returns their files for the
/// initramfs, `/bin/insmod` among them; `kos` are the modules of `kmod/` (the
/// Rust twins among them).
pub fn files(
    cache: &Cache,
    tc: &setup::Toolchain,
    kernel: &kernel::Kernel,
    kos: &[PathBuf],
) -> Result<Vec<initramfs::File>> {
    let selftests = Selftests::read(&tc.source)?;
    let c_modules = build_c_modules(cache, tc, kernel, &selftests)?;
    let rust_twins: Vec<PathBuf> = kos
        .iter()
        .filter(|ko| ko.parent().is_some_and(|d| d.ends_with(RUST_TWINS)))
        .cloned()
        .collect();
    let mut programs = Vec::new();
    for name in &selftests.programs {
        let source = selftests.dir.join(format!("{name}.c"));
        programs.push((name, build_program(cache, kernel, &source, name)?));
    }
    let mut scripts = Vec::new();
    for name in &selftests.scripts {
        let data = read(&selftests.dir.join(name))?;
        let needed = modules_named(&String::from_utf8_lossy(&data), &selftests.modules);
        scripts.push((name.clone(), needed, data));
    }
    let needs: Vec<(String, BTreeSet<String>)> = scripts
        .iter()
        .map(|(name, needed, _)| (name.clone(), needed.clone()))
        .collect();

    let insmod = build_program(
        cache,
        kernel,
        &repo_root().join("qemu/guest/insmod.c"),
        "insmod",
    )?;
    let mut files = vec![initramfs::File {
        path: "bin/insmod".into(),
        executable: true,
        data: read(&insmod)?,
    }];
    for (copy, kos) in [("c", &c_modules), ("rust", &rust_twins)] {
        let root = format!("selftests/{copy}");
        let mut add = |name: &str, executable: bool, data: Vec<u8>| {
            files.push(initramfs::File {
                path: format!("{root}/{name}"),
                executable,
                data,
            });
        };
        for (name, _, data) in &scripts {
            add(name, true, data.clone());
        }
        for name in &selftests.support {
            add(name, false, read(&selftests.dir.join(name))?);
        }
        for (name, path) in &programs {
            add(name, true, read(path)?);
        }
        let mut present = BTreeSet::new();
        for ko in kos {
            let stem = ko
                .file_stem()
                .with_context(|| format!("module `{}` has no name", ko.display()))?;
            present.insert(stem.to_string_lossy().into_owned());
            add(
                &format!("test_modules/{}.ko", stem.to_string_lossy()),
                false,
                read(ko)?,
            );
        }
        add(PLAN, false, plan(&needs, &present).into_bytes());
    }
    Ok(files)
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))
}

/// Builds the C test modules of the kernel tree against `kernel`.
fn build_c_modules(
    cache: &Cache,
    tc: &setup::Toolchain,
    kernel: &kernel::Kernel,
    selftests: &Selftests,
) -> Result<Vec<PathBuf>> {
    modules::build_kernel_c_modules(
        cache,
        tc,
        kernel,
        &selftests.dir.join("test_modules"),
        &[],
        "the kernel's C livepatch test modules",
        "selftests-c",
    )
}

/// Compiles `source` into the static program `name` for the guest (unless
/// the program is newer than its source).
fn build_program(
    cache: &Cache,
    kernel: &kernel::Kernel,
    source: &Path,
    name: &str,
) -> Result<PathBuf> {
    let out_dir = kernel.dir.join("klp-rs-selftests");
    let program = out_dir.join(name);
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let up_to_date = matches!(
        (modified(&program), modified(source)),
        (Some(built), Some(src)) if built >= src
    );
    if !up_to_date {
        std::fs::create_dir_all(&out_dir)?;
        let cc = kernel.arch.user_cc();
        let mut cmd = Command::new(cc);
        cmd.args(["-static", "-O2", "-Wall", "-o"])
            .arg(&program)
            .arg(source);
        run::logged(
            &format!("compiling {name} for the {} guest with {cc}", kernel.arch),
            &mut cmd,
            &cache
                .logs()
                .join(format!("selftests-{name}-{}.log", kernel.arch)),
        )?;
    }
    initramfs::read_static(&program, "libc6-dev (static libc for the guest's arch)")?;
    Ok(program)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(words: &[&str]) -> BTreeSet<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    const MAKEFILE: &str = "# SPDX-License-Identifier: GPL-2.0\n\n\
        TEST_GEN_FILES := test_klp-call_getpid\n\
        TEST_PROGS_EXTENDED := functions.sh\n\
        TEST_PROGS := \\\n\ttest-livepatch.sh \\\n\ttest-callbacks.sh\n\
        TEST_PROGS += test-kprobe.sh # added later\n\
        TEST_FILES := settings\n\ninclude ../lib.mk\n";

    #[test]
    fn make_lists_join_continuations_and_appends() {
        assert_eq!(
            make_list(MAKEFILE, "TEST_PROGS"),
            ["test-livepatch.sh", "test-callbacks.sh", "test-kprobe.sh"]
        );
        assert_eq!(make_list(MAKEFILE, "TEST_PROGS_EXTENDED"), ["functions.sh"]);
        assert_eq!(
            make_list(MAKEFILE, "TEST_GEN_FILES"),
            ["test_klp-call_getpid"]
        );
        assert!(make_list(MAKEFILE, "TEST_GEN_MODS_DIR").is_empty());
    }

    #[test]
    fn make_list_reads_obj_m_and_a_reassignment_resets_it() {
        let kbuild = "obj-m += a.o \\\n\tb.o\nKDIR ?= /lib/modules\nobj-m += c.o\n";
        assert_eq!(make_list(kbuild, "obj-m"), ["a.o", "b.o", "c.o"]);
        assert_eq!(make_list("X := a\nX = b c\n", "X"), ["b", "c"]);
    }

    #[test]
    fn scripts_name_modules_as_whole_words_only() {
        let known = set(&[
            "test_klp_mod_target",
            "test_klp_livepatch",
            "test_klp_state2",
        ]);
        let script = "MOD_TARGET=test_klp_mod_target\n\
            $MOD_TARGET: test_klp_mod_target_exit\n\
            ./test_klp-call_getpid &\n\
            % insmod test_modules/test_klp_livepatch.ko\n";
        assert_eq!(
            modules_named(script, &known),
            set(&["test_klp_livepatch", "test_klp_mod_target"])
        );
    }

    #[test]
    fn plan_lists_the_missing_modules_of_each_script() {
        let scripts = vec![
            ("test-a.sh".to_string(), set(&["m1", "m2"])),
            ("test-b.sh".to_string(), set(&["m2"])),
            ("test-c.sh".to_string(), set(&[])),
        ];
        assert_eq!(
            plan(&scripts, &set(&["m2"])),
            "test-a.sh m1\ntest-b.sh\ntest-c.sh\n"
        );
        assert_eq!(
            plan(&scripts, &set(&[])),
            "test-a.sh m1 m2\ntest-b.sh m2\ntest-c.sh\n"
        );
    }
}
