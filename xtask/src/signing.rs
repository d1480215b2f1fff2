//! Module signing. `cargo xtask build` signs every module it builds, after
//! Kbuild's link and the post-link step (klp-convert rewrites the `.ko`: a
//! signature made before would no longer match), with the kernel's own
//! `scripts/sign-file` and the key of the kernel build, which that kernel
//! trusts, or a key the user names.

use crate::{
    arch::Arch,
    cache::Cache,
    kernel::{self, Kernel},
    run, setup,
};
use anyhow::{bail, Context, Result};
use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// A private key and its X.509 certificate, as `sign-file` takes them.
#[derive(Clone, Debug)]
pub struct SigningKey {
    /// PEM private key (it may hold the certificate too).
    pub key: PathBuf,
    /// The certificate, PEM or DER.
    pub cert: PathBuf,
}

/// How to make a key of one's own, for error messages.
const HOW_TO_MAKE_A_KEY: &str = "make a key of your own with `openssl req -new -x509 \
-newkey rsa:4096 -sha256 -days 36500 -nodes -subj '/CN=klp-rs patches/' -outform PEM \
-keyout KEY.pem -out KEY.pem` and its certificate with `openssl x509 -in KEY.pem -outform DER \
-out CERT.x509`, then pass `--sign-key KEY.pem --sign-cert CERT.x509` (a kernel accepts it once \
the certificate is in its trusted keyring)";

impl SigningKey {
    /// The key the kernel build generated for its modules
    /// (`certs/signing_key.pem`, the certificate `certs/signing_key.x509`
    /// built into that kernel).
    pub fn of_build(kernel: &Kernel) -> Result<Self> {
        let key = kernel.dir.join("certs/signing_key.pem");
        let cert = kernel.dir.join("certs/signing_key.x509");
        for path in [&key, &cert] {
            if !path.is_file() {
                bail!(
                    "no module signing key at `{}`: a kernel build makes one when \
                     `CONFIG_MODULE_SIG` is set and `CONFIG_MODULE_SIG_KEY` is the default \
                     (`qemu/configs/common.config`); or {HOW_TO_MAKE_A_KEY}",
                    path.display()
                );
            }
        }
        Ok(Self { key, cert })
    }

    /// A key the user names; both files must exist.
    pub fn named(key: &Path, cert: &Path) -> Result<Self> {
        for (what, path) in [("key", key), ("certificate", cert)] {
            if !path.is_file() {
                bail!(
                    "the signing {what} `{}` does not exist; {HOW_TO_MAKE_A_KEY}",
                    path.display()
                );
            }
        }
        Ok(Self {
            key: key.to_path_buf(),
            cert: cert.to_path_buf(),
        })
    }
}

/// Signs each of `kos` (after their post-link step) for `kernel` with
/// `key`, replacing any signature one had (a rebuild that did not relink a
/// module leaves it signed), and checks that each now carries one.
pub fn sign_all(kernel: &Kernel, key: &SigningKey, kos: &[PathBuf]) -> Result<()> {
    let tool = kernel.dir.join("scripts/sign-file");
    if !tool.is_file() {
        bail!(
            "the kernel build `{}` has no `scripts/sign-file`: it is built with \
             `CONFIG_MODULE_SIG` (`qemu/configs/common.config`)",
            kernel.dir.display()
        );
    }
    let hash = sig_hash(kernel)?;
    for ko in kos {
        sign(&tool, &hash, key, ko)?;
    }
    eprintln!(
        "==> signed {} module(s) with `{}`",
        kos.len(),
        key.key.display()
    );
    Ok(())
}

/// Signs `ko` with `sign-file` (`tool`), `hash` and `key`.
fn sign(tool: &Path, hash: &str, key: &SigningKey, ko: &Path) -> Result<()> {
    let data = std::fs::read(ko).with_context(|| format!("cannot read `{}`", ko.display()))?;
    let body = klp::signature::unsigned(&data);
    if body.len() != data.len() {
        std::fs::write(ko, body)?;
    }
    run::output(
        Command::new(tool)
            .arg(hash)
            .arg(&key.key)
            .arg(&key.cert)
            .arg(ko),
    )
    .with_context(|| format!("signing `{}` with `{}`", ko.display(), key.key.display()))?;
    let signed = std::fs::read(ko)?;
    match klp::signature::appended(&signed) {
        Ok(Some(_)) => Ok(()),
        Ok(None) => bail!("`sign-file` left `{}` without a signature", ko.display()),
        Err(e) => Err(e.context(format!(
            "`sign-file` wrote a bad trailer on `{}`",
            ko.display()
        ))),
    }
}

/// `CONFIG_MODULE_SIG_HASH` of the kernel build (`sha256`).
fn sig_hash(kernel: &Kernel) -> Result<String> {
    let path = kernel.dir.join(".config");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let config = crate::kconfig::parse(&text);
    match config.get("MODULE_SIG_HASH") {
        Some(v) => Ok(v.trim_matches('"').to_string()),
        None => bail!(
            "`{}` has no `CONFIG_MODULE_SIG_HASH`: the kernel was built without \
             `CONFIG_MODULE_SIG`, so it checks no signature",
            path.display()
        ),
    }
}

/// The kernel of `arch` with `CONFIG_MODULE_SIG_FORCE`: the cached kernel
/// with that one option set (Kbuild recompiles `kernel/module/signing.c`
/// and relinks).
pub fn enforcing_kernel(cache: &Cache, tc: &setup::Toolchain, arch: Arch) -> Result<Kernel> {
    let base = kernel::build(cache, tc, arch)?;
    let option = "CONFIG_MODULE_SIG_FORCE=y\n";
    let variant = kernel::Variant {
        label: "sig-force".into(),
        key: option.into(),
        change: kernel::Change::Config(option.into()),
    };
    kernel::derive(cache, tc, &base, &variant)
}
