//! `cargo xtask test`: host tests, lints and formatting, then every guest
//! suite on every architecture; a summary at the end, exit code 1 if any
//! step failed.

use crate::{
    arch::Arch,
    cache::Cache,
    corpus, debian_root, debug_kernel, fix, fuzz, kernel,
    modules::{self, PatchDir},
    own_diff, packages_suite,
    qemu::{self, render_matrix, MatrixCell},
    qemu_cmd, refused, repo_root, run, setup, signing_suite, Failed,
};
use anyhow::Result;
use std::{path::Path, process::Command, time::Instant};

/// The guest suites, in the order they run.
pub const SUITES: &[&str] = &[
    "smoke",
    "samples",
    "selftests-c",
    "selftests",
    "klp",
    "relocations",
    "stress",
];

/// How long each fuzz target runs, in seconds.
const FUZZ_SECONDS: u64 = 20;

/// `cargo xtask test`.
#[derive(clap::Args, Debug)]
pub struct TestCmd {
    /// Only the host checks (no kernel, no guests).
    #[arg(long)]
    host_only: bool,
    /// Try KVM for the guests (only used if a probe boot under KVM works).
    #[arg(long)]
    kvm: bool,
}

impl TestCmd {
    pub fn run(self, cache: &Cache) -> Result<()> {
        let mut results: Vec<Step> = Vec::new();
        let mut matrix: Vec<MatrixCell> = Vec::new();
        let mut step =
            |name: String, f: &mut dyn FnMut() -> Result<()>| record(&mut results, name, f);
        // Setup first: the host tests build fixtures with the cross compilers
        // it installs.
        let tc = if self.host_only {
            None
        } else {
            Some(setup::ensure(cache, false)?)
        };
        // The kernels build one after the other from the start: beside the
        // host checks (which leave a core idle much of the time: the fuzz
        // targets run one at a time), then beside the guests, which spend
        // most of their time asleep (a livepatch transition on 2 CPUs waits
        // for the kernel's retry, a second later). Each build holds its
        // directory's lock: a step that needs a kernel still being built
        // waits for it, and one whose build failed here builds it again and
        // reports the error.
        let builder = tc.clone().map(|tc| {
            let cache = cache.clone();
            std::thread::spawn(move || {
                for &arch in Arch::ALL {
                    let _ = kernel::build(&cache, &tc, arch);
                }
                let _ = debug_kernel::build(&cache, &tc, DEBUG_ARCH);
                let _ = debian_root::kernel(&cache, &tc, PACKAGES_ARCH);
            })
        });
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let host = |args: &[&str]| {
            let mut cmd = Command::new(&cargo);
            cmd.current_dir(repo_root()).args(args);
            cmd
        };
        step("cargo test".into(), &mut || {
            run::logged(
                "host tests",
                &mut host(&["test", "--workspace"]),
                &cache.logs().join("cargo-test.log"),
            )
        });
        step("cargo clippy".into(), &mut || {
            run::logged(
                "clippy, warnings denied",
                &mut host(&[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ]),
                &cache.logs().join("cargo-clippy.log"),
            )
        });
        // Outside the workspace (libFuzzer, an instrumented build), so run
        // on their own, briefly: a target that no longer compiles, or that
        // fails on an input found in that time, fails here.
        step(format!("fuzz targets ({FUZZ_SECONDS} s each)"), &mut || {
            fuzz::run(cache, fuzz::TARGETS, FUZZ_SECONDS)
        });
        step("cargo fmt".into(), &mut || {
            run::logged(
                "rustfmt check",
                &mut host(&["fmt", "--all", "--check"]),
                &cache.logs().join("cargo-fmt.log"),
            )
        });
        if let Some(tc) = tc {
            step("rustfmt kmod".into(), &mut || {
                let mut cmd = tc.command("rustfmt");
                cmd.args(["--check", "--edition", "2021"])
                    .args(kmod_sources()?);
                run::logged(
                    "rustfmt check of kmod/",
                    &mut cmd,
                    &cache.logs().join("kmod-fmt.log"),
                )
            });
            // The arches in two lanes side by side (x86_64 then ppc64le,
            // aarch64 then s390x): a guest spends most of its time asleep,
            // waiting for a transition's retry, and the derived kernels of
            // one lane build while the other's guests run.
            let lanes = std::thread::scope(|s| {
                let lanes: Vec<_> = LANES
                    .iter()
                    .map(|arches| {
                        let tc = &tc;
                        s.spawn(move || {
                            arches
                                .iter()
                                .map(|&arch| (arch, arch_steps(cache, tc, arch, self.kvm)))
                                .collect::<Vec<_>>()
                        })
                    })
                    .collect();
                lanes
                    .into_iter()
                    .flat_map(|l| l.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect::<Vec<_>>()
            });
            let mut lanes = lanes;
            lanes.sort_by_key(|(arch, _)| Arch::ALL.iter().position(|a| a == arch));
            for (_, (steps, cells)) in lanes {
                results.extend(steps);
                matrix.extend(cells);
            }
        }

        if let Some(builder) = builder {
            // Every kernel was needed above, so the builds are over.
            let _ = builder.join();
        }
        if !matrix.is_empty() {
            let table = render_matrix(&matrix);
            let path = cache.logs().join("arch-matrix.md");
            std::fs::write(&path, &table)?;
            println!("\nsuites by arch (also in {}):\n{table}", path.display());
        }
        println!("\nsummary:");
        let mut failed = 0;
        for (name, result, secs) in &results {
            let verdict = if result.is_ok() { "ok" } else { "FAILED" };
            failed += usize::from(result.is_err());
            println!("  {verdict:<6} {name} ({secs:.1}s)");
        }
        println!("{} passed, {failed} failed", results.len() - failed);
        if failed == 0 {
            Ok(())
        } else {
            Err(Failed(format!("{failed} test step(s) failed")).into())
        }
    }
}

/// The arches of each lane of guest steps (see `TestCmd::run`).
const LANES: [&[Arch]; 2] = [
    &[Arch::X86_64, Arch::Ppc64le],
    &[Arch::Aarch64, Arch::S390x],
];

/// A step's name, its result and its time in seconds.
type Step = (String, Result<()>, f64);

/// Runs step `name`, timed, into `steps`; its error is shown at once.
fn record(steps: &mut Vec<Step>, name: String, f: &mut dyn FnMut() -> Result<()>) {
    let start = Instant::now();
    let r = f();
    if let Err(e) = &r {
        eprintln!("error: {name}: {e:#}");
    }
    steps.push((name, r, start.elapsed().as_secs_f64()));
}

/// Every step of one arch: its modules linted, then every guest suite.
fn arch_steps(
    cache: &Cache,
    tc: &setup::Toolchain,
    arch: Arch,
    kvm: bool,
) -> (Vec<Step>, Vec<MatrixCell>) {
    let mut steps: Vec<Step> = Vec::new();
    let mut matrix: Vec<MatrixCell> = Vec::new();
    let mut step = |name: String, f: &mut dyn FnMut() -> Result<()>| record(&mut steps, name, f);
    step(format!("{arch} kmod clippy"), &mut || {
        let kernel = kernel::build(cache, tc, arch)?;
        modules::build(cache, tc, &kernel, modules::Lint::DenyWarnings).map(drop)
    });
    // Patches the post-link step must refuse (`kmod/tests/refused/`).
    step(format!("{arch} refused modules"), &mut || {
        let kernel = kernel::build(cache, tc, arch)?;
        refused::check(cache, tc, &kernel)
    });
    if arch == Arch::X86_64 {
        step(format!("{arch} diff of our own kernel"), &mut || {
            let kernel = kernel::build(cache, tc, arch)?;
            own_diff::check(&kernel, &tc.source)
        });
    }
    let guest = match qemu::Guest::prepare(cache, arch) {
        Ok(g) => g,
        Err(e) => {
            step(format!("{arch} guest build"), &mut || {
                Err(anyhow::anyhow!("{e:#}"))
            });
            return (steps, matrix);
        }
    };
    let accel = match guest.accel(cache, kvm) {
        Ok(a) => a,
        Err(e) => {
            step(format!("{arch} accelerator"), &mut || {
                Err(anyhow::anyhow!("{e:#}"))
            });
            return (steps, matrix);
        }
    };
    for suite in SUITES {
        step(format!("{arch} {suite}"), &mut || {
            let outcome = guest.run_suite(cache, suite, accel, qemu::suite_timeout(suite))?;
            matrix.push(MatrixCell::of(&outcome));
            outcome.check()
        });
    }
    // A patch directory of one's own, outside the repository, run as
    // `cargo xtask qemu --modules DIR --script FILE` runs it.
    step(format!("{arch} {OWN_PATCH}"), &mut || {
        let kernel = kernel::build(cache, tc, arch)?;
        let dir = own_patch(&kernel.checkout_dir().join(OWN_PATCH))?;
        let script = qemu_cmd::Script::read(&repo_root().join(OWN_PATCH_SCRIPT))?;
        let guest = qemu_cmd::guest(cache, arch, Some(&dir), Some(&script))?;
        let outcome = qemu_cmd::run_script(cache, &guest, &script, accel, None)?;
        matrix.push(MatrixCell::of(&outcome));
        outcome.check()
    });
    // Signed modules only: the kernel derived with
    // `CONFIG_MODULE_SIG_FORCE`.
    step(format!("{arch} {}", signing_suite::SUITE), &mut || {
        let guest = signing_suite::guest(cache, tc, arch)?;
        let suite = signing_suite::SUITE;
        let outcome = guest.run_suite(cache, suite, accel, qemu::suite_timeout(suite))?;
        matrix.push(MatrixCell::of(&outcome));
        outcome.check()
    });
    // Patches generated from the corpus's fixes.
    step(format!("{arch} {}", corpus::SUITE), &mut || {
        let outcome = corpus::prove(cache, tc, arch, accel)?;
        matrix.push(MatrixCell::of(&outcome));
        outcome.check()
    });
    // Real fixes, live: each in a kernel of its own, built
    // without the fix.
    let names = fix::names().unwrap_or_else(|e| {
        step(format!("{arch} fixes"), &mut || {
            Err(anyhow::anyhow!("{e:#}"))
        });
        Vec::new()
    });
    for name in names {
        step(format!("{arch} fix {name}"), &mut || {
            let outcome = fix::prove(cache, tc, arch, &name, accel, false)?;
            matrix.push(MatrixCell::of(&outcome));
            outcome.check()
        });
        // The same suite with the patch generated from the
        // diff: no Rust written by hand.
        step(format!("{arch} fix {name} generated"), &mut || {
            let outcome = fix::prove_generated(cache, tc, arch, &name, accel)?;
            let mut cell = MatrixCell::of(&outcome);
            cell.suite.push_str(" (generated)");
            matrix.push(cell);
            outcome.check()
        });
    }
    // Live patches as packages on a Debian system, booted twice.
    if arch == PACKAGES_ARCH {
        step(format!("{arch} {}", packages_suite::SUITE), &mut || {
            let outcome = packages_suite::run(cache, tc, arch, accel, None)?;
            matrix.push(MatrixCell::of(&outcome));
            outcome.check()
        });
    }
    if arch == DEBUG_ARCH {
        debug_steps(cache, arch, accel, &mut steps, &mut matrix);
    }
    (steps, matrix)
}

/// The arch of the `packages` suite: a Debian root file system is built
/// for the host's arch only (see [`debian_root::root`]).
const PACKAGES_ARCH: Arch = Arch::X86_64;

/// The arch whose debug kernel `cargo xtask test` runs suites on.
const DEBUG_ARCH: Arch = Arch::X86_64;

/// The suites the debug lane runs: the crate's own code under load, its
/// relocations, the `klp` tool, and the selftests' twins.
const DEBUG_SUITES: &[&str] = &["selftests", "klp", "relocations", "stress"];

/// The debug lane: [`DEBUG_SUITES`] on the debug kernel of `arch`, each
/// followed by the guest's kmemleak scan and its check of the detectors'
/// reports.
fn debug_steps(
    cache: &Cache,
    arch: Arch,
    accel: qemu::Accel,
    steps: &mut Vec<Step>,
    matrix: &mut Vec<MatrixCell>,
) {
    let mut step = |name: String, f: &mut dyn FnMut() -> Result<()>| record(steps, name, f);
    let guest = match qemu::Guest::prepare_debug(cache, arch) {
        Ok(g) => g,
        Err(e) => {
            step(format!("{arch} debug kernel guest build"), &mut || {
                Err(anyhow::anyhow!("{e:#}"))
            });
            return;
        }
    };
    for suite in DEBUG_SUITES {
        step(format!("{arch} debug {suite}"), &mut || {
            let outcome =
                guest.run_suite(cache, suite, accel, debug_kernel::suite_timeout(suite))?;
            let mut cell = MatrixCell::of(&outcome);
            cell.suite.push_str(" (debug kernel)");
            matrix.push(cell);
            outcome.check()
        });
    }
    // The check can fail: the kernel's `livepatch-shadow-mod.c` leaks an
    // `int` with every object it allocates while no fix is loaded (what the
    // shadow variable samples fix), which the `samples` suite lets it do.
    step(
        format!("{arch} debug kmemleak finds the shadow sample's leak"),
        &mut || {
            let suite = "samples";
            let outcome =
                guest.run_suite(cache, suite, accel, debug_kernel::suite_timeout(suite))?;
            let failed: Vec<&str> = outcome
                .report
                .points
                .iter()
                .filter(|p| !p.ok)
                .map(|p| p.name.as_str())
                .collect();
            let all_reported = outcome.report.finished
                && outcome.report.planned == Some(outcome.report.points.len());
            if all_reported && failed == [debug_kernel::KMEMLEAK_POINT] {
                return Ok(());
            }
            Err(Failed(format!(
                "on the debug kernel, the `samples` suite must fail exactly `{}` \
                 (livepatch-shadow-mod leaks by design); it failed {failed:?} (log: {})",
                debug_kernel::KMEMLEAK_POINT,
                outcome.log.display()
            ))
            .into())
        },
    );
}

/// The step of a patch directory of one's own, and the directory's name.
const OWN_PATCH: &str = "own-patch";
/// Its script, which loads, checks and unloads `my_sample.ko`.
const OWN_PATCH_SCRIPT: &str = "qemu/guest/examples/my_sample.sh";

/// Writes into `dir` what a patch author's own directory holds, as the
/// README describes it: a copy of `kmod/samples/livepatch_sample.rs` as
/// `my_sample.rs`, its `#[path]` naming this repository's `kmod/livepatch`,
/// and a `Kbuild` that includes its `livepatch.mk`.
fn own_patch(dir: &Path) -> Result<PatchDir> {
    let livepatch = repo_root().join("kmod/livepatch");
    let sample = repo_root().join("kmod/samples/livepatch_sample.rs");
    let text = std::fs::read_to_string(&sample)?;
    let at = r#"#[path = "../livepatch/mod.rs"]"#;
    anyhow::ensure!(
        text.contains(at),
        "`{}` no longer says `{at}`",
        sample.display()
    );
    let text = text.replace(
        at,
        &format!(r#"#[path = "{}/mod.rs"]"#, livepatch.display()),
    );
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("my_sample.rs"), text)?;
    std::fs::write(
        dir.join("Kbuild"),
        format!(
            "obj-m += my_sample.o\ninclude {}/livepatch.mk\n",
            livepatch.display()
        ),
    )?;
    PatchDir::new(dir)
}

/// Every Rust file under `kmod/`.
fn kmod_sources() -> Result<Vec<std::path::PathBuf>> {
    let mut files = Vec::new();
    let mut dirs = vec![repo_root().join("kmod")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs")
                && path
                    .file_name()
                    .is_none_or(|n| n != "klp_bindings_generated.rs")
            {
                files.push(path);
            }
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_own_patch_directory_names_this_repository() {
        let dir = std::env::temp_dir().join(format!("klp-rs-own-patch-{}", std::process::id()));
        let patch = own_patch(&dir).unwrap();
        let livepatch = repo_root().join("kmod/livepatch");
        let kbuild = std::fs::read_to_string(dir.join("Kbuild")).unwrap();
        assert_eq!(
            kbuild,
            format!(
                "obj-m += my_sample.o\ninclude {}/livepatch.mk\n",
                livepatch.display()
            )
        );
        let rust = std::fs::read_to_string(dir.join("my_sample.rs")).unwrap();
        assert!(rust.contains(&format!("#[path = \"{}/mod.rs\"]", livepatch.display())));
        assert!(patch.what.starts_with("dir-klp-rs-own-patch-"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(repo_root().join(OWN_PATCH_SCRIPT).is_file());
    }
}
