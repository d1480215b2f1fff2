//! The extracted object: from the patched unit (compiled with a section per
//! function and per variable), the sections of the functions to carry,
//! what they need that the target does not have (their cold parts and the
//! GCC clones they call, string literals and other constants, new
//! variables), the entries of the kernel's tables that point into them,
//! and every other reference turned into one to the running kernel: a
//! plain undefined symbol where the target exports it, a livepatch symbol
//! (`.klp.sym.<object>.<name>,<sympos>`, declared in `.klp_rs.syms` for the
//! post-link step, `tools/klp-convert`) where it does not.

use crate::{special, stem, Error};
use object::{
    elf,
    read::elf::{ElfFile64, ElfSection64, ElfSymbol64, FileHeader, SectionHeader, Sym},
    write, Endianness, Object, ObjectSection, ObjectSymbol, RelocationFlags, RelocationTarget,
    SectionIndex, SymbolIndex, SymbolKind,
};
use std::collections::{BTreeMap, BTreeSet};

/// How the target reaches a symbol the extracted code does not carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Exported by the target (or by `vmlinux` for a module target): a
    /// plain undefined symbol.
    Export(String),
    /// Not exported: a livepatch symbol of the target, a function or a
    /// variable of `size` bytes there.
    Klp {
        object: String,
        name: String,
        sympos: u64,
        function: bool,
        size: u64,
    },
}

/// What the extraction asks of the target.
pub trait Resolve {
    /// An undefined symbol of the unit.
    fn undefined(&self, name: &str) -> Result<Reach, String>;
    /// A symbol the unit defines, that the extracted code refers to but does
    /// not carry (`local`: a `static` one; `name` as in the patched unit).
    fn defined(&self, name: &str, local: bool) -> Result<Reach, String>;
}

/// What to extract.
pub struct Request<'a> {
    /// The patched unit's object.
    pub object: &'a [u8],
    /// The original unit's object (to tell which of its static locals a
    /// changed function uses).
    pub original: &'a [u8],
    /// Functions that replace the target's (changed ones).
    pub replaced: &'a [String],
    /// Functions only the patched unit has.
    pub new: &'a [String],
    /// Base names of the symbols of the original unit: a variable whose
    /// name is not among them is new, and carried.
    pub original_names: &'a BTreeSet<String>,
}

/// One livepatch symbol the object uses.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct KlpSymbol {
    /// `.klp.sym.<object>.<name>,<sympos>`.
    pub symbol: String,
    pub function: bool,
    pub size: u64,
}

/// The extracted object and what it holds.
#[derive(Debug)]
pub struct Extracted {
    pub object: Vec<u8>,
    /// Each replaced function and the global name of its new code.
    pub entry_points: Vec<(String, String)>,
    /// Sections carried, by name.
    pub sections: Vec<String>,
    /// Livepatch symbols used, and the exported symbols used.
    pub klp_symbols: Vec<KlpSymbol>,
    pub exports: Vec<String>,
    /// Table entries carried: section name and count.
    pub table_entries: Vec<(String, usize)>,
}

/// The global name under which the new code of `function` is linked into
/// the patch module.
pub fn entry_point(function: &str) -> String {
    let clean: String = function
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("klp_rs_new_{clean}")
}

type File<'d> = ElfFile64<'d, Endianness>;

/// The type of `.klp_rs.syms`, an application's type that `modpost` does
/// not warn about (klp-convert's `SYMS_SECTION_TYPE`).
const SYMS_SECTION_TYPE: elf::SectionType = elf::SectionType(0x806b_6c70);

/// ppc64le's marker of an optimisable global entry (not in `object`).
const R_PPC64_ENTRY: elf::RelocationType = elf::RelocationType(118);

/// A relocation target in the output.
#[derive(Clone, Debug)]
enum Out {
    /// A symbol of the input carried as is (or its section's symbol).
    Carried,
    /// A symbol of the running kernel.
    Reached(Reach),
}

struct Extractor<'d, 'r> {
    file: File<'d>,
    original: File<'d>,
    arch: object::Architecture,
    resolve: &'r dyn Resolve,
    original_names: &'r BTreeSet<String>,
    /// Sections carried whole.
    carried: BTreeSet<usize>,
    queue: Vec<usize>,
    /// Decisions per target (symbol, and for section symbols the named
    /// symbol chosen), memoized.
    reached: BTreeMap<usize, Result<Reach, String>>,
    /// ppc64le: the offsets of the TOC entries the carried code uses.
    toc: BTreeSet<u64>,
    /// The named functions and variables of each section, by offset (read
    /// once: every relocation through a section's symbol looks them up).
    named: BTreeMap<usize, Vec<SymbolIndex>>,
    problems: Vec<String>,
}

/// Extracts `request` from its object.
pub fn extract(request: &Request<'_>, resolve: &dyn Resolve) -> Result<Extracted, Error> {
    let file = File::parse(request.object).map_err(|e| Error::Input {
        what: "the patched unit's object".into(),
        why: e.to_string(),
    })?;
    let original = File::parse(request.original).map_err(|e| Error::Input {
        what: "the original unit's object".into(),
        why: e.to_string(),
    })?;
    let arch = file.architecture();
    let mut named: BTreeMap<usize, Vec<(u64, SymbolIndex)>> = BTreeMap::new();
    for s in file.symbols() {
        if let Some(sec) = s.section_index().filter(|_| {
            matches!(s.kind(), SymbolKind::Text | SymbolKind::Data)
                && s.name().is_ok_and(|n| !n.is_empty())
        }) {
            named
                .entry(sec.0)
                .or_default()
                .push((s.address(), s.index()));
        }
    }
    let named = named
        .into_iter()
        .map(|(sec, mut v)| {
            v.sort_by_key(|&(addr, _)| addr);
            (sec, v.into_iter().map(|(_, i)| i).collect())
        })
        .collect();
    let mut x = Extractor {
        file,
        original,
        arch,
        resolve,
        original_names: request.original_names,
        carried: BTreeSet::new(),
        queue: Vec::new(),
        reached: BTreeMap::new(),
        toc: BTreeSet::new(),
        named,
        problems: Vec::new(),
    };
    for name in request.replaced.iter().chain(request.new) {
        x.carry_function(name)?;
    }
    for name in request.replaced {
        x.check_ftrace_site(name);
    }
    // Carry what the code needs, then the table entries that point into
    // it (which may need more: alternative instructions), to a fixpoint.
    let mut tables: BTreeMap<usize, Vec<u64>>;
    loop {
        while let Some(sec) = x.queue.pop() {
            x.visit(SectionIndex(sec));
        }
        let before = x.carried.len();
        tables = x.tables();
        for (&sec, entries) in &tables {
            for &start in entries {
                x.visit_entry(SectionIndex(sec), start);
            }
        }
        if x.queue.is_empty() && x.carried.len() == before {
            break;
        }
    }
    if !x.problems.is_empty() {
        x.problems.sort();
        x.problems.dedup();
        return Err(Error::Refused(x.problems));
    }
    x.write(request, &tables)
}

impl<'d> Extractor<'d, '_> {
    fn section(&self, index: SectionIndex) -> Option<ElfSection64<'d, '_, Endianness>> {
        self.file.section_by_index(index).ok()
    }

    fn section_name(&self, index: SectionIndex) -> String {
        self.section(index)
            .and_then(|s| s.name().ok().map(str::to_string))
            .unwrap_or_default()
    }

    fn sh_flags(&self, index: SectionIndex) -> u64 {
        self.section(index)
            .map_or(0, |s| s.elf_section_header().sh_flags(self.file.endian()).0)
    }

    fn carry(&mut self, index: SectionIndex) {
        if self.carried.insert(index.0) {
            self.queue.push(index.0);
        }
    }

    fn carry_function(&mut self, name: &str) -> Result<(), Error> {
        let sym = self
            .file
            .symbols()
            .find(|s| s.kind() == SymbolKind::Text && s.name() == Ok(name) && s.is_definition())
            .ok_or_else(|| Error::Input {
                what: "the patched unit's object".into(),
                why: format!("it defines no function `{name}`"),
            })?;
        let Some(sec) = sym.section_index() else {
            return Err(Error::Input {
                what: "the patched unit's object".into(),
                why: format!("`{name}` is in no section"),
            });
        };
        let sec_name = self.section_name(sec);
        if sec_name.starts_with(".init") || sec_name.starts_with(".exit") {
            self.problems.push(format!(
                "`{name}`: init or exit code (`{sec_name}`) runs once and cannot be live-patched; fix it in the next kernel release"
            ));
        } else if sec_name.starts_with(".noinstr") || sec_name.starts_with(".entry.text") {
            self.problems.push(format!(
                "`{name}`: it is in `{sec_name}`, code without an ftrace site, which live patching cannot redirect"
            ));
        }
        self.carry(sec);
        Ok(())
    }

    /// A replaced function must have an ftrace site (an entry of
    /// `__mcount_loc` or `__patchable_function_entries`): live patching
    /// redirects calls there.
    fn check_ftrace_site(&mut self, name: &str) {
        let Some(sec) = self
            .file
            .symbols()
            .find(|s| s.kind() == SymbolKind::Text && s.name() == Ok(name) && s.is_definition())
            .and_then(|s| s.section_index())
        else {
            return;
        };
        let traced = self.file.sections().any(|table| {
            matches!(
                table.name(),
                Ok("__mcount_loc" | "__patchable_function_entries")
            ) && table.relocations().any(|(_, r)| match r.target() {
                RelocationTarget::Symbol(i) => self
                    .file
                    .symbol_by_index(i)
                    .is_ok_and(|s| s.section_index() == Some(sec)),
                _ => false,
            })
        });
        if !traced {
            let hint = if name.starts_with("__do_sys_") || name.starts_with("__se_sys_") {
                ": it is a system call's body; write the fix with `KLP_RS_SYSCALL_DEFINEn` from `<klp-rs/syscall.h>` so that the arch's entry stub is replaced"
            } else {
                " (`notrace`, or `inline` code GCC did not inline)"
            };
            self.problems.push(format!(
                "`{name}`: no ftrace site, so live patching cannot redirect it{hint}"
            ));
        }
    }

    /// The name in the original unit of the static local `name` (GCC
    /// numbers them per unit: `__key.234`) that the carried function of
    /// section `from` uses: the one in the same place among the same
    /// function's same-stem locals in the original object.
    fn original_local(&self, from: SectionIndex, name: &str) -> Result<String, String> {
        let stem = stem(name);
        let func = self
            .named_in(from)
            .into_iter()
            .find(|s| s.kind() == SymbolKind::Text)
            .and_then(|s| s.name().ok().map(str::to_string))
            .ok_or_else(|| {
                format!(
                    "`{name}`: used from `{}`, which is no function",
                    self.section_name(from)
                )
            })?;
        let uses = |file: &File<'d>, func: &str| -> Option<Vec<String>> {
            let sec = file
                .symbols()
                .find(|s| {
                    s.kind() == SymbolKind::Text && s.name() == Ok(func) && s.is_definition()
                })?
                .section_index()?;
            let mut out: Vec<String> = Vec::new();
            for (_, r) in file.section_by_index(sec).ok()?.relocations() {
                let RelocationTarget::Symbol(i) = r.target() else {
                    continue;
                };
                let Ok(s) = file.symbol_by_index(i) else {
                    continue;
                };
                // ppc64le: through the TOC entry to what it holds.
                let s = match through_toc(file, &s, r.addend()) {
                    Some(held) => held,
                    None => s,
                };
                let s = if s.kind() == SymbolKind::Section {
                    let Some(sec) = s.section_index() else {
                        continue;
                    };
                    let named: Vec<_> = file
                        .symbols()
                        .filter(|x| x.section_index() == Some(sec) && x.kind() == SymbolKind::Data)
                        .collect();
                    match &named[..] {
                        [one] => *one,
                        _ => continue,
                    }
                } else {
                    s
                };
                if let Ok(n) = s.name() {
                    if s.is_local() && crate::stem(n) == stem && !out.iter().any(|o| o == n) {
                        out.push(n.to_string());
                    }
                }
            }
            Some(out)
        };
        let now = uses(&self.file, &func).unwrap_or_default();
        let before = uses(&self.original, &func).ok_or_else(|| {
            format!("`{name}`: a static local of `{func}`, which the original unit does not have")
        })?;
        let at = now.iter().position(|n| n == name);
        match (at, now.len() == before.len()) {
            (Some(i), true) => Ok(before[i].clone()),
            _ => Err(format!(
                "`{name}`: `{func}` uses {} static locals `{stem}` now and {} before: cannot tell which of the running kernel's it is",
                now.len(),
                before.len()
            )),
        }
    }

    /// The named symbols defined in `sec`, by offset.
    fn named_in(&self, sec: SectionIndex) -> Vec<ElfSymbol64<'d, '_, Endianness>> {
        self.named
            .get(&sec.0)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.file.symbol_by_index(i).ok())
            .collect()
    }

    /// The named symbol a reference to `sec` + `addend` means.
    fn symbol_at(&self, sec: SectionIndex, addend: i64) -> Option<SymbolIndex> {
        let named = self.named_in(sec);
        if let [only] = &named[..] {
            return Some(only.index());
        }
        // A PC-relative reference carries the distance to its own end.
        for at in [addend, addend + 4] {
            let at = at.max(0) as u64;
            if let Some(s) = named
                .iter()
                .find(|s| s.address() <= at && at < s.address() + s.size().max(1))
            {
                return Some(s.index());
            }
        }
        None
    }

    /// Visits the relocations of the carried section `sec`.
    fn visit(&mut self, sec: SectionIndex) {
        let Some(section) = self.section(sec) else {
            return;
        };
        let relocs: Vec<(u64, object::Relocation)> = section.relocations().collect();
        let sec_name = self.section_name(sec);
        for (offset, rel) in relocs {
            if self.carry_local_callee(sec, offset, &rel) {
                continue;
            }
            let out = self.target(&rel, Some(sec));
            self.check_arch(&sec_name, sec, offset, &rel, &out);
        }
    }

    /// ppc64le: a call of a function of the unit that GCC made as a local
    /// one (no `nop` after it for the TOC's restore, or a sibling call)
    /// cannot become a call into the kernel: that function is carried
    /// instead, unchanged, and the call stays in the module. True if so.
    fn carry_local_callee(
        &mut self,
        from: SectionIndex,
        offset: u64,
        rel: &object::Relocation,
    ) -> bool {
        if self.arch != object::Architecture::PowerPc64
            || rel.flags()
                != (RelocationFlags::Elf {
                    r_type: elf::R_PPC64_REL24,
                })
        {
            return false;
        }
        let RelocationTarget::Symbol(i) = rel.target() else {
            return false;
        };
        let Some(callee) = self
            .file
            .symbol_by_index(i)
            .ok()
            .and_then(|s| s.section_index())
            .filter(|s| !self.carried.contains(&s.0))
        else {
            return false;
        };
        if self.sh_flags(callee) & elf::SHF_EXECINSTR.0 == 0 {
            return false;
        }
        let data = self
            .section(from)
            .and_then(|s| s.data().ok())
            .unwrap_or(&[]);
        let word = |at: u64| -> Option<u32> {
            let b = data.get(at as usize..at as usize + 4)?;
            Some(u32::from_le_bytes(b.try_into().ok()?))
        };
        let at = offset & !3;
        let linked = word(at).is_some_and(|insn| insn & 1 == 1);
        if linked && word(at + 4) == Some(0x6000_0000) {
            return false;
        }
        let name = self.section_name(callee);
        if name.starts_with(".init") || name.starts_with(".exit") {
            return false;
        }
        self.carry(callee);
        true
    }

    /// Visits the relocations of one table entry.
    fn visit_entry(&mut self, sec: SectionIndex, start: u64) {
        let Some(section) = self.section(sec) else {
            return;
        };
        let size = self.entry_size(sec).unwrap_or(0);
        let relocs: Vec<object::Relocation> = section
            .relocations()
            .filter(|(o, _)| *o >= start && *o < start + size)
            .map(|(_, r)| r)
            .collect();
        for rel in relocs {
            self.target(&rel, None);
        }
    }

    /// Where the relocation `rel` points in the output; carries the
    /// sections it needs, records what cannot be reached.
    fn target(&mut self, rel: &object::Relocation, from: Option<SectionIndex>) -> Option<Out> {
        let RelocationTarget::Symbol(index) = rel.target() else {
            return None;
        };
        let sym = self.file.symbol_by_index(index).ok()?;
        let Some(sec) = sym.section_index() else {
            // Undefined: the target kernel has it, or the patch cannot.
            let name = sym.name().unwrap_or_default().to_string();
            return self.reach(index, || self.resolve.undefined(&name));
        };
        if self.carried.contains(&sec.0) {
            return Some(Out::Carried);
        }
        let sec_name = self.section_name(sec);
        let flags = self.sh_flags(sec);
        if special::is_auxiliary(&sec_name)
            || flags & (elf::SHF_MERGE.0 | elf::SHF_STRINGS.0)
                == (elf::SHF_MERGE.0 | elf::SHF_STRINGS.0)
        {
            self.carry(sec);
            return Some(Out::Carried);
        }
        if sec_name.starts_with(".init") || sec_name.starts_with(".exit") {
            self.problems.push(format!(
                "a reference to `{sec_name}` (init or exit data or code), which is gone once the kernel has booted"
            ));
            return None;
        }
        if sec_name == ".toc" {
            // ppc64le: an address in the unit's TOC. The module gets a TOC
            // of its own with the entries its code uses.
            let at = (sym.address() as i64 + rel.addend()).max(0) as u64 & !7;
            if self.toc.insert(at) {
                let entry: Vec<object::Relocation> = self
                    .section(sec)
                    .map(|s| {
                        s.relocations()
                            .filter(|(o, _)| *o == at)
                            .map(|(_, r)| r)
                            .collect()
                    })
                    .unwrap_or_default();
                for r in entry {
                    self.target(&r, from);
                }
            }
            return Some(Out::Carried);
        }
        // The named symbol meant.
        let named = if sym.kind() == SymbolKind::Section {
            self.symbol_at(sec, rel.addend())
        } else {
            Some(index)
        };
        let Some(named) = named else {
            if flags & elf::SHF_WRITE.0 == 0 {
                // Anonymous constants: a copy is the same.
                self.carry(sec);
                return Some(Out::Carried);
            }
            self.problems.push(format!(
                "a reference to writable data in `{sec_name}` that no symbol names"
            ));
            return None;
        };
        let nsym = self.file.symbol_by_index(named).ok()?;
        let name = nsym.name().unwrap_or_default().to_string();
        let base = stem(&name);
        // GCC's clones, cold parts and numbered statics: no stable names.
        let gcc_made = name.contains('.');
        let is_code = nsym.kind() == SymbolKind::Text;
        let writable = flags & elf::SHF_WRITE.0 != 0;
        let has_relocs = self
            .section(sec)
            .is_some_and(|s| s.relocations().next().is_some());
        let carry_copy = if is_code {
            gcc_made
        } else {
            // New variables are carried fresh; constants the compiler made
            // are carried as copies; the rest is the running kernel's.
            !self.original_names.contains(&base)
                || (!writable && !has_relocs && (gcc_made || name.starts_with("__func__")))
        };
        if carry_copy {
            self.carry(sec);
            return Some(Out::Carried);
        }
        let local = nsym.is_local();
        // A numbered static local: the original's of the same function.
        let name = if local && !is_code && name != base {
            match from.map(|f| self.original_local(f, &name)) {
                Some(Ok(n)) => n,
                Some(Err(why)) => {
                    self.problems.push(why);
                    return None;
                }
                None => name,
            }
        } else {
            name
        };
        self.reach(named, || self.resolve.defined(&name, local))
    }

    fn reach(
        &mut self,
        index: SymbolIndex,
        how: impl FnOnce() -> Result<Reach, String>,
    ) -> Option<Out> {
        match self.reached.entry(index.0).or_insert_with(how).clone() {
            Ok(r) => Some(Out::Reached(r)),
            Err(why) => {
                self.problems.push(why);
                None
            }
        }
    }

    /// Each arch's limits on code that now reaches the kernel from a module.
    fn check_arch(
        &mut self,
        sec_name: &str,
        sec: SectionIndex,
        offset: u64,
        rel: &object::Relocation,
        out: &Option<Out>,
    ) {
        if self.arch != object::Architecture::PowerPc64 {
            return;
        }
        let Some(Out::Reached(reach)) = out else {
            return;
        };
        let RelocationFlags::Elf { r_type } = rel.flags() else {
            return;
        };
        let what = match reach {
            Reach::Export(n) | Reach::Klp { name: n, .. } => n.clone(),
        };
        let func = self
            .symbol_at(sec, offset as i64)
            .and_then(|i| self.file.symbol_by_index(i).ok())
            .and_then(|s| s.name().ok().map(str::to_string))
            .unwrap_or_else(|| sec_name.to_string());
        let data = self.section(sec).and_then(|s| s.data().ok()).unwrap_or(&[]);
        let word = |at: u64| -> Option<u32> {
            let b = data.get(at as usize..at as usize + 4)?;
            Some(u32::from_le_bytes(b.try_into().ok()?))
        };
        match r_type {
            // ftrace's call: the module loader gives it a stub of its own.
            elf::R_PPC64_REL24 if matches!(what.as_str(), "_mcount" | "ftrace_caller") => {}
            elf::R_PPC64_REL24 => {
                let insn = word(offset & !3).unwrap_or(0);
                if insn & 1 == 0 {
                    self.problems.push(format!(
                        "`{func}`: ppc64le sibling call (`b`) to `{what}`, which is outside the patch module: the call would return with the module's TOC (arch limit; kpatch refuses it too)"
                    ));
                } else if word((offset & !3) + 4) != Some(0x6000_0000) {
                    self.problems.push(format!(
                        "`{func}`: ppc64le local call to `{what}` without a `nop` after `bl`, so the module loader cannot restore the TOC after calling into the kernel (arch limit)"
                    ));
                }
            }
            elf::R_PPC64_TOC16
            | elf::R_PPC64_TOC16_LO
            | elf::R_PPC64_TOC16_HI
            | elf::R_PPC64_TOC16_HA
            | elf::R_PPC64_TOC16_DS
            | elf::R_PPC64_TOC16_LO_DS => {
                self.problems.push(format!(
                    "`{func}`: ppc64le TOC-relative reference to `{what}`, which stays in the kernel: out of reach of the module's TOC (arch limit)"
                ));
            }
            _ => {}
        }
    }

    fn entry_size(&self, sec: SectionIndex) -> Option<u64> {
        let s = self.section(sec)?;
        let entsize = s.elf_section_header().sh_entsize(self.file.endian());
        if entsize != 0 {
            return Some(entsize);
        }
        special::entry_size(self.arch, &self.section_name(sec))
    }

    /// The tables with entries pointing into carried sections: the start
    /// of each such entry. A section that points into carried code but is
    /// no known table is a problem.
    fn tables(&mut self) -> BTreeMap<usize, Vec<u64>> {
        let mut out = BTreeMap::new();
        let sections: Vec<SectionIndex> = self.file.sections().map(|s| s.index()).collect();
        for sec in sections {
            if self.carried.contains(&sec.0) {
                continue;
            }
            let name = self.section_name(sec);
            if special::is_ignored(&name)
                || special::is_code_or_data(&name)
                || special::is_auxiliary(&name)
                || (self.sh_flags(sec) & elf::SHF_ALLOC.0 == 0 && name != ".discard.annotate_insn")
            {
                continue;
            }
            let Some(section) = self.section(sec) else {
                continue;
            };
            let relocs: Vec<(u64, object::Relocation)> = section.relocations().collect();
            // Tables point at code; what points at carried data, or at
            // auxiliary code (alternative instructions, carried whole), is
            // not about it.
            let into_carried = |r: &object::Relocation| -> bool {
                let RelocationTarget::Symbol(i) = r.target() else {
                    return false;
                };
                self.file
                    .symbol_by_index(i)
                    .ok()
                    .and_then(|s| s.section_index())
                    .is_some_and(|s| {
                        self.carried.contains(&s.0)
                            && self.sh_flags(s) & elf::SHF_EXECINSTR.0 != 0
                            && !special::is_auxiliary(&self.section_name(s))
                    })
            };
            let hits: Vec<u64> = relocs
                .iter()
                .filter(|(_, r)| into_carried(r))
                .map(|(o, _)| *o)
                .collect();
            if hits.is_empty() {
                continue;
            }
            let Some(entry) = self.entry_size(sec) else {
                self.problems.push(format!(
                    "section `{name}` points into the carried code but is no table klp-rs knows how to split: extend `special::entry_size`"
                ));
                continue;
            };
            let offsets: Vec<u64> = relocs.iter().map(|(o, _)| *o).collect();
            if !special::splits_evenly(section.size(), entry, &offsets) {
                self.problems.push(format!(
                    "section `{name}` ({} bytes, {} relocations) does not split into {entry}-byte entries with the same relocations each",
                    section.size(),
                    offsets.len()
                ));
                continue;
            }
            let mut starts: Vec<u64> = hits.iter().map(|o| o - o % entry).collect();
            starts.dedup();
            out.insert(sec.0, starts);
        }
        out
    }

    /// Writes the object.
    fn write(
        &self,
        request: &Request<'_>,
        tables: &BTreeMap<usize, Vec<u64>>,
    ) -> Result<Extracted, Error> {
        let endian = self.file.endian();
        let header = self.file.elf_header();
        let mut obj = write::Object::new(object::BinaryFormat::Elf, self.arch, endian);
        obj.flags = object::FileFlags::Elf {
            os_abi: header.e_ident().os_abi,
            abi_version: header.e_ident().abi_version,
            e_flags: header.e_flags(endian),
        };
        let mut sections: BTreeMap<usize, write::SectionId> = BTreeMap::new();
        let mut names = Vec::new();
        // Output sections in order, each with the input section its
        // `SHF_LINK_ORDER` names (ftrace's `__patchable_function_entries`).
        let mut order: Vec<(write::SectionId, Option<usize>)> = Vec::new();
        let mut add_section = |obj: &mut write::Object<'_>, sec: SectionIndex, data: Vec<u8>| {
            let s = self.section(sec).expect("a section of the input");
            let h = s.elf_section_header();
            let name = self.section_name(sec);
            let mut flags = h.sh_flags(endian).0;
            let linked = (flags & elf::SHF_LINK_ORDER.0 != 0).then(|| h.sh_link(endian) as usize);
            // No link order, no group: the patch module links them plainly.
            flags &= !(elf::SHF_LINK_ORDER.0 | elf::SHF_GROUP.0 | elf::SHF_INFO_LINK.0);
            let strings = flags & elf::SHF_STRINGS.0 != 0;
            if !strings {
                flags &= !elf::SHF_MERGE.0;
            }
            let kind = if strings {
                object::SectionKind::ReadOnlyString
            } else {
                s.kind()
            };
            let id = obj.add_section(Vec::new(), name.clone().into_bytes(), kind);
            let sh_type = h.sh_type(endian);
            if sh_type == elf::SHT_NOBITS {
                obj.append_section_bss(id, s.size(), s.align().max(1));
            } else {
                obj.set_section_data(id, data, s.align().max(1));
            }
            obj.section_mut(id).flags = object::SectionFlags::Elf {
                sh_type,
                sh_flags: elf::SectionFlags(flags),
            };
            names.push(name);
            order.push((id, linked));
            id
        };
        for &sec in &self.carried {
            let sec = SectionIndex(sec);
            let data = self
                .section(sec)
                .and_then(|s| s.data().ok())
                .unwrap_or(&[])
                .to_vec();
            let id = add_section(&mut obj, sec, data);
            sections.insert(sec.0, id);
        }
        // ppc64le: the TOC entries the code uses, packed.
        let input_toc = self
            .file
            .sections()
            .find(|s| s.name() == Ok(".toc"))
            .map(|s| s.index());
        let mut toc_moved: BTreeMap<u64, u64> = BTreeMap::new();
        let mut toc_out = None;
        if let (Some(sec), false) = (input_toc, self.toc.is_empty()) {
            let data = self.section(sec).and_then(|s| s.data().ok()).unwrap_or(&[]);
            let mut bytes = Vec::new();
            for &at in &self.toc {
                toc_moved.insert(at, bytes.len() as u64);
                bytes.extend_from_slice(data.get(at as usize..at as usize + 8).unwrap_or(&[0; 8]));
            }
            toc_out = Some(add_section(&mut obj, sec, bytes));
        }
        // Tables: only their carried entries.
        let mut table_ids: BTreeMap<usize, (write::SectionId, BTreeMap<u64, u64>)> =
            BTreeMap::new();
        let mut table_entries = Vec::new();
        for (&sec, starts) in tables {
            let sec = SectionIndex(sec);
            let entry = self.entry_size(sec).unwrap_or(0);
            let data = self.section(sec).and_then(|s| s.data().ok()).unwrap_or(&[]);
            let mut bytes = Vec::new();
            let mut moved = BTreeMap::new();
            for &start in starts {
                moved.insert(start, bytes.len() as u64);
                let end = (start + entry) as usize;
                bytes.extend_from_slice(data.get(start as usize..end).unwrap_or(&[]));
            }
            let id = add_section(&mut obj, sec, bytes);
            table_entries.push((self.section_name(sec), starts.len()));
            table_ids.insert(sec.0, (id, moved));
        }

        // Symbols defined in carried sections: local, under their names;
        // each replaced function also global under its entry point.
        let mut symbols: BTreeMap<usize, write::SymbolId> = BTreeMap::new();
        let mut entry_points = Vec::new();
        for sym in self.file.symbols() {
            let Some(sec) = sym.section_index() else {
                continue;
            };
            let Some(&id) = sections.get(&sec.0) else {
                continue;
            };
            let name = sym.name().unwrap_or_default();
            if sym.kind() == SymbolKind::Section {
                symbols.insert(sym.index().0, obj.section_symbol(id));
                continue;
            }
            if name.is_empty() || !matches!(sym.kind(), SymbolKind::Text | SymbolKind::Data) {
                continue;
            }
            let st_other = sym.elf_symbol().st_other();
            let st_type = sym.elf_symbol().st_type();
            let mk = |name: &str, bind: elf::SymbolBind| write::Symbol {
                name: name.as_bytes().to_vec(),
                value: sym.address(),
                size: sym.size(),
                kind: sym.kind(),
                scope: if bind == elf::STB_LOCAL {
                    write::SymbolScope::Compilation
                } else {
                    write::SymbolScope::Dynamic
                },
                weak: false,
                section: write::SymbolSection::Section(id),
                flags: object::SymbolFlags::Elf {
                    st_info: elf::SymbolInfo::new(bind, st_type),
                    st_other,
                },
            };
            // A new global stays global (another part may call it); the
            // rest is local, next to the running kernel's same names.
            let bind = if sym.is_global() && !request.original_names.contains(&stem(name)) {
                elf::STB_GLOBAL
            } else {
                elf::STB_LOCAL
            };
            symbols.insert(sym.index().0, obj.add_symbol(mk(name, bind)));
            if sym.kind() == SymbolKind::Text && request.replaced.iter().any(|r| r == name) {
                let global = entry_point(name);
                obj.add_symbol(mk(&global, elf::STB_GLOBAL));
                entry_points.push((name.to_string(), global));
            }
        }

        // Symbols of the kernel.
        let mut outside: BTreeMap<String, write::SymbolId> = BTreeMap::new();
        let mut klp_symbols = BTreeSet::new();
        let mut exports = BTreeSet::new();
        let mut external = |obj: &mut write::Object<'_>, reach: &Reach| {
            let (name, weak) = match reach {
                Reach::Export(n) => {
                    exports.insert(n.clone());
                    (n.clone(), false)
                }
                Reach::Klp {
                    object,
                    name,
                    sympos,
                    function,
                    size,
                } => {
                    let s = format!(".klp.sym.{object}.{name},{sympos}");
                    klp_symbols.insert(KlpSymbol {
                        symbol: s.clone(),
                        function: *function,
                        size: *size,
                    });
                    // Weak: `modpost` accepts it; the post-link step makes
                    // it `SHN_LIVEPATCH`.
                    (s, true)
                }
            };
            *outside.entry(name.clone()).or_insert_with(|| {
                obj.add_symbol(write::Symbol {
                    name: name.into_bytes(),
                    value: 0,
                    size: 0,
                    kind: object::SymbolKind::Unknown,
                    scope: write::SymbolScope::Unknown,
                    weak,
                    section: write::SymbolSection::Undefined,
                    flags: object::SymbolFlags::None,
                })
            })
        };

        // Relocations.
        let mut relocated: BTreeSet<write::SectionId> = BTreeSet::new();
        let mut relocate = |obj: &mut write::Object<'_>,
                            to: write::SectionId,
                            at: u64,
                            rel: &object::Relocation|
         -> Result<(), Error> {
            let RelocationTarget::Symbol(index) = rel.target() else {
                // ppc64le's hint that a global entry may be optimised:
                // dropped, the entry stays as it is.
                if rel.flags()
                    == (RelocationFlags::Elf {
                        r_type: R_PPC64_ENTRY,
                    })
                {
                    return Ok(());
                }
                return Err(Error::Unsupported {
                    what: format!("the relocation at {at:#x} ({:?})", rel.flags()),
                    why: "it names no symbol".into(),
                });
            };
            let sym = self.file.symbol_by_index(index).ok();
            let carried_in = sym
                .as_ref()
                .and_then(|s| s.section_index())
                .and_then(|s| sections.get(&s.0).copied());
            let in_toc = sym
                .as_ref()
                .is_some_and(|s| s.section_index().is_some() && s.section_index() == input_toc);
            let (symbol, addend) = match self.reached.get(&self.meant(index, rel.addend()).0) {
                _ if in_toc => {
                    let place = sym.as_ref().map_or(0, |s| s.address() as i64) + rel.addend();
                    let entry = place.max(0) as u64 & !7;
                    let (Some(toc), Some(&moved)) = (toc_out, toc_moved.get(&entry)) else {
                        return Err(Error::Unsupported {
                            what: format!("a relocation at {at:#x}"),
                            why: "it points at a TOC entry that was not carried".into(),
                        });
                    };
                    (obj.section_symbol(toc), moved as i64 + place - entry as i64)
                }
                _ if symbols.contains_key(&index.0) => (symbols[&index.0], rel.addend()),
                // A label of a carried section: its section and offset.
                _ if carried_in.is_some() => {
                    let at = sym.as_ref().map_or(0, |s| s.address() as i64);
                    (
                        obj.section_symbol(carried_in.unwrap_or(to)),
                        rel.addend() + at,
                    )
                }
                Some(Ok(reach)) => {
                    let shift = self.shift(index, rel.addend());
                    (external(obj, reach), rel.addend() - shift)
                }
                _ => {
                    let name = sym
                        .and_then(|s| s.name().ok().map(str::to_string))
                        .unwrap_or_default();
                    return Err(Error::Unsupported {
                        what: format!("a relocation at {at:#x} to `{name}`"),
                        why: "its target was neither carried nor resolved".into(),
                    });
                }
            };
            relocated.insert(to);
            obj.add_relocation(
                to,
                write::Relocation {
                    offset: at,
                    symbol,
                    addend,
                    flags: rel.flags(),
                },
            )
            .map_err(|e| Error::Unsupported {
                what: "a relocation".into(),
                why: e.to_string(),
            })
        };
        for (&sec, &id) in &sections {
            let Some(section) = self.section(SectionIndex(sec)) else {
                continue;
            };
            for (offset, rel) in section.relocations() {
                relocate(&mut obj, id, offset, &rel)?;
            }
        }
        if let (Some(sec), Some(toc)) = (input_toc, toc_out) {
            if let Some(section) = self.section(sec) {
                for (offset, rel) in section.relocations() {
                    if let Some(&to) = toc_moved.get(&(offset & !7)) {
                        relocate(&mut obj, toc, to + offset % 8, &rel)?;
                    }
                }
            }
        }
        for (&sec, (id, moved)) in &table_ids {
            let sec = SectionIndex(sec);
            let entry = self.entry_size(sec).unwrap_or(0);
            let Some(section) = self.section(sec) else {
                continue;
            };
            for (offset, rel) in section.relocations() {
                let start = offset - offset % entry.max(1);
                if let Some(&to) = moved.get(&start) {
                    relocate(&mut obj, *id, to + offset - start, &rel)?;
                }
            }
        }

        // The declarations the post-link step checks.
        let klp_symbols: Vec<KlpSymbol> = klp_symbols.into_iter().collect();
        if !klp_symbols.is_empty() {
            let mut text = String::new();
            for k in &klp_symbols {
                if k.function {
                    text.push_str(&format!("fn {} 0\n", k.symbol));
                } else {
                    text.push_str(&format!("static {} {}\n", k.symbol, k.size));
                }
            }
            let id = obj.add_section(
                Vec::new(),
                b".klp_rs.syms".to_vec(),
                object::SectionKind::Other,
            );
            obj.set_section_data(id, text.into_bytes(), 1);
            obj.section_mut(id).flags = object::SectionFlags::Elf {
                sh_type: SYMS_SECTION_TYPE,
                sh_flags: elf::SectionFlags(0),
            };
        }
        let stack = obj.add_section(
            Vec::new(),
            b".note.GNU-stack".to_vec(),
            object::SectionKind::Other,
        );
        obj.section_mut(stack).flags = object::SectionFlags::Elf {
            sh_type: elf::SHT_PROGBITS,
            sh_flags: elf::SectionFlags(0),
        };
        let mut bytes = obj.write().map_err(|e| Error::Unsupported {
            what: "the extracted object".into(),
            why: e.to_string(),
        })?;
        // `object` writes no `SHF_LINK_ORDER`: set it, as the input had it,
        // so that the module links these with its other parts' (the
        // linker refuses to mix ordered and unordered sections of a name).
        // Sections get indices in the order they were added, each followed
        // by its relocation section if it has relocations.
        let mut index = BTreeMap::new();
        let mut next = 1u32;
        for (id, _) in &order {
            index.insert(*id, next);
            next += 1 + u32::from(relocated.contains(id));
        }
        // GCC 12 links one such section for the whole unit to its first
        // function's section, which may not be carried: then any carried
        // code will do (the section holds only entries of carried code).
        let first_code = self
            .carried
            .iter()
            .find(|&&s| self.sh_flags(SectionIndex(s)) & elf::SHF_EXECINSTR.0 != 0)
            .and_then(|s| sections.get(s))
            .and_then(|id| index.get(id));
        for (id, linked) in &order {
            let Some(linked) = linked else { continue };
            let link = sections
                .get(linked)
                .and_then(|l| index.get(l))
                .or(first_code)
                .ok_or_else(|| Error::Unsupported {
                    what: "the extracted object".into(),
                    why: "an ordered table, but no code carried".into(),
                })?;
            set_link_order(&mut bytes, endian, index[id], *link)?;
        }
        Ok(Extracted {
            object: bytes,
            entry_points,
            sections: names,
            klp_symbols,
            exports: exports.into_iter().collect(),
            table_entries,
        })
    }

    /// The symbol whose decision a relocation to `index` + `addend` uses.
    fn meant(&self, index: SymbolIndex, addend: i64) -> SymbolIndex {
        match self.file.symbol_by_index(index) {
            Ok(s) if s.kind() == SymbolKind::Section => s
                .section_index()
                .and_then(|sec| self.symbol_at(sec, addend))
                .unwrap_or(index),
            _ => index,
        }
    }

    /// The offset in its section of the symbol meant by `index` +
    /// `addend`, when reached through the section's symbol (else 0).
    fn shift(&self, index: SymbolIndex, addend: i64) -> i64 {
        let meant = self.meant(index, addend);
        match self.file.symbol_by_index(meant) {
            Ok(s) if meant != index => s.address() as i64,
            _ => 0,
        }
    }
}

/// Marks section `index` of the ELF64 `bytes` `SHF_LINK_ORDER`, ordered by
/// section `link`.
fn set_link_order(
    bytes: &mut [u8],
    endian: Endianness,
    index: u32,
    link: u32,
) -> Result<(), Error> {
    let bad = || Error::Unsupported {
        what: "the extracted object".into(),
        why: "its section headers are not where its ELF header says".into(),
    };
    let big = endian == Endianness::Big;
    let read = |b: &[u8], at: usize, n: usize| -> Option<u64> {
        let s = b.get(at..at + n)?;
        let mut v = 0u64;
        for i in 0..n {
            let byte = if big { s[i] } else { s[n - 1 - i] };
            v = v << 8 | u64::from(byte);
        }
        Some(v)
    };
    let shoff = read(bytes, 0x28, 8).ok_or_else(bad)? as usize;
    let shentsize = read(bytes, 0x3a, 2).ok_or_else(bad)? as usize;
    let header = shoff + index as usize * shentsize;
    let flags = read(bytes, header + 8, 8).ok_or_else(bad)? | elf::SHF_LINK_ORDER.0;
    let mut put = |at: usize, v: u64, n: usize| -> Result<(), Error> {
        let s = bytes.get_mut(at..at + n).ok_or_else(bad)?;
        for (i, b) in s.iter_mut().enumerate() {
            let shift = if big { 8 * (n - 1 - i) } else { 8 * i };
            *b = (v >> shift) as u8;
        }
        Ok(())
    };
    put(header + 8, flags, 8)?;
    put(header + 40, u64::from(link), 4)
}

/// ppc64le: the symbol the TOC entry at `sym` + `addend` holds, if `sym`
/// is in the TOC.
fn through_toc<'d, 'f>(
    file: &'f File<'d>,
    sym: &ElfSymbol64<'d, 'f, Endianness>,
    addend: i64,
) -> Option<ElfSymbol64<'d, 'f, Endianness>> {
    let sec = sym.section_index()?;
    let section = file.section_by_index(sec).ok()?;
    if section.name().ok()? != ".toc" {
        return None;
    }
    let at = (sym.address() as i64 + addend).max(0) as u64 & !7;
    let (_, r) = section.relocations().find(|(o, _)| *o == at)?;
    let RelocationTarget::Symbol(i) = r.target() else {
        return None;
    };
    let held = file.symbol_by_index(i).ok()?;
    if held.kind() != SymbolKind::Section {
        return Some(held);
    }
    // A section's symbol: the one variable of that section, if one.
    let hs = held.section_index()?;
    let mut named = file
        .symbols()
        .filter(|x| x.section_index() == Some(hs) && x.kind() == SymbolKind::Data);
    match (named.next(), named.next()) {
        (Some(one), None) => Some(one),
        _ => Some(held),
    }
}
