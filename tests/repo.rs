//! Checks of the repository as a whole, in the manner of rust-analyzer's
//! `tidy.rs`: the rules that keep kmod/, the guest scenarios, README.md and
//! CI consistent with each other.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};
use xtask::{kconfig, ktap, repo_root};

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
                .is_none_or(|n| !n.to_string_lossy().ends_with("_generated.rs"))
        })
        .collect();
    files.sort();
    files
}

/// Directories of patch modules: those `kmod/Kbuild` builds, and
/// `kmod/bench` (which only the benches build).
fn patch_dirs() -> Vec<PathBuf> {
    let kbuild = read(&repo_root().join("kmod/Kbuild"));
    kbuild
        .lines()
        .filter_map(|l| l.strip_prefix("obj-m += "))
        .map(|d| repo_root().join("kmod").join(d.trim_end_matches('/')))
        .chain([repo_root().join("kmod/bench")])
        .collect()
}

/// The modules a Kbuild builds, each with the objects it is linked from:
/// itself, or the list of a composite module (`name-y := a.o b.o`).
fn kbuild_modules(kbuild: &str) -> Vec<(String, Vec<String>)> {
    let stem = |o: &str| o.trim().trim_end_matches(".o").to_string();
    kbuild
        .lines()
        .filter_map(|l| l.strip_prefix("obj-m += "))
        .map(|o| {
            let module = stem(o);
            let parts = kbuild
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{module}-y := ")))
                .map_or_else(
                    || vec![module.clone()],
                    |list| list.split_whitespace().map(stem).collect(),
                );
            (module, parts)
        })
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
        let modules = kbuild_modules(&kbuild);
        // Every module has at most one Rust object (its crate root); the
        // other objects of a composite module are C entry points, and a
        // module without Rust is a C target of the patches beside it.
        let mut roots: Vec<String> = Vec::new();
        for (module, parts) in &modules {
            let rust: Vec<&String> = parts
                .iter()
                .filter(|p| dir.join(format!("{p}.rs")).is_file())
                .collect();
            assert!(
                rust.len() <= 1,
                "{}: module `{module}` must have one Rust crate root among {parts:?}",
                dir.display()
            );
            roots.extend(rust.into_iter().cloned());
            for part in parts
                .iter()
                .filter(|p| !dir.join(format!("{p}.rs")).is_file())
            {
                assert!(
                    dir.join(format!("{part}.c")).is_file(),
                    "{}: `{module}` lists `{part}.o`, which has no source",
                    dir.display()
                );
            }
        }
        roots.sort();
        let sources: Vec<String> = rust_files(&dir)
            .iter()
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            roots,
            sources,
            "{}/Kbuild must build exactly its .rs modules",
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
fn every_refused_case_is_one_patch_module_with_its_expected_error() {
    let cases = xtask::refused::cases().unwrap();
    assert!(!cases.is_empty(), "kmod/tests/refused/ has no case");
    for dir in cases {
        let kbuild = read(&dir.join("Kbuild"));
        // A build stops at its first error: one module a case.
        let modules: Vec<String> = kbuild_modules(&kbuild)
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        let sources: Vec<String> = rust_files(&dir)
            .iter()
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(
            modules.len() == 1 && modules == sources,
            "{}/Kbuild must build its one .rs module",
            dir.display()
        );
        assert!(
            kbuild.contains("include $(src)/../../../livepatch/livepatch.mk"),
            "{}/Kbuild must include livepatch.mk after its obj-m line",
            dir.display()
        );
        for file in rust_files(&dir) {
            let text = read(&file);
            assert!(
                text.contains("#[path = \"../../../livepatch/mod.rs\"]\npub mod livepatch;\n"),
                "{} must include the livepatch crate",
                file.display()
            );
        }
        assert!(
            !read(&dir.join("expected")).trim().is_empty(),
            "{}/expected must hold the error its build fails with",
            dir.display()
        );
    }
}

#[test]
fn patch_modules_include_the_crate() {
    for dir in patch_dirs() {
        for file in rust_files(&dir) {
            assert!(
                read(&file).contains("#[path = \"../livepatch/mod.rs\"]\npub mod livepatch;\n"),
                "{} must include the livepatch crate as documented in kmod/livepatch/mod.rs",
                file.display()
            );
        }
    }
}

/// Every Rust file under `dir`, in every subdirectory.
fn rust_files_below(dir: &Path) -> Vec<PathBuf> {
    let mut files = rust_files(dir);
    let mut subdirs: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    for sub in subdirs {
        files.extend(rust_files_below(&sub));
    }
    files
}

#[test]
fn no_unsafe_outside_the_livepatch_and_testing_crates() {
    let kmod = repo_root().join("kmod");
    let allowed = [kmod.join("livepatch"), kmod.join("testing")];
    let files: Vec<PathBuf> = rust_files_below(&kmod)
        .into_iter()
        .filter(|f| !allowed.iter().any(|a| f.starts_with(a)))
        .collect();
    assert!(
        files
            .iter()
            .any(|f| f.ends_with("samples/livepatch_shadow_fix1.rs")),
        "the walk of kmod/ found no samples"
    );
    for file in files {
        assert!(
            !read(&file).contains("unsafe"),
            "{}: only kmod/livepatch/ and kmod/testing/ may use `unsafe`; if a patch needs it, the crate lacks a safe API: add it there",
            file.display()
        );
    }
}

#[test]
fn kmod_sources_have_spdx_and_safety_comments() {
    let mut files = rust_files(&repo_root().join("kmod/livepatch"));
    files.extend(rust_files(&repo_root().join("kmod/testing")));
    for dir in patch_dirs() {
        files.extend(rust_files(&dir));
        if dir.join("shared").is_dir() {
            files.extend(rust_files(&dir.join("shared")));
        }
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
        // The kernel's livepatch selftests: `sysctl kernel.ftrace_enabled`
        // and a kprobe on a patched function.
        "SYSCTL",
        "KPROBES",
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
    let others = [
        "demo",
        xtask::qemu_cmd::SCRIPT_SUITE,
        xtask::qemu::SHELL,
        xtask::packages_suite::SUITE,
        xtask::packages_suite::REBOOT,
    ];
    for suite in xtask::test::SUITES.iter().chain(&others) {
        let path = repo_root().join(format!("qemu/guest/scenarios/{suite}.sh"));
        assert!(
            path.is_file(),
            "suite `{suite}` has no scenario {}",
            path.display()
        );
    }
}

#[test]
fn every_guest_script_parses() {
    let dir = repo_root().join("qemu/guest/scenarios");
    let mut scripts: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sh"))
        .collect();
    scripts.push(repo_root().join("qemu/guest/init"));
    scripts.push(repo_root().join("qemu/guest/debian-init"));
    scripts.extend(
        fs::read_dir(repo_root().join("qemu/guest/examples"))
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    for script in scripts {
        // Those of the Debian guest are bash's; the others busybox sh's.
        let shell = if read(&script).starts_with("#!/bin/bash\n") {
            "bash"
        } else {
            "sh"
        };
        let out = Command::new(shell).arg("-n").arg(&script).output().unwrap();
        assert!(
            out.status.success(),
            "{} does not parse: {}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
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

/// Every fuzz target of `tools/fuzz/` has its body in `bodies/`, a
/// checked-in corpus that a crate's `tests/fuzz_corpus.rs` replays, and is
/// run by `cargo xtask test` and `cargo xtask bench fuzz`.
#[test]
fn every_fuzz_target_has_a_body_and_a_replayed_corpus() {
    let fuzz = repo_root().join("tools/fuzz");
    let targets: Vec<String> = fs::read_dir(fuzz.join("fuzz_targets"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| Some(p.file_name()?.to_str()?.strip_suffix(".rs")?.to_string()))
        .collect();
    let mut listed: Vec<&str> = xtask::fuzz::TARGETS.to_vec();
    listed.sort();
    let mut found: Vec<&str> = targets.iter().map(String::as_str).collect();
    found.sort();
    assert_eq!(
        found, listed,
        "xtask's fuzz::TARGETS must list tools/fuzz/fuzz_targets/"
    );
    let manifest = read(&fuzz.join("Cargo.toml"));
    let replays: Vec<String> = fs::read_dir(repo_root().join("tools"))
        .unwrap()
        .map(|e| e.unwrap().path().join("tests/fuzz_corpus.rs"))
        .filter(|p| p.is_file())
        .map(|p| read(&p))
        .collect();
    for t in &targets {
        assert!(
            manifest.contains(&format!("path = \"fuzz_targets/{t}.rs\"")),
            "tools/fuzz/Cargo.toml has no `[[bin]]` for `{t}`"
        );
        assert!(
            fuzz.join("bodies").join(format!("{t}.rs")).is_file(),
            "the fuzz target `{t}` has no tools/fuzz/bodies/{t}.rs"
        );
        assert!(
            replays
                .iter()
                .any(|r| r.contains(&format!("replay::corpus(\"{t}\""))),
            "no tools/*/tests/fuzz_corpus.rs replays the corpus of `{t}`"
        );
    }
}

/// The `(name, version)` of each package of a `Cargo.lock`.
fn locked(path: &Path) -> Vec<(String, String)> {
    let text = read(path);
    text.split("[[package]]")
        .skip(1)
        .filter_map(|block| {
            let field = |key: &str| {
                block.lines().find_map(|l| {
                    Some(
                        l.strip_prefix(key)?
                            .strip_prefix(" = ")?
                            .trim_matches('"')
                            .to_string(),
                    )
                })
            };
            Some((field("name")?, field("version")?))
        })
        .collect()
}

/// The fuzz project's own `Cargo.lock` builds the workspace's crates with
/// the dependencies `cargo test` builds them with.
#[test]
fn the_fuzz_lock_file_agrees_with_the_workspace() {
    let workspace = locked(&repo_root().join("Cargo.lock"));
    let fuzz = locked(&repo_root().join("tools/fuzz/Cargo.lock"));
    assert!(fuzz.iter().any(|(n, _)| n == "libfuzzer-sys"));
    let differ: Vec<String> = fuzz
        .iter()
        .filter(|(name, _)| workspace.iter().any(|(n, _)| n == name))
        .filter(|p| !workspace.contains(p))
        .map(|(name, version)| format!("{name} {version}"))
        .collect();
    assert!(
        differ.is_empty(),
        "tools/fuzz/Cargo.lock has other versions than Cargo.lock of {differ:?}; \
         copy Cargo.lock over it, then run \
         `cargo metadata --manifest-path tools/fuzz/Cargo.toml >/dev/null` to trim it"
    );
}

#[test]
fn kselftest_runner_reports_passes_skips_failures_and_missing_modules() {
    // The guest's runner of the kernel's selftests, over stand-in scripts and
    // a stand-in cleanup, in busybox's sh as in the guest; its KTAP goes
    // through the host's parser.
    let dir = std::env::temp_dir().join(format!("klp-rs-kselftest-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    for (name, body) in [
        ("test-pass.sh", "echo 'TEST: fine ... ok'\n"),
        (
            "test-skip.sh",
            "echo 'TEST: kprobes ... '\necho 'SKIP: no kprobes' >&2\nexit 4\n",
        ),
        (
            "test-fail.sh",
            "echo 'TEST: broken ... not ok'\necho '-expected'\nexit 1\n",
        ),
        ("test-missing.sh", "exit 0\n"),
        (
            "cleanup.sh",
            "stand_in_cleanup() { echo '# cleaned up'; }\n",
        ),
    ] {
        fs::write(dir.join(name), body).unwrap();
    }
    fs::write(
        dir.join("klp-rs-tests"),
        "test-pass.sh\ntest-skip.sh\ntest-fail.sh\ntest-missing.sh test_klp_a test_klp_b\n",
    )
    .unwrap();
    let out = Command::new("/bin/busybox")
        .args([
            "sh",
            "-c",
            ". \"$0\" && . \"$1/cleanup.sh\" && kselftests \"$1\" 'Rust twins' stand_in_cleanup",
        ])
        .arg(repo_root().join("qemu/guest/scenarios/kselftest.sh"))
        .arg(&dir)
        .output()
        .expect("cannot run /bin/busybox: install busybox-static (`cargo xtask setup`)");
    fs::remove_dir_all(&dir).unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        ktap::Report::parse(text.lines()).to_string(),
        "1 passed, 2 failed, 1 skipped",
        "{text}"
    );
    for expected in [
        "1..4\nok 1 test-pass.sh\nok 2 test-skip.sh # SKIP no kprobes\n",
        "# TEST: broken ... not ok\n# -expected\n# test-fail.sh: exit code 1\n# cleaned up\nnot ok 3 test-fail.sh\n",
        "# test-missing.sh: missing Rust twins: test_klp_a test_klp_b\nnot ok 4 test-missing.sh\n",
    ] {
        assert!(text.contains(expected), "no {expected:?} in:\n{text}");
    }
    assert_eq!(
        text.matches("# cleaned up").count(),
        1,
        "the cleanup runs after a failed script only:\n{text}"
    );
    assert!(
        !text.contains("TEST: fine"),
        "a passing script's output is no diagnostic:\n{text}"
    );
}

#[test]
fn a_script_of_ones_own_reports_its_checks_its_exit_status_and_the_kernel_log() {
    // ktap.sh's runner of `cargo xtask qemu --script` over stand-in scripts,
    // in busybox's sh as in the guest, with a stand-in kernel log; its KTAP
    // goes through the host's parser.
    let dir = std::env::temp_dir().join(format!("klp-rs-run-script-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let run = |name: &str, script: &str, log: &str| {
        fs::write(dir.join(name), script).unwrap();
        fs::write(dir.join("dmesg"), log).unwrap();
        let out = Command::new("/bin/busybox")
            .args([
                "sh",
                "-c",
                ". \"$0\" && log=$2 && dmesg() { cat \"$log\"; } && run_script \"$1\"",
            ])
            .arg(repo_root().join("qemu/guest/scenarios/ktap.sh"))
            .arg(dir.join(name))
            .arg(dir.join("dmesg"))
            .output()
            .expect("cannot run /bin/busybox: install busybox-static (`cargo xtask setup`)");
        String::from_utf8(out.stdout).unwrap()
    };
    let passing = run(
        "passing.sh",
        "check 'one' true\ncheck 'two' file_is /dev/null ''\n",
        "livepatch: 'my_sample': patching complete\n",
    );
    let failing = run(
        "failing.sh",
        "plan 3\ncheck 'loads' sh -c 'echo no such module; exit 1'\nexit 3\ncheck 'never' true\n",
        "",
    );
    let warned = run("warned.sh", "true\n", "WARNING: CPU: 0 PID: 1 at x\n");
    fs::remove_dir_all(&dir).unwrap();
    for (text, report, expected) in [
        (
            &passing,
            "4 passed, 0 failed",
            "ok 1 one\nok 2 two\nok 3 passing.sh exits 0\n\
             ok 4 kernel log has no WARNING, BUG or Oops\n1..4\n",
        ),
        (
            // The two points planned but never reported fail too.
            &failing,
            "1 passed, 4 failed",
            "# no such module\nnot ok 1 loads\n# exit status 3\nnot ok 4 failing.sh exits 0\n\
             ok 5 kernel log has no WARNING, BUG or Oops\n1..5\n",
        ),
        (
            &warned,
            "1 passed, 1 failed",
            "ok 1 warned.sh exits 0\n# WARNING: CPU: 0 PID: 1 at x\n\
             not ok 2 kernel log has no WARNING, BUG or Oops\n1..2\n",
        ),
    ] {
        assert_eq!(
            ktap::Report::parse(text.lines()).to_string(),
            report,
            "{text}"
        );
        assert!(text.contains(expected), "no {expected:?} in:\n{text}");
    }
}

#[test]
fn the_guest_prints_what_the_debug_lane_reads() {
    let init = read(&repo_root().join("qemu/guest/init"));
    assert!(
        init.contains(&format!("echo \"{}\"", xtask::ktap::AFTER)),
        "qemu/guest/init must announce the checks after the suite as xtask::ktap::AFTER"
    );
    let checks = read(&repo_root().join("qemu/guest/scenarios/debug-checks.sh"));
    assert!(
        checks.contains(&format!(
            "check \"{}\"",
            xtask::debug_kernel::KMEMLEAK_POINT
        )),
        "debug-checks.sh must name its kmemleak point as xtask::debug_kernel::KMEMLEAK_POINT"
    );
}
