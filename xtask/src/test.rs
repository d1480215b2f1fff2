//! `cargo xtask test`: host tests, lints and formatting, then every guest
//! suite on every architecture; a summary at the end, exit code 1 if any
//! step failed.

use crate::{arch::Arch, cache::Cache, kernel, modules, qemu, repo_root, run, setup, Failed};
use anyhow::Result;
use std::{process::Command, time::Instant};

/// The guest suites, in the order they run.
pub const SUITES: &[&str] = &["smoke", "selftests-c", "selftests", "klp"];

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
        let mut results: Vec<(String, Result<()>, f64)> = Vec::new();
        let mut step = |name: String, f: &mut dyn FnMut() -> Result<()>| {
            let start = Instant::now();
            let r = f();
            if let Err(e) = &r {
                eprintln!("error: {name}: {e:#}");
            }
            results.push((name, r, start.elapsed().as_secs_f64()));
        };
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
        step("cargo fmt".into(), &mut || {
            run::logged(
                "rustfmt check",
                &mut host(&["fmt", "--all", "--check"]),
                &cache.logs().join("cargo-fmt.log"),
            )
        });
        if !self.host_only {
            let tc = setup::ensure(cache, false)?;
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
            for &arch in Arch::ALL {
                step(format!("{arch} kmod clippy"), &mut || {
                    let kernel = kernel::build(cache, &tc, arch)?;
                    modules::build(cache, &tc, &kernel, modules::Lint::DenyWarnings).map(drop)
                });
                let guest = match qemu::Guest::prepare(cache, arch) {
                    Ok(g) => g,
                    Err(e) => {
                        step(format!("{arch} guest build"), &mut || {
                            Err(anyhow::anyhow!("{e:#}"))
                        });
                        continue;
                    }
                };
                let accel = guest.accel(cache, self.kvm)?;
                for suite in SUITES {
                    step(format!("{arch} {suite}"), &mut || {
                        guest
                            .run_suite(cache, suite, accel, qemu::suite_timeout(suite))?
                            .check()
                    });
                }
            }
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
