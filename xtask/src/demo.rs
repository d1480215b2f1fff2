//! `cargo xtask demo`: the newcomer's tour. Sets up what is missing, builds,
//! boots a guest and shows `/proc/cmdline` before, during and after the Rust
//! live patch, with the livepatch sysfs state, as a transcript.

use crate::{arch::Arch, cache::Cache, qemu};
use anyhow::Result;

/// `cargo xtask demo`.
#[derive(clap::Args, Debug)]
pub struct DemoCmd {
    /// Guest architecture.
    #[arg(long, default_value = "x86_64")]
    arch: Arch,
    /// Try KVM (only used if a probe boot under KVM works).
    #[arg(long)]
    kvm: bool,
}

impl DemoCmd {
    pub fn run(self, cache: &Cache) -> Result<()> {
        let guest = qemu::Guest::prepare(cache, self.arch)?;
        let accel = guest.accel(cache, self.kvm)?;
        println!();
        println!(
            "A {} guest boots; inside it, the Rust twin of the kernel's",
            self.arch
        );
        println!("samples/livepatch/livepatch-sample.c (kmod/samples/livepatch_sample.rs)");
        println!("replaces cmdline_proc_show() in the running kernel, then is reverted:");
        println!();
        let outcome = guest.run_suite(cache, "demo", accel, 180)?;
        println!();
        outcome.check()
    }
}
