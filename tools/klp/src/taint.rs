//! The kernel's taint flags, from `/proc/sys/kernel/tainted`.
//!
//! Bit `n` set means the reason of row `n` of
//! `srctree/Documentation/admin-guide/tainted-kernels.rst` holds; each has
//! the letter the kernel prints in `Tainted:` (`srctree/kernel/panic.c`:
//! `taint_flags`).

use anyhow::{Context, Result};
use std::{fs, path::Path};

/// A taint flag: its bit, letter and reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flag {
    /// The bit in `/proc/sys/kernel/tainted`.
    pub bit: u32,
    /// The letter the kernel prints (`P` for bit 0, which is `G` unset).
    pub letter: char,
    /// Why the kernel is tainted, as the documentation says.
    pub reason: &'static str,
}

/// Every flag the kernel defines, by bit.
pub const FLAGS: [Flag; 20] = {
    const fn f(bit: u32, letter: char, reason: &'static str) -> Flag {
        Flag {
            bit,
            letter,
            reason,
        }
    }
    [
        f(0, 'P', "proprietary module was loaded"),
        f(1, 'F', "module was force loaded"),
        f(2, 'S', "kernel running on an out of specification system"),
        f(3, 'R', "module was force unloaded"),
        f(4, 'M', "processor reported a Machine Check Exception (MCE)"),
        f(5, 'B', "bad page referenced or some unexpected page flags"),
        f(6, 'U', "taint requested by userspace application"),
        f(
            7,
            'D',
            "kernel died recently, i.e. there was an OOPS or BUG",
        ),
        f(8, 'A', "ACPI table overridden by user"),
        f(9, 'W', "kernel issued warning"),
        f(10, 'C', "staging driver was loaded"),
        f(11, 'I', "workaround for bug in platform firmware applied"),
        f(
            12,
            'O',
            "externally-built (\"out-of-tree\") module was loaded",
        ),
        f(13, 'E', "unsigned module was loaded"),
        f(14, 'L', "soft lockup occurred"),
        f(15, 'K', "kernel has been live patched"),
        f(16, 'X', "auxiliary taint, defined for and used by distros"),
        f(
            17,
            'T',
            "kernel was built with the struct randomization plugin",
        ),
        f(18, 'N', "an in-kernel test has been run"),
        f(
            19,
            'J',
            "userspace used a mutating debug operation in fwctl",
        ),
    ]
};

/// The flags that make a downgrade unsafe: the kernel warned (`W`) or
/// died (`D`), so its state is not the one the patches were tested on.
pub const UNSAFE: [char; 2] = ['W', 'D'];

/// The set flags of a taint value; a bit the kernel does not define is
/// shown as `?` with its number.
pub fn flags(value: u64) -> Vec<Flag> {
    (0..64)
        .filter(|bit| value & (1 << bit) != 0)
        .map(|bit| {
            FLAGS.get(bit as usize).copied().unwrap_or(Flag {
                bit,
                letter: '?',
                reason: "unknown to klp",
            })
        })
        .collect()
}

/// The set flags of the running kernel.
pub fn read(root: &Path) -> Result<Vec<Flag>> {
    let path = root.join("proc/sys/kernel/tainted");
    let text = fs::read_to_string(&path)
        .with_context(|| format!("cannot read the kernel's taint from `{}`", path.display()))?;
    let value = text
        .trim()
        .parse()
        .with_context(|| format!("`{}` holds `{}`, not a number", path.display(), text.trim()))?;
    Ok(flags(value))
}

/// `W (kernel issued warning), D (...)`.
pub fn describe(flags: &[Flag]) -> String {
    let named: Vec<String> = flags
        .iter()
        .map(|f| match f.letter {
            '?' => format!("bit {} ({})", f.bit, f.reason),
            l => format!("{l} ({})", f.reason),
        })
        .collect();
    named.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_set_flag() {
        let letters = |v| flags(v).iter().map(|f| f.letter).collect::<String>();
        assert_eq!(letters(0), "");
        assert_eq!(letters(512 + 128), "DW");
        assert_eq!(letters(32768 + 4096 + 8192), "OEK");
        assert_eq!(letters(1 << 19), "J");
        assert_eq!(describe(&flags(1 << 40)), "bit 40 (unknown to klp)");
        assert_eq!(describe(&flags(512)), "W (kernel issued warning)");
    }
}
