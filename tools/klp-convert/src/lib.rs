//! The post-link step of klp-rs patch modules.
//!
//! A patch declares the unexported symbols it uses with
//! `livepatch::klp_extern!`: each is a weak undefined symbol named
//! `.klp.sym.<object>.<name>,<sympos>`, and a line of the non-allocated
//! `.klp_rs.syms` section (of type [`SYMS_SECTION_TYPE`]) says whether it is a function or a variable (and
//! the variable's size, or the sizes of the function's parameters and
//! return value). `livepatch::patch!` adds a line for each function it
//! replaces with a Rust function, with the sizes of the replacement's
//! parameters and return value. [`convert`] checks every such symbol, and
//! every replaced function, against the target build (a function's sizes
//! against its DWARF, where the target has DWARF) and rewrites the linked
//! `.ko` into the format of
//! `Documentation/livepatch/module-elf-format.rst`:
//!
//! - the symbols become `SHN_LIVEPATCH` (and global);
//! - relocations against them leave their `.rela<section>` and go to
//!   `.klp.rela.<object>.<section>` (`SHF_ALLOC | SHF_INFO_LINK |
//!   SHF_RELA_LIVEPATCH`), one per object and section, which the kernel
//!   applies when the patch is enabled or when the module `<object>` loads.
//!
//! It also sets the bytes of the section [`POST_LINKED_SECTION`], by which
//! the crate refuses, at load time, a patch this step never processed.
//!
//! Nothing else moves: every section keeps its index and offset, the
//! emptied tail of a shrunk `.rela` section is zeroed, and the new sections,
//! a longer copy of `.shstrtab` and a longer copy of the section header
//! table are appended to the file.

pub mod arch;
pub mod elf;
pub mod signature;
pub mod target;

use arch::Arch;
use elf::{Elf, Rela, Shdr, Writer};
use std::collections::BTreeMap;
use target::{Kind, Lookup, Targets};

/// Why a `.ko` cannot be converted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not an ELF file this step can rewrite.
    #[error("{0}")]
    Elf(String),
    /// A target object cannot be read.
    #[error("{0}")]
    Target(String),
    /// Symbols the target does not have as declared, or relocations the
    /// kernel would not apply to them; one line each.
    #[error("{}", .0.join("\n"))]
    Symbols(Vec<String>),
}

/// What a conversion did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// The livepatch symbols, as `.klp.sym.<object>.<name>,<sympos>`.
    pub symbols: Vec<String>,
    /// The new sections and how many relocations each holds.
    pub sections: Vec<(String, usize)>,
}

/// A declaration from `.klp_rs.syms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Declared {
    /// With its signature's sizes, if recorded.
    Function {
        code: signature::Code,
    },
    Variable {
        size: u64,
    },
}

/// What `.klp_rs.syms` declares (see [`declarations`]).
#[derive(Debug, Default)]
struct Declarations<'a> {
    /// The symbols of `klp_extern!`, by name.
    symbols: BTreeMap<&'a str, Declared>,
    /// The functions replaced by Rust functions, and the replacements'
    /// signatures.
    replaced: Vec<(KlpName<'a>, signature::Code)>,
}

/// Why a function's signature is checked.
#[derive(Clone, Copy, Debug)]
enum Role {
    /// `klp_extern!` declares it, to call it.
    Called,
    /// `patch!` replaces it with a Rust function.
    Replaced,
}

/// A livepatch symbol's name, split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KlpName<'a> {
    pub object: &'a str,
    pub name: &'a str,
    pub sympos: u64,
}

impl<'a> KlpName<'a> {
    /// Splits `.klp.sym.<object>.<name>,<sympos>` as the kernel's
    /// `klp_resolve_symbols()` does.
    pub fn parse(symbol: &'a str) -> Option<Self> {
        let rest = symbol.strip_prefix(".klp.sym.")?;
        let (object, rest) = rest.split_once('.')?;
        let (name, sympos) = rest.rsplit_once(',')?;
        if object.is_empty() || object.len() > 55 || name.is_empty() || name.len() > 511 {
            return None;
        }
        Some(Self {
            object,
            name,
            sympos: sympos.parse().ok()?,
        })
    }
}

/// Checks the `.ko` in `data` against its targets, converts it and sets
/// its post-link mark (section [`POST_LINKED_SECTION`]); `None` if it has
/// no livepatch symbol left to convert and no mark left to set (so running
/// the step twice changes nothing, and checks nothing again).
pub fn convert(data: &[u8], targets: &mut Targets) -> Result<Option<(Vec<u8>, Summary)>, Error> {
    let elf = Elf::parse(data)?;
    let (symtab, syms) = elf.symtab()?;
    let strtab = elf.sections[symtab].link as usize;

    // The symbols to convert: undefined, named `.klp.sym.*`.
    let mut klp = BTreeMap::new();
    for (i, s) in syms.iter().enumerate() {
        if s.shndx != elf::SHN_UNDEF || s.name == 0 {
            continue;
        }
        let name = elf.string(strtab, s.name)?;
        if name.starts_with(".klp.sym.") {
            klp.insert(i, name);
        }
    }
    let marks = unset_marks(&elf)?;
    if klp.is_empty() && marks.is_empty() {
        return Ok(None);
    }
    let declared = declarations(&elf)?;

    // Every symbol exists in its target as declared.
    let mut problems = Vec::new();
    // Functions found, by object, to check against DWARF.
    let mut functions: BTreeMap<&str, Vec<(Role, signature::Declared<'_>)>> = BTreeMap::new();
    for name in klp.values() {
        let Some(parsed) = KlpName::parse(name) else {
            problems.push(format!(
                "`{name}`: not of the form `.klp.sym.<object>.<name>,<sympos>`"
            ));
            continue;
        };
        let decl = declared.symbols.get(*name).copied();
        match check(&parsed, decl, targets)? {
            Err(why) => problems.push(format!(
                "symbol `{}` of `{}`: {why}",
                parsed.name, parsed.object
            )),
            Ok(addr) => {
                if let Some(Declared::Function { code }) =
                    decl.filter(|d| matches!(d, Declared::Function { code } if code.0 != 0))
                {
                    functions
                        .entry(parsed.object)
                        .or_default()
                        .push((Role::Called, (parsed.name, addr, code)));
                }
            }
        }
    }
    // So does every function a Rust function replaces (whose signature is
    // always recorded: a code of 0 is `void (void)`).
    for (name, code) in &declared.replaced {
        match check(name, Some(Declared::Function { code: *code }), targets)? {
            Err(why) => problems.push(format!(
                "replacement of `{}()` in `{}`: {why}",
                name.name, name.object
            )),
            Ok(addr) => functions
                .entry(name.object)
                .or_default()
                .push((Role::Replaced, (name.name, addr, *code))),
        }
    }
    for (object, fns) in &functions {
        let Some(file) = targets.debug_file(object) else {
            continue;
        };
        let declared: Vec<_> = fns.iter().map(|&(_, d)| d).collect();
        for (i, real) in signature::check(&file, &declared).map_err(Error::Target)? {
            let (role, (name, _, code)) = fns[i];
            problems.push(match role {
                Role::Called => format!(
                    "symbol `{name}`: declared with {}, but the DWARF of `{}` says `{}` (object `{object}`)",
                    code.describe(),
                    file.display(),
                    real.c
                ),
                Role::Replaced => format!(
                    "replacement of `{name}()` in `{object}` has {}, but `{object}` has `{}`: {}; \
                     give the replacement that parameter list and return type (for each parameter \
                     a `CArg` type whose `Raw` type has the size of the C parameter)",
                    code.describe(),
                    real.decl,
                    signature::describe_signature(&real)
                ),
            });
        }
    }
    if klp.is_empty() {
        if !problems.is_empty() {
            return Err(Error::Symbols(problems));
        }
        let mut out = data.to_vec();
        set_marks(&mut out, &marks);
        return Ok(Some((out, Summary::default())));
    }
    let arch = Arch::from_machine(elf.machine).ok_or_else(|| {
        Error::Elf(format!(
            "e_machine {} is not an arch klp-rs supports",
            elf.machine
        ))
    })?;

    // Relocations against them, by (object, target section).
    let w = Writer {
        big_endian: elf.big_endian,
    };
    let mut out = data.to_vec();
    let mut moved: BTreeMap<(String, usize), Vec<Rela>> = BTreeMap::new();
    let mut shrunk: Vec<(usize, u64)> = Vec::new();
    for (index, sec) in elf.sections.iter().enumerate() {
        let is_rel = sec.kind == elf::SHT_REL;
        if !(sec.kind == elf::SHT_RELA || is_rel)
            || sec.link as usize != symtab
            || sec.flags & elf::SHF_RELA_LIVEPATCH != 0
        {
            continue;
        }
        let target = sec.info as usize;
        let Some(target_sec) = elf.sections.get(target) else {
            continue;
        };
        // The kernel applies no relocation to a section it does not load.
        if target_sec.flags & elf::SHF_ALLOC == 0 {
            continue;
        }
        let target_name = elf.section_name(target)?;
        if is_rel {
            let data = elf.section_data(index).unwrap_or_default();
            for rel in data.chunks_exact(16) {
                let info = if elf.big_endian {
                    u64::from_be_bytes(rel[8..16].try_into().unwrap_or_default())
                } else {
                    u64::from_le_bytes(rel[8..16].try_into().unwrap_or_default())
                };
                if let Some(name) = klp.get(&((info >> 32) as usize)) {
                    problems.push(format!(
                        "`{name}`: a `REL` relocation in `{target_name}`; only `RELA` can move"
                    ));
                }
            }
            continue;
        }
        let relas = elf.relas(index);
        let mut kept = Vec::with_capacity(relas.len());
        for r in relas {
            let Some(name) = klp.get(&(r.sym as usize)) else {
                kept.push(r);
                continue;
            };
            if arch.supported(r.kind).is_none() {
                problems.push(format!(
                    "`{name}`: relocation type {} at `{target_name}`+{:#x} is not one the {} module loader applies to a livepatch symbol",
                    r.kind, r.offset, arch.name()
                ));
                continue;
            }
            if target_name.starts_with(".init") {
                problems.push(format!(
                    "`{name}`: used from `{target_name}`+{:#x}; livepatch relocations cannot go into init code, which is freed",
                    r.offset
                ));
                continue;
            }
            let object = KlpName::parse(name).map_or("", |p| p.object);
            moved
                .entry((object.to_string(), target))
                .or_default()
                .push(r);
        }
        if kept.len() * elf::RELA_SIZE != sec.size as usize {
            let start = sec.offset as usize;
            let mut bytes = Vec::with_capacity(sec.size as usize);
            for r in &kept {
                bytes.extend_from_slice(&w.rela(r));
            }
            bytes.resize(sec.size as usize, 0);
            out[start..start + bytes.len()].copy_from_slice(&bytes);
            shrunk.push((index, (kept.len() * elf::RELA_SIZE) as u64));
        }
    }
    if !problems.is_empty() {
        return Err(Error::Symbols(problems));
    }

    set_marks(&mut out, &marks);

    // The symbols: `SHN_LIVEPATCH`, global.
    let symtab_off = elf.sections[symtab].offset as usize;
    for &i in klp.keys() {
        let mut s = syms[i].clone();
        s.shndx = elf::SHN_LIVEPATCH;
        s.info = (elf::STB_GLOBAL << 4) | (s.info & 0xf);
        let at = symtab_off + i * elf::SYM_SIZE;
        out[at..at + elf::SYM_SIZE].copy_from_slice(&w.sym(&s));
    }

    // New sections, names, header table: appended.
    let mut headers = elf.sections.clone();
    for (index, size) in shrunk {
        headers[index].size = size;
    }
    let old_names = elf.section_data(elf.shstrndx).unwrap_or_default();
    let mut names = old_names.to_vec();
    let mut summary = Summary {
        symbols: klp.values().map(|s| s.to_string()).collect(),
        sections: Vec::new(),
    };
    for ((object, target), relas) in &moved {
        let name = format!(".klp.rela.{object}.{}", elf.section_name(*target)?);
        align(&mut out, 8);
        let offset = out.len() as u64;
        for r in relas {
            out.extend_from_slice(&w.rela(r));
        }
        headers.push(Shdr {
            name: names.len() as u32,
            kind: elf::SHT_RELA,
            flags: elf::SHF_ALLOC | elf::SHF_INFO_LINK | elf::SHF_RELA_LIVEPATCH,
            addr: 0,
            offset,
            size: (relas.len() * elf::RELA_SIZE) as u64,
            link: symtab as u32,
            info: *target as u32,
            addralign: 8,
            entsize: elf::RELA_SIZE as u64,
        });
        names.extend_from_slice(name.as_bytes());
        names.push(0);
        summary.sections.push((name, relas.len()));
    }
    if headers.len() >= usize::from(elf::SHN_LORESERVE) {
        return Err(Error::Elf(format!(
            "{} sections need extended section numbering, which is not supported",
            headers.len()
        )));
    }
    let names_offset = out.len() as u64;
    out.extend_from_slice(&names);
    headers[elf.shstrndx].offset = names_offset;
    headers[elf.shstrndx].size = names.len() as u64;
    align(&mut out, 8);
    let shoff = out.len() as u64;
    for h in &headers {
        out.extend_from_slice(&w.shdr(h));
    }
    w.u64(&mut out[40..], shoff);
    w.u16(&mut out[60..], headers.len() as u16);
    debug_assert!(elf.shoff != shoff);
    Ok(Some((out, summary)))
}

/// The ELF type of `.klp_rs.syms`: one of the types reserved for
/// applications (`SHT_LOUSER` + `"klp"`), which linkers keep as they find
/// it and `modpost` does not warn about, as it does about a non-allocated
/// `SHT_PROGBITS` section. The section is found by its name.
pub const SYMS_SECTION_TYPE: u32 = 0x806b_6c70;

/// The section the crate's `post_link.rs` puts into every patch module as
/// zeros, and this step sets to ones: the kernel-side proof that it ran.
pub const POST_LINKED_SECTION: &str = ".klp_rs.post_linked";

/// The file ranges of the post-link marks still unset.
fn unset_marks(elf: &Elf<'_>) -> Result<Vec<std::ops::Range<usize>>, Error> {
    let mut marks = Vec::new();
    for index in 0..elf.sections.len() {
        if elf.section_name(index)? != POST_LINKED_SECTION {
            continue;
        }
        // Data of its own: setting a table (of names, symbols, relocations)
        // to ones would break the file.
        let kind = elf.sections[index].kind;
        if kind != elf::SHT_PROGBITS {
            return Err(Error::Elf(format!(
                "`{POST_LINKED_SECTION}` (section {index}) is of type {kind}, not `SHT_PROGBITS`"
            )));
        }
        let bytes = elf.section_data(index).unwrap_or_default();
        if bytes.contains(&0) {
            let start = elf.sections[index].offset as usize;
            marks.push(start..start + bytes.len());
        }
    }
    Ok(marks)
}

fn set_marks(out: &mut [u8], marks: &[std::ops::Range<usize>]) {
    for mark in marks {
        out[mark.clone()].fill(1);
    }
}

/// Checks one symbol against its object: `Ok(Ok(address))` (in a linked
/// image) if it is there as declared, `Ok(Err(reason))` if not.
fn check(
    sym: &KlpName<'_>,
    declared: Option<Declared>,
    targets: &mut Targets,
) -> Result<Result<Option<u64>, String>, Error> {
    let symbols = targets.object(sym.object)?;
    let origin = symbols.origin.display().to_string();
    let entry = match symbols.find(sym.name, sym.sympos) {
        Ok(e) => e,
        Err(Lookup::Missing) => return Ok(Err(format!("not found in `{origin}`"))),
        Err(Lookup::Ambiguous(n)) => {
            return Ok(Err(format!(
                "{n} symbols of that name in `{origin}`; name one with `#[sympos = N]` (1 to {n})"
            )))
        }
        Err(Lookup::NoSuchPosition(n)) => {
            return Ok(Err(format!(
                "sympos {} but `{origin}` has {n} symbol{} of that name",
                sym.sympos,
                if n == 1 { "" } else { "s" }
            )))
        }
    };
    let addr = entry.addr;
    Ok(match (declared, entry.kind) {
        (Some(Declared::Function { .. }), Kind::Variable) => Err(format!(
            "declared as a function, but `{origin}` has a variable"
        )),
        (Some(Declared::Variable { .. }), Kind::Function) => Err(format!(
            "declared as a variable, but `{origin}` has a function"
        )),
        (Some(Declared::Variable { size }), _) => match entry.size {
            Some(actual) if actual != 0 && actual != size => Err(format!(
                "declared with {size} bytes, but it has {actual} in `{origin}`"
            )),
            _ => Ok(addr),
        },
        _ => Ok(addr),
    })
}

/// The lines of `.klp_rs.syms`, each `<kind> <livepatch name> <value>`:
/// `fn <symbol> <signature code>` and `static <symbol> <size>` for the
/// symbols `klp_extern!` declares, `replace <name> <signature code>` for a
/// function `patch!` replaces with a Rust function (named as a livepatch
/// symbol of it would be, `.klp.sym.<object>.<name>,<sympos>`; no symbol
/// has that name), with the replacement's signature.
fn declarations<'a>(elf: &Elf<'a>) -> Result<Declarations<'a>, Error> {
    let mut out = Declarations::default();
    for index in 0..elf.sections.len() {
        if elf.section_name(index)? != ".klp_rs.syms" {
            continue;
        }
        let text = std::str::from_utf8(elf.section_data(index).unwrap_or_default())
            .map_err(|_| Error::Elf("`.klp_rs.syms` is not UTF-8".into()))?;
        for line in text.lines().filter(|l| !l.is_empty()) {
            let bad = || Error::Elf(format!("bad line in `.klp_rs.syms`: `{line}`"));
            let mut f = line.split(' ');
            let (Some(kind), Some(symbol), Some(value), None) =
                (f.next(), f.next(), f.next(), f.next())
            else {
                return Err(bad());
            };
            let value: u64 = value.parse().map_err(|_| bad())?;
            let d = match kind {
                "fn" => Declared::Function {
                    code: signature::Code(value),
                },
                "static" => Declared::Variable { size: value },
                "replace" => {
                    let name = KlpName::parse(symbol).ok_or_else(bad)?;
                    out.replaced.push((name, signature::Code(value)));
                    continue;
                }
                _ => return Err(bad()),
            };
            out.symbols.insert(symbol, d);
        }
    }
    Ok(out)
}

fn align(out: &mut Vec<u8>, to: usize) {
    out.resize(out.len().next_multiple_of(to), 0);
}
