//! The comparison of two binaries, from the fast pass to the report.

use crate::{
    bugs::bug_lines,
    code::{base_name, compare, Outcome, Releases, Side as CodeSide},
    detail::{TypeDesc, UnitView},
    dwarf::{summarize, Dwarf, Summary, TypeDef, TypeKind},
    elf::{Binary, Sym, SymKind},
    error::{Error, Result},
    facts::{self, Replacement, Why},
    hash::Map,
    merge::{Merge, Side},
    pool,
    report::{
        ChangedData, ChangedFunction, ChangedType, FunctionRef, InlineCaller, Report, Unpatchable,
    },
};
use std::collections::{BTreeMap, BTreeSet};

/// How to run a comparison.
#[derive(Clone, Debug)]
pub struct Options {
    /// Worker threads (at least 1). The report is the same for any value.
    pub threads: usize,
    /// Fill [`Report::replacements`]: what the author of the patch needs
    /// for each function it replaces.
    pub describe: bool,
    /// Symbols exported elsewhere in the target kernel (from its
    /// `Module.symvers`), for [`Report::replacements`] of objects.
    pub exports: BTreeSet<String>,
    /// Take code and data that differ only in the kernel version the two
    /// builds name (a module's `vermagic`, a vmlinux's `linux_banner`:
    /// `UTS_RELEASE` strings, `LINUX_VERSION_CODE`) as unchanged, and list
    /// such functions in [`Report::release_only_functions`].
    pub ignore_release: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            describe: false,
            exports: BTreeSet::new(),
            ignore_release: false,
        }
    }
}

/// A function or variable symbol, keyed for matching across the files.
#[derive(Clone, Copy, Debug)]
struct Item<'b> {
    sym: u32,
    /// The name without numeric suffixes.
    base: &'b [u8],
    /// The compilation unit's name (else the `STT_FILE` name, else empty).
    file: &'b [u8],
    /// `file` for local symbols, empty for global ones.
    key_file: &'b [u8],
    /// Index among items with the same `base` and `key_file`.
    dup: u32,
}

impl Item<'_> {
    fn key(&self) -> (&[u8], &[u8], u32) {
        (self.base, self.key_file, self.dup)
    }
}

/// Prefixes of symbols that are not functions or variables of their own:
/// BTF type ids, which every build renumbers (`resolve_btfids`), and the
/// padding before functions (call depth tracking, kCFI).
pub(crate) const NOT_ITEMS: &[&[u8]] = &[b"__BTF_ID__", b"__pfx_", b"__cfi_"];

fn items<'b>(bin: &'b Binary<'_>, sum: &Summary<'b>, kind: SymKind) -> Vec<Item<'b>> {
    let mut v: Vec<Item<'b>> = bin
        .by_addr
        .iter()
        .filter(|&&i| {
            let s = &bin.syms[i as usize];
            s.kind == kind && !NOT_ITEMS.iter().any(|p| s.name.starts_with(p))
        })
        .map(|&i| {
            let s = &bin.syms[i as usize];
            let file = sum
                .unit_at(s.addr)
                .or_else(|| sum.func_for(s.addr, s.size).map(|f| f.unit))
                .or_else(|| sum.var_unit(s.addr))
                .map(|u| sum.unit_names[u as usize])
                .filter(|n| !n.is_empty())
                .or(s.file)
                .unwrap_or_default();
            Item {
                sym: i,
                base: base_name(s.name),
                file,
                key_file: if s.local { file } else { &[] },
                dup: 0,
            }
        })
        .collect();
    v.sort_by(|a, b| {
        (a.base, a.key_file, bin.syms[a.sym as usize].addr, a.sym).cmp(&(
            b.base,
            b.key_file,
            bin.syms[b.sym as usize].addr,
            b.sym,
        ))
    });
    for i in 1..v.len() {
        if v[i].base == v[i - 1].base && v[i].key_file == v[i - 1].key_file {
            v[i].dup = v[i - 1].dup + 1;
        }
    }
    v
}

/// Positions (`sympos`) of symbols among those of the same name, in the
/// order the kernel's kallsyms walks them: by address in a linked image, in
/// symbol table order in a module.
struct SymPos<'b> {
    by_name: Map<&'b [u8], Vec<u32>>,
}

impl<'b> SymPos<'b> {
    fn new(bin: &'b Binary<'_>) -> Self {
        let mut by_name: Map<&'b [u8], Vec<u32>> = Map::default();
        for (i, s) in bin.syms.iter().enumerate() {
            if matches!(s.kind, SymKind::Func | SymKind::Object) && s.section.is_some() {
                by_name.entry(s.name).or_default().push(i as u32);
            }
        }
        for v in by_name.values_mut() {
            if !bin.relocatable {
                v.sort_by_key(|&i| (bin.syms[i as usize].addr, i));
            }
        }
        Self { by_name }
    }

    fn of(&self, name: &[u8], sym: u32) -> u32 {
        match self.by_name.get(name) {
            Some(v) if v.len() > 1 => v.iter().position(|&i| i == sym).map_or(0, |p| p as u32 + 1),
            _ => 0,
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Why the function cannot be live patched, if it cannot.
fn unpatchable_reason(bin: &Binary<'_>, s: &Sym<'_>) -> Option<String> {
    let section = bin.sections.get(s.section?)?;
    if section.name.starts_with(b".init") {
        return Some(format!("in `{}`: freed after boot", text(section.name)));
    }
    if let Some(at) = s.name.windows(5).position(|w| w == b".cold") {
        return Some(cold_part_reason(&text(&s.name[..at])));
    }
    if !has_ftrace_site(bin, s) {
        return Some("no ftrace call site (notrace, noinstr, or built without -pg)".into());
    }
    None
}

/// Why a cold part (`parent.cold`) of `parent` cannot be replaced on its own.
pub(crate) fn cold_part_reason(parent: &str) -> String {
    format!(
        "a cold part split out of `{parent}`, not an entry point: replacing `{parent}` replaces it"
    )
}

/// An ftrace site in the function's first 32 bytes, or in the 16 bytes
/// before it that belong to no other function (pre-entry patchable NOPs).
fn has_ftrace_site(bin: &Binary<'_>, s: &Sym<'_>) -> bool {
    let lo = s.addr.saturating_sub(16);
    let hi = s.addr.saturating_add(s.size.min(32));
    let i = bin.ftrace_sites.partition_point(|&a| a < lo);
    bin.ftrace_sites[i..]
        .iter()
        .take_while(|&&a| a < hi)
        .any(|&a| a >= s.addr || bin.symbol_containing(a).is_none())
}

/// One side of the comparison, analysed.
struct Analysed<'b, 'a> {
    bin: &'b Binary<'a>,
    dwarf: &'b Dwarf<'b>,
    sum: Summary<'b>,
    funcs: Vec<Item<'b>>,
    /// Symbol index to index in `funcs`.
    func_index: Map<u32, usize>,
    vars: Vec<Item<'b>>,
    sympos: SymPos<'b>,
}

impl<'b, 'a> Analysed<'b, 'a> {
    fn new(bin: &'b Binary<'a>, dwarf: &'b Dwarf<'b>, sum: Summary<'b>) -> Self {
        let funcs = items(bin, &sum, SymKind::Func);
        let vars = items(bin, &sum, SymKind::Object);
        let func_index = funcs.iter().enumerate().map(|(i, f)| (f.sym, i)).collect();
        Self {
            bin,
            dwarf,
            funcs,
            func_index,
            vars,
            sympos: SymPos::new(bin),
            sum,
        }
    }

    fn func_ref(&self, item: &Item<'b>) -> FunctionRef {
        let s = &self.bin.syms[item.sym as usize];
        FunctionRef {
            name: text(s.name),
            file: text(item.file),
            sympos: self.sympos.of(s.name, item.sym),
        }
    }

    fn func_die(&self, item: &Item<'b>) -> Option<&crate::dwarf::FuncDie<'b>> {
        let s = &self.bin.syms[item.sym as usize];
        self.sum.func_for(s.addr, s.size)
    }

    /// The second look at a changed function: its signature, the types it
    /// uses, and its inlined copies of other functions (by name, the
    /// address ranges of each copy, in DWARF order).
    fn look(&self, item: &Item<'b>) -> Result<Option<Look>> {
        let Some(f) = self.func_die(item) else {
            return Ok(None);
        };
        let view = UnitView::open(self.dwarf, f.unit)?;
        let mut inlined: BTreeMap<String, Vec<Vec<(u64, u64)>>> = BTreeMap::new();
        for copy in view.inlined(f.die)? {
            inlined.entry(copy.name).or_default().push(copy.ranges);
        }
        Ok(Some(Look {
            signature: view.signature(f.die)?,
            types: view.used_types(f.die)?,
            inlined,
        }))
    }

    fn code_side(&self, item: &Item<'b>) -> CodeSide<'_, '_> {
        CodeSide {
            bin: self.bin,
            sym: &self.bin.syms[item.sym as usize],
        }
    }
}

/// Inlined copies of functions, by the inlined function's name: the
/// address ranges of each copy.
type Copies = BTreeMap<String, Vec<Vec<(u64, u64)>>>;

/// What the second look finds in one function.
struct Look {
    signature: String,
    types: Vec<String>,
    inlined: Copies,
}

/// The names of the inlined functions whose copies differ between `old`
/// and `new` (in number, size, or code compared range by range as
/// functions are), sorted; only between relocatable objects, where a call's
/// target is a relocation. In a linked image nearly every copy in a changed
/// function reads differently once the code around it moved, which would
/// name every helper it inlines.
fn changed_inlines(ob: &Binary<'_>, old: &Copies, nb: &Binary<'_>, new: &Copies) -> Vec<String> {
    if !(ob.relocatable && nb.relocatable) {
        return Vec::new();
    }
    let piece = |bin: &Binary<'_>, (start, end): (u64, u64)| Sym {
        name: b"",
        addr: start,
        size: end - start,
        kind: SymKind::Func,
        local: true,
        section: bin.section_at(start),
        file: None,
    };
    let size = |copy: &Vec<(u64, u64)>| copy.iter().map(|(s, e)| e - s).sum::<u64>();
    let same_copy = |a: &Vec<(u64, u64)>, b: &Vec<(u64, u64)>| {
        if a.len() != b.len() || size(a) != size(b) {
            return false;
        }
        a.iter().zip(b).all(|(&ra, &rb)| {
            let (sa, sb) = (piece(ob, ra), piece(nb, rb));
            let verdict = compare(
                CodeSide { bin: ob, sym: &sa },
                CodeSide { bin: nb, sym: &sb },
                None,
                None,
            );
            verdict != Outcome::Changed
        })
    };
    let none = Vec::new();
    old.keys()
        .chain(new.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|name| {
            let (a, b) = (
                old.get(*name).unwrap_or(&none),
                new.get(*name).unwrap_or(&none),
            );
            a.len() != b.len() || a.iter().zip(b).any(|(x, y)| !same_copy(x, y))
        })
        .cloned()
        .collect()
}

/// Compares `old` with `new`.
pub fn diff(old: &Binary<'_>, new: &Binary<'_>, opts: &Options) -> Result<Report> {
    if old.arch != new.arch {
        return Err(Error::ArchMismatch {
            old: old.file.clone(),
            old_arch: old.arch.name(),
            new: new.file.clone(),
            new_arch: new.arch.name(),
        });
    }
    let threads = opts.threads.max(1);
    let releases = match (
        opts.ignore_release,
        old.kernel_release(),
        new.kernel_release(),
    ) {
        (true, Some(o), Some(n)) => Releases::new(o, n, old.little_endian),
        _ => None,
    };
    let (od, nd) = (Dwarf::new(old)?, Dwarf::new(new)?);
    let [os, ns] = summarize([&od, &nd], threads)?;
    let (o, n) = if threads > 1 {
        std::thread::scope(|s| {
            let o = s.spawn(|| Analysed::new(old, &od, os));
            let n = Analysed::new(new, &nd, ns);
            (o.join().unwrap_or_else(|p| std::panic::resume_unwind(p)), n)
        })
    } else {
        (Analysed::new(old, &od, os), Analysed::new(new, &nd, ns))
    };

    let mut report = Report {
        arch: old.arch.name(),
        ..Report::default()
    };

    // Functions: pair them, compare the pairs.
    let mut pairs = Vec::new();
    for side in Merge::new(o.funcs.iter(), n.funcs.iter(), |a, b| a.key().cmp(&b.key())) {
        match side {
            Side::Left(a) => report.removed_functions.push(o.func_ref(a)),
            Side::Right(b) => report.new_functions.push(n.func_ref(b)),
            Side::Both(a, b) => pairs.push((*a, *b)),
        }
    }
    let outcomes = pool::map(threads, pairs.len(), |i| {
        let (a, b) = &pairs[i];
        let line_delta = match (o.func_die(a), n.func_die(b)) {
            (Some(fa), Some(fb)) if fa.name == fb.name => {
                Some(fb.decl_line as i64 - fa.decl_line as i64)
            }
            _ => None,
        };
        Ok::<_, Error>(compare(
            o.code_side(a),
            n.code_side(b),
            line_delta,
            releases.as_ref(),
        ))
    })?;
    // Code that did not change may still have BUG/WARN sites whose line
    // numbers did.
    let (old_bugs, new_bugs) = (bug_lines(old, &od, &o.sum)?, bug_lines(new, &nd, &n.sum)?);
    let mut changed: Vec<(Item<'_>, Item<'_>)> = Vec::new();
    for (pair, outcome) in pairs.iter().zip(outcomes) {
        let outcome = match outcome {
            Outcome::Same if old_bugs.get(&pair.0.sym) != new_bugs.get(&pair.1.sym) => {
                Outcome::LineOnly
            }
            o => o,
        };
        match outcome {
            Outcome::Same => {}
            Outcome::LineOnly => report.line_only_functions.push(n.func_ref(&pair.1)),
            Outcome::ReleaseOnly => report.release_only_functions.push(n.func_ref(&pair.1)),
            Outcome::Changed => changed.push(*pair),
        }
    }

    // The second look at changed functions: signatures and types used.
    let details = pool::map(threads, changed.len(), |i| {
        let (a, b) = &changed[i];
        Ok::<_, Error>((o.look(a)?, n.look(b)?))
    })?;

    let changed_types = diff_types(&o, &n, threads)?;
    let changed_type_names: BTreeSet<&str> =
        changed_types.iter().map(|t| t.name.as_str()).collect();

    let changed_syms: BTreeSet<u32> = changed.iter().map(|(a, _)| a.sym).collect();
    let mut callers: BTreeSet<InlineCaller> = BTreeSet::new();
    let mut unpatchable: BTreeSet<Unpatchable> = BTreeSet::new();
    let mut type_users: Map<String, BTreeSet<String>> = Map::default();
    // Changed callers with an inlined copy of a changed function, and what
    // they inline.
    let mut inlining: Map<u32, String> = Map::default();
    for ((a, b), (old_look, new_look)) in changed.iter().zip(details) {
        let old_sym = &o.bin.syms[a.sym as usize];
        let func = o.func_ref(a);
        let signature = match (&old_look, &new_look) {
            (Some(so), Some(sn)) if so.signature != sn.signature => {
                Some((so.signature.clone(), sn.signature.clone()))
            }
            _ => None,
        };
        // Inlined functions whose copies' code differs, by DWARF's inline
        // ranges: where a change in the function's code comes from.
        let changed_inlines = match (&old_look, &new_look) {
            (Some(so), Some(sn)) => changed_inlines(o.bin, &so.inlined, n.bin, &sn.inlined),
            _ => Vec::new(),
        };
        let mut uses: BTreeSet<String> = BTreeSet::new();
        for look in [&old_look, &new_look].into_iter().flatten() {
            for t in &look.types {
                if changed_type_names.contains(t.as_str()) {
                    uses.insert(t.clone());
                }
            }
        }
        for t in &uses {
            type_users
                .entry(t.clone())
                .or_default()
                .insert(func.name.clone());
        }
        if let Some(reason) = unpatchable_reason(o.bin, old_sym) {
            unpatchable.insert(Unpatchable {
                func: func.clone(),
                reason,
            });
        }
        // Functions the old kernel inlined this one into.
        if let Some(f) = o.func_die(a) {
            for pc in o.sum.inlined_into(f.inline_key()) {
                for caller in functions_at(o.bin, pc) {
                    if caller == a.sym {
                        continue;
                    }
                    let Some(item) = o.func_index.get(&caller).map(|&i| &o.funcs[i]) else {
                        continue;
                    };
                    let caller_ref = o.func_ref(item);
                    let also_changed = changed_syms.contains(&caller);
                    if !also_changed {
                        if let Some(reason) =
                            unpatchable_reason(o.bin, &o.bin.syms[caller as usize])
                        {
                            unpatchable.insert(Unpatchable {
                                func: caller_ref.clone(),
                                reason,
                            });
                        }
                    }
                    if also_changed {
                        inlining.insert(caller, func.name.clone());
                    }
                    callers.insert(InlineCaller {
                        caller: caller_ref,
                        inlines: func.name.clone(),
                        also_changed,
                    });
                }
            }
        }
        report.changed_functions.push(ChangedFunction {
            func,
            old_size: old_sym.size,
            new_size: n.bin.syms[b.sym as usize].size,
            signature,
            uses_changed_types: uses.into_iter().collect(),
            changed_inlines,
        });
    }
    if opts.describe {
        // The changed functions a patch can replace. A caller whose code
        // did not change has an inlined copy that did not either (the
        // changed part is dead there): it needs no replacement.
        let mut wanted: Vec<(FunctionRef, Why, Item<'_>)> = changed
            .iter()
            .map(|(a, b)| {
                let why = match inlining.get(&a.sym) {
                    Some(f) => Why::Inlines(f.clone()),
                    None => Why::Changed,
                };
                (o.func_ref(a), why, *b)
            })
            .filter(|w| !unpatchable.iter().any(|u| u.func == w.0))
            .collect();
        wanted.sort_by(|x, y| x.0.cmp(&y.0));
        report.replacements = replacements(&o, &n, wanted, opts)?;
    }
    report.inline_callers = callers.into_iter().collect();
    report.unpatchable = unpatchable.into_iter().collect();
    report.changed_types = changed_types
        .into_iter()
        .map(|mut t| {
            t.used_by = type_users
                .get(&t.name)
                .map(|s| s.iter().cloned().collect())
                .unwrap_or_default();
            t
        })
        .collect();

    // Variables.
    let mut var_pairs = Vec::new();
    for side in Merge::new(o.vars.iter(), n.vars.iter(), |a, b| a.key().cmp(&b.key())) {
        match side {
            Side::Left(a) => report.changed_data.push(ChangedData {
                var: o.func_ref(a),
                change: "removed",
                old_size: Some(o.bin.syms[a.sym as usize].size),
                new_size: None,
            }),
            Side::Right(b) => report.changed_data.push(ChangedData {
                var: n.func_ref(b),
                change: "new",
                old_size: None,
                new_size: Some(n.bin.syms[b.sym as usize].size),
            }),
            Side::Both(a, b) => var_pairs.push((*a, *b)),
        }
    }
    let var_outcomes = pool::map(threads, var_pairs.len(), |i| {
        let (a, b) = &var_pairs[i];
        Ok::<_, Error>(compare(
            o.code_side(a),
            n.code_side(b),
            None,
            releases.as_ref(),
        ))
    })?;
    for ((a, b), outcome) in var_pairs.iter().zip(var_outcomes) {
        if matches!(outcome, Outcome::Same | Outcome::ReleaseOnly) {
            continue;
        }
        let (so, sn) = (
            o.bin.syms[a.sym as usize].size,
            n.bin.syms[b.sym as usize].size,
        );
        report.changed_data.push(ChangedData {
            var: o.func_ref(a),
            change: if so != sn { "size" } else { "value" },
            old_size: Some(so),
            new_size: Some(sn),
        });
    }

    report.changed_functions.sort();
    report.line_only_functions.sort();
    report.new_functions.sort();
    report.removed_functions.sort();
    report.changed_data.sort();
    Ok(report)
}

/// What the author needs for each function of `wanted` (old name, why,
/// the new build's symbol).
fn replacements<'b>(
    o: &Analysed<'_, '_>,
    n: &Analysed<'b, '_>,
    wanted: Vec<(FunctionRef, Why, Item<'b>)>,
    opts: &Options,
) -> Result<Vec<Replacement>> {
    let cx = facts::Context::new(o.bin, n.bin, &opts.exports);
    let sympos = |name: &[u8], i: u32| n.sympos.of(name, i);
    let mut out = Vec::new();
    for (func, why, item) in wanted {
        let at = n.func_die(&item).map(|f| (f.unit, f.die));
        let (signature, references) = facts::describe(n.bin, n.dwarf, at, item.sym, &sympos, &cx)?;
        out.push(Replacement {
            func,
            why,
            signature,
            references,
        });
    }
    Ok(out)
}

/// Function symbols whose code starts at `pc` (`DW_AT_low_pc`): starting
/// there, or a little before it (patchable-entry NOPs).
fn functions_at(bin: &Binary<'_>, pc: u64) -> Vec<u32> {
    let i = bin
        .by_addr
        .partition_point(|&s| bin.syms[s as usize].addr < pc.saturating_sub(32));
    let near: Vec<u32> = bin.by_addr[i..]
        .iter()
        .take_while(|&&s| bin.syms[s as usize].addr <= pc)
        .filter(|&&s| {
            let sym = &bin.syms[s as usize];
            sym.kind == SymKind::Func && pc < sym.addr.saturating_add(sym.size)
        })
        .copied()
        .collect();
    let exact: Vec<u32> = near
        .iter()
        .copied()
        .filter(|&s| bin.syms[s as usize].addr == pc)
        .collect();
    if exact.is_empty() {
        near
    } else {
        exact
    }
}

/// A named type: its kind and name.
type TypeKey = (TypeKind, Vec<u8>);

/// Named types whose set of layouts differs, described member by member.
fn diff_types(
    o: &Analysed<'_, '_>,
    n: &Analysed<'_, '_>,
    threads: usize,
) -> Result<Vec<ChangedType>> {
    let sorted = |s: &Summary<'_>| {
        let mut v: Vec<(TypeKey, Vec<TypeDef>)> = s
            .types
            .iter()
            .map(|(k, d)| ((k.0, k.1.to_vec()), d.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let (ot, nt) = (sorted(&o.sum), sorted(&n.sum));
    let mut changed = Vec::new();
    for side in Merge::new(ot.iter(), nt.iter(), |a, b| a.0.cmp(&b.0)) {
        if let Side::Both((key, a), (_, b)) = side {
            let layouts = |d: &[TypeDef]| d.iter().map(|x| x.layout).collect::<BTreeSet<_>>();
            let (la, lb) = (layouts(a), layouts(b));
            if la == lb {
                continue;
            }
            let pick = |d: &[TypeDef], other: &BTreeSet<u64>| {
                *d.iter()
                    .find(|x| !other.contains(&x.layout))
                    .unwrap_or(&d[0])
            };
            changed.push((key.clone(), pick(a, &lb), pick(b, &la), a.len(), b.len()));
        }
    }
    pool::map(threads, changed.len(), |i| {
        let ((kind, name), da, db, na, nb) = &changed[i];
        let describe = |side: &Analysed<'_, '_>, d: &TypeDef| -> Result<TypeDesc> {
            UnitView::open(side.dwarf, d.unit)?.describe(d.die)
        };
        let (a, b) = (describe(o, da)?, describe(n, db)?);
        let name = match kind {
            TypeKind::Typedef => text(name),
            k => format!("{} {}", k.keyword(), text(name)),
        };
        let mut changes = Vec::new();
        if *na > 1 || *nb > 1 {
            changes.push(format!(
                "{na} definition(s) in old, {nb} in new; comparing one that differs"
            ));
        }
        changes.extend(member_changes(*kind, &a, &b));
        Ok(ChangedType {
            name,
            old_size: a.size,
            new_size: b.size,
            changes,
            used_by: Vec::new(),
            needs_shadow: *kind != TypeKind::Enum || a.size != b.size,
        })
    })
}

fn bits(b: u64) -> String {
    if b.is_multiple_of(8) {
        (b / 8).to_string()
    } else {
        format!("{}:{}", b / 8, b % 8)
    }
}

/// What differs between two layouts, member by member.
fn member_changes(kind: TypeKind, a: &TypeDesc, b: &TypeDesc) -> Vec<String> {
    let what = if kind == TypeKind::Enum {
        "enumerator"
    } else {
        "member"
    };
    let mut out = Vec::new();
    for m in &a.members {
        match b.members.iter().find(|x| x.name == m.name) {
            None => out.push(format!("{what} `{}` removed", m.name)),
            Some(x) if kind == TypeKind::Enum => {
                if x.bit_offset != m.bit_offset {
                    out.push(format!(
                        "{what} `{}`: value {} -> {}",
                        m.name, m.bit_offset as i64, x.bit_offset as i64
                    ));
                }
            }
            Some(x) => {
                if x.bit_offset != m.bit_offset {
                    out.push(format!(
                        "{what} `{}`: offset {} -> {}",
                        m.name,
                        bits(m.bit_offset),
                        bits(x.bit_offset)
                    ));
                }
                if x.ty != m.ty {
                    out.push(format!(
                        "{what} `{}`: type `{}` -> `{}`",
                        m.name, m.ty, x.ty
                    ));
                }
                if x.bit_size != m.bit_size {
                    out.push(format!(
                        "{what} `{}`: bit width {} -> {}",
                        m.name, m.bit_size, x.bit_size
                    ));
                }
            }
        }
    }
    for x in &b.members {
        if !a.members.iter().any(|m| m.name == x.name) {
            if kind == TypeKind::Enum {
                out.push(format!(
                    "{what} `{}` added (value {})",
                    x.name, x.bit_offset as i64
                ));
            } else {
                out.push(format!(
                    "{what} `{}` added at offset {} (`{}`)",
                    x.name,
                    bits(x.bit_offset),
                    x.ty
                ));
            }
        }
    }
    out
}
