//! `cargo xtask bench patched-call` and `cargo xtask bench transition`: what
//! a live patch costs the patched system, measured in a guest whose clock
//! counts instructions (QEMU's `-icount shift=0,sleep=off`: one guest
//! nanosecond per instruction executed, whatever the host does).
//!
//! - `patched-call`: instructions per call of `int_sqrt()` (a small kernel
//!   function with an ftrace call site), called in a loop by
//!   `kmod/bench/klp_rs_bench_target.c`: unpatched; redirected by a bare
//!   ftrace handler (the floor every livepatch pays); replaced by a C
//!   livepatch, by the same replacement written with klp-rs in Rust, and by
//!   the module `cargo xtask generate` makes from `kmod/bench/int_sqrt.patch`.
//! - `transition`: from the kernel's "enabling patch" (before the ftrace
//!   handlers are registered) to its "patching complete", for a cumulative
//!   replace by a patch of 1, 10 and 100 functions, idle and with every
//!   vCPU calling them.
//!
//! Each runs on the arch's corpus kernel (the one `cargo xtask generate`
//! builds against), with `kmod/bench/` built for it.

use crate::{
    arch::{Arch, Arches},
    bench_tables,
    cache::Cache,
    corpus, generate, modules, qemu, repo_root, setup,
};
use anyhow::{Context, Result};
use std::path::PathBuf;

/// The generated patch's module name.
const GENERATED: &str = "klp_int_sqrt";

/// Which arches a guest bench runs on.
#[derive(clap::Args, Debug)]
pub struct GuestBench {
    /// The guest's arch, or `all`.
    #[arg(long, default_value = "x86_64")]
    arch: Arches,
    /// Seconds before a guest is killed [default: 180 for `patched-call`,
    /// 1500 for `transition`]: under `-icount` a guest second of a busy
    /// guest is 10^9 instructions, which an emulated arch on a loaded host
    /// may take 30 s or more to run.
    #[arg(long)]
    timeout: Option<u64>,
}

impl GuestBench {
    /// `bench patched-call`.
    pub fn patched_call(self, cache: &Cache) -> Result<()> {
        let mut rows = Vec::new();
        for &arch in &self.arch.0 {
            let (log, clock) = run(cache, arch, "bench-call", true, self.timeout)?;
            let calls = bench_tables::Calls::parse(&log)?;
            println!("{}", calls.arch_table(arch, clock));
            rows.push((arch, calls, clock));
        }
        println!("{}", bench_tables::calls_summary(&rows));
        Ok(())
    }

    /// `bench transition`.
    pub fn transition(self, cache: &Cache) -> Result<()> {
        let mut rows = Vec::new();
        for &arch in &self.arch.0 {
            let (log, clock) = run(cache, arch, "bench-transition", false, self.timeout)?;
            rows.push((arch, bench_tables::Transitions::parse(&log)?, clock));
        }
        println!("{}", bench_tables::transitions_table(&rows));
        Ok(())
    }
}

/// Builds `kmod/bench/` (and, with `generated`, the patch generated from
/// `kmod/bench/int_sqrt.patch`) for the arch's corpus kernel, boots it with
/// an exact clock if its QEMU has one, and runs `suite`; returns the
/// console log and the clock the figures are in.
fn run(
    cache: &Cache,
    arch: Arch,
    suite: &str,
    generated: bool,
    timeout: Option<u64>,
) -> Result<(String, bench_tables::Clock)> {
    let tc = setup::ensure(cache, false)?;
    let kernel = corpus::kernel(cache, &tc, arch)?;
    let mut kos = modules::build_in(
        cache,
        &tc,
        &kernel,
        modules::Lint::No,
        &repo_root().join("kmod/bench"),
        "bench",
        None,
    )?;
    if generated {
        kos.push(generate_fix(cache, &tc, &kernel)?);
    }
    let guest = qemu::Guest::with_modules(cache, kernel, &kos, Vec::new())?;
    let (guest, inexact) = guest.with_exact_clock();
    let clock = match inexact {
        None => bench_tables::Clock::Instructions,
        Some(why) => {
            eprintln!("warning: {arch}: no exact clock ({why}); the figures are wall time");
            bench_tables::Clock::Wall
        }
    };
    let timeout = timeout.unwrap_or_else(|| qemu::suite_timeout(suite));
    let outcome = guest.run_suite(cache, suite, qemu::Accel::Tcg, timeout)?;
    outcome.check()?;
    let log = std::fs::read_to_string(&outcome.log)
        .with_context(|| format!("cannot read `{}`", outcome.log.display()))?;
    Ok((log, clock))
}

/// The module `cargo xtask generate` makes from `kmod/bench/int_sqrt.patch`.
fn generate_fix(
    cache: &Cache,
    tc: &setup::Toolchain,
    kernel: &crate::kernel::Kernel,
) -> Result<PathBuf> {
    let patch = repo_root().join("kmod/bench/int_sqrt.patch");
    let meta = klp_gen::module::Metadata {
        name: GENERATED.into(),
        description: "kmod/bench/int_sqrt.patch, generated".into(),
        version: 1,
        replace: false,
        cves: Vec::new(),
        bugs: Vec::new(),
    };
    let input = generate::Input {
        patches: std::slice::from_ref(&patch),
        rust: None,
        source: None,
        meta: &meta,
    };
    let dest = kernel.checkout_dir().join("bench");
    Ok(generate::generate(cache, tc, kernel, &input, &dest)?.ko)
}
