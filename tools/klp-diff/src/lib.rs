//! What changed between two builds of a kernel (or of a module), read from
//! ELF and DWARF, answering what a live patch author needs to know: which
//! functions to replace, which callers carry an inlined copy of them, which
//! types changed layout (and need shadow variables instead), and which
//! functions cannot be replaced at all.
//!
//! Inputs are mapped, never copied (but for sections that are compressed,
//! or need relocations applied in relocatable objects), and the DWARF is
//! read one unit at a time on several threads; the report does not depend on
//! the number of threads.
//!
//! Two whole kernel images (a `vmlinux` and its modules each, found by
//! [`Image::scan`]) are compared object by object by [`compare_images`],
//! into one [`Verdict`]: which changed functions a live patch can replace,
//! which it cannot and why, and the shares of both (`update.rs` says what
//! counts).
//!
//! # Examples
//!
//! ```no_run
//! use klp_diff::{diff, Binary, Mapping, Options};
//!
//! let (old, new) = (Mapping::open("old/vmlinux")?, Mapping::open("new/vmlinux")?);
//! let old = Binary::parse("old/vmlinux", old.data())?;
//! let new = Binary::parse("new/vmlinux", new.data())?;
//! let report = diff(&old, &new, &Options::default())?;
//! report.write_text(&mut std::io::stdout().lock())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod bugs;
mod code;
mod detail;
mod diff;
mod dwarf;
mod elf;
mod error;
mod facts;
mod hash;
mod merge;
mod pool;
mod report;
mod update;
mod x86;

pub use diff::{diff, Options};
pub use elf::{Binary, Mapping};
pub use error::{Error, Result};
pub use facts::{
    function_signatures, CType, Decl, Param, Reach, Reference, Replacement, Signature, Why,
};
pub use report::{
    ChangedData, ChangedFunction, ChangedType, FunctionRef, InlineCaller, Report, Unpatchable,
};
pub use update::{
    compare_images, share, FunctionVerdict, Image, ObjectVerdict, Presence, Totals, TypeVerdict,
    VariableVerdict, Verdict,
};
