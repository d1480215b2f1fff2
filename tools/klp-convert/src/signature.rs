//! Declared function signatures against DWARF, where the target build has
//! it (a `vmlinux` or module object built with debug information).
//!
//! `klp_extern!` records, for each function, the size of its return value
//! and of each parameter (see [`Code`]); the ABI of a C function on the
//! arches klp-rs supports depends on exactly those (every parameter is an
//! integer, a pointer or an enum in the kernel's interfaces). Names and
//! types are not compared: `&SeqFile` is a fine `struct seq_file *`.

use klp_diff::{Binary, Mapping, Signature};
use std::path::Path;

/// Pointers are 8 bytes on every arch klp-rs supports.
const POINTER: u64 = 8;

/// A declared signature, packed into one number (`klp_extern!`'s
/// `signature_code`): bits 0-4 the parameter count, 5-8 the return
/// value's size (0: none), then 4 bits per parameter's size (up to 13; a
/// size over 15 is written 15). 0: not recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code(pub u64);

impl Code {
    fn params(self) -> usize {
        (self.0 & 0x1f) as usize
    }

    fn ret(self) -> u64 {
        (self.0 >> 5) & 0xf
    }

    fn param(self, i: usize) -> Option<u64> {
        (i < 13).then(|| (self.0 >> (9 + 4 * i)) & 0xf)
    }

    /// `2 parameters (8, 4 bytes), returning 4 bytes`.
    fn describe(self) -> String {
        let sizes: Vec<String> = (0..self.params())
            .map(|i| self.param(i).map_or("?".into(), |s| s.to_string()))
            .collect();
        let ret = match self.ret() {
            0 => "returning nothing".to_string(),
            r => format!("returning {r} bytes"),
        };
        let n = self.params();
        format!(
            "{n} parameter{} ({} bytes), {ret}",
            if n == 1 { "" } else { "s" },
            sizes.join(", ")
        )
    }

    /// Whether `sig` has this shape; sizes DWARF does not give pass.
    fn matches(self, sig: &Signature) -> bool {
        let nibble = |s: u64| s.min(15);
        if sig.variadic || sig.params.len() != self.params() {
            return false;
        }
        let ret_ok = sig
            .ret
            .byte_size(POINTER)
            .is_none_or(|s| nibble(s) == self.ret());
        ret_ok
            && sig.params.iter().enumerate().all(|(i, p)| {
                match (p.ty.byte_size(POINTER), self.param(i)) {
                    (Some(s), Some(d)) => nibble(s) == d,
                    _ => true,
                }
            })
    }
}

/// A function to check: its name, its address where the target says (a
/// linked image), and its declared signature.
pub type Declared<'a> = (&'a str, Option<u64>, Code);

/// Sizes that make up a signature's ABI, `None` where DWARF does not say.
fn shape(sig: &Signature) -> (bool, Option<u64>, Vec<Option<u64>>) {
    (
        sig.variadic,
        sig.ret.byte_size(POINTER),
        sig.params.iter().map(|p| p.ty.byte_size(POINTER)).collect(),
    )
}

/// Checks each `(name, address, code)` against the DWARF of the object at
/// `path`; `address` is where the symbol chosen by `sympos` is, when the
/// target says (a linked image). One reason per mismatch; none if the
/// object has no DWARF (nothing to check against).
pub fn check(path: &Path, functions: &[Declared<'_>]) -> Result<Vec<String>, String> {
    let mapping = Mapping::open(path).map_err(|e| e.to_string())?;
    let label = path.display().to_string();
    let bin = match Binary::parse(&label, mapping.data()) {
        Ok(b) => b,
        Err(klp_diff::Error::NoDwarf { .. }) => return Ok(Vec::new()),
        Err(e) => return Err(e.to_string()),
    };
    let names: Vec<&str> = functions.iter().map(|f| f.0).collect();
    let all = klp_diff::function_signatures(&bin, &names).map_err(|e| e.to_string())?;
    let mut problems = Vec::new();
    for &(name, addr, code) in functions {
        let sigs = all.get(name).map_or(&[][..], Vec::as_slice);
        let chosen = match addr.and_then(|a| sigs.iter().find(|(pc, _)| *pc == a)) {
            Some((_, sig)) => Some(sig),
            // Without an address, only if every function of that name has
            // the same shape.
            None if sigs.windows(2).all(|w| shape(&w[0].1) == shape(&w[1].1)) => {
                sigs.first().map(|(_, s)| s)
            }
            None => None,
        };
        if let Some(sig) = chosen.filter(|s| !code.matches(s)) {
            problems.push(format!(
                "symbol `{name}`: declared with {}, but the DWARF of `{label}` says `{}`",
                code.describe(),
                sig.c
            ));
        }
    }
    Ok(problems)
}

#[cfg(test)]
mod tests {
    use super::Code;
    use klp_diff::{CType, Param, Signature};

    fn int(size: u64) -> CType {
        CType::Int {
            name: "int".into(),
            size,
            signed: true,
        }
    }

    #[test]
    fn a_code_matches_the_sizes_it_packs() {
        // `int (char *, int)`: 2 parameters, returns 4, sizes 8 and 4.
        let code = Code(2 | (4 << 5) | (8 << 9) | (4 << 13));
        let sig = |params: Vec<CType>| Signature {
            ret: int(4),
            params: params
                .into_iter()
                .map(|ty| Param { name: None, ty })
                .collect(),
            variadic: false,
            c: String::new(),
        };
        let ptr = CType::Pointer(Box::new(int(1)));
        assert!(code.matches(&sig(vec![ptr.clone(), int(4)])));
        assert!(!code.matches(&sig(vec![ptr.clone(), int(8)])));
        assert!(!code.matches(&sig(vec![ptr])));
        assert_eq!(
            code.describe(),
            "2 parameters (8, 4 bytes), returning 4 bytes"
        );
    }
}
