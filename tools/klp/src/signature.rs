//! The signature a module file may carry at its end, as the kernel's
//! `scripts/sign-file` appends it and the module loader checks it
//! (`srctree/include/linux/module_signature.h`, `kernel/module/signing.c`):
//! the module's bytes, a PKCS#7 signature, a 12-byte `struct
//! module_signature` whose last field is the signature's length (big
//! endian), then the magic string [`MAGIC`].

use anyhow::{bail, Result};

/// The last bytes of a signed module.
pub const MAGIC: &[u8] = b"~Module signature appended~\n";
/// `sizeof(struct module_signature)`.
const INFO_LEN: usize = 12;
/// `PKEY_ID_PKCS7`: the only signature kind the module loader accepts.
const PKEY_ID_PKCS7: u8 = 2;

/// A module file split into its body and its appended signature.
#[derive(Debug, PartialEq, Eq)]
pub struct Signed<'a> {
    /// What the signature covers: the ELF image.
    pub module: &'a [u8],
    /// The PKCS#7 signature.
    pub signature: &'a [u8],
}

/// The signature appended to `data`, `None` if there is none; an error if
/// the trailer is there but malformed (the kernel would refuse it with
/// `EBADMSG`).
pub fn appended(data: &[u8]) -> Result<Option<Signed<'_>>> {
    let Some(rest) = data.strip_suffix(MAGIC) else {
        return Ok(None);
    };
    let Some(info_at) = rest.len().checked_sub(INFO_LEN) else {
        bail!("the module signature trailer is cut short: the file ends in the middle of it");
    };
    let info = &rest[info_at..];
    // struct module_signature { u8 algo, hash, id_type, signer_len,
    // key_id_len, __pad[3]; __be32 sig_len; }
    let id_type = info[2];
    if id_type != PKEY_ID_PKCS7 {
        bail!("the module signature is of kind {id_type}, not PKCS#7 ({PKEY_ID_PKCS7}), the only kind the kernel accepts");
    }
    if info[..2] != [0, 0] || info[3..8] != [0; 5] {
        bail!("the module signature header has fields set that a PKCS#7 signature leaves zero");
    }
    let sig_len = u32::from_be_bytes([info[8], info[9], info[10], info[11]]) as usize;
    let Some(sig_at) = info_at.checked_sub(sig_len) else {
        bail!(
            "the module signature claims {sig_len} bytes, more than the {info_at} bytes before it"
        );
    };
    if sig_len == 0 {
        bail!("the module signature is empty");
    }
    Ok(Some(Signed {
        module: &rest[..sig_at],
        signature: &rest[sig_at..info_at],
    }))
}

/// `data` without its appended signature, if any (a malformed trailer is
/// left as it is: it is not a signature this can take off).
pub fn unsigned(data: &[u8]) -> &[u8] {
    match appended(data) {
        Ok(Some(signed)) => signed.module,
        _ => data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(module: &[u8], signature: &[u8]) -> Vec<u8> {
        let mut out = module.to_vec();
        out.extend_from_slice(signature);
        out.extend_from_slice(&[0, 0, PKEY_ID_PKCS7, 0, 0, 0, 0, 0]);
        out.extend_from_slice(&(signature.len() as u32).to_be_bytes());
        out.extend_from_slice(MAGIC);
        out
    }

    #[test]
    fn splits_a_signed_module() {
        let data = signed(b"\x7fELF...", b"pkcs7");
        let got = appended(&data).unwrap().unwrap();
        assert_eq!(got.module, b"\x7fELF...");
        assert_eq!(got.signature, b"pkcs7");
        assert_eq!(unsigned(&data), b"\x7fELF...");
    }

    #[test]
    fn an_unsigned_module_has_none() {
        assert_eq!(appended(b"\x7fELF...").unwrap(), None);
        assert_eq!(unsigned(b"\x7fELF..."), b"\x7fELF...");
    }

    #[test]
    fn refuses_malformed_trailers() {
        let mut long = signed(b"m", b"sig");
        let n = long.len() - MAGIC.len() - 4;
        long[n..n + 4].copy_from_slice(&100u32.to_be_bytes());
        let err = appended(&long).unwrap_err().to_string();
        assert!(err.contains("claims 100 bytes"), "{err}");

        let mut kind = signed(b"m", b"sig");
        let n = kind.len() - MAGIC.len() - INFO_LEN + 2;
        kind[n] = 1;
        assert!(appended(&kind)
            .unwrap_err()
            .to_string()
            .contains("not PKCS#7"));

        let short = [b"ab".as_slice(), MAGIC].concat();
        assert!(appended(&short)
            .unwrap_err()
            .to_string()
            .contains("cut short"));
        assert_eq!(unsigned(&short), short.as_slice());
    }
}
