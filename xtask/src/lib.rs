//! Host-side orchestration of klp-rs: `cargo xtask <task>`.
//!
//! Each task is a module with a clap `Args` struct and a `run` method.

pub mod apt_sources;
pub mod arch;
pub mod bench;
pub mod bench_generate;
pub mod bench_guest;
pub mod bench_tables;
pub mod cache;
pub mod corpus;
pub mod debian_root;
pub mod debug_kernel;
pub mod demo;
pub mod diff;
pub mod doc;
pub mod env_cmd;
pub mod fix;
pub mod fuzz;
pub mod generate;
pub mod guest_tools;
pub mod initramfs;
pub mod kconfig;
pub mod kernel;
pub mod kernel_cmd;
pub mod klp_tool;
pub mod ktap;
pub mod modules;
pub mod own_diff;
pub mod package;
pub mod packages_suite;
pub mod qemu;
pub mod qemu_cmd;
pub mod refused;
pub mod run;
pub mod samples;
pub mod seed;
pub mod selftests;
pub mod setup;
pub mod signing;
pub mod signing_suite;
pub mod skeleton;
pub mod test;
pub mod unidiff;

use std::path::{Path, PathBuf};

/// The repository's top directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the repository root")
        .to_path_buf()
}

/// This checkout's key in the shared cache: the FNV-1a hash of
/// [`repo_root`]'s path, as 16 hex digits. Its outputs built against a
/// kernel go to the kernel build's `klp-rs-checkout-<key>/`, its logs to
/// the cache's `logs/<checkout name>-<key>/`.
pub fn checkout_key() -> String {
    checkout_key_of(&repo_root())
}

/// The key of the checkout at `root` (see [`checkout_key`]).
fn checkout_key_of(root: &Path) -> String {
    format!(
        "{:016x}",
        kernel::fnv1a(root.as_os_str().as_encoded_bytes())
    )
}

/// A check that ran and failed (exit code 1), as opposed to an error that
/// kept it from running (exit code 2).
#[derive(Debug)]
pub struct Failed(pub String);

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Failed {}
