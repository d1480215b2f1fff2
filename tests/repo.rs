//! Checks of the repository as a whole, in the manner of rust-analyzer's
//! `tidy.rs`: the rules that keep kmod/, the guest scenarios, README.md and
//! CI consistent with each other.

use std::{
    fs,
    path::{Path, PathBuf},
};
use xtask::{kconfig, repo_root};

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .filter(|p| {
            p.file_name()
                .is_none_or(|n| n != "klp_bindings_generated.rs")
        })
        .collect();
    files.sort();
    files
}

/// Directories of patch modules (every `kmod/` subdirectory but the crate).
fn patch_dirs() -> Vec<PathBuf> {
    let kbuild = read(&repo_root().join("kmod/Kbuild"));
    kbuild
        .lines()
        .filter_map(|l| l.strip_prefix("obj-m += "))
        .map(|d| repo_root().join("kmod").join(d.trim_end_matches('/')))
        .collect()
}

#[test]
fn every_patch_module_is_built_and_every_built_module_exists() {
    let dirs = patch_dirs();
    assert!(
        dirs.iter().any(|d| d.ends_with("samples")),
        "kmod/Kbuild must build samples/"
    );
    for dir in dirs {
        let kbuild = read(&dir.join("Kbuild"));
        let listed: Vec<String> = kbuild
            .lines()
            .filter_map(|l| l.strip_prefix("obj-m += "))
            .map(|o| o.trim_end_matches(".o").to_string())
            .collect();
        let sources: Vec<String> = rust_files(&dir)
            .iter()
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            listed,
            sources,
            "{}/Kbuild must list exactly its .rs modules",
            dir.display()
        );
        assert!(
            kbuild.contains("include $(src)/../livepatch/livepatch.mk"),
            "{}/Kbuild must include livepatch.mk after its obj-m lines",
            dir.display()
        );
    }
}

#[test]
fn patch_modules_include_the_crate_and_write_no_unsafe() {
    for dir in patch_dirs() {
        for file in rust_files(&dir) {
            let text = read(&file);
            assert!(
                text.contains("#[path = \"../livepatch/mod.rs\"]\npub mod livepatch;\n"),
                "{} must include the livepatch crate as documented in kmod/livepatch/mod.rs",
                file.display()
            );
            assert!(
                !text.contains("unsafe"),
                "{}: patch modules must not use `unsafe`",
                file.display()
            );
        }
    }
}

#[test]
fn kmod_sources_have_spdx_and_safety_comments() {
    let mut files = rust_files(&repo_root().join("kmod/livepatch"));
    for dir in patch_dirs() {
        files.extend(rust_files(&dir));
    }
    for file in files {
        let text = read(&file);
        assert!(
            text.starts_with("// SPDX-License-Identifier: GPL-2.0\n"),
            "{}: the SPDX line comes first",
            file.display()
        );
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let opens_block = code.contains("unsafe {") || code.trim_end().ends_with("unsafe");
            let is_impl = code.contains("unsafe impl");
            if !(opens_block || is_impl) || code.contains("unsafe fn") {
                continue;
            }
            // The comment may sit above a statement spanning several lines.
            let has_safety = lines[..i]
                .iter()
                .rev()
                .take(8)
                .take_while(|l| !l.trim().is_empty() && !l.trim_end().ends_with('}'))
                .any(|l| l.trim_start().starts_with("// SAFETY:"));
            assert!(
                has_safety,
                "{}:{}: `unsafe` without a `// SAFETY:` comment",
                file.display(),
                i + 1
            );
        }
    }
}

#[test]
fn fragments_keep_what_every_guest_needs() {
    let common = kconfig::parse(&read(&repo_root().join("qemu/configs/common.config")));
    for sym in [
        "PRINTK",
        "TTY",
        "BLK_DEV_INITRD",
        "DEVTMPFS",
        "PROC_FS",
        "SYSFS",
        "MODULES",
        "MODULE_UNLOAD",
        "KALLSYMS_ALL",
        "FTRACE",
        "FUNCTION_TRACER",
        "DYNAMIC_FTRACE",
        "LIVEPATCH",
        "RUST",
        "DEBUG_FS",
        "DYNAMIC_DEBUG",
        "STACKTRACE",
    ] {
        assert_eq!(
            common.get(sym).map(String::as_str),
            Some("y"),
            "common.config must set CONFIG_{sym}=y"
        );
    }
    for &arch in xtask::arch::Arch::ALL {
        let path = repo_root().join(format!("qemu/configs/{arch}.config"));
        assert!(
            !kconfig::parse(&read(&path)).is_empty(),
            "{} sets nothing",
            path.display()
        );
    }
}

#[test]
fn every_suite_has_a_guest_scenario() {
    for suite in xtask::test::SUITES.iter().chain(&["demo"]) {
        let path = repo_root().join(format!("qemu/guest/scenarios/{suite}.sh"));
        assert!(
            path.is_file(),
            "suite `{suite}` has no scenario {}",
            path.display()
        );
    }
}

#[test]
fn ci_runs_the_test_command_of_the_readme() {
    let readme = read(&repo_root().join("README.md"));
    for command in ["cargo xtask demo", "cargo xtask test"] {
        assert!(readme.contains(command), "README.md must name `{command}`");
    }
    let ci = read(&repo_root().join(".ci/run"));
    assert!(
        ci.lines().any(|l| l.trim() == "cargo xtask test"),
        ".ci/run must run `cargo xtask test`, the README's test command"
    );
}
