//! The architecture of a module, read from its ELF header, and its names in
//! the two package formats.

use anyhow::{bail, Context, Result};
use object::{Architecture, Object};

/// An architecture klp-rs builds patches for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    /// `x86_64`.
    X86_64,
    /// `aarch64`.
    Aarch64,
    /// Little-endian 64-bit POWER.
    Ppc64le,
    /// `s390x`.
    S390x,
}

impl Arch {
    /// The architecture of the ELF image `data`.
    pub fn of_elf(data: &[u8]) -> Result<Arch> {
        let file = object::File::parse(data).context("not a valid ELF file")?;
        Ok(match (file.architecture(), file.is_little_endian()) {
            (Architecture::X86_64, _) => Arch::X86_64,
            (Architecture::Aarch64, true) => Arch::Aarch64,
            (Architecture::PowerPc64, true) => Arch::Ppc64le,
            (Architecture::S390x, _) => Arch::S390x,
            (other, little) => bail!(
                "no package architecture for an ELF of `{other:?}` ({} endian)",
                if little { "little" } else { "big" }
            ),
        })
    }

    /// The Debian name (`dpkg --print-architecture`).
    pub fn deb(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
            Arch::Ppc64le => "ppc64el",
            Arch::S390x => "s390x",
        }
    }

    /// The RPM name (`rpm --eval %_arch`).
    pub fn rpm(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Ppc64le => "ppc64le",
            Arch::S390x => "s390x",
        }
    }
}
