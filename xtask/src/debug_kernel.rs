//! The debug kernel: the guest kernel of an arch with the kernel's own bug
//! detectors (`qemu/configs/debug.config`), derived from the cached build,
//! and what its guests check after every suite.

use crate::{arch::Arch, cache::Cache, kernel, qemu, setup};
use anyhow::Result;

/// The fragment that makes the debug kernel.
const FRAGMENT: &str = "qemu/configs/debug.config";

/// Kernel command line options of a debug guest: SLUB's checks on every
/// cache (`F` sanity checks, `Z` red zones, `P` poisoning, `U` owner
/// tracking), and a KFENCE sample every 10 ms instead of 100.
pub const CMDLINE: &str = "slub_debug=FZPU kfence.sample_interval=10";

/// The name of the point of `qemu/guest/scenarios/debug-checks.sh` that
/// fails when kmemleak finds a leak.
pub const KMEMLEAK_POINT: &str = "kmemleak finds no leak";

/// The debug kernel of `arch`, built (once, then cached) from the arch's
/// guest kernel.
pub fn build(cache: &Cache, tc: &setup::Toolchain, arch: Arch) -> Result<kernel::Kernel> {
    kernel::derive_with_fragment(cache, tc, arch, "debug", FRAGMENT)
}

/// Seconds before a hung guest of the debug kernel is killed: twice the
/// suite's usual time (lockdep and SLUB's checks slow every lock and
/// allocation), plus the checks after it.
pub fn suite_timeout(suite: &str) -> u64 {
    2 * qemu::suite_timeout(suite) + 60
}
