//! The fast pass over the DWARF: one unit at a time, over the raw entries
//! (no tree is built), keeping only what the comparison needs: for each
//! out-of-line function its name, declaration and address; for each inlined
//! call the function inlined and the function it is inlined into; for each
//! named struct, union, enum (and typedef of an anonymous one) a hash of its
//! layout. Units are spread over threads; the per-thread results are merged
//! with order-independent operations, so the summary is the same whatever
//! the thread count.

use crate::{
    error::{Error, Result},
    hash::{Fold, Map},
    pool,
};
use gimli::{constants as dw, AttributeValue, Reader as _, UnitSectionOffset};

/// The reader the engine uses: a slice of the mapping (or of a section
/// decompressed or relocated in memory).
pub(crate) type R<'a> = gimli::EndianSlice<'a, gimli::RunTimeEndian>;

/// Kinds of named types whose layout is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum TypeKind {
    Struct,
    Union,
    Enum,
    /// A typedef of an anonymous struct, union or enum.
    Typedef,
}

impl TypeKind {
    pub(crate) fn keyword(self) -> &'static str {
        match self {
            TypeKind::Struct => "struct",
            TypeKind::Union => "union",
            TypeKind::Enum => "enum",
            TypeKind::Typedef => "typedef",
        }
    }
}

/// An out-of-line (concrete) function.
#[derive(Clone, Debug)]
pub(crate) struct FuncDie<'a> {
    pub(crate) pc: u64,
    pub(crate) name: &'a [u8],
    /// Hash of the declaring file's path (names the function together with
    /// `name` across units of one binary).
    pub(crate) file_key: u64,
    pub(crate) decl_line: u64,
    pub(crate) unit: u32,
    pub(crate) die: usize,
}

impl FuncDie<'_> {
    /// The key of this function in [`Summary::inlines`].
    pub(crate) fn inline_key(&self) -> u64 {
        inline_key(self.name, self.file_key)
    }
}

fn inline_key(name: &[u8], file_key: u64) -> u64 {
    Fold::new(7).bytes(name).u64(file_key).get()
}

/// One definition of a named type: its layout hash and the first unit
/// (lowest index) holding it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct TypeDef {
    pub(crate) layout: u64,
    pub(crate) size: u64,
    pub(crate) unit: u32,
    pub(crate) die: usize,
}

/// What the fast pass keeps of one binary.
#[derive(Default)]
pub(crate) struct Summary<'a> {
    /// The name (`DW_AT_name`) of each unit, by unit index.
    pub(crate) unit_names: Vec<&'a [u8]>,
    /// `(start, end, unit)` address ranges of the units, sorted.
    pub(crate) unit_ranges: Vec<(u64, u64, u32)>,
    /// Out-of-line functions, sorted by address.
    pub(crate) funcs: Vec<FuncDie<'a>>,
    /// `(address, unit)` of variables defined at file scope, sorted.
    pub(crate) vars: Vec<(u64, u32)>,
    /// `(inline key, caller address)`: the function with that key is
    /// inlined into the out-of-line function at that address. Sorted.
    pub(crate) inlines: Vec<(u64, u64)>,
    /// Named types: every distinct layout, sorted.
    pub(crate) types: Map<(TypeKind, &'a [u8]), Vec<TypeDef>>,
}

impl<'a> Summary<'a> {
    /// The unit whose ranges contain `addr`.
    pub(crate) fn var_unit(&self, addr: u64) -> Option<u32> {
        let i = self.vars.partition_point(|v| v.0 < addr);
        self.vars.get(i).filter(|v| v.0 == addr).map(|v| v.1)
    }

    /// The unit whose ranges contain `addr`.
    pub(crate) fn unit_at(&self, addr: u64) -> Option<u32> {
        let i = self.unit_ranges.partition_point(|r| r.0 <= addr);
        let r = self.unit_ranges.get(i.checked_sub(1)?)?;
        (addr < r.1).then_some(r.2)
    }

    /// The out-of-line function of the symbol at `addr` of `size` bytes:
    /// its `DW_AT_low_pc` may be past the symbol, after patchable-entry NOPs.
    pub(crate) fn func_for(&self, addr: u64, size: u64) -> Option<&FuncDie<'a>> {
        let i = self.funcs.partition_point(|f| f.pc < addr);
        self.funcs
            .get(i)
            .filter(|f| f.pc - addr < size.clamp(1, 32))
    }

    /// Addresses of the functions the function with `key` is inlined into.
    pub(crate) fn inlined_into(&self, key: u64) -> impl Iterator<Item = u64> + '_ {
        let i = self.inlines.partition_point(|e| e.0 < key);
        self.inlines[i..]
            .iter()
            .take_while(move |e| e.0 == key)
            .map(|e| e.1)
    }
}

/// The DWARF of one binary, borrowed, with its unit headers.
pub(crate) struct Dwarf<'a> {
    pub(crate) file: &'a str,
    pub(crate) dwarf: gimli::Dwarf<R<'a>>,
    pub(crate) units: Vec<gimli::UnitHeader<R<'a>>>,
}

impl<'a> Dwarf<'a> {
    /// Borrows the sections of `bin` and lists its units.
    pub(crate) fn new(bin: &'a crate::elf::Binary<'_>) -> Result<Self> {
        let endian = if bin.little_endian {
            gimli::RunTimeEndian::Little
        } else {
            gimli::RunTimeEndian::Big
        };
        let dwarf = bin.dwarf.borrow(|s| gimli::EndianSlice::new(s, endian));
        let mut units = Vec::new();
        let mut iter = dwarf.units();
        let mut at = 0u64;
        loop {
            match iter.next() {
                Ok(Some(h)) => {
                    at = offset_of(h.offset()) + h.length_including_self() as u64;
                    units.push(h);
                }
                Ok(None) => break,
                Err(source) => {
                    return Err(Error::Dwarf {
                        file: bin.file.clone(),
                        section: ".debug_info",
                        offset: at,
                        source,
                    })
                }
            }
        }
        Ok(Self {
            file: &bin.file,
            dwarf,
            units,
        })
    }

    pub(crate) fn err(&self, section: &'static str, offset: u64, source: gimli::Error) -> Error {
        Error::Dwarf {
            file: self.file.to_string(),
            section,
            offset,
            source,
        }
    }

    /// Opens unit `index` (its abbreviations and line program header).
    pub(crate) fn unit(&self, index: usize) -> Result<gimli::Unit<R<'a>>> {
        let header = self.units[index];
        let at = offset_of(header.offset());
        let unit = self.dwarf.unit(header).map_err(|e| {
            let section = match e {
                gimli::Error::AbbreviationTagZero
                | gimli::Error::InvalidAbbreviationChildren(_)
                | gimli::Error::DuplicateAbbreviationCode(_) => ".debug_abbrev",
                _ => ".debug_info",
            };
            let offset = if section == ".debug_abbrev" {
                header.debug_abbrev_offset().0 as u64
            } else {
                at
            };
            self.err(section, offset, e)
        })?;
        if let Some(dwo) = unit.dwo_name().ok().flatten() {
            let name = self
                .dwarf
                .attr_string(&unit, dwo)
                .map(|s| String::from_utf8_lossy(s.slice()).into_owned())
                .unwrap_or_default();
            return Err(Error::SplitDwarf {
                file: self.file.to_string(),
                offset: at,
                dwo: name,
            });
        }
        Ok(unit)
    }
}

pub(crate) fn offset_of(o: UnitSectionOffset) -> u64 {
    o.0 as u64
}

/// Runs the fast pass over the binaries at once (their units share the
/// threads); returns their summaries.
pub(crate) fn summarize<'a, const N: usize>(
    dwarfs: [&Dwarf<'a>; N],
    threads: usize,
) -> Result<[Summary<'a>; N]> {
    let items: Vec<(usize, usize)> = (0..N)
        .flat_map(|b| (0..dwarfs[b].units.len()).map(move |u| (b, u)))
        .collect();
    let accs = pool::fold(
        threads,
        items.len(),
        || {
            (
                Scratch::default(),
                std::array::from_fn::<Summary<'a>, N, _>(|_| Summary::default()),
            )
        },
        |(scratch, sums), i| {
            let (b, u) = items[i];
            scratch.scan(dwarfs[b], u, &mut sums[b])
        },
    )?;
    let mut out: [Summary<'a>; N] = std::array::from_fn(|b| Summary {
        unit_names: vec![&[][..]; dwarfs[b].units.len()],
        ..Summary::default()
    });
    for (_, sums) in accs {
        for (o, s) in out.iter_mut().zip(sums) {
            for (u, name) in s.unit_names.iter().enumerate() {
                if !name.is_empty() {
                    o.unit_names[u] = name;
                }
            }
            o.unit_ranges.extend(s.unit_ranges);
            o.funcs.extend(s.funcs);
            o.vars.extend(s.vars);
            o.inlines.extend(s.inlines);
            for (k, defs) in s.types {
                merge_defs(o.types.entry(k).or_default(), defs);
            }
        }
    }
    for o in &mut out {
        o.unit_ranges.sort_unstable();
        o.funcs.sort_unstable_by_key(|f| (f.pc, f.unit, f.die));
        o.vars.sort_unstable();
        o.inlines.sort_unstable();
        o.inlines.dedup();
    }
    Ok(out)
}

/// Adds `defs` to `into`: one entry per layout, the lowest unit kept.
fn merge_defs(into: &mut Vec<TypeDef>, defs: Vec<TypeDef>) {
    for d in defs {
        add_def(into, d);
    }
    into.sort_unstable();
}

/// Adds one definition: a new layout, or an earlier place for a known one.
fn add_def(into: &mut Vec<TypeDef>, d: TypeDef) {
    match into.iter_mut().find(|x| x.layout == d.layout) {
        Some(x) => {
            if (d.unit, d.die) < (x.unit, x.die) {
                *x = d;
            }
        }
        None => into.push(d),
    }
}

/// A type entry of the unit being scanned.
#[derive(Clone, Copy, Debug)]
struct TypeDie<'a> {
    off: usize,
    tag: dw::DwTag,
    name: Option<&'a [u8]>,
    ty: Option<usize>,
    size: Option<u64>,
    /// Enumerators or array bounds, folded in as they are read.
    extra: Fold,
    declaration: bool,
    /// First and last child (member, parameter) in `Scratch::members`, or
    /// `NONE`: a list linked through `Member::next`, in order.
    children: (u32, u32),
    memo: u64,
}

/// A member of a struct or union, or a parameter of a function type.
#[derive(Clone, Copy, Debug)]
struct Member<'a> {
    /// The owner's next child, or `NONE`.
    next: u32,
    name: Option<&'a [u8]>,
    ty: Option<usize>,
    bit_offset: u64,
    bit_size: u64,
}

#[derive(Clone, Copy, Debug)]
struct SubDie<'a> {
    off: usize,
    name: Option<&'a [u8]>,
    origin: Option<usize>,
    decl_file: Option<u64>,
    decl_line: Option<u64>,
    pc: Option<u64>,
}

#[derive(Clone, Copy, Debug)]
enum Parent {
    Type(u32),
    Sub(u32),
    Other,
}

/// The attributes read from one entry.
#[derive(Default)]
struct Attrs<'a> {
    name: Option<&'a [u8]>,
    ty: Option<usize>,
    byte_size: Option<u64>,
    member_location: Option<u64>,
    data_bit_offset: Option<u64>,
    bit_offset: Option<u64>,
    bit_size: Option<u64>,
    const_value: Option<u64>,
    count: Option<u64>,
    upper_bound: Option<u64>,
    origin: Option<usize>,
    decl_file: Option<u64>,
    decl_line: Option<u64>,
    low_pc: Option<u64>,
    ranges: Option<AttributeValue<R<'a>>>,
    /// A `DW_OP_addr` location.
    location: Option<u64>,
    declaration: bool,
}

/// Buffers reused from unit to unit by one thread.
#[derive(Default)]
struct Scratch<'a> {
    types: Vec<TypeDie<'a>>,
    members: Vec<Member<'a>>,
    subs: Vec<SubDie<'a>>,
    inlined: Vec<(usize, u32)>,
    /// Addresses of the unit's file-scope variables.
    vars: Vec<u64>,
    stack: Vec<(isize, Parent)>,
    file_keys: Vec<Option<u64>>,
    /// By unit offset: 1 + the index of the type (or function) entry there,
    /// 0 for none. As long as the largest unit; only the slots used are
    /// cleared after each unit.
    type_at: Vec<u32>,
    sub_at: Vec<u32>,
    /// Reading plans of the unit's abbreviations: `(first, end, read)`
    /// attribute runs, and for each abbreviation code its runs.
    runs: Vec<(u16, u16, bool)>,
    plan_at: Vec<(u32, u32)>,
}

/// The attributes the fast pass reads of an entry with `tag` (see
/// `read_attr`).
fn wanted_attrs(tag: dw::DwTag) -> &'static [dw::DwAt] {
    match tag {
        dw::DW_TAG_member => &[
            dw::DW_AT_name,
            dw::DW_AT_type,
            dw::DW_AT_data_member_location,
            dw::DW_AT_data_bit_offset,
            dw::DW_AT_bit_offset,
            dw::DW_AT_bit_size,
        ],
        dw::DW_TAG_enumerator => &[dw::DW_AT_name, dw::DW_AT_const_value],
        dw::DW_TAG_subrange_type => &[dw::DW_AT_count, dw::DW_AT_upper_bound],
        dw::DW_TAG_formal_parameter | dw::DW_TAG_unspecified_parameters => &[dw::DW_AT_type],
        dw::DW_TAG_inlined_subroutine => &[dw::DW_AT_abstract_origin],
        dw::DW_TAG_variable => &[dw::DW_AT_location],
        dw::DW_TAG_subprogram => &[
            dw::DW_AT_name,
            dw::DW_AT_abstract_origin,
            dw::DW_AT_specification,
            dw::DW_AT_decl_file,
            dw::DW_AT_decl_line,
            dw::DW_AT_low_pc,
            dw::DW_AT_ranges,
        ],
        _ => &[
            dw::DW_AT_name,
            dw::DW_AT_type,
            dw::DW_AT_byte_size,
            dw::DW_AT_declaration,
        ],
    }
}

/// No entry (end of a child list).
const NONE: u32 = u32::MAX;
const VOID: u64 = 0x766f_6964;
const UNKNOWN: u64 = 0x756e_6b6e;
const TOO_DEEP: u64 = 0x6465_6570;
const MAX_DEPTH: u32 = 48;

impl<'a> Scratch<'a> {
    fn scan(&mut self, d: &Dwarf<'a>, index: usize, sum: &mut Summary<'a>) -> Result<()> {
        let unit = d.unit(index)?;
        let base = offset_of(unit.header.offset());
        let info_err = |off: usize, e| d.err(".debug_info", base + off as u64, e);
        for t in &self.types {
            self.type_at[t.off] = 0;
        }
        for s in &self.subs {
            self.sub_at[s.off] = 0;
        }
        self.types.clear();
        self.members.clear();
        self.subs.clear();
        self.runs.clear();
        self.plan_at.clear();
        self.inlined.clear();
        self.vars.clear();
        self.stack.clear();
        self.file_keys.clear();
        let u = unit.unit_ref(&d.dwarf);
        let uidx = index as u32;
        let len = unit.header.length_including_self();
        if self.type_at.len() < len {
            self.type_at.resize(len, 0);
            self.sub_at.resize(len, 0);
        }

        if sum.unit_names.len() <= index {
            sum.unit_names.resize(index + 1, &[]);
        }
        sum.unit_names[index] = unit.name.map_or(&[][..], |n| n.slice());
        let mut ranges = u
            .unit_ranges()
            .map_err(|e| info_err(unit.header.root_offset().0, e))?;
        while let Some(r) = ranges.next().map_err(|e| d.err(".debug_ranges", base, e))? {
            if r.begin < r.end && !unit.is_tombstone_address(r.begin) && r.begin != 0 {
                sum.unit_ranges.push((r.begin, r.end, uidx));
            }
        }

        let mut entries = unit
            .entries_raw(None)
            .map_err(|e| info_err(unit.header.root_offset().0, e))?;
        while !entries.is_empty() {
            let off = entries.next_offset().0;
            let depth = entries.next_depth();
            let abbrev = match entries.read_abbreviation() {
                Ok(Some(a)) => a,
                Ok(None) => continue,
                Err(e) => return Err(info_err(off, e)),
            };
            while self.stack.last().is_some_and(|(d, _)| *d >= depth) {
                self.stack.pop();
            }
            let parent = self.stack.last().map_or(Parent::Other, |p| p.1);
            let tag = abbrev.tag();
            let wanted = match tag {
                dw::DW_TAG_member | dw::DW_TAG_enumerator | dw::DW_TAG_subrange_type => {
                    matches!(parent, Parent::Type(_))
                }
                dw::DW_TAG_formal_parameter | dw::DW_TAG_unspecified_parameters => {
                    matches!(parent, Parent::Type(t) if self.types[t as usize].tag == dw::DW_TAG_subroutine_type)
                }
                dw::DW_TAG_inlined_subroutine => self.enclosing_concrete().is_some(),
                dw::DW_TAG_subprogram => true,
                dw::DW_TAG_variable => depth == 1,
                t => is_type_tag(t),
            };
            let mut me = Parent::Other;
            if wanted {
                let (start, end) = self.plan(abbrev);
                let a = self
                    .read_attrs(&mut entries, abbrev, (start, end), u, &unit.header)
                    .map_err(|e| info_err(off, e))?;
                me = self
                    .record(u, tag, off, parent, a)
                    .map_err(|e| info_err(off, e))?;
            } else {
                entries
                    .skip_attributes(abbrev.attributes())
                    .map_err(|e| info_err(off, e))?;
            }
            if abbrev.has_children() {
                self.stack.push((depth, me));
            }
        }
        self.finish(&unit, u, uidx, sum);
        Ok(())
    }

    /// Appends a child to type `t`'s list.
    fn push_member(&mut self, t: u32, m: Member<'a>) {
        let i = self.members.len() as u32;
        self.members.push(m);
        let children = &mut self.types[t as usize].children;
        if children.0 == NONE {
            *children = (i, i);
        } else {
            let last = children.1;
            children.1 = i;
            self.members[last as usize].next = i;
        }
    }

    /// Reads the wanted attributes of one entry, skipping the others.
    fn read_attrs(
        &self,
        entries: &mut gimli::EntriesRaw<'_, R<'a>>,
        abbrev: &gimli::Abbreviation,
        (start, end): (usize, usize),
        u: gimli::UnitRef<'_, R<'a>>,
        header: &gimli::UnitHeader<R<'a>>,
    ) -> gimli::Result<Attrs<'a>> {
        let mut a = Attrs::default();
        let specs = abbrev.attributes();
        for &(from, to, read) in &self.runs[start..end] {
            let run = &specs[from as usize..to as usize];
            if read {
                for spec in run {
                    let attr = entries.read_attribute_inline(*spec)?;
                    read_attr(u, header, &attr, &mut a)?;
                }
            } else {
                entries.skip_attributes(run)?;
            }
        }
        Ok(a)
    }

    /// How to read an entry of abbreviation `abbrev`: runs of attributes
    /// to read or to skip together, as a range of `self.runs`; computed
    /// once per abbreviation of the unit.
    fn plan(&mut self, abbrev: &gimli::Abbreviation) -> (usize, usize) {
        let code = usize::try_from(abbrev.code()).unwrap_or(usize::MAX);
        if let Some(&(start, end)) = self.plan_at.get(code) {
            if start != u32::MAX {
                return (start as usize, end as usize);
            }
        }
        let start = self.runs.len();
        let wanted = wanted_attrs(abbrev.tag());
        for (i, spec) in abbrev.attributes().iter().enumerate() {
            let read = wanted.contains(&spec.name());
            let i = i as u16;
            let fresh = self.runs.len() == start;
            match self.runs.last_mut() {
                Some(last) if !fresh && last.2 == read => last.1 = i + 1,
                _ => self.runs.push((i, i + 1, read)),
            }
        }
        let end = self.runs.len();
        if code < 1 << 16 {
            if self.plan_at.len() <= code {
                self.plan_at.resize(code + 1, (u32::MAX, u32::MAX));
            }
            self.plan_at[code] = (start as u32, end as u32);
        }
        (start, end)
    }

    /// The outermost enclosing out-of-line function.
    fn enclosing_concrete(&self) -> Option<u32> {
        self.stack.iter().find_map(|(_, p)| match p {
            Parent::Sub(s) if self.subs[*s as usize].pc.is_some() => Some(*s),
            _ => None,
        })
    }

    fn record(
        &mut self,
        u: gimli::UnitRef<'_, R<'a>>,
        tag: dw::DwTag,
        off: usize,
        parent: Parent,
        a: Attrs<'a>,
    ) -> gimli::Result<Parent> {
        match (tag, parent) {
            (dw::DW_TAG_member, Parent::Type(t)) => {
                let bit_offset = match (a.member_location, a.data_bit_offset, a.bit_offset) {
                    (_, Some(b), _) => b,
                    (loc, None, Some(b)) => loc.unwrap_or(0).wrapping_mul(8).wrapping_add(b),
                    (loc, None, None) => loc.unwrap_or(0).wrapping_mul(8),
                };
                self.push_member(
                    t,
                    Member {
                        next: NONE,
                        name: a.name,
                        ty: a.ty,
                        bit_offset,
                        bit_size: a.bit_size.unwrap_or(0),
                    },
                );
            }
            (dw::DW_TAG_formal_parameter | dw::DW_TAG_unspecified_parameters, Parent::Type(t)) => {
                self.push_member(
                    t,
                    Member {
                        next: NONE,
                        name: (tag == dw::DW_TAG_unspecified_parameters).then_some(&b"..."[..]),
                        ty: a.ty,
                        bit_offset: 0,
                        bit_size: 0,
                    },
                );
            }
            (dw::DW_TAG_enumerator, Parent::Type(t)) => {
                let e = &mut self.types[t as usize].extra;
                *e = e
                    .bytes(a.name.unwrap_or_default())
                    .u64(a.const_value.unwrap_or(0));
            }
            (dw::DW_TAG_subrange_type, Parent::Type(t)) => {
                let n = a
                    .count
                    .or(a.upper_bound.map(|b| b.wrapping_add(1)))
                    .unwrap_or(u64::MAX);
                let e = &mut self.types[t as usize].extra;
                *e = e.u64(n);
            }
            (dw::DW_TAG_subprogram, _) => {
                let pc = match (a.low_pc, a.ranges) {
                    (Some(pc), _) => Some(pc),
                    (None, Some(r)) => match u.attr_ranges(r)? {
                        Some(mut it) => it.next()?.map(|r| r.begin),
                        None => None,
                    },
                    _ => None,
                }
                .filter(|&pc| pc != 0 && !u.is_tombstone_address(pc));
                if let Some(slot) = self.sub_at.get_mut(off) {
                    *slot = self.subs.len() as u32 + 1;
                }
                self.subs.push(SubDie {
                    off,
                    name: a.name,
                    origin: a.origin,
                    decl_file: a.decl_file,
                    decl_line: a.decl_line,
                    pc,
                });
                return Ok(Parent::Sub(self.subs.len() as u32 - 1));
            }
            (dw::DW_TAG_variable, _) => {
                if let Some(addr) = a.location.filter(|&a| a != 0) {
                    self.vars.push(addr);
                }
            }
            (dw::DW_TAG_inlined_subroutine, _) => {
                if let (Some(origin), Some(caller)) = (a.origin, self.enclosing_concrete()) {
                    self.inlined.push((origin, caller));
                }
            }
            (t, _) if is_type_tag(t) => {
                if let Some(slot) = self.type_at.get_mut(off) {
                    *slot = self.types.len() as u32 + 1;
                }
                self.types.push(TypeDie {
                    off,
                    tag: t,
                    name: a.name,
                    ty: a.ty,
                    size: a.byte_size,
                    extra: Fold::new(3),
                    declaration: a.declaration,
                    children: (NONE, NONE),
                    memo: 0,
                });
                return Ok(Parent::Type(self.types.len() as u32 - 1));
            }
            _ => {}
        }
        Ok(Parent::Other)
    }

    /// After the scan: hashes layouts and emits the unit's part of the summary.
    fn finish(
        &mut self,
        unit: &gimli::Unit<R<'a>>,
        u: gimli::UnitRef<'_, R<'a>>,
        uidx: u32,
        sum: &mut Summary<'a>,
    ) {
        for t in 0..self.types.len() {
            let ty = self.types[t];
            if ty.declaration {
                continue;
            }
            let (kind, name, target) = match (ty.tag, ty.name) {
                (dw::DW_TAG_structure_type | dw::DW_TAG_class_type, Some(n)) => {
                    (TypeKind::Struct, n, t)
                }
                (dw::DW_TAG_union_type, Some(n)) => (TypeKind::Union, n, t),
                (dw::DW_TAG_enumeration_type, Some(n)) => (TypeKind::Enum, n, t),
                (dw::DW_TAG_typedef, Some(n)) => match ty.ty.and_then(|o| self.find(o)) {
                    Some(x) if is_aggregate(self.types[x].tag) && self.types[x].name.is_none() => {
                        (TypeKind::Typedef, n, x)
                    }
                    _ => continue,
                },
                _ => continue,
            };
            let layout = self.layout(target, 0);
            let def = TypeDef {
                layout,
                size: self.types[target].size.unwrap_or(0),
                unit: uidx,
                die: ty.off,
            };
            add_def(sum.types.entry((kind, name)).or_default(), def);
        }

        // Functions and inlined calls.
        for s in 0..self.subs.len() {
            let Some(pc) = self.subs[s].pc else { continue };
            let (name, file, line) = self.resolve_sub(s);
            let Some(name) = name else { continue };
            let file_key = self.file_key(unit, u, file);
            sum.funcs.push(FuncDie {
                pc,
                name,
                file_key,
                decl_line: line.unwrap_or(0),
                unit: uidx,
                die: self.subs[s].off,
            });
        }
        let mut edges: Vec<(u64, u64)> = Vec::with_capacity(self.inlined.len());
        for k in 0..self.inlined.len() {
            let (origin, caller) = self.inlined[k];
            let Some(pc) = self.subs[caller as usize].pc else {
                continue;
            };
            let Some(o) = self.find_sub(origin) else {
                continue;
            };
            let (name, file, _) = self.resolve_sub(o);
            let Some(name) = name else { continue };
            let file_key = self.file_key(unit, u, file);
            edges.push((inline_key(name, file_key), pc));
        }
        edges.sort_unstable();
        edges.dedup();
        sum.inlines.extend(edges);
        sum.vars.extend(self.vars.iter().map(|&a| (a, uidx)));
    }

    fn find(&self, off: usize) -> Option<usize> {
        (*self.type_at.get(off)? as usize).checked_sub(1)
    }

    fn find_sub(&self, off: usize) -> Option<usize> {
        (*self.sub_at.get(off)? as usize).checked_sub(1)
    }

    /// Name, declaring file and line of a function, following
    /// `DW_AT_abstract_origin` and `DW_AT_specification`.
    fn resolve_sub(&self, mut s: usize) -> (Option<&'a [u8]>, Option<u64>, Option<u64>) {
        let (mut name, mut file, mut line) = (None, None, None);
        for _ in 0..4 {
            let d = self.subs[s];
            name = name.or(d.name);
            file = file.or(d.decl_file);
            line = line.or(d.decl_line);
            match d.origin.and_then(|o| self.find_sub(o)) {
                Some(o) if o != s => s = o,
                _ => break,
            }
        }
        (name, file, line)
    }

    /// A hash of the path of file `index` of the unit's line program.
    fn file_key(
        &mut self,
        unit: &gimli::Unit<R<'a>>,
        u: gimli::UnitRef<'_, R<'a>>,
        index: Option<u64>,
    ) -> u64 {
        let Some(index) = index else { return 0 };
        let Ok(i) = usize::try_from(index) else {
            return 0;
        };
        if i >= 1 << 20 {
            return 0;
        }
        if let Some(Some(k)) = self.file_keys.get(i) {
            return *k;
        }
        let key = unit
            .line_program
            .as_ref()
            .and_then(|p| {
                let header = p.header();
                let f = header.file(index)?;
                let mut h = Fold::new(5);
                if let Some(dir) = f.directory(header) {
                    h = h.bytes(u.attr_string(dir).ok()?.slice());
                }
                Some(h.bytes(u.attr_string(f.path_name()).ok()?.slice()).get())
            })
            .unwrap_or(0);
        if self.file_keys.len() <= i {
            self.file_keys.resize(i + 1, None);
        }
        self.file_keys[i] = Some(key);
        key
    }

    /// The identity of a type as a member's type: its name for named types,
    /// its layout for anonymous aggregates, structure for the rest.
    fn ident(&mut self, ty: Option<usize>, depth: u32) -> u64 {
        let Some(off) = ty else { return VOID };
        let Some(i) = self.find(off) else {
            return UNKNOWN;
        };
        if self.types[i].memo != 0 {
            return self.types[i].memo;
        }
        if depth > MAX_DEPTH {
            return TOO_DEEP;
        }
        let t = self.types[i];
        let tag = u64::from(t.tag.0);
        let h = match t.tag {
            dw::DW_TAG_structure_type
            | dw::DW_TAG_class_type
            | dw::DW_TAG_union_type
            | dw::DW_TAG_enumeration_type => match t.name {
                Some(n) => Fold::new(tag).bytes(n).get(),
                None => self.layout(i, depth + 1),
            },
            dw::DW_TAG_typedef => Fold::new(tag).bytes(t.name.unwrap_or_default()).get(),
            dw::DW_TAG_base_type | dw::DW_TAG_unspecified_type => Fold::new(tag)
                .bytes(t.name.unwrap_or_default())
                .u64(t.size.unwrap_or(0))
                .get(),
            dw::DW_TAG_array_type => {
                let inner = self.ident(t.ty, depth + 1);
                Fold::new(tag).u64(inner).u64(t.extra.get()).get()
            }
            dw::DW_TAG_subroutine_type => {
                let mut h = Fold::new(tag).u64(self.ident(t.ty, depth + 1));
                let mut next = t.children.0;
                while let Some(&m) = self.members.get(next as usize) {
                    next = m.next;
                    h = h
                        .bytes(m.name.unwrap_or_default())
                        .u64(self.ident(m.ty, depth + 1));
                }
                h.get()
            }
            _ => Fold::new(tag).u64(self.ident(t.ty, depth + 1)).get(),
        } | 1;
        self.types[i].memo = h;
        h
    }

    /// The layout of an aggregate or enum: size, members (name, offset,
    /// width, type identity) or enumerators.
    fn layout(&mut self, i: usize, depth: u32) -> u64 {
        let t = self.types[i];
        let mut h = Fold::new(u64::from(t.tag.0))
            .u64(t.size.unwrap_or(u64::MAX))
            .u64(t.extra.get());
        let mut next = t.children.0;
        while let Some(&m) = self.members.get(next as usize) {
            next = m.next;
            let ty = self.ident(m.ty, depth + 1);
            h = h
                .bytes(m.name.unwrap_or_default())
                .u64(m.bit_offset)
                .u64(m.bit_size)
                .u64(ty);
        }
        h.get()
    }
}

fn is_type_tag(tag: dw::DwTag) -> bool {
    is_aggregate(tag)
        || matches!(
            tag,
            dw::DW_TAG_typedef
                | dw::DW_TAG_base_type
                | dw::DW_TAG_unspecified_type
                | dw::DW_TAG_pointer_type
                | dw::DW_TAG_reference_type
                | dw::DW_TAG_const_type
                | dw::DW_TAG_volatile_type
                | dw::DW_TAG_restrict_type
                | dw::DW_TAG_atomic_type
                | dw::DW_TAG_array_type
                | dw::DW_TAG_subroutine_type
                | dw::DW_TAG_ptr_to_member_type
        )
}

pub(crate) fn is_aggregate(tag: dw::DwTag) -> bool {
    matches!(
        tag,
        dw::DW_TAG_structure_type
            | dw::DW_TAG_class_type
            | dw::DW_TAG_union_type
            | dw::DW_TAG_enumeration_type
    )
}

/// A reference to an entry of the same unit.
pub(crate) fn unit_ref(
    header: &gimli::UnitHeader<R<'_>>,
    v: AttributeValue<R<'_>>,
) -> Option<usize> {
    match v {
        AttributeValue::UnitRef(o) => Some(o.0),
        AttributeValue::DebugInfoRef(o) => o.to_unit_offset(header).map(|o| o.0),
        _ => None,
    }
}

/// A constant, whatever its form.
pub(crate) fn constant(attr: &gimli::Attribute<R<'_>>) -> Option<u64> {
    attr.udata_value()
        .or_else(|| attr.sdata_value().map(|v| v as u64))
}

fn read_attr<'a>(
    u: gimli::UnitRef<'_, R<'a>>,
    header: &gimli::UnitHeader<R<'a>>,
    attr: &gimli::Attribute<R<'a>>,
    a: &mut Attrs<'a>,
) -> gimli::Result<()> {
    match attr.name() {
        dw::DW_AT_name => a.name = Some(u.attr_string(attr.raw_value())?.slice()),
        dw::DW_AT_type => a.ty = unit_ref(header, attr.value()),
        dw::DW_AT_byte_size => a.byte_size = constant(attr),
        dw::DW_AT_data_member_location => {
            a.member_location = match attr.value() {
                AttributeValue::Exprloc(e) => plus_uconst(e.0),
                _ => constant(attr),
            }
        }
        dw::DW_AT_data_bit_offset => a.data_bit_offset = constant(attr),
        dw::DW_AT_bit_offset => a.bit_offset = constant(attr),
        dw::DW_AT_bit_size => a.bit_size = constant(attr),
        dw::DW_AT_const_value => a.const_value = constant(attr),
        dw::DW_AT_count => a.count = constant(attr),
        dw::DW_AT_upper_bound => a.upper_bound = constant(attr),
        dw::DW_AT_abstract_origin | dw::DW_AT_specification => {
            a.origin = a.origin.or(unit_ref(header, attr.value()))
        }
        dw::DW_AT_decl_file => a.decl_file = constant(attr),
        dw::DW_AT_decl_line => a.decl_line = constant(attr),
        dw::DW_AT_low_pc => a.low_pc = u.attr_address(attr.value())?,
        dw::DW_AT_ranges => a.ranges = Some(attr.value()),
        dw::DW_AT_location => {
            if let AttributeValue::Exprloc(mut e) = attr.value() {
                if e.0.read_u8() == Ok(dw::DW_OP_addr.0) {
                    a.location = e.0.read_address(header.address_size()).ok();
                }
            }
        }
        dw::DW_AT_declaration => a.declaration = matches!(attr.value(), AttributeValue::Flag(true)),
        _ => {}
    }
    Ok(())
}

/// The operand of a location expression that is just `DW_OP_plus_uconst n`.
pub(crate) fn plus_uconst(mut e: R<'_>) -> Option<u64> {
    (e.read_u8().ok()? == dw::DW_OP_plus_uconst.0)
        .then(|| e.read_uleb128().ok())
        .flatten()
}
