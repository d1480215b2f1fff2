//! Declared function signatures against DWARF, where the target build has
//! it (a `vmlinux` or module object built with debug information).
//!
//! `klp_extern!` records, for each function it declares, and `patch!`, for
//! each function a Rust function replaces, the size of the return value
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
    pub fn describe(self) -> String {
        let sizes: Vec<_> = (0..self.params()).map(|i| self.param(i)).collect();
        describe(&sizes, false, Some(self.ret()))
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

/// A signature's sizes in words: `2 parameters (8, 4 bytes), returning 4
/// bytes`; `?` for a size DWARF does not give.
pub fn describe_signature(sig: &Signature) -> String {
    let (variadic, ret, sizes) = shape(sig);
    describe(&sizes, variadic, ret)
}

fn describe(sizes: &[Option<u64>], variadic: bool, ret: Option<u64>) -> String {
    let sizes: Vec<String> = sizes
        .iter()
        .map(|s| s.map_or("?".into(), |s| s.to_string()))
        .collect();
    let ret = match ret {
        Some(0) => "returning nothing".to_string(),
        Some(r) => format!("returning {r} bytes"),
        None => "returning ? bytes".to_string(),
    };
    let params = match sizes.len() {
        0 => "no parameters".to_string(),
        1 => format!("1 parameter ({} bytes)", sizes[0]),
        n => format!("{n} parameters ({} bytes)", sizes.join(", ")),
    };
    let variadic = if variadic { " and variable ones" } else { "" };
    format!("{params}{variadic}, {ret}")
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
/// target says (a linked image). Each mismatch as the index of the function
/// in `functions` and the signature DWARF gives it; none if the object has
/// no DWARF (nothing to check against).
pub fn check(path: &Path, functions: &[Declared<'_>]) -> Result<Vec<(usize, Signature)>, String> {
    let mapping = Mapping::open(path).map_err(|e| e.to_string())?;
    let label = path.display().to_string();
    let bin = match Binary::parse(&label, mapping.data()) {
        Ok(b) => b,
        Err(klp_diff::Error::NoDwarf { .. }) => return Ok(Vec::new()),
        Err(e) => return Err(e.to_string()),
    };
    let wanted: Vec<(&str, Option<u64>)> = functions.iter().map(|f| (f.0, f.1)).collect();
    let all = klp_diff::function_signatures(&bin, &wanted).map_err(|e| e.to_string())?;
    let mut mismatches = Vec::new();
    for (i, (&(_, addr, code), mut sigs)) in functions.iter().zip(all).enumerate() {
        let chosen = match addr.and_then(|a| sigs.iter().position(|(pc, _)| *pc == a)) {
            Some(at) => Some(at),
            // Without an address, only if every function of that name has
            // the same shape.
            None if sigs.windows(2).all(|w| shape(&w[0].1) == shape(&w[1].1)) => {
                (!sigs.is_empty()).then_some(0)
            }
            None => None,
        };
        if let Some(at) = chosen.filter(|&at| !code.matches(&sigs[at].1)) {
            mismatches.push((i, sigs.swap_remove(at).1));
        }
    }
    Ok(mismatches)
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
            decl: String::new(),
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

    #[test]
    fn a_description_says_what_is_there() {
        assert_eq!(Code(0).describe(), "no parameters, returning nothing");
        assert_eq!(
            Code(1 | (8 << 5) | (8 << 9)).describe(),
            "1 parameter (8 bytes), returning 8 bytes"
        );
        let printf = Signature {
            ret: int(4),
            params: vec![Param {
                name: None,
                ty: CType::Other("?".into()),
            }],
            variadic: true,
            c: String::new(),
            decl: String::new(),
        };
        assert_eq!(
            super::describe_signature(&printf),
            "1 parameter (? bytes) and variable ones, returning 4 bytes"
        );
    }
}
