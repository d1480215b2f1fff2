//! The guest architectures klp-rs builds kernels for and boots.

use std::{fmt, str::FromStr};

/// A guest architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X86_64,
}

impl Arch {
    /// Every architecture brought up so far, in the order suites run.
    pub const ALL: &'static [Arch] = &[Arch::X86_64];

    /// The name users type and logs show.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
        }
    }

    /// The kernel's `ARCH=` value.
    pub fn kernel_arch(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
        }
    }

    /// The boot image, relative to the kernel build directory.
    pub fn image(self) -> &'static str {
        match self {
            Arch::X86_64 => "arch/x86/boot/bzImage",
        }
    }

    /// The QEMU system emulator.
    pub fn qemu(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-system-x86_64",
        }
    }

    /// Machine and device arguments, after `-nodefaults`.
    pub fn qemu_machine_args(self) -> &'static [&'static str] {
        match self {
            Arch::X86_64 => &["-M", "pc", "-m", "256"],
        }
    }

    /// The C compiler for the guest's user space (static programs the
    /// selftests run, such as `test_klp-call_getpid`).
    pub fn user_cc(self) -> &'static str {
        match self {
            Arch::X86_64 => "gcc",
        }
    }

    /// The Rust target that builds static guest binaries (`tools/klp`).
    pub fn musl_target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-musl",
        }
    }

    /// The serial console device name inside the guest.
    pub fn console(self) -> &'static str {
        match self {
            Arch::X86_64 => "ttyS0",
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Arch {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Arch::ALL
            .iter()
            .copied()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Arch::ALL.iter().map(|a| a.name()).collect();
                format!("unknown arch `{s}`; supported: {}", names.join(", "))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_arch_lists_the_supported_ones() {
        let err = "mips".parse::<Arch>().unwrap_err();
        assert_eq!(err, "unknown arch `mips`; supported: x86_64");
    }

    #[test]
    fn names_round_trip() {
        for &arch in Arch::ALL {
            assert_eq!(arch.name().parse::<Arch>(), Ok(arch));
        }
    }
}
