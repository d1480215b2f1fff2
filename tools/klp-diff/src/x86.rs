//! x86-64: code that is the same but for alignment padding.
//!
//! A function whose loops are aligned to more than the functions are (32
//! bytes in functions aligned to 16) gets other NOPs before its loops when
//! it moves by 16 bytes, and every branch across them another
//! displacement, or another encoding (8 or 32 bits). The bytes then differ
//! although the code does not. Decoded, with the NOPs dropped, the
//! instructions pair one to one: each the same but for branches (the same
//! kind, to the same instruction inside the function or the same place
//! outside), PC-relative operands and relocated fields (the same target).

use iced_x86::{Decoder, DecoderOptions, Instruction, Mnemonic, OpKind};

/// One instruction and where its displacement and immediate fields are,
/// as `(offset in the instruction, size)`.
struct Insn {
    /// Offset in the function.
    at: usize,
    instr: Instruction,
    disp: Option<(usize, usize)>,
    imm: Option<(usize, usize)>,
}

/// The instructions of `bytes` (the function at `ip`), NOPs dropped, and
/// for each offset of the function the index of the first kept
/// instruction at or after it. `None` if some bytes do not decode.
fn decode(bytes: &[u8], ip: u64) -> Option<(Vec<Insn>, Vec<usize>)> {
    let mut decoder = Decoder::with_ip(64, bytes, ip, DecoderOptions::NONE);
    let mut kept = Vec::new();
    let mut index_at = vec![0; bytes.len() + 1];
    let mut at = 0;
    while decoder.can_decode() {
        let instr = decoder.decode();
        if instr.is_invalid() {
            return None;
        }
        let len = instr.len();
        for slot in &mut index_at[at..at + len] {
            *slot = kept.len();
        }
        if instr.mnemonic() != Mnemonic::Nop {
            let c = decoder.get_constant_offsets(&instr);
            kept.push(Insn {
                at,
                instr,
                disp: c
                    .has_displacement()
                    .then(|| (c.displacement_offset(), c.displacement_size())),
                imm: c
                    .has_immediate()
                    .then(|| (c.immediate_offset(), c.immediate_size())),
            });
        }
        at += len;
    }
    index_at[at] = kept.len();
    Some((kept, index_at))
}

/// One side: the function's bytes and address, and its relocations as
/// `(offset in the function, field size in bytes)`.
pub(crate) struct Code<'a> {
    pub(crate) bytes: &'a [u8],
    pub(crate) addr: u64,
    pub(crate) relocs: Vec<(usize, usize)>,
}

/// Whether `old` and `new` are the same code but for NOP padding.
/// `same_place(a, b)` says whether address `a` of the old file and `b` of
/// the new one are the same place. The relocations' targets are compared
/// by the caller; here only where they sit.
pub(crate) fn same_but_padding(
    old: &Code<'_>,
    new: &Code<'_>,
    same_place: &dyn Fn(u64, u64) -> bool,
    same_insn: &dyn Fn(u64, u64) -> bool,
) -> bool {
    let (Some((a, a_index)), Some((b, b_index))) =
        (decode(old.bytes, old.addr), decode(new.bytes, new.addr))
    else {
        return false;
    };
    if a.len() != b.len() || old.relocs.len() != new.relocs.len() {
        return false;
    }
    // Relocations pair by order, each at the same place of the paired
    // instruction.
    for (&(ra, sa), &(rb, sb)) in old.relocs.iter().zip(&new.relocs) {
        let (Some(&ia), Some(&ib)) = (a_index.get(ra), b_index.get(rb)) else {
            return false;
        };
        let (Some(xa), Some(xb)) = (a.get(ia), b.get(ib)) else {
            return false;
        };
        // A relocation in padding, or at another place of its instruction.
        if ia != ib || sa != sb || ra.checked_sub(xa.at) != rb.checked_sub(xb.at) {
            return false;
        }
    }
    let inside =
        |c: &Code<'_>, t: u64| t >= c.addr && t < c.addr.saturating_add(c.bytes.len() as u64);
    a.iter().zip(&b).all(|(x, y)| {
        let (ix, iy) = (&x.instr, &y.instr);
        // The assembler picks a branch's 8- or 32-bit form by its distance,
        // which the padding changes: compare what it does, not its encoding.
        if ix.op0_kind() == OpKind::NearBranch64 || iy.op0_kind() == OpKind::NearBranch64 {
            if ix.mnemonic() != iy.mnemonic() || ix.op0_kind() != iy.op0_kind() {
                return false;
            }
            let (tx, ty) = (ix.near_branch_target(), iy.near_branch_target());
            let to_same = match (inside(old, tx), inside(new, ty)) {
                (true, true) => {
                    a_index[(tx - old.addr) as usize] == b_index[(ty - new.addr) as usize]
                }
                // Into another function (a cold part's jump back into its
                // parent): the same place, or the same instruction of a
                // function that got other padding too.
                (false, false) => same_place(tx, ty) || same_insn(tx, ty),
                _ => false,
            };
            let len = ix.len();
            return to_same || relocated(old, x, 0, len) && relocated(new, y, 0, iy.len());
        }
        if ix.code() != iy.code() || ix.len() != iy.len() {
            return false;
        }
        // Every byte the same but in address fields, which must point to
        // the same place (or be relocated: their targets were compared).
        let (bx, by) = (
            &old.bytes[x.at..x.at + ix.len()],
            &new.bytes[y.at..y.at + iy.len()],
        );
        if bx == by {
            return true;
        }
        if (x.disp, x.imm) != (y.disp, y.imm) {
            return false;
        }
        // A field that differs is fine if relocated in both (the targets
        // were compared), or if it is an address of the same place.
        let differs = |f: Option<(usize, usize)>| {
            f.is_some_and(|(off, size)| {
                bx[off..off + size] != by[off..off + size]
                    && !(relocated(old, x, off, size) && relocated(new, y, off, size))
            })
        };
        let (mut mx, mut my) = (bx.to_vec(), by.to_vec());
        for (off, size) in [x.disp, x.imm].into_iter().flatten() {
            mx[off..off + size].fill(0);
            my[off..off + size].fill(0);
        }
        let disp_ok = !differs(x.disp)
            || ix.is_ip_rel_memory_operand()
                && same_place(ix.ip_rel_memory_address(), iy.ip_rel_memory_address());
        // An absolute address as an immediate (`mov $sym, %rdi`).
        let imm_ok = !differs(x.imm)
            || match (immediate(ix), immediate(iy)) {
                (Some(vx), Some(vy)) => same_place(vx, vy),
                _ => false,
            };
        mx == my && disp_ok && imm_ok
    })
}

/// The value of the instruction's immediate operand, sign-extended as the
/// CPU does.
fn immediate(i: &Instruction) -> Option<u64> {
    (0..i.op_count()).find_map(|op| {
        matches!(
            i.op_kind(op),
            OpKind::Immediate8to64
                | OpKind::Immediate32to64
                | OpKind::Immediate64
                | OpKind::Immediate32
        )
        .then(|| i.immediate(op))
    })
}

/// Which instruction, NOPs not counted, of the function `bytes` at `ip`
/// starts at or follows `target`.
pub(crate) fn insn_index(bytes: &[u8], ip: u64, target: u64) -> Option<usize> {
    let (_, index_at) = decode(bytes, ip)?;
    index_at
        .get(usize::try_from(target.checked_sub(ip)?).ok()?)
        .copied()
}

/// Whether a relocation writes into bytes `off..off + size` of the
/// instruction.
fn relocated(c: &Code<'_>, x: &Insn, off: usize, size: usize) -> bool {
    let (start, end) = (x.at + off, x.at + off + size);
    c.relocs.iter().any(|&(r, len)| r < end && r + len > start)
}

#[cfg(test)]
mod tests {
    use super::{same_but_padding, Code};

    #[test]
    fn nops_and_the_branches_across_them_are_not_changes() {
        // test %edi,%edi; jle to the padding (old) or to `add` (new);
        // padding; add %edi,%eax; ret
        const OLD: &[u8] = &[0x85, 0xff, 0x7e, 0x00, 0x66, 0x90, 0x01, 0xf8, 0xc3];
        const NEW: &[u8] = &[
            0x85, 0xff, 0x7e, 0x09, 0x0f, 0x1f, 0x80, 0, 0, 0, 0, 0x66, 0x90, 0x01, 0xf8, 0xc3,
        ];
        // `sub` for `add`: a change.
        const OTHER: &[u8] = &[0x85, 0xff, 0x7e, 0x00, 0x66, 0x90, 0x29, 0xf8, 0xc3];
        let code = |bytes: &'static [u8]| Code {
            bytes,
            addr: 0x1000,
            relocs: Vec::new(),
        };
        let never = |_: u64, _: u64| false;
        let same_but_padding = |o: &Code<'_>, n: &Code<'_>, p: &dyn Fn(u64, u64) -> bool| {
            same_but_padding(o, n, p, &never)
        };
        let (o, n) = (code(OLD), code(NEW));
        // Once the NOPs go, both `jle` land on `add`.
        assert!(same_but_padding(&o, &n, &never));
        assert!(!same_but_padding(&o, &code(OTHER), &never));
    }
}
