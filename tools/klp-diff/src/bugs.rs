//! The kernel's BUG/WARN table (`__bug_table`): one `struct bug_entry` per
//! BUG() or WARN() site, with the source line of the site. A line number
//! that changed there, in a function whose code did not, is a line-only
//! change. The layout of `struct bug_entry` (which depends on the
//! architecture and the configuration) is read from the DWARF.

use crate::{
    detail::UnitView,
    dwarf::{Dwarf, Summary, TypeKind},
    elf::{read_uint, Binary, SymKind},
    error::Result,
    hash::Map,
};

/// The line numbers of each function's BUG/WARN sites, by function symbol
/// index, in address order. Empty if the binary has no `__bug_table` or its
/// DWARF does not describe `struct bug_entry`.
pub(crate) fn bug_lines(
    bin: &Binary<'_>,
    dwarf: &Dwarf<'_>,
    sum: &Summary<'_>,
) -> Result<Map<u32, Vec<u64>>> {
    let mut lines: Map<u32, Vec<u64>> = Map::default();
    let Some(table) = bin.sections.iter().find(|s| s.name == b"__bug_table") else {
        return Ok(lines);
    };
    let Some(def) = sum
        .types
        .get(&(TypeKind::Struct, &b"bug_entry"[..]))
        .and_then(|d| d.first())
    else {
        return Ok(lines);
    };
    let desc = UnitView::open(dwarf, def.unit)?.describe(def.die)?;
    let field = |name: &str| {
        desc.members
            .iter()
            .find(|m| m.name == name)
            .map(|m| m.bit_offset / 8)
    };
    let (addr_at, relative) = match (field("bug_addr_disp"), field("bug_addr")) {
        (Some(o), _) => (o, true),
        (None, Some(o)) => (o, false),
        _ => return Ok(lines),
    };
    let (Some(line_at), size) = (field("line"), desc.size) else {
        return Ok(lines);
    };
    if size == 0 {
        return Ok(lines);
    }
    let mut entries: Vec<(u64, u64)> = Vec::new();
    // The contents' length, not the header's size: no more entries than the
    // file holds.
    let end = table.addr.saturating_add(table.data.len() as u64);
    let mut e = table.addr;
    while e.saturating_add(size) <= end {
        // Field offsets come from the DWARF, which may lie: an entry whose
        // fields lie beyond the address space is no entry.
        let (Some(at), Some(line_addr)) = (e.checked_add(addr_at), e.checked_add(line_at)) else {
            break;
        };
        let reloc = table
            .relocs
            .binary_search_by_key(&at, |r| r.addr)
            .ok()
            .map(|i| table.relocs[i]);
        let target = match reloc {
            // `S + A`: the site, whether the field holds it or its distance.
            Some(r) => r
                .sym
                .and_then(|i| bin.syms.get(i as usize))
                .map_or(0, |s| s.addr)
                .wrapping_add_signed(r.addend),
            None if relative => bin.bytes_at(at, 4).map_or(0, |b| {
                let v = read_uint(b, bin.little_endian) as u32 as i32;
                at.wrapping_add_signed(i64::from(v))
            }),
            None => bin
                .bytes_at(at, 8)
                .map_or(0, |b| read_uint(b, bin.little_endian)),
        };
        let line = bin
            .bytes_at(line_addr, 2)
            .map_or(0, |b| read_uint(b, bin.little_endian));
        entries.push((target, line));
        e += size;
    }
    entries.sort_unstable();
    for (target, line) in entries {
        let Some(f) = bin
            .symbol_index_containing(target)
            .filter(|&i| bin.syms[i as usize].kind == SymKind::Func)
        else {
            continue;
        };
        lines.entry(f).or_default().push(line);
    }
    Ok(lines)
}
