//! `cargo xtask test`: host tests, lints and formatting, then every guest
//! suite on every architecture; a summary at the end, exit code 1 if any
//! step failed.

use crate::{
    arch::Arch, cache::Cache, corpus, fix, fuzz, kernel, modules, own_diff, qemu, refused,
    repo_root, run, setup, signing_suite, Failed,
};
use anyhow::Result;
use std::{process::Command, time::Instant};

/// The guest suites, in the order they run.
pub const SUITES: &[&str] = &[
    "smoke",
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
    (steps, matrix)
}

/// One suite's result on one arch, for the README's arch matrix.
pub struct MatrixCell {
    pub arch: Arch,
    pub suite: String,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub seconds: f64,
}

impl MatrixCell {
    fn of(outcome: &qemu::Outcome) -> Self {
        Self {
            arch: outcome.arch,
            suite: outcome.suite.clone(),
            passed: outcome.report.passed(),
            failed: outcome.report.failed(),
            skipped: outcome.report.skipped(),
            seconds: outcome.elapsed.as_secs_f64(),
        }
    }
}

/// A markdown table, one row per suite and one column per arch, each cell
/// `passed/failed[/skipped]` and the guest's time.
pub fn render_matrix(cells: &[MatrixCell]) -> String {
    let mut arches: Vec<Arch> = Vec::new();
    let mut suites: Vec<&str> = Vec::new();
    for c in cells {
        if !arches.contains(&c.arch) {
            arches.push(c.arch);
        }
        if !suites.contains(&c.suite.as_str()) {
            suites.push(&c.suite);
        }
    }
    let mut out = String::from("| suite |");
    for a in &arches {
        out.push_str(&format!(" {a} |"));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(arches.len()));
    out.push('\n');
    for suite in suites {
        out.push_str(&format!("| `{suite}` |"));
        for &arch in &arches {
            let cell = cells.iter().find(|c| c.arch == arch && c.suite == suite);
            match cell {
                Some(c) => {
                    let verdict = if c.failed == 0 { "passed" } else { "FAILED" };
                    let skipped = if c.skipped > 0 {
                        format!(", {} skipped", c.skipped)
                    } else {
                        String::new()
                    };
                    out.push_str(&format!(
                        " {verdict} {}/{}{skipped}, {:.1} s |",
                        c.passed,
                        c.passed + c.failed,
                        c.seconds
                    ));
                }
                None => out.push_str(" not run |"),
            }
        }
        out.push('\n');
    }
    out
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
    fn matrix_has_a_row_per_suite_and_a_column_per_arch() {
        let cell = |arch, suite: &str, passed, failed, skipped| MatrixCell {
            arch,
            suite: suite.into(),
            passed,
            failed,
            skipped,
            seconds: 1.25,
        };
        let table = render_matrix(&[
            cell(Arch::X86_64, "smoke", 7, 0, 0),
            cell(Arch::X86_64, "selftests", 8, 0, 0),
            cell(Arch::Aarch64, "smoke", 6, 1, 0),
            cell(Arch::Aarch64, "selftests", 7, 0, 1),
        ]);
        assert_eq!(
            table,
            "| suite | x86_64 | aarch64 |\n|---|---|---|\n\
             | `smoke` | passed 7/7, 1.2 s | FAILED 6/7, 1.2 s |\n\
             | `selftests` | passed 8/8, 1.2 s | passed 7/7, 1 skipped, 1.2 s |\n"
        );
    }
}
