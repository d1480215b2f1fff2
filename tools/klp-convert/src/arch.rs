//! The relocation types each arch's module loader applies
//! (`apply_relocate_add()` in `srctree/arch/*/kernel/module*.c`), and so may
//! move into a livepatch relocation section.

/// An architecture klp-rs builds patches for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
    Ppc64le,
    S390x,
}

impl Arch {
    /// The arch of an ELF `e_machine`.
    pub fn from_machine(machine: u16) -> Option<Self> {
        match machine {
            62 => Some(Self::X86_64),
            183 => Some(Self::Aarch64),
            21 => Some(Self::Ppc64le),
            22 => Some(Self::S390x),
            _ => None,
        }
    }

    /// The name klp-rs gives the arch.
    pub fn name(self) -> &'static str {
        match self {
            Self::X86_64 => "x86_64",
            Self::Aarch64 => "aarch64",
            Self::Ppc64le => "ppc64le",
            Self::S390x => "s390x",
        }
    }

    /// The name of relocation type `kind` if the kernel applies it to a
    /// livepatch symbol, else `None`.
    pub fn supported(self, kind: u32) -> Option<&'static str> {
        let table: &[(u32, &str)] = match self {
            Self::X86_64 => X86_64,
            Self::Aarch64 => AARCH64,
            Self::Ppc64le => PPC64,
            Self::S390x => S390X,
        };
        table.iter().find(|(k, _)| *k == kind).map(|(_, n)| *n)
    }
}

/// `arch/x86/kernel/module.c`: absolute and PC-relative data, calls.
const X86_64: &[(u32, &str)] = &[
    (1, "R_X86_64_64"),
    (2, "R_X86_64_PC32"),
    (4, "R_X86_64_PLT32"),
    (10, "R_X86_64_32"),
    (11, "R_X86_64_32S"),
    (24, "R_X86_64_PC64"),
];

/// `arch/arm64/kernel/module.c`: calls go through a module PLT when out of
/// range (counted over every `RELA` section, these included).
const AARCH64: &[(u32, &str)] = &[
    (257, "R_AARCH64_ABS64"),
    (258, "R_AARCH64_ABS32"),
    (260, "R_AARCH64_PREL64"),
    (261, "R_AARCH64_PREL32"),
    (263, "R_AARCH64_MOVW_UABS_G0"),
    (264, "R_AARCH64_MOVW_UABS_G0_NC"),
    (265, "R_AARCH64_MOVW_UABS_G1"),
    (266, "R_AARCH64_MOVW_UABS_G1_NC"),
    (267, "R_AARCH64_MOVW_UABS_G2"),
    (268, "R_AARCH64_MOVW_UABS_G2_NC"),
    (269, "R_AARCH64_MOVW_UABS_G3"),
    (273, "R_AARCH64_LD_PREL_LO19"),
    (274, "R_AARCH64_ADR_PREL_LO21"),
    (275, "R_AARCH64_ADR_PREL_PG_HI21"),
    (276, "R_AARCH64_ADR_PREL_PG_HI21_NC"),
    (277, "R_AARCH64_ADD_ABS_LO12_NC"),
    (278, "R_AARCH64_LDST8_ABS_LO12_NC"),
    (282, "R_AARCH64_JUMP26"),
    (283, "R_AARCH64_CALL26"),
    (284, "R_AARCH64_LDST16_ABS_LO12_NC"),
    (285, "R_AARCH64_LDST32_ABS_LO12_NC"),
    (286, "R_AARCH64_LDST64_ABS_LO12_NC"),
    (299, "R_AARCH64_LDST128_ABS_LO12_NC"),
];

/// `arch/powerpc/kernel/module_64.c`: a call (`R_PPC64_REL24`) to a
/// livepatch symbol goes through a stub that saves the TOC pointer, and the
/// `nop` after it becomes the TOC restore; data is reached through the
/// module's TOC, whose `.toc` entries (`R_PPC64_ADDR64`) are what move.
const PPC64: &[(u32, &str)] = &[
    (1, "R_PPC64_ADDR32"),
    (10, "R_PPC64_REL24"),
    (26, "R_PPC64_REL32"),
    (38, "R_PPC64_ADDR64"),
    (44, "R_PPC64_REL64"),
];

/// `arch/s390/kernel/module.c`: calls through the module's PLT, data
/// through its GOT (modules are built with `-fPIC`); both are sized over
/// every `RELA` section, these included.
const S390X: &[(u32, &str)] = &[
    (4, "R_390_32"),
    (5, "R_390_PC32"),
    (19, "R_390_PC32DBL"),
    (20, "R_390_PLT32DBL"),
    (22, "R_390_64"),
    (23, "R_390_PC64"),
    (26, "R_390_GOTENT"),
];
