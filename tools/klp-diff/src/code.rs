//! Comparing the bytes of one function (or variable) in the two files.
//!
//! Bytes that relocations write are masked, and the relocations compared by
//! what they point to (a symbol and offset, or a string's contents), so that
//! code that merely moved is not a change. Differences left over are then
//! explained, if they can be, as a PC-relative or absolute address that
//! resolves to the same place in both files (a call the assembler resolved
//! within a section, with no relocation left), or as a line number shifted
//! by exactly as many lines as the function itself moved (`__LINE__`, WARN
//! and BUG arguments).

use crate::{
    elf::{read_uint, Arch, Binary, Reloc, Sym, SymKind},
    hash::Fold,
};

/// The verdict on one pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Same,
    /// Only line numbers differ.
    LineOnly,
    /// Only the kernel release named differs (see [`Releases`]).
    ReleaseOnly,
    Changed,
}

/// The kernel versions two builds name (`7.2.11` and `7.2.12`): a string
/// that differs only by them (`UTS_RELEASE`, a build path, Debian's package
/// version), or code or data holding the old one where the other holds the
/// new one, at the same place (a version string's bytes as immediates,
/// `LINUX_VERSION_CODE`), is not a change of the code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Releases {
    old: Vec<u8>,
    new: Vec<u8>,
    /// `LINUX_VERSION_CODE` of each, as stored in a 32-bit field.
    old_code: [u8; 4],
    new_code: [u8; 4],
}

impl Releases {
    /// The versions of two releases (`7.2.11+deb13-amd64`): their leading
    /// dotted numbers. `None` if either has none, or they are the same.
    pub(crate) fn new(old: &[u8], new: &[u8], little_endian: bool) -> Option<Self> {
        let version = |r: &[u8]| -> Option<(Vec<u8>, u32)> {
            let end = r
                .iter()
                .position(|c| !(c.is_ascii_digit() || *c == b'.'))
                .unwrap_or(r.len());
            let v = r[..end].strip_suffix(b".").unwrap_or(&r[..end]);
            let mut parts = std::str::from_utf8(v).ok()?.split('.');
            let mut next = || parts.next().and_then(|p| p.parse::<u32>().ok());
            let (a, b, c) = (next()?, next()?, next().unwrap_or(0));
            Some((v.to_vec(), (a << 16) + (b << 8) + c.min(255)))
        };
        let ((old, oc), (new, nc)) = (version(old)?, version(new)?);
        let bytes = |c: u32| {
            if little_endian {
                c.to_le_bytes()
            } else {
                c.to_be_bytes()
            }
        };
        (old != new).then(|| Self {
            old,
            new,
            old_code: bytes(oc),
            new_code: bytes(nc),
        })
    }

    /// Whether `a` with every old version in it replaced by the new one is
    /// `b`.
    fn same_str(&self, a: &[u8], b: &[u8]) -> bool {
        let mut out = Vec::with_capacity(b.len());
        let mut rest = a;
        while !rest.is_empty() {
            if rest.starts_with(&self.old) {
                out.extend_from_slice(&self.new);
                rest = &rest[self.old.len()..];
            } else {
                out.push(rest[0]);
                rest = &rest[1..];
            }
        }
        out == b
    }

    /// Whether every byte that differs in `run` of `ob` and `nb` (the
    /// masked `mo` and `mn`) is part of the old version (or version code)
    /// in `ob` where `nb` holds the new one.
    fn explain(&self, ob: &[u8], nb: &[u8], mo: &[u8], mn: &[u8], run: (usize, usize)) -> bool {
        let mut covered = vec![false; run.1 - run.0];
        let mut mark = |old: &[u8], new: &[u8]| {
            if old.len() != new.len() {
                return;
            }
            let first = run.0.saturating_sub(old.len() - 1);
            for p in first..run.1 {
                if ob.get(p..p + old.len()) == Some(old) && nb.get(p..p + new.len()) == Some(new) {
                    for i in p.max(run.0)..(p + old.len()).min(run.1) {
                        covered[i - run.0] = true;
                    }
                }
            }
        };
        mark(&self.old, &self.new);
        mark(&self.old_code, &self.new_code);
        (run.0..run.1).all(|i| mo[i] == mn[i] || covered[i - run.0])
    }
}

/// What a relocation or an address points to, comparable across files.
#[derive(Clone, Debug)]
enum Target<'a> {
    /// A symbol (its name without numeric suffixes) and an offset.
    Sym(&'a [u8], i64),
    /// A string, by contents.
    Str(&'a [u8]),
    /// Data no symbol covers: the nearest symbol before it and the
    /// distance, and where it is (section, address) to hash its contents.
    /// Either may show it is the same place: the distance if nothing moved
    /// in between, the contents (its addresses resolved) if it moved but
    /// did not change.
    Data(&'a [u8], u64, usize, u64),
    /// Code no symbol covers: the nearest symbol before it, and the distance.
    Near(&'a [u8], i64),
    Abs(u64),
}

/// Whether `a` (in `ab`) and `b` (in `bb`) are the same place.
fn same_target(
    ab: &Binary<'_>,
    a: &Target<'_>,
    bb: &Binary<'_>,
    b: &Target<'_>,
    rel: Option<&Releases>,
) -> bool {
    use Target::*;
    match (a, b) {
        (Sym(a, x), Sym(b, y)) | (Near(a, x), Near(b, y)) => a == b && x == y,
        (Str(a), Str(b)) => a == b || rel.is_some_and(|r| r.same_str(a, b)),
        // A ppc64le TOC entry is the address it holds: the same slot may
        // hold another address (a changed string literal), another slot
        // the same one.
        (Data(a, _, sa, ta), Data(b, _, sb, tb)) if *a == b".toc" || *b == b".toc" => {
            match (toc_entry(ab, *sa, *ta), toc_entry(bb, *sb, *tb)) {
                (Some(x), Some(y)) => same_target(ab, &x, bb, &y, rel),
                _ => false,
            }
        }
        (Data(a, x, sa, ta), Data(b, y, sb, tb)) => {
            (a == b && x == y) || data_hash(ab, *sa, *ta) == data_hash(bb, *sb, *tb)
        }
        (Abs(a), Abs(b)) => a == b,
        _ => false,
    }
}

/// `name` without the numeric suffixes GCC adds to local and cloned names
/// (`.12`, `.constprop.0`), which differ between builds of the same source.
pub(crate) fn base_name(name: &[u8]) -> &[u8] {
    let mut n = name;
    loop {
        match n.iter().rposition(|&c| c == b'.') {
            Some(dot)
                if dot > 0 && dot + 1 < n.len() && n[dot + 1..].iter().all(u8::is_ascii_digit) =>
            {
                n = &n[..dot];
            }
            _ => break,
        }
    }
    if n.starts_with(b"__UNIQUE_ID_") {
        while n.last().is_some_and(u8::is_ascii_digit) {
            n = &n[..n.len() - 1];
        }
    }
    n
}

fn cstr_at<'a>(bin: &Binary<'a>, section: usize, addr: u64) -> Option<&'a [u8]> {
    let s = &bin.sections[section];
    let start = usize::try_from(addr.checked_sub(s.addr)?).ok()?;
    let rest = s.data.get(start..)?;
    let len = rest.iter().take(4096).position(|&c| c == 0)?;
    Some(&rest[..len])
}

/// Whether `s` can be a C string: UTF-8 text with no control characters
/// but tabs, newlines and the kernel's `KERN_SOH` log level marker.
fn looks_like_text(s: &[u8]) -> bool {
    !s.is_empty()
        && std::str::from_utf8(s).is_ok_and(|t| {
            t.chars()
                .all(|c| !c.is_control() || matches!(c, '\n' | '\t' | '\u{1}'))
        })
}

/// Resolves an address. `slack` is how many bytes before its target a
/// reference may point (an x86 RIP-relative operand followed by an
/// immediate): a symbol starting that close after `t` is taken as the target.
fn addr_target<'a>(bin: &Binary<'a>, t: u64, slack: u64) -> Target<'a> {
    let Some(section) = bin.section_at(t) else {
        // Just before a section (a `cmpb $0, x(%rip)` at a symbol that
        // starts its section): not in the gap between sections, whose
        // place differs between the files.
        if let Some(next) = bin.symbol_after(t).filter(|n| n.addr - t <= slack) {
            return Target::Sym(base_name(next.name), t.wrapping_sub(next.addr) as i64);
        }
        return match bin.label_at(t) {
            // `__stop_foo` at the end of a section.
            Some(label) => Target::Sym(label.name, 0),
            None => Target::Abs(t),
        };
    };
    if bin.sections[section].strings {
        if let Some(s) = cstr_at(bin, section, t) {
            return Target::Str(s);
        }
    }
    if slack > 0 {
        if let Some(next) = bin.symbol_after(t).filter(|n| n.addr - t <= slack) {
            return Target::Sym(base_name(next.name), t.wrapping_sub(next.addr) as i64);
        }
    }
    let containing = bin.symbol_containing(t);
    if let Some(c) = containing.filter(|c| c.addr == t) {
        return Target::Sym(base_name(c.name), 0);
    }
    if let Some(label) = bin.label_at(t) {
        // `__start_foo`, `__stop_foo` and other boundaries.
        return Target::Sym(label.name, 0);
    }
    if let Some(c) = containing {
        return Target::Sym(base_name(c.name), (t - c.addr) as i64);
    }
    let sec = &bin.sections[section];
    if sec.name.starts_with(b".rodata") {
        let starts_string = t == sec.addr || bin.bytes_at(t - 1, 1) == Some(&[0][..]);
        if let Some(s) = cstr_at(bin, section, t).filter(|s| looks_like_text(s)) {
            if s.len() >= 4 || starts_string {
                return Target::Str(s);
            }
        }
    }
    let (anchor, delta) = match bin.symbol_before(t) {
        Some(b) if b.section == Some(section) => (base_name(b.name), t - b.addr),
        _ => (sec.name, t - sec.addr),
    };
    if sec.exec {
        Target::Near(anchor, delta as i64)
    } else {
        Target::Data(anchor, delta, section, t)
    }
}

/// What the address `v` in data points to, as a hash: a symbol and offset,
/// a string, or `len` bytes if `len` (the next word) is a plausible length,
/// as in Rust's `&str`.
fn pointee(bin: &Binary<'_>, v: u64, len: Option<u64>) -> Option<u64> {
    let section = bin.section_at(v)?;
    if let Some(c) = bin.symbol_containing(v) {
        return Some(Fold::new(1).bytes(base_name(c.name)).u64(v - c.addr).get());
    }
    if let Some(s) = len
        .filter(|&n| (1..=4096).contains(&n))
        .and_then(|n| bin.bytes_at(v, n))
    {
        return Some(Fold::new(2).bytes(s).get());
    }
    if let Some(s) = cstr_at(bin, section, v).filter(|s| looks_like_text(s)) {
        return Some(Fold::new(3).bytes(s).get());
    }
    None
}

/// A hash of up to 32 bytes of data at `t` (stopping at the next symbol or
/// the section's end), each aligned 8-byte word that is an address replaced
/// by what it points to: anonymous constants (a Rust panic `Location`, a
/// lookup table) are the same if their contents are, wherever they moved.
/// What the ppc64le TOC entry at `t` points to: its relocation's target
/// in an object, the address it holds in a linked image.
fn toc_entry<'a>(bin: &Binary<'a>, section: usize, t: u64) -> Option<Target<'a>> {
    if bin.relocatable {
        let [r] = bin.relocs_in(section, t, t + 8) else {
            return None;
        };
        return Some(reloc_target(bin, r));
    }
    let v = read_uint(bin.bytes_at(t, 8)?, bin.little_endian);
    Some(addr_target(bin, v, 0))
}

fn data_hash(bin: &Binary<'_>, section: usize, t: u64) -> u64 {
    let sec = &bin.sections[section];
    let mut end = t.saturating_add(32).min(sec.addr.saturating_add(sec.size));
    if let Some(next) = bin.symbol_after(t) {
        end = end.min(next.addr);
    }
    let bytes = bin.bytes_at(t, end.saturating_sub(t)).unwrap_or_default();
    let little = bin.little_endian;
    let mut h = Fold::new(11);
    let mut words = bytes.chunks_exact(8);
    let all: Vec<u64> = words.by_ref().map(|w| read_uint(w, little)).collect();
    for (i, &v) in all.iter().enumerate() {
        h = h.u64(pointee(bin, v, all.get(i + 1).copied()).unwrap_or(v));
    }
    h.bytes(words.remainder()).get()
}

/// How PC-relative relocations of `arch` encode their target: the bias
/// between `S + A` and the address referred to, and the slack.
fn pc_bias(arch: Arch) -> (i64, u64) {
    match arch {
        // `call foo` is `foo - 4`: the PC is the end of the 4-byte field,
        // and up to 4 more bytes of immediate may follow it.
        Arch::X86_64 => (4, 4),
        // `larl %r1, foo` is `foo + 2`: the field is 2 bytes into the
        // instruction, and the PC is the instruction.
        Arch::S390x => (-2, 0),
        Arch::Aarch64 | Arch::Ppc64le => (0, 0),
    }
}

fn reloc_target<'a>(bin: &Binary<'a>, r: &Reloc) -> Target<'a> {
    match r.sym.and_then(|i| bin.syms.get(i as usize)) {
        // No symbol: the addend is the address (a RELATIVE relocation).
        None => addr_target(bin, r.addend as u64, 0),
        // A named symbol, but an assembler's local label (s390x keeps
        // `.LC1` for a string literal): what it points to, not its name.
        Some(s)
            if s.kind != SymKind::Section && !s.name.is_empty() && !s.name.starts_with(b".L") =>
        {
            Target::Sym(base_name(s.name), r.addend)
        }
        Some(s) => {
            let (bias, slack) = if r.pc_relative {
                pc_bias(bin.arch)
            } else {
                (0, 0)
            };
            addr_target(
                bin,
                s.addr.wrapping_add_signed(r.addend.wrapping_add(bias)),
                slack,
            )
        }
    }
}

/// The field a relocation writes: its length in bytes and the bits written.
fn field(arch: Arch, r: &Reloc) -> (usize, u64) {
    let by_size = || match r.size {
        64 => (8, u64::MAX),
        32 => (4, u64::from(u32::MAX)),
        16 => (2, 0xffff),
        8 => (1, 0xff),
        _ => (4, u64::from(u32::MAX)),
    };
    match (arch, r.r_type) {
        // R_AARCH64_CALL26, JUMP26.
        (Arch::Aarch64, 282 | 283) => (4, 0x03ff_ffff),
        // ADR_PREL_LO21, ADR_PREL_PG_HI21(_NC), ADR_GOT_PAGE.
        (Arch::Aarch64, 274..=276 | 311) => (4, 0x60ff_ffe0),
        // ADD_ABS_LO12_NC, LDST*_ABS_LO12_NC, LD64_GOT_LO12_NC.
        (Arch::Aarch64, 277 | 278 | 284..=286 | 299 | 312) => (4, 0x003f_fc00),
        // CONDBR19, LD_PREL_LO19.
        (Arch::Aarch64, 273 | 280) => (4, 0x00ff_ffe0),
        // TSTBR14.
        (Arch::Aarch64, 279) => (4, 0x0007_ffe0),
        // MOVW_UABS_G*.
        (Arch::Aarch64, 263..=270) => (4, 0x001f_ffe0),
        // ABS64, PREL64, RELATIVE.
        (Arch::Aarch64, 257 | 260 | 1027) => (8, u64::MAX),
        (Arch::Aarch64, 258 | 261) => (4, u64::from(u32::MAX)),
        (Arch::Aarch64, 259 | 262) => (2, 0xffff),
        (Arch::Aarch64, _) => (4, u64::from(u32::MAX)),
        // R_PPC64_REL24, REL24_NOTOC.
        (Arch::Ppc64le, 10 | 116) => (4, 0x03ff_fffc),
        // REL14*.
        (Arch::Ppc64le, 11..=13) => (4, 0x0000_fffc),
        // ADDR16_DS, ADDR16_LO_DS, GOT16_DS, GOT16_LO_DS, TOC16_DS, TOC16_LO_DS.
        (Arch::Ppc64le, 56..=59 | 63 | 64) => (2, 0xfffc),
        // ADDR16*, GOT16*, TOC16*, REL16*.
        (Arch::Ppc64le, 3..=8 | 14..=17 | 47..=50 | 249..=252) => (2, 0xffff),
        // ADDR64, REL64, TOC, RELATIVE.
        (Arch::Ppc64le, 22 | 38 | 44 | 51) => (8, u64::MAX),
        (Arch::Ppc64le, 1 | 26) => (4, u64::from(u32::MAX)),
        _ => by_size(),
    }
}

fn mask_field(buf: &mut [u8], at: usize, (len, mask): (usize, u64), little: bool) {
    let end = (at + len).min(buf.len());
    let Some(w) = buf.get_mut(at..end) else {
        return;
    };
    if w.len() < len {
        w.fill(0);
        return;
    }
    let v = read_uint(w, little) & !mask;
    for (i, x) in w.iter_mut().enumerate() {
        let shift = if little { i } else { len - 1 - i };
        *x = (v >> (8 * shift)) as u8;
    }
}

/// One of the two sides of a comparison.
#[derive(Clone, Copy)]
pub(crate) struct Side<'b, 'a> {
    pub(crate) bin: &'b Binary<'a>,
    pub(crate) sym: &'b Sym<'a>,
}

impl<'a> Side<'_, 'a> {
    fn bytes(&self) -> Option<&'a [u8]> {
        self.bin.bytes_at(self.sym.addr, self.sym.size)
    }

    fn relocs(&self) -> &[Reloc] {
        match self.sym.section {
            Some(s) => self.bin.relocs_in(
                s,
                self.sym.addr,
                self.sym.addr.saturating_add(self.sym.size),
            ),
            None => &[],
        }
    }
}

/// Compares one symbol in the two files. `line_delta` is how many lines
/// the function moved in its source file, if known; `rel` the kernel
/// versions the files name, if differences in them are to be ignored.
pub(crate) fn compare(
    old: Side<'_, '_>,
    new: Side<'_, '_>,
    line_delta: Option<i64>,
    rel: Option<&Releases>,
) -> Outcome {
    match compare_bytes(old, new, line_delta, None) {
        Outcome::Changed if same_but_padding(old, new, None) => Outcome::Same,
        Outcome::Changed if rel.is_some() => match compare_bytes(old, new, line_delta, rel) {
            Outcome::Changed if !same_but_padding(old, new, rel) => Outcome::Changed,
            _ => Outcome::ReleaseOnly,
        },
        verdict => verdict,
    }
}

/// An x86-64 function whose code is the same but for alignment NOPs
/// (`x86::same_but_padding`); its relocations pair by order, each with the
/// same type and target.
fn same_but_padding(old: Side<'_, '_>, new: Side<'_, '_>, rel: Option<&Releases>) -> bool {
    if old.bin.arch != Arch::X86_64 || old.sym.kind != SymKind::Func {
        return false;
    }
    let (Some(ob), Some(nb)) = (old.bytes(), new.bytes()) else {
        return false;
    };
    let (ro, rn) = (old.relocs(), new.relocs());
    let same_relocs = ro.len() == rn.len()
        && ro.iter().zip(rn).all(|(a, b)| {
            a.r_type == b.r_type
                && same_target(
                    old.bin,
                    &reloc_target(old.bin, a),
                    new.bin,
                    &reloc_target(new.bin, b),
                    rel,
                )
        });
    let code = |side: Side<'_, '_>, bytes, relocs: &[Reloc]| crate::x86::Code {
        bytes,
        addr: side.sym.addr,
        relocs: relocs
            .iter()
            .map(|r| ((r.addr - side.sym.addr) as usize, field(Arch::X86_64, r).0))
            .collect(),
    };
    let same_place = |a: u64, b: u64| {
        same_target(
            old.bin,
            &addr_target(old.bin, a, 0),
            new.bin,
            &addr_target(new.bin, b, 0),
            rel,
        )
    };
    let same_insn = |a: u64, b: u64| {
        let (Some(fa), Some(fb)) = (old.bin.symbol_containing(a), new.bin.symbol_containing(b))
        else {
            return false;
        };
        if fa.kind != SymKind::Func || base_name(fa.name) != base_name(fb.name) {
            return false;
        }
        let index = |bin: &Binary<'_>, f: &Sym<'_>, t| {
            crate::x86::insn_index(bin.bytes_at(f.addr, f.size)?, f.addr, t)
        };
        index(old.bin, fa, a).is_some_and(|i| index(new.bin, fb, b) == Some(i))
    };
    same_relocs
        && crate::x86::same_but_padding(
            &code(old, ob, ro),
            &code(new, nb, rn),
            &same_place,
            &same_insn,
        )
}

/// Compares the bytes and relocations of one symbol; with `rel`, also
/// explains differences by the kernel versions (but says `Same` for them).
fn compare_bytes(
    old: Side<'_, '_>,
    new: Side<'_, '_>,
    line_delta: Option<i64>,
    rel: Option<&Releases>,
) -> Outcome {
    if old.sym.size != new.sym.size {
        return Outcome::Changed;
    }
    let (ro, rn) = (old.relocs(), new.relocs());
    if ro.len() != rn.len() {
        return Outcome::Changed;
    }
    let arch = old.bin.arch;
    for (a, b) in ro.iter().zip(rn) {
        if a.addr.wrapping_sub(old.sym.addr) != b.addr.wrapping_sub(new.sym.addr)
            || a.r_type != b.r_type
            || !same_target(
                old.bin,
                &reloc_target(old.bin, a),
                new.bin,
                &reloc_target(new.bin, b),
                rel,
            )
        {
            return Outcome::Changed;
        }
    }
    let (Some(ob), Some(nb)) = (old.bytes(), new.bytes()) else {
        // No contents (`.bss`): the sizes are all there is.
        return Outcome::Same;
    };
    if ob == nb {
        return Outcome::Same;
    }
    let little = old.bin.little_endian;
    let (mut mo, mut mn) = (ob.to_vec(), nb.to_vec());
    for (a, b) in ro.iter().zip(rn) {
        let f = field(arch, a);
        mask_field(&mut mo, (a.addr - old.sym.addr) as usize, f, little);
        mask_field(&mut mn, (b.addr - new.sym.addr) as usize, f, little);
    }
    if mo == mn {
        return Outcome::Same;
    }
    let mut by_line = false;
    let mut i = 0;
    while i < mo.len() {
        if mo[i] == mn[i] {
            i += 1;
            continue;
        }
        let start = i;
        while i < mo.len() && mo[i] != mn[i] {
            i += 1;
        }
        let run = (start, i);
        if explain_address(arch, old, new, ob, nb, run, rel)
            || rel.is_some_and(|r| r.explain(ob, nb, &mo, &mn, run))
        {
            continue;
        }
        match line_delta {
            Some(d) if d != 0 && explain_line(arch, ob, nb, run, d, little) => by_line = true,
            _ => return Outcome::Changed,
        }
    }
    if by_line {
        Outcome::LineOnly
    } else {
        Outcome::Same
    }
}

fn sext(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

/// Windows `[s, s + len)` with `s` a multiple of `align` that cover `run`.
fn windows(
    run: (usize, usize),
    len: usize,
    align: usize,
    total: usize,
) -> impl Iterator<Item = usize> {
    let first = run.1.saturating_sub(len);
    let first = first.div_ceil(align) * align;
    (first..=run.0)
        .step_by(align)
        .filter(move |&s| s + len <= total && s <= run.0 && run.1 <= s + len)
}

/// Whether the differing bytes `run` are an address that points to the
/// same place in both files.
fn explain_address(
    arch: Arch,
    old: Side<'_, '_>,
    new: Side<'_, '_>,
    ob: &[u8],
    nb: &[u8],
    run: (usize, usize),
    rel: Option<&Releases>,
) -> bool {
    let little = old.bin.little_endian;
    let (po, pn) = (old.sym.addr, new.sym.addr);
    let same = |to: u64, tn: u64, slack: u64| {
        let a = addr_target(old.bin, to, slack);
        !matches!(a, Target::Abs(_))
            && same_target(old.bin, &a, new.bin, &addr_target(new.bin, tn, slack), rel)
    };
    let word = |b: &[u8], s: usize, len: usize| read_uint(&b[s..s + len], little);
    let abs64 = |align: usize| {
        windows(run, 8, align, ob.len()).any(|s| same(word(ob, s, 8), word(nb, s, 8), 0))
    };
    match arch {
        Arch::X86_64 => {
            windows(run, 4, 1, ob.len()).any(|s| {
                let (vo, vn) = (word(ob, s, 4), word(nb, s, 4));
                let next = s as u64 + 4;
                same(
                    po.wrapping_add(next).wrapping_add_signed(sext(vo, 32)),
                    pn.wrapping_add(next).wrapping_add_signed(sext(vn, 32)),
                    4,
                ) || same(sext(vo, 32) as u64, sext(vn, 32) as u64, 0)
            }) || abs64(1)
        }
        Arch::Aarch64 => {
            windows(run, 4, 4, ob.len()).any(|s| {
                let (wo, wn) = (word(ob, s, 4), word(nb, s, 4));
                // B and BL: imm26, in words.
                let branch = wo & 0x7c00_0000 == 0x1400_0000
                    && wo & 0xfc00_0000 == wn & 0xfc00_0000
                    && same(
                        po.wrapping_add(s as u64)
                            .wrapping_add_signed(sext(wo & 0x03ff_ffff, 26) * 4),
                        pn.wrapping_add(s as u64)
                            .wrapping_add_signed(sext(wn & 0x03ff_ffff, 26) * 4),
                        0,
                    );
                branch
                    || adrp_pair(ob, s, little).is_some_and(|(a, u)| {
                        let target = |b: &[u8], pc: u64| {
                            let (adrp, used) = (word(b, a, 4), word(b, u, 4));
                            adrp_page(adrp, pc.wrapping_add(a as u64)).wrapping_add(lo12(used))
                        };
                        let fixed =
                            |b: &[u8]| (word(b, a, 4) & !ADRP_IMM, word(b, u, 4) & !LO12_IMM);
                        fixed(ob) == fixed(nb) && same(target(ob, po), target(nb, pn), 0)
                    })
            }) || abs64(8)
        }
        Arch::Ppc64le => {
            windows(run, 4, 4, ob.len()).any(|s| {
                let (wo, wn) = (word(ob, s, 4), word(nb, s, 4));
                // `b`/`bl` (I-form, opcode 18), relative.
                let branch = wo >> 26 == 18
                    && wo & 0xfc00_0003 == wn & 0xfc00_0003
                    && wo & 2 == 0
                    && same(
                        po.wrapping_add(s as u64)
                            .wrapping_add_signed(sext(wo & 0x03ff_fffc, 26)),
                        pn.wrapping_add(s as u64)
                            .wrapping_add_signed(sext(wn & 0x03ff_fffc, 26)),
                        0,
                    );
                // A load, store or `addi` off a register computed from the
                // TOC (section anchors): its displacement moved with data.
                let based = d_form_base(wo).is_some_and(|rb| {
                    let target = |b: &[u8], toc: Option<u64>, w: u64| {
                        Some(
                            ppc_reg_value(b, s, rb, toc, little, 0)?
                                .wrapping_add_signed(d_offset(w)),
                        )
                    };
                    wo >> 16 == wn >> 16
                        && match (target(ob, old.bin.toc, wo), target(nb, new.bin.toc, wn)) {
                            (Some(to), Some(tn)) => same(to, tn, 0),
                            _ => false,
                        }
                });
                branch
                    || based
                    || addis_pair(ob, s, little).is_some_and(|(a, u)| {
                        let target = |b: &[u8], toc: Option<u64>| {
                            let (hi, lo) = (word(b, a, 4), word(b, u, 4));
                            let base = match (hi >> 16) & 0x1f {
                                0 => Some(0),
                                2 => toc,
                                _ => None,
                            }?;
                            Some(
                                base.wrapping_add_signed(sext(hi & 0xffff, 16) << 16)
                                    .wrapping_add_signed(d_offset(lo)),
                            )
                        };
                        let fixed = |b: &[u8]| (word(b, a, 4) >> 16, word(b, u, 4) >> 16);
                        fixed(ob) == fixed(nb)
                            && match (target(ob, old.bin.toc), target(nb, new.bin.toc)) {
                                (Some(to), Some(tn)) => same(to, tn, 0),
                                _ => false,
                            }
                    })
            }) || abs64(8)
        }
        Arch::S390x => {
            windows(run, 6, 2, ob.len()).any(|s| {
                // LARL, BRCL, BRASL: a signed offset in halfwords.
                ob[s] == 0xc0
                    && matches!(ob[s + 1] & 0x0f, 0 | 4 | 5)
                    && ob[s..s + 2] == nb[s..s + 2]
                    && same(
                        po.wrapping_add(s as u64)
                            .wrapping_add_signed(sext(word(ob, s + 2, 4), 32) * 2),
                        pn.wrapping_add(s as u64)
                            .wrapping_add_signed(sext(word(nb, s + 2, 4), 32) * 2),
                        0,
                    )
            }) || abs64(8)
        }
    }
}

const ADRP_IMM: u64 = 0x60ff_ffe0;
const LO12_IMM: u64 = 0x003f_fc00;

fn is_adrp(w: u64) -> bool {
    w & 0x9f00_0000 == 0x9000_0000
}

/// ADD (immediate) or a load/store with an unsigned 12-bit offset: the
/// second half of an ADRP pair. Returns its base register.
fn lo12_base(w: u64) -> Option<u64> {
    let add = w & 0x7fc0_0000 == 0x1100_0000;
    let ldst = w & 0x3b00_0000 == 0x3900_0000;
    (add || ldst).then_some((w >> 5) & 0x1f)
}

fn adrp_page(w: u64, pc: u64) -> u64 {
    let imm = ((w >> 29) & 3) | (((w >> 5) & 0x7ffff) << 2);
    (pc & !0xfff).wrapping_add_signed(sext(imm, 21) << 12)
}

/// The low 12 bits an ADD or load/store adds to an ADRP page.
fn lo12(w: u64) -> u64 {
    let imm = (w >> 10) & 0xfff;
    if w & 0x7fc0_0000 == 0x1100_0000 {
        imm
    } else {
        imm << (w >> 30)
    }
}

/// The ADRP pair the instruction at `s` belongs to: its ADRP and the
/// instruction using the page, within 8 instructions of each other.
fn adrp_pair(b: &[u8], s: usize, little: bool) -> Option<(usize, usize)> {
    let word = |at: usize| b.get(at..at + 4).map(|w| read_uint(w, little));
    let w = word(s)?;
    if is_adrp(w) {
        let rd = w & 0x1f;
        (1..=8)
            .map(|k| s + 4 * k)
            .find(|&u| word(u).and_then(lo12_base) == Some(rd))
            .map(|u| (s, u))
    } else {
        let rn = lo12_base(w)?;
        (1..=8)
            .filter_map(|k| s.checked_sub(4 * k))
            .find(|&a| word(a).is_some_and(|x| is_adrp(x) && x & 0x1f == rn))
            .map(|a| (a, s))
    }
}

/// A D-form instruction that can take the low half of an address: `addi`,
/// a load or store (`lwz` ... `stfdu`), or a DS-form `ld`/`std`. Returns
/// its base register.
fn d_form_base(w: u64) -> Option<u64> {
    matches!(w >> 26, 14 | 32..=55 | 58 | 62).then_some((w >> 16) & 0x1f)
}

/// The signed offset of a D-form (or DS-form) instruction.
fn d_offset(w: u64) -> i64 {
    match w >> 26 {
        58 | 62 => sext(w & 0xfffc, 16),
        _ => sext(w & 0xffff, 16),
    }
}

/// Whether a powerpc instruction writes the register in bits 21-25: not a
/// trap, compare, branch, condition register operation or D-form store.
fn ppc_writes_rt(w: u64) -> bool {
    !matches!(w >> 26, 2 | 3 | 10 | 11 | 16 | 18 | 19 | 36..=39 | 44..=47 | 52..=55 | 62)
}

/// The value powerpc register `reg` holds before the instruction at `at`,
/// when the straight-line code before it computes it with `addis`/`addi`
/// from the TOC pointer (`r2`) or from 0 (`lis`/`li`).
fn ppc_reg_value(
    b: &[u8],
    at: usize,
    reg: u64,
    toc: Option<u64>,
    little: bool,
    depth: u32,
) -> Option<u64> {
    match reg {
        0 => return Some(0),
        2 => return toc,
        _ if depth > 3 => return None,
        _ => {}
    }
    for k in 1..=16 {
        let p = at.checked_sub(4 * k)?;
        let w = read_uint(b.get(p..p + 4)?, little);
        if (w >> 21) & 0x1f != reg || !ppc_writes_rt(w) {
            continue;
        }
        let base = || ppc_reg_value(b, p, (w >> 16) & 0x1f, toc, little, depth + 1);
        return match w >> 26 {
            15 => Some(base()?.wrapping_add_signed(sext(w & 0xffff, 16) << 16)),
            14 => Some(base()?.wrapping_add_signed(sext(w & 0xffff, 16))),
            _ => None,
        };
    }
    None
}

/// The `addis` pair the instruction at `s` belongs to: `addis rT, rA, hi`
/// (`lis` when `rA` is 0; TOC-relative when it is `r2`) and the D-form
/// instruction using `rT`, within 8 instructions.
fn addis_pair(b: &[u8], s: usize, little: bool) -> Option<(usize, usize)> {
    let word = |at: usize| b.get(at..at + 4).map(|w| read_uint(w, little));
    let is_addis = |w: u64| w >> 26 == 15;
    let w = word(s)?;
    if is_addis(w) {
        let rt = (w >> 21) & 0x1f;
        (1..=8)
            .map(|k| s + 4 * k)
            .find(|&u| word(u).and_then(d_form_base) == Some(rt))
            .map(|u| (s, u))
    } else {
        let ra = d_form_base(w)?;
        (1..=8)
            .filter_map(|k| s.checked_sub(4 * k))
            .find(|&a| word(a).is_some_and(|x| is_addis(x) && (x >> 21) & 0x1f == ra))
            .map(|a| (a, s))
    }
}

/// Whether the differing bytes `run` are an immediate operand whose value
/// grew by exactly `delta`, the number of lines the function moved.
fn explain_line(
    arch: Arch,
    ob: &[u8],
    nb: &[u8],
    run: (usize, usize),
    delta: i64,
    little: bool,
) -> bool {
    // (window length, alignment, first bit of the field, field width).
    let fields: &[(usize, usize, u32, u32)] = match arch {
        Arch::X86_64 => &[(4, 1, 0, 32), (2, 1, 0, 16), (1, 1, 0, 8)],
        // MOVZ/MOVK imm16; ADD/SUB imm12.
        Arch::Aarch64 => &[(4, 4, 5, 16), (4, 4, 10, 12)],
        // D-form immediate (li, addi).
        Arch::Ppc64le => &[(4, 4, 0, 16)],
        // RI imm16 (lhi, lghi) and RIL imm32 (iilf, lgfi) operands.
        Arch::S390x => &[(2, 2, 0, 16), (4, 2, 0, 32)],
    };
    fields.iter().any(|&(len, align, shift, width)| {
        windows(run, len, align, ob.len()).any(|s| {
            let (wo, wn) = (
                read_uint(&ob[s..s + len], little),
                read_uint(&nb[s..s + len], little),
            );
            let mask = ((1u64 << width) - 1) << shift;
            let (vo, vn) = ((wo & mask) >> shift, (wn & mask) >> shift);
            wo & !mask == wn & !mask && vo > 0 && vo < 1 << 20 && vn as i64 - vo as i64 == delta
        })
    })
}

#[cfg(test)]
mod tests {
    use super::{base_name, sext, windows};

    #[test]
    fn numeric_suffixes_are_dropped() {
        assert_eq!(base_name(b"foo.constprop.0"), b"foo.constprop");
        assert_eq!(base_name(b"__func__.12"), b"__func__");
        assert_eq!(base_name(b"foo.cold"), b"foo.cold");
        assert_eq!(base_name(b"__UNIQUE_ID_ddebug431"), b"__UNIQUE_ID_ddebug");
        assert_eq!(base_name(b".5"), b".5");
    }

    #[test]
    fn windows_cover_the_run() {
        assert_eq!(windows((5, 7), 4, 1, 100).collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(windows((5, 7), 4, 4, 100).collect::<Vec<_>>(), [4]);
        assert_eq!(windows((5, 7), 4, 1, 8).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(sext(0xffff_fffc, 32), -4);
    }

    #[test]
    fn only_the_kernel_version_differs() {
        use super::Releases;
        assert_eq!(Releases::new(b"7.2.11+deb13-amd64", b"7.2.11", true), None);
        assert_eq!(Releases::new(b"", b"7.2.11", true), None);
        let r = Releases::new(b"7.2.9+deb13-amd64", b"7.2.10+deb13-amd64", true).unwrap();
        assert!(r.same_str(b"Linux 7.2.9 (7.2.9-1)", b"Linux 7.2.10 (7.2.10-1)"));
        assert!(!r.same_str(b"Linux 7.2.9", b"Linux 7.2.9"));
        let r = Releases::new(b"7.2.11+deb13-amd64", b"7.2.12+deb13-amd64", true).unwrap();
        // `mov $0x7020b, %eax` and `movabs $"7.2.11+d", %rax`.
        let (o, n) = (b"\xb8\x0b\x02\x07\x00\xc3", b"\xb8\x0c\x02\x07\x00\xc3");
        assert!(r.explain(o, n, o, n, (1, 2)));
        let (o, n) = (b"\x48\xb8\x37.2.11+d", b"\x48\xb8\x37.2.12+d");
        assert!(r.explain(o, n, o, n, (7, 8)));
        // Any other constant is a change.
        let (o, n) = (b"\xb8\x0b\x00\x00\x00\xc3", b"\xb8\x0c\x00\x00\x00\xc3");
        assert!(!r.explain(o, n, o, n, (1, 2)));
    }
}
