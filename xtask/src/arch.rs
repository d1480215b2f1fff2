//! The guest architectures klp-rs builds kernels for and boots.

use std::{fmt, str::FromStr};

/// A guest architecture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
    Ppc64le,
    S390x,
}

impl Arch {
    /// Every architecture `--arch` accepts.
    pub const ALL: &'static [Arch] = &[Arch::X86_64, Arch::Aarch64, Arch::Ppc64le, Arch::S390x];

    /// The name users type and logs show.
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Ppc64le => "ppc64le",
            Arch::S390x => "s390x",
        }
    }

    /// The kernel's `ARCH=` value.
    pub fn kernel_arch(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "arm64",
            Arch::Ppc64le => "powerpc",
            Arch::S390x => "s390",
        }
    }

    /// The prefix of Debian's cross toolchain (`CROSS_COMPILE=`); none for
    /// the host's own arch.
    pub fn cross_compile(self) -> Option<&'static str> {
        match self {
            Arch::X86_64 => None,
            Arch::Aarch64 => Some("aarch64-linux-gnu-"),
            Arch::Ppc64le => Some("powerpc64le-linux-gnu-"),
            Arch::S390x => Some("s390x-linux-gnu-"),
        }
    }

    /// Debian's name of the arch, for the packages of a foreign guest; none
    /// for the host's own arch, whose packages setup installs.
    pub fn foreign_debian_arch(self) -> Option<&'static str> {
        match self {
            Arch::X86_64 => None,
            Arch::Aarch64 => Some("arm64"),
            Arch::Ppc64le => Some("ppc64el"),
            Arch::S390x => Some("s390x"),
        }
    }

    /// The ELF `e_machine` of the arch's executables.
    pub fn elf_machine(self) -> u16 {
        match self {
            Arch::X86_64 => 62,
            Arch::Aarch64 => 183,
            Arch::Ppc64le => 21,
            Arch::S390x => 22,
        }
    }

    /// The boot image, relative to the kernel build directory.
    pub fn image(self) -> &'static str {
        match self {
            Arch::X86_64 => "arch/x86/boot/bzImage",
            Arch::Aarch64 => "arch/arm64/boot/Image",
            // SLOF loads the ELF kernel itself.
            Arch::Ppc64le => "vmlinux",
            Arch::S390x => "arch/s390/boot/bzImage",
        }
    }

    /// The QEMU system emulator.
    pub fn qemu(self) -> &'static str {
        match self {
            Arch::X86_64 => "qemu-system-x86_64",
            Arch::Aarch64 => "qemu-system-aarch64",
            Arch::Ppc64le => "qemu-system-ppc64",
            Arch::S390x => "qemu-system-s390x",
        }
    }

    /// Whether the guest's vCPUs may each run on a host thread of their own
    /// (QEMU's multi-threaded TCG). Not on x86_64: there, a vCPU has twice
    /// executed a kernel code patch's `int3` after the patch was complete
    /// (`Oops: int3` at a 5-byte NOP of a static key, in `__schedule` and
    /// in `sched_balance_find_src_group`, while the other vCPU patched
    /// text): QEMU's invalidation of translated code written by another
    /// vCPU races with x86's cross-modifying code protocol
    /// (`text_poke_bp`). One host thread runs both vCPUs in turn, which
    /// interleaves them all the same.
    pub fn multi_threaded_tcg(self) -> bool {
        self != Arch::X86_64
    }

    /// Memory of a busybox guest, in MiB (QEMU's `-m`).
    pub fn guest_memory_mib(self) -> u32 {
        match self {
            Arch::Ppc64le => 512,
            _ => 256,
        }
    }

    /// Machine and device arguments, after `-nodefaults`.
    pub fn qemu_machine_args(self) -> &'static [&'static str] {
        match self {
            Arch::X86_64 => &["-M", "pc"],
            Arch::Aarch64 => &["-M", "virt", "-cpu", "cortex-a57"],
            // The spectre mitigation capabilities TCG cannot provide are
            // turned off rather than warned about at every boot.
            Arch::Ppc64le => &[
                "-M",
                "pseries,cap-cfpc=broken,cap-sbbc=broken,cap-ibs=broken,cap-ccf-assist=off",
                "-cpu",
                "power9",
            ],
            Arch::S390x => &["-M", "s390-ccw-virtio"],
        }
    }

    /// The C compiler for the guest's user space (static programs the
    /// selftests run, such as `test_klp-call_getpid`).
    pub fn user_cc(self) -> &'static str {
        match self {
            Arch::X86_64 => "gcc",
            Arch::Aarch64 => "aarch64-linux-gnu-gcc",
            Arch::Ppc64le => "powerpc64le-linux-gnu-gcc",
            Arch::S390x => "s390x-linux-gnu-gcc",
        }
    }

    /// The Rust target that builds static guest binaries (`tools/klp`):
    /// musl on x86_64; elsewhere glibc linked statically by the arch's
    /// cross gcc (rustup has no s390x musl target).
    pub fn static_rust_target(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64-unknown-linux-musl",
            Arch::Aarch64 => "aarch64-unknown-linux-gnu",
            Arch::Ppc64le => "powerpc64le-unknown-linux-gnu",
            Arch::S390x => "s390x-unknown-linux-gnu",
        }
    }

    /// Extra `rustc` flags for the out-of-tree modules (`RUSTFLAGS_MODULE`).
    ///
    /// s390 builds C modules with `-fPIC` (`arch/s390/Makefile`), so they
    /// reach kernel data through a GOT the module loader fills, but passes no
    /// such flag to Rust: a Rust module then addresses kernel variables
    /// PC-relative, which misses them once the module sits more than 2 GB
    /// from the kernel's data (a fault at a kernel address 4 GB off).
    pub fn module_rustflags(self) -> Option<&'static str> {
        match self {
            Arch::S390x => Some("-Crelocation-model=pic"),
            _ => None,
        }
    }

    /// The serial console device name inside the guest.
    pub fn console(self) -> &'static str {
        match self {
            Arch::X86_64 => "ttyS0",
            Arch::Aarch64 => "ttyAMA0",
            Arch::Ppc64le => "hvc0",
            Arch::S390x => "ttysclp0",
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

/// The arches of `--arch A|all`: one, or every one in [`Arch::ALL`]'s order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arches(pub Vec<Arch>);

impl FromStr for Arches {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "all" {
            return Ok(Arches(Arch::ALL.to_vec()));
        }
        s.parse()
            .map(|a| Arches(vec![a]))
            .map_err(|e| format!("{e}, or `all`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_every_arch_in_order() {
        assert_eq!("all".parse(), Ok(Arches(Arch::ALL.to_vec())));
        assert_eq!("s390x".parse(), Ok(Arches(vec![Arch::S390x])));
        assert_eq!(
            "mips".parse::<Arches>().unwrap_err(),
            "unknown arch `mips`; supported: x86_64, aarch64, ppc64le, s390x, or `all`"
        );
    }

    #[test]
    fn unknown_arch_lists_the_supported_ones() {
        let err = "mips".parse::<Arch>().unwrap_err();
        assert_eq!(
            err,
            "unknown arch `mips`; supported: x86_64, aarch64, ppc64le, s390x"
        );
    }

    #[test]
    fn names_round_trip() {
        for &arch in Arch::ALL {
            assert_eq!(arch.name().parse::<Arch>(), Ok(arch));
        }
    }
}
