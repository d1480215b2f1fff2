//! The ELF side of an input: the mapping, its sections, symbols and
//! relocations, the DWARF sections (uncompressed, relocated for `ET_REL`),
//! and the ftrace call sites.
//!
//! Relocatable inputs (`.o`, `.ko`) have no addresses: each allocated section
//! gets a synthetic one, as a linker would place it, and symbols, relocations
//! and the relocated DWARF all use those, so that one address means one place
//! in every part of the engine.

use crate::error::{Error, Result};
use memmap2::Mmap;
use object::{
    Object, ObjectSection, ObjectSymbol, RelocationKind, RelocationTarget, SectionKind, SymbolKind,
};
use std::{borrow::Cow, fs::File, path::Path};

/// A file mapped into memory, which a [`Binary`] borrows from.
pub struct Mapping {
    map: Mmap,
}

impl Mapping {
    /// Maps `path` read-only.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let file = File::open(&path).map_err(io)?;
        // SAFETY: mapping is unsafe because another process may modify or
        // truncate the file while it is mapped: the bytes behind the `&[u8]`
        // this hands out would then change (undefined behaviour for Rust)
        // or reading them would raise SIGBUS. We map read-only and never
        // write; kernel build outputs are not rewritten in place while they
        // are being compared in normal use, and this risk is accepted, as
        // every mmap-based ELF and DWARF reader accepts it.
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        Ok(Self { map })
    }

    /// The file's bytes.
    pub fn data(&self) -> &[u8] {
        &self.map
    }

    /// Gives back the memory of `len` bytes at `offset`: their pages leave
    /// the process (they stay in the page cache) and are read from the file
    /// again if touched.
    fn release(&self, offset: u64, len: u64) {
        let (Ok(offset), Ok(len)) = (usize::try_from(offset), usize::try_from(len)) else {
            return;
        };
        if offset
            .checked_add(len)
            .is_none_or(|end| end > self.map.len())
        {
            return;
        }
        // `MADV_DONTNEED` drops the pages of the range from this mapping;
        // the next read of them faults them in again from the file. Failure
        // only means the memory stays, so it is ignored.
        // SAFETY: the range is inside the mapping (checked above), which is private, read-only and never written: no page holds anything but the file's contents, so a borrowed slice reads the same bytes before and after (the file does not change while mapped, as `Mapping::open` states).
        let _ = unsafe {
            self.map
                .unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, len)
        };
    }
}

/// The architectures klp-rs builds kernels for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arch {
    X86_64,
    Aarch64,
    Ppc64le,
    S390x,
}

impl Arch {
    /// The name the project uses for it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
            Arch::Ppc64le => "ppc64le",
            Arch::S390x => "s390x",
        }
    }
}

/// What a symbol names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SymKind {
    Func,
    Object,
    Section,
    Other,
}

/// One entry of the symbol table.
#[derive(Clone, Debug)]
pub(crate) struct Sym<'data> {
    pub(crate) name: &'data [u8],
    /// The address (synthetic for `ET_REL`).
    pub(crate) addr: u64,
    pub(crate) size: u64,
    pub(crate) kind: SymKind,
    pub(crate) local: bool,
    /// The section index, for symbols defined in a section.
    pub(crate) section: Option<usize>,
    /// The name of the last `STT_FILE` symbol before a local symbol.
    pub(crate) file: Option<&'data [u8]>,
}

/// One relocation of an allocated section.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Reloc {
    /// The address of the relocated field.
    pub(crate) addr: u64,
    pub(crate) addend: i64,
    /// The symbol index, or `None` for an absolute target.
    pub(crate) sym: Option<u32>,
    pub(crate) r_type: u32,
    /// The field size in bits as `object` reports it (0 if unknown to it).
    pub(crate) size: u8,
    pub(crate) pc_relative: bool,
}

/// One section header.
#[derive(Clone, Debug, Default)]
pub(crate) struct Section<'data> {
    pub(crate) name: &'data [u8],
    pub(crate) addr: u64,
    pub(crate) size: u64,
    /// The contents of allocated sections that have some (not `.bss`).
    pub(crate) data: &'data [u8],
    pub(crate) alloc: bool,
    pub(crate) exec: bool,
    /// `SHF_WRITE`: data the running kernel may change.
    pub(crate) write: bool,
    /// `SHF_MERGE | SHF_STRINGS`: references are to strings, not offsets.
    pub(crate) strings: bool,
    pub(crate) relocs: Vec<Reloc>,
}

/// A parsed input: everything the comparison needs, borrowed from its mapping.
pub struct Binary<'data> {
    pub(crate) file: String,
    pub(crate) arch: Arch,
    pub(crate) little_endian: bool,
    pub(crate) relocatable: bool,
    pub(crate) sections: Vec<Section<'data>>,
    /// By symbol index.
    pub(crate) syms: Vec<Sym<'data>>,
    /// Defined function and object symbols with a size, sorted by address.
    pub(crate) by_addr: Vec<u32>,
    /// Other named symbols in allocated sections (labels, boundaries like
    /// `__start_foo`), sorted by address.
    pub(crate) labels: Vec<u32>,
    /// Allocated sections, sorted by address.
    pub(crate) alloc_by_addr: Vec<usize>,
    /// Addresses of ftrace call sites (`__fentry__`/`_mcount` calls or
    /// patchable entries), sorted.
    pub(crate) ftrace_sites: Vec<u64>,
    /// The value of `.TOC.` (powerpc's r2), if the symbol table has it.
    pub(crate) toc: Option<u64>,
    pub(crate) dwarf: gimli::DwarfSections<Cow<'data, [u8]>>,
}

/// Names of the ftrace entry hooks a `-pg` call can go to.
const FTRACE_HOOKS: &[&[u8]] = &[b"__fentry__", b"_mcount", b"mcount", b"__mcount"];

impl<'data> Binary<'data> {
    /// Parses the ELF file `data`, named `file` in error messages.
    pub fn parse(file: &str, data: &'data [u8]) -> Result<Self> {
        Self::parse_inner(file, data, None, true)
    }

    /// Parses the mapped ELF file `mapping`, named `file` in error
    /// messages, as [`Binary::parse`]; the parts of the file it holds
    /// copies of (DWARF sections it relocated or decompressed, and the
    /// relocations it applied) it gives back to the system as it goes. A
    /// module's relocated DWARF would otherwise be in memory twice:
    /// `amdgpu.ko`'s `.debug_info` is 214 MB, its relocations 322 MB more.
    pub fn parse_mapped(file: &str, mapping: &'data Mapping) -> Result<Self> {
        Self::parse_inner(file, mapping.data(), Some(mapping), true)
    }

    /// Parses the ELF file `data` as [`Binary::parse`], but its DWARF:
    /// sections, symbols and relocations only, enough to compare code.
    pub(crate) fn parse_without_dwarf(file: &str, data: &'data [u8]) -> Result<Self> {
        Self::parse_inner(file, data, None, false)
    }

    fn parse_inner(
        file: &str,
        data: &'data [u8],
        mapping: Option<&Mapping>,
        with_dwarf: bool,
    ) -> Result<Self> {
        let elf_err = |place: String, message: String| Error::Elf {
            file: file.to_string(),
            place,
            message,
        };
        let obj = object::File::parse(data).map_err(|e| elf_err(header_place(data), lower(e)))?;
        let arch = match (obj.architecture(), obj.is_little_endian()) {
            (object::Architecture::X86_64, true) => Arch::X86_64,
            (object::Architecture::Aarch64, true) => Arch::Aarch64,
            (object::Architecture::PowerPc64, true) => Arch::Ppc64le,
            (object::Architecture::S390x, false) => Arch::S390x,
            (a, little) => {
                return Err(Error::UnsupportedArch {
                    file: file.to_string(),
                    arch: format!("{a:?} ({}-endian)", if little { "little" } else { "big" }),
                })
            }
        };
        let relocatable = obj.kind() == object::ObjectKind::Relocatable;

        // Sections, with synthetic addresses for relocatable files.
        let count = obj.sections().map(|s| s.index().0 + 1).max().unwrap_or(0);
        let mut sections: Vec<Section<'data>> = vec![Section::default(); count];
        let mut next_addr: u64 = 0x10000;
        for s in obj.sections() {
            let index = s.index().0;
            let name = s
                .name_bytes()
                .map_err(|e| elf_err(format!("name of section {index}"), lower(e)))?;
            let (sh_type, sh_flags) = match s.flags() {
                object::SectionFlags::Elf { sh_type, sh_flags } => (sh_type, sh_flags.0),
                _ => continue,
            };
            let alloc = sh_flags & object::elf::SHF_ALLOC.0 != 0;
            let strings_flags = object::elf::SHF_MERGE.0 | object::elf::SHF_STRINGS.0;
            let nobits =
                sh_type == object::elf::SHT_NOBITS || s.kind() == SectionKind::UninitializedData;
            let data = if alloc && !nobits {
                s.data().map_err(|e| {
                    let at = s.file_range().map_or(0, |r| r.0);
                    elf_err(
                        format!(
                            "section `{}` at offset {at:#x}",
                            String::from_utf8_lossy(name)
                        ),
                        lower(e),
                    )
                })?
            } else {
                &[]
            };
            let addr = if !alloc {
                0
            } else if relocatable {
                let align = s.align().clamp(16, 1 << 16);
                let a = next_addr.div_ceil(align).saturating_mul(align);
                next_addr = a.saturating_add(s.size().max(1));
                a
            } else {
                s.address()
            };
            sections[index] = Section {
                name,
                addr,
                size: s.size(),
                data,
                alloc,
                exec: sh_flags & object::elf::SHF_EXECINSTR.0 != 0,
                write: sh_flags & object::elf::SHF_WRITE.0 != 0,
                strings: sh_flags & strings_flags == strings_flags,
                relocs: Vec::new(),
            };
        }

        // Symbols.
        let sym_count = obj.symbols().map(|s| s.index().0 + 1).max().unwrap_or(0);
        if sym_count == 0 {
            return Err(elf_err(
                "symbol table".into(),
                "missing (stripped file?): functions cannot be found".into(),
            ));
        }
        let mut syms = vec![
            Sym {
                name: b"",
                addr: 0,
                size: 0,
                kind: SymKind::Other,
                local: true,
                section: None,
                file: None,
            };
            sym_count
        ];
        let mut current_file: Option<&'data [u8]> = None;
        for s in obj.symbols() {
            let name = s
                .name_bytes()
                .map_err(|e| elf_err(format!("name of symbol {}", s.index().0), lower(e)))?;
            let section = s
                .section_index()
                .map(|i| i.0)
                .filter(|&i| i < sections.len());
            let kind = match s.kind() {
                SymbolKind::Text => SymKind::Func,
                SymbolKind::Data => SymKind::Object,
                SymbolKind::Section => SymKind::Section,
                SymbolKind::File => {
                    current_file = Some(name);
                    SymKind::Other
                }
                _ => SymKind::Other,
            };
            let addr = match section {
                Some(i) if relocatable => sections[i].addr.wrapping_add(s.address()),
                _ => s.address(),
            };
            let local = s.is_local();
            syms[s.index().0] = Sym {
                name,
                addr,
                size: s.size(),
                kind,
                local,
                section,
                file: if local { current_file } else { None },
            };
        }
        let mut by_addr: Vec<u32> = (0..syms.len())
            .filter(|&i| {
                let s = &syms[i];
                matches!(s.kind, SymKind::Func | SymKind::Object)
                    && s.size > 0
                    && s.section.is_some_and(|x| sections[x].alloc)
            })
            .filter_map(|i| u32::try_from(i).ok())
            .collect();
        by_addr.sort_by_key(|&i| (syms[i as usize].addr, i));
        let mut labels: Vec<u32> = (0..syms.len())
            .filter(|&i| {
                let s = &syms[i];
                s.kind == SymKind::Other
                    && s.size == 0
                    && !s.name.is_empty()
                    && s.section.is_some_and(|x| sections[x].alloc)
            })
            .filter_map(|i| u32::try_from(i).ok())
            .collect();
        labels.sort_by_key(|&i| (syms[i as usize].addr, i));
        let mut alloc_by_addr: Vec<usize> =
            (0..sections.len()).filter(|&i| sections[i].alloc).collect();
        alloc_by_addr.sort_by_key(|&i| (sections[i].addr, i));

        // Relocations of allocated sections.
        for s in obj.sections() {
            let index = s.index().0;
            if !sections[index].alloc {
                continue;
            }
            let base = if relocatable { sections[index].addr } else { 0 };
            let mut relocs: Vec<Reloc> = s
                .relocations()
                .map(|(offset, r)| Reloc {
                    addr: base.wrapping_add(offset),
                    addend: r.addend(),
                    sym: match r.target() {
                        RelocationTarget::Symbol(i) => u32::try_from(i.0).ok(),
                        _ => None,
                    },
                    r_type: match r.flags() {
                        object::RelocationFlags::Elf { r_type } => r_type.0,
                        _ => 0,
                    },
                    size: r.size(),
                    pc_relative: matches!(
                        r.kind(),
                        RelocationKind::Relative
                            | RelocationKind::PltRelative
                            | RelocationKind::GotRelative
                    ),
                })
                .collect();
            relocs.sort_by_key(|r| r.addr);
            sections[index].relocs = relocs;
        }
        // A position-independent image (arm64's vmlinux, linked with
        // `--no-apply-dynamic-relocs`) stores zeros where its pointers are:
        // the addresses are the addends of its RELATIVE dynamic relocations.
        if !relocatable {
            let mut touched = Vec::new();
            for (offset, r) in obj.dynamic_relocations().into_iter().flatten() {
                let object::RelocationFlags::Elf { r_type } = r.flags() else {
                    continue;
                };
                if r_type.0 != relative_type(arch) {
                    continue;
                }
                let i = alloc_by_addr.partition_point(|&s| sections[s].addr <= offset);
                let Some(&index) = i.checked_sub(1).and_then(|i| alloc_by_addr.get(i)) else {
                    continue;
                };
                let s = &mut sections[index];
                if offset < s.addr.saturating_add(s.size) {
                    s.relocs.push(Reloc {
                        addr: offset,
                        addend: r.addend(),
                        sym: None,
                        r_type: r_type.0,
                        size: 64,
                        pc_relative: false,
                    });
                    touched.push(index);
                }
            }
            touched.sort_unstable();
            touched.dedup();
            for index in touched {
                sections[index].relocs.sort_by_key(|r| r.addr);
            }
        }

        let mut bin = Binary {
            file: file.to_string(),
            arch,
            little_endian: obj.is_little_endian(),
            relocatable,
            sections,
            syms,
            by_addr,
            labels,
            alloc_by_addr,
            ftrace_sites: Vec::new(),
            toc: None,
            dwarf: gimli::DwarfSections::default(),
        };
        bin.ftrace_sites = bin.find_ftrace_sites();
        bin.toc = bin
            .syms
            .iter()
            .find(|s| s.name == b".TOC." && s.section.is_some())
            .map(|s| s.addr);
        if !with_dwarf {
            return Ok(bin);
        }
        if obj
            .section_by_name(".debug_info")
            .is_none_or(|s| s.size() == 0)
        {
            return Err(Error::NoDwarf {
                file: file.to_string(),
            });
        }
        bin.dwarf = gimli::DwarfSections::load(|id| bin.dwarf_section(&obj, id, mapping))?;
        Ok(bin)
    }

    /// Loads one DWARF section, uncompressed and, for `ET_REL`, relocated.
    /// What it copies from, and the relocations it applies, it gives back
    /// to `mapping` if it has one.
    fn dwarf_section(
        &self,
        obj: &object::File<'data>,
        id: gimli::SectionId,
        mapping: Option<&Mapping>,
    ) -> Result<Cow<'data, [u8]>> {
        let release = |range: Option<(u64, u64)>| {
            if let (Some(m), Some((offset, len))) = (mapping, range) {
                m.release(offset, len);
            }
        };
        let Some(s) = obj.section_by_name(id.name()) else {
            return Ok(Cow::Borrowed(&[]));
        };
        let place = |what: &str| {
            let at = s.file_range().map_or(0, |r| r.0);
            format!("{what} `{}` at offset {at:#x}", id.name())
        };
        let err = |message: String| Error::Elf {
            file: self.file.clone(),
            place: place("section"),
            message,
        };
        let compressed = s.compressed_data().map_err(|e| err(lower(e)))?;
        // zlib and zstd expand at most about 1032 times: a larger claim is
        // a corrupt header, not a reason to allocate it.
        let limit = (compressed.data.len() as u64).saturating_mul(1032) + 4096;
        if compressed.uncompressed_size > limit {
            return Err(err(format!(
                "claims {} bytes uncompressed from {} compressed",
                compressed.uncompressed_size,
                compressed.data.len()
            )));
        }
        let data = compressed.decompress().map_err(|e| err(lower(e)))?;
        let mut relocs = s.relocations().peekable();
        if !self.relocatable || relocs.peek().is_none() {
            if matches!(data, Cow::Owned(_)) {
                release(s.file_range());
            }
            return Ok(data);
        }
        let mut data = data.into_owned();
        release(s.file_range());
        for (offset, r) in relocs {
            if r.kind() != RelocationKind::Absolute {
                // Only absolute relocations appear in the parts of the DWARF
                // read here (offsets into other sections, addresses).
                continue;
            }
            let target = match r.target() {
                RelocationTarget::Symbol(i) => self.syms.get(i.0).map_or(0, |s| s.addr),
                _ => 0,
            };
            let bytes = usize::from(r.size() / 8);
            let err = |message: String| Error::Relocation {
                file: self.file.clone(),
                section: id.name().to_string(),
                offset,
                message,
            };
            let start = usize::try_from(offset).map_err(|_| err("offset too large".into()))?;
            let field = start
                .checked_add(bytes)
                .and_then(|end| data.get_mut(start..end))
                .filter(|f| matches!(f.len(), 4 | 8))
                .ok_or_else(|| {
                    err(format!(
                        "{}-bit field outside the section ({} bytes)",
                        r.size(),
                        s.size()
                    ))
                })?;
            let implicit = if r.has_implicit_addend() {
                read_uint(field, self.little_endian)
            } else {
                0
            };
            let value = target
                .wrapping_add_signed(r.addend())
                .wrapping_add(implicit);
            write_uint(field, value, self.little_endian);
        }
        for rel in [".rela", ".rel"] {
            if let Some(r) = obj.section_by_name(&format!("{rel}{}", id.name())) {
                release(r.file_range());
            }
        }
        Ok(Cow::Owned(data))
    }

    /// Every ftrace call site: the `__mcount_loc` table of a linked image
    /// (which also holds patchable entries), the `__mcount_loc` and
    /// `__patchable_function_entries` sections of an object, and calls to an
    /// ftrace hook.
    fn find_ftrace_sites(&self) -> Vec<u64> {
        let mut sites = Vec::new();
        let named = |n: &[u8]| {
            self.syms
                .iter()
                .find(|s| s.name == n && s.section.is_some())
                .map(|s| s.addr)
        };
        if let (Some(start), Some(stop)) =
            (named(b"__start_mcount_loc"), named(b"__stop_mcount_loc"))
        {
            self.read_address_table(start, stop, &mut sites);
        }
        for s in &self.sections {
            if s.name == b"__mcount_loc" || s.name == b"__patchable_function_entries" {
                self.read_address_table(s.addr, s.addr.saturating_add(s.size), &mut sites);
            }
            for r in &s.relocs {
                let hook = r
                    .sym
                    .and_then(|i| self.syms.get(i as usize))
                    .is_some_and(|t| t.section.is_none() && FTRACE_HOOKS.contains(&t.name));
                if hook {
                    sites.push(r.addr);
                }
            }
        }
        sites.sort_unstable();
        sites.dedup();
        sites
    }

    /// Reads 8-byte addresses in `[start, stop)`: the relocation's target
    /// where there is one, else the stored value.
    fn read_address_table(&self, start: u64, stop: u64, out: &mut Vec<u64>) {
        let Some(section) = self.section_at(start) else {
            return;
        };
        let s = &self.sections[section];
        let stop = stop.min(s.addr.saturating_add(s.data.len() as u64));
        let mut at = start;
        while at.saturating_add(8) <= stop {
            let reloc = s
                .relocs
                .binary_search_by_key(&at, |r| r.addr)
                .ok()
                .map(|i| s.relocs[i]);
            let value = match reloc {
                Some(r) => r
                    .sym
                    .and_then(|i| self.syms.get(i as usize))
                    .map_or(0, |t| t.addr)
                    .wrapping_add_signed(r.addend),
                None => self
                    .bytes_at(at, 8)
                    .map_or(0, |b| read_uint(b, self.little_endian)),
            };
            if value != 0 {
                out.push(value);
            }
            at += 8;
        }
    }

    /// The kernel release this build names: a module's (`vermagic=` in
    /// `.modinfo`), else a vmlinux's (`linux_banner`, `Linux version
    /// <release> ...`).
    pub(crate) fn kernel_release(&self) -> Option<&'data [u8]> {
        let first_word = |b: &'data [u8]| b.split(|c| *c == b' ' || *c == 0).next();
        let vermagic = self
            .sections
            .iter()
            .filter(|s| s.name == b".modinfo")
            .flat_map(|s| s.data.split(|c| *c == 0))
            .find_map(|kv| kv.strip_prefix(b"vermagic="));
        if let Some(v) = vermagic {
            return first_word(v);
        }
        let banner = self
            .syms
            .iter()
            .find(|s| s.name == b"linux_banner" && s.kind == SymKind::Object)?;
        self.bytes_at(banner.addr, banner.size)?
            .strip_prefix(b"Linux version ")
            .and_then(first_word)
    }

    /// The allocated section containing `addr`.
    pub(crate) fn section_at(&self, addr: u64) -> Option<usize> {
        let i = self
            .alloc_by_addr
            .partition_point(|&s| self.sections[s].addr <= addr);
        let s = *self.alloc_by_addr.get(i.checked_sub(1)?)?;
        let sec = &self.sections[s];
        (addr < sec.addr.saturating_add(sec.size.max(1))).then_some(s)
    }

    /// `len` bytes of section contents at `addr`, if all are in one section.
    pub(crate) fn bytes_at(&self, addr: u64, len: u64) -> Option<&'data [u8]> {
        let s = &self.sections[self.section_at(addr)?];
        let start = usize::try_from(addr - s.addr).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        s.data.get(start..end)
    }

    /// The function or object symbol whose range contains `addr`.
    pub(crate) fn symbol_containing(&self, addr: u64) -> Option<&Sym<'data>> {
        self.symbol_index_containing(addr)
            .map(|i| &self.syms[i as usize])
    }

    /// The index of the function or object symbol whose range contains
    /// `addr`.
    pub(crate) fn symbol_index_containing(&self, addr: u64) -> Option<u32> {
        let i = self
            .by_addr
            .partition_point(|&s| self.syms[s as usize].addr <= addr);
        // Symbols may nest or alias: look back a little for one that covers.
        self.by_addr[..i].iter().rev().take(4).copied().find(|&s| {
            let s = &self.syms[s as usize];
            addr < s.addr.saturating_add(s.size)
        })
    }

    /// The first label at exactly `addr`.
    pub(crate) fn label_at(&self, addr: u64) -> Option<&Sym<'data>> {
        let i = self
            .labels
            .partition_point(|&s| self.syms[s as usize].addr < addr);
        let s = &self.syms[*self.labels.get(i)? as usize];
        (s.addr == addr).then_some(s)
    }

    /// The first function or object symbol starting after `addr`.
    pub(crate) fn symbol_after(&self, addr: u64) -> Option<&Sym<'data>> {
        let i = self
            .by_addr
            .partition_point(|&s| self.syms[s as usize].addr <= addr);
        self.by_addr.get(i).map(|&s| &self.syms[s as usize])
    }

    /// The last function or object symbol starting at or before `addr`.
    pub(crate) fn symbol_before(&self, addr: u64) -> Option<&Sym<'data>> {
        let i = self
            .by_addr
            .partition_point(|&s| self.syms[s as usize].addr <= addr);
        let s = *self.by_addr.get(i.checked_sub(1)?)?;
        Some(&self.syms[s as usize])
    }

    /// The relocations of section `section` in `[start, end)`.
    pub(crate) fn relocs_in(&self, section: usize, start: u64, end: u64) -> &[Reloc] {
        let relocs = &self.sections[section].relocs;
        let a = relocs.partition_point(|r| r.addr < start);
        let b = relocs.partition_point(|r| r.addr < end);
        &relocs[a..b.max(a)]
    }
}

/// The `R_*_RELATIVE` relocation type of `arch`.
fn relative_type(arch: Arch) -> u32 {
    match arch {
        Arch::X86_64 => object::elf::R_X86_64_RELATIVE.0,
        Arch::Aarch64 => object::elf::R_AARCH64_RELATIVE.0,
        Arch::Ppc64le => object::elf::R_PPC64_RELATIVE.0,
        Arch::S390x => object::elf::R_390_RELATIVE.0,
    }
}

/// Where parsing failed, for a file `object` refused: the ELF header if the
/// file is too short for one, else the section header table it points to.
fn header_place(data: &[u8]) -> String {
    if data.len() < 64 || &data[..4] != b"\x7fELF" {
        return "ELF header at offset 0x0".into();
    }
    let little = data[5] == 1;
    let shoff = read_uint(&data[0x28..0x30], little);
    format!("section header table at offset {shoff:#x}")
}

/// `object`'s message, starting lowercase as the engine's messages do.
fn lower(e: object::Error) -> String {
    let s = e.to_string();
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => s,
    }
}

/// Reads an unsigned integer of 1 to 8 bytes.
pub(crate) fn read_uint(b: &[u8], little_endian: bool) -> u64 {
    let mut v: u64 = 0;
    if little_endian {
        for &x in b.iter().rev() {
            v = (v << 8) | u64::from(x);
        }
    } else {
        for &x in b {
            v = (v << 8) | u64::from(x);
        }
    }
    v
}

/// Writes the low bytes of `value` into `b`.
fn write_uint(b: &mut [u8], value: u64, little_endian: bool) {
    let n = b.len();
    for (i, x) in b.iter_mut().enumerate() {
        let shift = if little_endian { i } else { n - 1 - i };
        *x = (value >> (8 * shift)) as u8;
    }
}
