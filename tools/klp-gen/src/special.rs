//! The tables the kernel reads about code (exception table, bug table,
//! jump labels, alternatives, ftrace call sites, ppc64le feature fixups,
//! s390x expoline sites, ...): arrays of fixed-size entries, each pointing
//! at one place in the code. The extracted object carries exactly the
//! entries of the code it carries.

/// The size of an entry of the table `name` on `arch` (`sh_entsize` wins
/// where the assembler recorded one); `None` for a section that is not a
/// known table.
pub fn entry_size(arch: object::Architecture, name: &str) -> Option<u64> {
    use object::Architecture::*;
    let common = match name {
        "__jump_table" => Some(16),
        "__mcount_loc" | "__patchable_function_entries" | "_kprobe_blacklist" => Some(8),
        _ => None,
    };
    common.or(match (arch, name) {
        (X86_64, "__bug_table") => Some(16),
        (X86_64, "__ex_table") => Some(12),
        (X86_64, ".altinstructions") => Some(14),
        (X86_64, ".smp_locks") => Some(4),
        (X86_64, ".discard.annotate_insn") => Some(8),
        (Aarch64, "__bug_table") => Some(12),
        (Aarch64, "__ex_table") => Some(12),
        (Aarch64, ".altinstructions") => Some(12),
        (PowerPc64, "__bug_table") => Some(12),
        (PowerPc64, "__ex_table") => Some(8),
        (PowerPc64, "__ftr_fixup" | "__mmu_ftr_fixup" | "__fw_ftr_fixup") => Some(48),
        (
            PowerPc64,
            "__lwsync_fixup"
            | "__barrier_nospec_fixup"
            | "__stf_entry_barrier_fixup"
            | "__stf_exit_barrier_fixup"
            | "__uaccess_flush_fixup"
            | "__entry_flush_fixup"
            | "__scv_entry_flush_fixup"
            | "__rfi_flush_fixup",
        ) => Some(8),
        (S390x, "__bug_table") => Some(16),
        (S390x, "__ex_table") => Some(12),
        (S390x, ".altinstructions") => Some(13),
        (
            S390x,
            ".s390_indirect_call"
            | ".s390_indirect_jump"
            | ".s390_indirect_branches"
            | ".s390_return_reg"
            | ".s390_return_mem",
        ) => Some(4),
        _ => None,
    })
}

/// Sections whose contents other tables point into, carried whole when
/// the extracted code needs them (alternative instructions, ppc64le
/// feature-fixup alternatives, fixup code).
pub fn is_auxiliary(name: &str) -> bool {
    matches!(name, ".altinstr_replacement" | ".altinstr_aux" | ".fixup")
        || name.starts_with("__ftr_alt_")
}

/// Sections never carried: what only the kernel's own build reads
/// (exports, symbol versions, objtool annotations other than
/// `.discard.annotate_insn`).
pub fn is_ignored(name: &str) -> bool {
    name == ".export_symbol"
        || name.starts_with(".discard.") && name != ".discard.annotate_insn"
        || name.starts_with(".debug")
        || name.starts_with(".note")
        || name == ".comment"
}

/// Sections of ordinary code and data (with `-ffunction-sections
/// -fdata-sections`, one per function or variable): a pointer from one of
/// them to a replaced function is the running kernel's business (ftrace
/// redirects the call), not a table entry.
pub fn is_code_or_data(name: &str) -> bool {
    const PREFIXES: &[&str] = &[
        ".text",
        ".data",
        ".rodata",
        ".bss",
        ".init.",
        ".exit.",
        ".ref.",
        ".sched.text",
        ".cpuidle.text",
        ".spinlock.text",
        ".kprobes.text",
        ".meminit",
        ".head.text",
        ".tbss",
        ".tdata",
        ".toc",
        ".opd",
        "__tracepoints",
        "_ftrace_events",
        "__param",
        "__modver",
        ".export_symbol",
        "___ksymtab",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p))
}

/// Checks that the relocations of a table of `size` bytes, at `offsets`
/// (sorted), repeat in every entry of `entry` bytes as in the first one:
/// then the split is right.
pub fn splits_evenly(size: u64, entry: u64, offsets: &[u64]) -> bool {
    if entry == 0 || !size.is_multiple_of(entry) {
        return false;
    }
    let pattern: Vec<u64> = offsets.iter().copied().filter(|&o| o < entry).collect();
    let count = size / entry;
    if pattern.is_empty() || offsets.len() as u64 != pattern.len() as u64 * count {
        return false;
    }
    offsets
        .iter()
        .enumerate()
        .all(|(i, &o)| o == (i / pattern.len()) as u64 * entry + pattern[i % pattern.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_splits_only_where_every_entry_has_the_same_relocations() {
        // arm64 `__ex_table`: two 12-byte entries, relocations at 0 and 4.
        assert!(splits_evenly(24, 12, &[0, 4, 12, 16]));
        // An entry without its second relocation.
        assert!(!splits_evenly(24, 12, &[0, 4, 12]));
        // The wrong entry size.
        assert!(!splits_evenly(24, 8, &[0, 4, 12, 16]));
        assert!(!splits_evenly(20, 12, &[0, 4, 12, 16]));
    }

    #[test]
    fn known_tables_per_arch() {
        use object::Architecture::*;
        assert_eq!(entry_size(PowerPc64, "__ex_table"), Some(8));
        assert_eq!(entry_size(S390x, "__jump_table"), Some(16));
        assert_eq!(entry_size(X86_64, ".data"), None);
        assert!(is_auxiliary("__ftr_alt_97"));
        assert!(is_ignored(".discard.addressable") && !is_ignored(".discard.annotate_insn"));
    }
}
