//! The errors of the engine: every one names the file, and where it can, the
//! section and the offset at which reading stopped. The underlying error
//! (from the system or gimli) is the `source`, printed as the cause.

use std::{io, path::PathBuf};

/// Why a file could not be read or compared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened or mapped.
    #[error("cannot read `{path}`")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The ELF structure is malformed (truncated, out-of-bounds offsets, ...).
    #[error("`{file}`: {place}: {message}")]
    Elf {
        file: String,
        /// What was being read, e.g. "section header table at offset 0x1f40".
        place: String,
        message: String,
    },
    /// The DWARF in a section is malformed.
    #[error("`{file}`: {section} at offset {offset:#x}")]
    Dwarf {
        file: String,
        section: &'static str,
        offset: u64,
        #[source]
        source: gimli::Error,
    },
    /// The file has no `.debug_info`.
    #[error("`{file}`: no DWARF debug information (no .debug_info section); build with -g")]
    NoDwarf { file: String },
    /// The DWARF lives in `.dwo` files, which are not read.
    #[error("`{file}`: .debug_info at offset {offset:#x}: split DWARF (skeleton unit for `{dwo}`); build without -gsplit-dwarf")]
    SplitDwarf {
        file: String,
        offset: u64,
        dwo: String,
    },
    /// The architecture is not one of the four klp-rs supports.
    #[error(
        "`{file}`: unsupported architecture {arch} (supported: x86_64, aarch64, ppc64le, s390x)"
    )]
    UnsupportedArch { file: String, arch: String },
    /// The two files are for different architectures.
    #[error("`{old}` is {old_arch} but `{new}` is {new_arch}: both must be the same architecture")]
    ArchMismatch {
        old: String,
        old_arch: &'static str,
        new: String,
        new_arch: &'static str,
    },
    /// A relocation could not be applied.
    #[error("`{file}`: relocation in {section} at offset {offset:#x}: {message}")]
    Relocation {
        file: String,
        section: String,
        offset: u64,
        message: String,
    },
    /// A directory of a kernel image holds no `vmlinux` and no module.
    #[error("`{dir}`: no vmlinux and no module (.ko) in it")]
    NoObjects { dir: PathBuf },
    /// A module of a kernel image is compressed.
    #[error("`{path}` is compressed: decompress the image's modules first (`{command}`)")]
    Compressed { path: PathBuf, command: String },
    /// Two files of a directory are the same object of a kernel image
    /// (two `vmlinux` equally near the top, or one module under two
    /// `lib/modules/<release>/`).
    #[error("`{first}` and `{second}` are both `{name}`: two kernel images in one directory; give the directory of one")]
    TwoImages {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },
    /// An object has code sections without contents: a file of debug
    /// information only (`objcopy --only-keep-debug`), whose code cannot be
    /// compared.
    #[error("`{file}`: section `{section}` has no contents (NOBITS): a debug-only file (`objcopy --only-keep-debug`); give the object with its code and DWARF (`eu-unstrip` joins the two)")]
    NoCode { file: String, section: String },
}

/// The result type of the engine.
pub type Result<T, E = Error> = std::result::Result<T, E>;
