//! `cargo xtask qemu --arch A --suite S`: the front end of [`crate::qemu`].
//! Most suites boot the guest kernel with every module of `kmod/`; the
//! `signing` suite boots the kernel that enforces module signatures; the
//! `generate` suite, the patches it generates from `kmod/corpus/`.

use crate::{arch::Arch, cache::Cache, corpus, qemu, setup, signing_suite};
use anyhow::Result;

/// `cargo xtask qemu`.
#[derive(clap::Args, Debug)]
pub struct QemuCmd {
    /// Guest architecture.
    #[arg(long, default_value = "x86_64")]
    arch: Arch,
    /// The scenario to run: a script in `qemu/guest/scenarios/`.
    #[arg(long, default_value = "smoke")]
    suite: String,
    /// Try KVM (only used if a probe boot under KVM works).
    #[arg(long)]
    kvm: bool,
    /// Seconds before a hung guest is killed [default: 180; 600 for the
    /// `selftests*` and `klp` suites].
    #[arg(long)]
    timeout: Option<u64>,
}

impl QemuCmd {
    pub fn run(self, cache: &Cache) -> Result<()> {
        if self.suite == corpus::SUITE {
            // Its guest holds the patches it generates first.
            let tc = setup::ensure(cache, false)?;
            return corpus::prove(cache, &tc, self.arch, qemu::Accel::Tcg)?.check();
        }
        let guest = if self.suite == signing_suite::SUITE {
            let tc = setup::ensure(cache, false)?;
            signing_suite::guest(cache, &tc, self.arch)?
        } else {
            qemu::Guest::prepare(cache, self.arch)?
        };
        let accel = guest.accel(cache, self.kvm)?;
        let timeout = self
            .timeout
            .unwrap_or_else(|| qemu::suite_timeout(&self.suite));
        let outcome = guest.run_suite(cache, &self.suite, accel, timeout)?;
        outcome.check()
    }
}
