//! `cargo xtask`: setup, kernel builds, patch modules, guests, tests.

use clap::{Parser, Subcommand};
use std::process::ExitCode;
use xtask::{
    bench, cache::Cache, demo, diff, doc, env_cmd, fix, generate, kernel_cmd, modules, own_diff,
    package, qemu_cmd, seed, setup, test, Failed,
};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Build, boot and test klp-rs live patches"
)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install and verify everything the project needs.
    Setup(setup::Setup),
    /// Configure and build a guest kernel (cached).
    Kernel(kernel_cmd::KernelCmd),
    /// Build the patch modules under kmod/ against the guest kernel.
    Build(modules::BuildCmd),
    /// Print the `export` lines a plain `make -C "$KDIR" M=DIR` needs.
    Env(env_cmd::EnvCmd),
    /// Render the docs of kmod/livepatch, the patch authors' crate
    /// (rustdoc warnings are errors).
    Doc(doc::DocCmd),
    /// Boot a guest: a scenario suite, or your modules with a script or a shell.
    Qemu(qemu_cmd::QemuCmd),
    /// Show a Rust live patch at work in a guest.
    Demo(demo::DemoCmd),
    /// Host tests, lints, and every guest suite.
    Test(test::TestCmd),
    /// Build the initial (seed) patch of a kernel build.
    Seed(seed::SeedCmd),
    /// Check `diff` on two builds of a unit of our own kernel.
    DiffSelftest(own_diff::DiffSelftestCmd),
    /// What changed between two kernel builds (ELF + DWARF).
    Diff(diff::DiffCmd),
    /// A real fix end to end: diff, skeleton, patch, guest (kmod/fixes/).
    Fix(fix::FixCmd),
    /// A live patch module generated from a source fix (unified diffs).
    Generate(generate::GenerateCmd),
    /// Built patch modules as .deb and .rpm packages (one per kernel
    /// release, versioned by the cumulative version).
    Package(package::PackageCmd),
    /// Measure `diff` against its peers on real kernels; fuzz the readers.
    Bench(bench::BenchCmd),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = Cache::locate().and_then(|cache| match cli.task {
        Task::Setup(t) => t.run(&cache),
        Task::Kernel(t) => t.run(&cache),
        Task::Build(t) => t.run(&cache),
        Task::Env(t) => t.run(&cache),
        Task::Doc(t) => t.run(&cache),
        Task::Qemu(t) => t.run(&cache),
        Task::Demo(t) => t.run(&cache),
        Task::Test(t) => t.run(&cache),
        Task::Seed(t) => t.run(&cache),
        Task::DiffSelftest(t) => t.run(&cache),
        Task::Diff(t) => t.run(&cache),
        Task::Bench(t) => t.run(&cache),
        Task::Fix(t) => t.run(&cache),
        Task::Generate(t) => t.run(&cache),
        Task::Package(t) => t.run(&cache),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Failed>() => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
        Err(e) => {
            // The chain, as cargo prints it; no backtrace even under
            // `RUST_BACKTRACE`, which anyhow's `Debug` would add.
            eprintln!("error: {e}");
            for cause in e.chain().skip(1) {
                eprintln!(
                    "\nCaused by:\n  {}",
                    cause.to_string().replace('\n', "\n  ")
                );
            }
            ExitCode::from(2)
        }
    }
}
