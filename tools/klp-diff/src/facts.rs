//! What a patch author needs to write each replacement, read from the new
//! build: the function's signature from DWARF, and the symbols its new
//! code refers to (from its relocations, so only in relocatable inputs,
//! `.o` and `.ko`), each with whether the patch module can link to it
//! (exported), must reach it through a livepatch relocation (defined in
//! the patched object, not exported), or must carry it (new in this
//! build), with its declaration from DWARF.

use crate::{
    detail::UnitView,
    dwarf::Dwarf,
    elf::{Binary, Reloc, SymKind},
    error::Result,
    report::FunctionRef,
};

/// A C type, as much of it as a Rust declaration needs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CType {
    Void,
    /// An integer: its DWARF name (`long unsigned int`), size and sign.
    Int {
        name: String,
        size: u64,
        signed: bool,
    },
    Bool,
    Float(u64),
    /// `const T`, `volatile T` keep only `const`.
    Const(Box<CType>),
    Pointer(Box<CType>),
    Array(Box<CType>, Option<u64>),
    /// `struct foo`, `union bar` (or `struct {...}`), and its size.
    Aggregate(String, u64),
    /// An enum's name, size and sign.
    Enum(String, u64, bool),
    /// A function type (seen through a pointer).
    Function,
    /// A type the engine does not model, by its C spelling.
    Other(String),
}

/// One parameter.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Param {
    /// Its name, if DWARF gives one (declarations often do not).
    pub name: Option<String>,
    pub ty: CType,
}

/// A function's type.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Signature {
    pub ret: CType,
    pub params: Vec<Param>,
    pub variadic: bool,
    /// As C writes it: `int (struct foo *, long)`.
    pub c: String,
    /// As C declares it, with the names DWARF gives the function and its
    /// parameters: `int cmdline_proc_show(struct seq_file *m, void *v)`.
    pub decl: String,
}

/// What a referenced symbol is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Decl {
    Function(Signature),
    /// A variable's type, and its C spelling.
    Variable(CType, String),
    /// No DWARF for it in the function's unit.
    Unknown,
}

/// How a replacement can reach a symbol its code refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reach {
    /// Exported: the patch module links to it as any module does.
    Exported,
    /// In the patched object and not exported: through a livepatch
    /// relocation (`klp_extern!`).
    Relocation,
    /// Not in the old build: the patch must carry its own copy.
    New,
    /// Undefined in this input, and no export list says whether another
    /// part of the kernel exports it.
    Unknown,
}

/// A symbol a replacement's new code refers to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Reference {
    pub name: String,
    pub function: bool,
    pub reach: Reach,
    /// Its position among same-named symbols of the input, 0 if unique.
    pub sympos: u32,
    pub decl: Decl,
}

/// Why a function's code changed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Why {
    Changed,
    /// It has an inlined copy of this changed function (and may not
    /// have changed otherwise).
    Inlines(String),
}

/// A changed function a patch can replace, with what its author needs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Replacement {
    pub func: FunctionRef,
    pub why: Why,
    /// From the new build's DWARF, if it has the function.
    pub signature: Option<Signature>,
    /// Sorted by name; empty for linked inputs (no relocations left).
    pub references: Vec<Reference>,
}

/// Names the caller says are exported besides the input's own export
/// tables (a `Module.symvers`), the names the new build itself exports,
/// and the old build's names.
pub(crate) struct Context<'x> {
    pub(crate) exports: &'x std::collections::BTreeSet<String>,
    pub(crate) exported_here: std::collections::BTreeSet<&'x [u8]>,
    pub(crate) old_names: std::collections::BTreeSet<&'x [u8]>,
}

impl<'x> Context<'x> {
    /// The context of comparing `old` with `new`.
    pub(crate) fn new(
        old: &'x Binary<'_>,
        new: &'x Binary<'_>,
        exports: &'x std::collections::BTreeSet<String>,
    ) -> Self {
        // `EXPORT_SYMBOL` leaves a `__ksymtab_` symbol in linked images,
        // `__export_symbol_` in objects.
        let exported_here = new
            .syms
            .iter()
            .filter_map(|s| {
                s.name
                    .strip_prefix(b"__ksymtab_")
                    .or_else(|| s.name.strip_prefix(b"__export_symbol_"))
            })
            .collect();
        let old_names = old
            .syms
            .iter()
            .filter(|s| matches!(s.kind, SymKind::Func | SymKind::Object) && s.section.is_some())
            .map(|s| s.name)
            .collect();
        Self {
            exports,
            exported_here,
            old_names,
        }
    }
}

/// Symbols that belong to how code is compiled, not to what it does
/// (`.TOC.`: the ppc64 ELFv2 TOC base, which every function refers to).
const COMPILER_SUPPORT: &[&[u8]] = &[
    b".TOC.",
    b"__fentry__",
    b"_mcount",
    b"__x86_return_thunk",
    b"__x86_indirect_thunk_",
    b"__stack_chk_fail",
    b"__ubsan_",
    b"__sanitizer_",
    b"__asan_",
    b"__tsan_",
    b"__kasan_",
    b"__kcsan_",
    b"__cfi_",
    b"__pfx_",
];

/// The symbol (function or variable) a relocation refers to, if any.
fn referenced(bin: &Binary<'_>, r: &Reloc) -> Option<u32> {
    let i = r.sym?;
    let s = bin.syms.get(i as usize)?;
    match s.kind {
        SymKind::Func | SymKind::Object if !s.name.is_empty() => Some(i),
        SymKind::Other if s.section.is_none() && !s.name.is_empty() => Some(i),
        SymKind::Section => {
            // A local symbol, referred to through its section (GNU as):
            // `call` targets are 4 bytes short on x86_64.
            let bias = if r.pc_relative && matches!(bin.arch, crate::elf::Arch::X86_64) {
                4
            } else {
                0
            };
            let t = s.addr.wrapping_add_signed(r.addend.wrapping_add(bias));
            bin.symbol_index_containing(t)
                .filter(|&j| bin.syms[j as usize].addr == t)
        }
        _ => None,
    }
}

/// The replacement of the function `sym` of `bin` (the new build), whose
/// DWARF entry is `die` of `unit`, if known.
pub(crate) fn describe(
    bin: &Binary<'_>,
    dwarf: &Dwarf<'_>,
    at: Option<(u32, usize)>,
    sym: u32,
    sympos_of: &dyn Fn(&[u8], u32) -> u32,
    cx: &Context<'_>,
) -> Result<(Option<Signature>, Vec<Reference>)> {
    let view = at
        .map(|(unit, _)| UnitView::open(dwarf, unit))
        .transpose()?;
    let signature = match (&view, at) {
        (Some(v), Some((_, die))) => Some(v.signature_parts(die)?),
        _ => None,
    };
    let s = &bin.syms[sym as usize];
    let relocs = match s.section {
        Some(sec) => bin.relocs_in(sec, s.addr, s.addr.saturating_add(s.size)),
        None => &[],
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut refs = Vec::new();
    for r in relocs {
        let Some(i) = referenced(bin, r).filter(|&i| i != sym) else {
            continue;
        };
        let t = &bin.syms[i as usize];
        if COMPILER_SUPPORT.iter().any(|p| t.name.starts_with(p)) || !seen.insert(t.name) {
            continue;
        }
        let name = String::from_utf8_lossy(t.name).into_owned();
        let defined = t.section.is_some();
        let reach = if cx.exported_here.contains(t.name) || cx.exports.contains(&name) {
            Reach::Exported
        } else if !cx.old_names.contains(t.name) && defined {
            Reach::New
        } else if defined || !cx.exports.is_empty() {
            Reach::Relocation
        } else {
            Reach::Unknown
        };
        let decl = match &view {
            Some(v) => v.declaration_of(t.name)?,
            None => Decl::Unknown,
        };
        let function = match (&decl, t.kind) {
            (Decl::Function(_), _) | (_, SymKind::Func) => true,
            (Decl::Variable(..), _) | (_, SymKind::Object) => false,
            _ => true,
        };
        refs.push(Reference {
            name,
            function,
            reach,
            sympos: if defined { sympos_of(t.name, i) } else { 0 },
            decl,
        });
    }
    refs.sort();
    Ok((signature, refs))
}

/// For each `(name, address)` of `wanted`, in that order, the signatures
/// of the out-of-line functions of that name in `bin` (several for same-named
/// local functions), with their addresses (in a relocatable object,
/// addresses the engine gave its sections), from DWARF: one pass over it
/// for all the names. A name DWARF has no function of gets the function at
/// `address`, if given and DWARF has one there, under whatever name: an
/// alias (x86_64's `__x64_sys_getpid` is `__do_sys_getpid`) has no DWARF of
/// its own.
pub fn function_signatures(
    bin: &Binary<'_>,
    wanted: &[(&str, Option<u64>)],
) -> Result<Vec<Vec<(u64, Signature)>>> {
    let dwarf = Dwarf::new(bin)?;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let [sum] = crate::dwarf::summarize([&dwarf], threads)?;
    let mut out = Vec::with_capacity(wanted.len());
    for &(name, addr) in wanted {
        let mut found: Vec<_> = sum
            .funcs
            .iter()
            .filter(|f| f.name == name.as_bytes())
            .collect();
        if let (true, Some(addr)) = (found.is_empty(), addr) {
            found = sum.funcs.iter().filter(|f| f.pc == addr).collect();
        }
        let mut sigs = Vec::new();
        for f in found {
            let view = UnitView::open(&dwarf, f.unit)?;
            sigs.push((f.pc, view.signature_parts(f.die)?));
        }
        out.push(sigs);
    }
    Ok(out)
}

impl CType {
    /// Its size in bytes as a parameter or return value (a pointer is
    /// `pointer` bytes; `void` is 0), if known.
    pub fn byte_size(&self, pointer: u64) -> Option<u64> {
        match self {
            CType::Void => Some(0),
            CType::Bool => Some(1),
            CType::Int { size, .. } | CType::Float(size) | CType::Enum(_, size, _) => Some(*size),
            CType::Aggregate(_, size) => Some(*size),
            CType::Const(inner) => inner.byte_size(pointer),
            CType::Pointer(_) | CType::Array(..) | CType::Function => Some(pointer),
            CType::Other(_) => None,
        }
    }
}
