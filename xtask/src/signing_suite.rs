//! The `signing` suite: a kernel that enforces module signatures
//! (`CONFIG_MODULE_SIG_FORCE`, derived from the cached kernel: one unit
//! recompiled, relinked) loads a klp-rs patch that `cargo xtask build`
//! signed, and refuses the same patch unsigned and changed after signing:
//! `klp load` exits 1 with the kernel's error and says how to sign, and
//! nothing changes (`qemu/guest/scenarios/signing.sh`).

use crate::{initramfs, kernel, modules, qemu, setup, signing};
use anyhow::{bail, Context, Result};

/// The suite's name: its scenario is `qemu/guest/scenarios/signing.sh`.
pub const SUITE: &str = "signing";
/// The patch the guest loads, signed and not.
const PATCH: &str = "klp_series_v1";
/// Part of that patch's `.modinfo` that the altered copy changes.
const ALTERED: &[u8] = b"description=Cumulative patch";

/// The guest: the enforcing kernel of `arch`, the patch as built (signed)
/// in `/lib/klp/`, and its unsigned and altered copies in
/// `/lib/klp/unsigned/` and `/lib/klp/altered/`.
pub fn guest(
    cache: &crate::cache::Cache,
    tc: &setup::Toolchain,
    arch: crate::arch::Arch,
) -> Result<qemu::Guest> {
    let base = kernel::build(cache, tc, arch)?;
    // The enforcing kernel is the base with one option changed: the same
    // release, symbol versions and built-in certificate, so the modules
    // built (and signed) against the base are the ones to load.
    let kos = modules::build(cache, tc, &base, modules::Lint::No)?;
    let enforcing = signing::enforcing_kernel(cache, tc, arch)?;
    let ko = &modules::find(&kos, PATCH)?;
    let signed = std::fs::read(ko).with_context(|| format!("cannot read `{}`", ko.display()))?;
    let unsigned = klp::signature::unsigned(&signed);
    if unsigned.len() == signed.len() {
        bail!("`{}` was built but not signed", ko.display());
    }
    let file = |dir: &str, data: Vec<u8>| initramfs::File {
        path: format!("lib/klp/{dir}/{PATCH}.ko"),
        executable: false,
        data,
    };
    let extra = vec![
        file("unsigned", unsigned.to_vec()),
        file("altered", altered(&signed)?),
    ];
    qemu::Guest::with_modules(cache, enforcing, std::slice::from_ref(ko), extra)
}

/// `signed` with one byte of its description changed (upper case), its
/// signature left as it was: still a valid module, no longer the one signed.
fn altered(signed: &[u8]) -> Result<Vec<u8>> {
    let at = signed
        .windows(ALTERED.len())
        .position(|w| w == ALTERED)
        .with_context(|| {
            format!(
                "`{PATCH}.ko` has no `{}` to alter",
                String::from_utf8_lossy(ALTERED)
            )
        })?;
    let mut out = signed.to_vec();
    out[at + ALTERED.len() - 1].make_ascii_uppercase();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_altered_copy_differs_by_one_byte_and_keeps_its_signature() {
        let mut signed = b"\x7fELF\0name=x\0description=Cumulative patch 1: /proc\0".to_vec();
        signed.extend_from_slice(b"sig");
        signed.extend_from_slice(&[0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 3]);
        signed.extend_from_slice(klp::signature::MAGIC);
        let out = altered(&signed).unwrap();
        let differ: Vec<usize> = (0..out.len()).filter(|&i| out[i] != signed[i]).collect();
        assert_eq!(differ.len(), 1);
        assert_eq!(out[differ[0]], b'H');
        assert!(klp::signature::appended(&out).unwrap().is_some());
        assert!(altered(b"no description").is_err());
    }
}
