//! The slow, precise second look, only at the few entries the fast pass
//! found changed: members of a changed type, a function's signature, the
//! types a function's parameters and variables use.

use crate::{
    dwarf::{constant, is_aggregate, offset_of, plus_uconst, unit_ref, Dwarf, R},
    error::Result,
    facts::{CType, Decl, Param, Signature},
};
use gimli::{constants as dw, AttributeValue, UnitOffset};

/// One member of a type, anonymous members flattened into their parent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MemberDesc {
    pub(crate) name: String,
    /// The offset in bits (for an enumerator: its value).
    pub(crate) bit_offset: u64,
    pub(crate) bit_size: u64,
    /// The member's type as C would write it (empty for enumerators).
    pub(crate) ty: String,
}

/// The layout of a struct, union or enum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TypeDesc {
    pub(crate) size: u64,
    pub(crate) members: Vec<MemberDesc>,
}

/// An inlined copy of a function inside another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Inlined {
    /// The inlined function's name.
    pub(crate) name: String,
    /// The addresses of its code.
    pub(crate) ranges: Vec<(u64, u64)>,
}

const MAX_DEPTH: u32 = 24;

/// One unit, opened for random access.
pub(crate) struct UnitView<'d, 'a> {
    d: &'d Dwarf<'a>,
    unit: gimli::Unit<R<'a>>,
    base: u64,
}

impl<'d, 'a> UnitView<'d, 'a> {
    pub(crate) fn open(d: &'d Dwarf<'a>, unit: u32) -> Result<Self> {
        let unit = d.unit(unit as usize)?;
        let base = offset_of(unit.header.offset());
        Ok(Self { d, unit, base })
    }

    fn entry(&self, off: usize) -> Result<gimli::DebuggingInformationEntry<R<'a>>> {
        self.unit
            .entry(UnitOffset(off))
            .map_err(|e| self.d.err(".debug_info", self.base + off as u64, e))
    }

    fn name(&self, e: &gimli::DebuggingInformationEntry<R<'a>>) -> Option<String> {
        let v = e.attr_value_raw(dw::DW_AT_name)?;
        let s = self.unit.unit_ref(&self.d.dwarf).attr_string(v).ok()?;
        Some(String::from_utf8_lossy(s.slice()).into_owned())
    }

    fn type_of(&self, e: &gimli::DebuggingInformationEntry<R<'a>>) -> Option<usize> {
        unit_ref(&self.unit.header, e.attr_value(dw::DW_AT_type)?)
    }

    /// Offsets of the children of the entry at `off`.
    fn children(&self, off: usize) -> Result<Vec<usize>> {
        let err = |e| self.d.err(".debug_info", self.base + off as u64, e);
        let mut tree = self.unit.entries_tree(Some(UnitOffset(off))).map_err(err)?;
        let root = tree.root().map_err(err)?;
        let mut children = root.children();
        let mut out = Vec::new();
        while let Some(c) = children.next().map_err(err)? {
            out.push(c.entry().offset().0);
        }
        Ok(out)
    }

    /// The type at `off` as C would write it, shallowly.
    pub(crate) fn type_name(&self, off: Option<usize>, depth: u32) -> Result<String> {
        let Some(off) = off else {
            return Ok("void".into());
        };
        if depth > MAX_DEPTH {
            return Ok("...".into());
        }
        let e = self.entry(off)?;
        let inner = |s: &Self| s.type_name(s.type_of(&e), depth + 1);
        Ok(match e.tag() {
            dw::DW_TAG_structure_type
            | dw::DW_TAG_class_type
            | dw::DW_TAG_union_type
            | dw::DW_TAG_enumeration_type => {
                let kw = match e.tag() {
                    dw::DW_TAG_union_type => "union",
                    dw::DW_TAG_enumeration_type => "enum",
                    _ => "struct",
                };
                match self.name(&e) {
                    Some(n) => format!("{kw} {n}"),
                    None => format!("{kw} {{...}}"),
                }
            }
            dw::DW_TAG_pointer_type | dw::DW_TAG_reference_type => match self.type_of(&e) {
                Some(f) if self.entry(f)?.tag() == dw::DW_TAG_subroutine_type => {
                    let (ret, params) = self.subroutine_parts(f, depth + 1)?;
                    format!("{ret} (*)({params})")
                }
                _ => format!("{} *", inner(self)?),
            },
            dw::DW_TAG_const_type => format!("const {}", inner(self)?),
            dw::DW_TAG_volatile_type => format!("volatile {}", inner(self)?),
            dw::DW_TAG_restrict_type => format!("{} restrict", inner(self)?),
            dw::DW_TAG_atomic_type => format!("_Atomic {}", inner(self)?),
            dw::DW_TAG_array_type => {
                let mut s = inner(self)?;
                for c in self.children(off)? {
                    let sub = self.entry(c)?;
                    let n = sub.attr(dw::DW_AT_count).and_then(constant).or_else(|| {
                        sub.attr(dw::DW_AT_upper_bound)
                            .and_then(constant)
                            .map(|u| u.wrapping_add(1))
                    });
                    match n {
                        Some(n) => s.push_str(&format!("[{n}]")),
                        None => s.push_str("[]"),
                    }
                }
                s
            }
            dw::DW_TAG_subroutine_type => {
                let (ret, params) = self.subroutine_parts(off, depth)?;
                format!("{ret}({params})")
            }
            _ => self.name(&e).unwrap_or_else(|| "?".into()),
        })
    }

    /// The return type and the parameter list of the function type at `off`.
    fn subroutine_parts(&self, off: usize, depth: u32) -> Result<(String, String)> {
        let e = self.entry(off)?;
        let mut params = Vec::new();
        for c in self.children(off)? {
            let p = self.entry(c)?;
            match p.tag() {
                dw::DW_TAG_formal_parameter => {
                    params.push(self.type_name(self.type_of(&p), depth + 1)?)
                }
                dw::DW_TAG_unspecified_parameters => params.push("...".into()),
                _ => {}
            }
        }
        Ok((
            self.type_name(self.type_of(&e), depth + 1)?,
            params.join(", "),
        ))
    }

    /// The layout of the struct, union or enum at `off` (or the anonymous
    /// one a typedef at `off` names).
    pub(crate) fn describe(&self, off: usize) -> Result<TypeDesc> {
        let mut e = self.entry(off)?;
        let mut at = off;
        if e.tag() == dw::DW_TAG_typedef {
            if let Some(t) = self.type_of(&e) {
                e = self.entry(t)?;
                at = t;
            }
        }
        let size = e.attr(dw::DW_AT_byte_size).and_then(constant).unwrap_or(0);
        let mut members = Vec::new();
        self.members(at, e.tag(), "", 0, 0, &mut members)?;
        Ok(TypeDesc { size, members })
    }

    fn members(
        &self,
        off: usize,
        tag: dw::DwTag,
        prefix: &str,
        base_bits: u64,
        depth: u32,
        out: &mut Vec<MemberDesc>,
    ) -> Result<()> {
        if depth > MAX_DEPTH {
            return Ok(());
        }
        for c in self.children(off)? {
            let m = self.entry(c)?;
            match m.tag() {
                dw::DW_TAG_enumerator if tag == dw::DW_TAG_enumeration_type => {
                    out.push(MemberDesc {
                        name: self.name(&m).unwrap_or_default(),
                        bit_offset: m
                            .attr(dw::DW_AT_const_value)
                            .and_then(constant)
                            .unwrap_or(0),
                        bit_size: 0,
                        ty: String::new(),
                    });
                }
                dw::DW_TAG_member => {
                    let loc = match m.attr_value(dw::DW_AT_data_member_location) {
                        Some(AttributeValue::Exprloc(e)) => plus_uconst(e.0),
                        Some(_) => m.attr(dw::DW_AT_data_member_location).and_then(constant),
                        None => None,
                    };
                    let bits = match (
                        m.attr(dw::DW_AT_data_bit_offset).and_then(constant),
                        m.attr(dw::DW_AT_bit_offset).and_then(constant),
                    ) {
                        (Some(b), _) => b,
                        (None, Some(b)) => loc.unwrap_or(0).wrapping_mul(8).wrapping_add(b),
                        (None, None) => loc.unwrap_or(0).wrapping_mul(8),
                    };
                    let bit_offset = base_bits.wrapping_add(bits);
                    let ty = self.type_of(&m);
                    match self.name(&m) {
                        Some(n) => out.push(MemberDesc {
                            name: format!("{prefix}{n}"),
                            bit_offset,
                            bit_size: m.attr(dw::DW_AT_bit_size).and_then(constant).unwrap_or(0),
                            ty: self.type_name(ty, 0)?,
                        }),
                        None => {
                            // An anonymous struct or union: its members
                            // belong to the parent.
                            if let Some(t) = ty {
                                let te = self.entry(t)?;
                                if is_aggregate(te.tag()) {
                                    self.members(t, te.tag(), prefix, bit_offset, depth + 1, out)?;
                                }
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Follows `DW_AT_abstract_origin` / `DW_AT_specification` to the entry
    /// that declares the function's type and parameters.
    fn declaration(&self, off: usize) -> Result<usize> {
        let mut at = off;
        for _ in 0..4 {
            let e = self.entry(at)?;
            if e.attr(dw::DW_AT_type).is_some() || self.has_params(at)? {
                return Ok(at);
            }
            let origin = e
                .attr_value(dw::DW_AT_abstract_origin)
                .or_else(|| e.attr_value(dw::DW_AT_specification))
                .and_then(|v| unit_ref(&self.unit.header, v));
            match origin {
                Some(o) if o != at => at = o,
                _ => break,
            }
        }
        Ok(at)
    }

    fn has_params(&self, off: usize) -> Result<bool> {
        for c in self.children(off)? {
            let e = self.entry(c)?;
            if e.tag() == dw::DW_TAG_formal_parameter && e.attr(dw::DW_AT_type).is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The function's signature as C would write it: `int (struct foo *, long)`.
    pub(crate) fn signature(&self, off: usize) -> Result<String> {
        Ok(self.spellings(off)?.0)
    }

    /// The function's signature as C would write it (`int (struct seq_file
    /// *, void *)`), and its declaration, named as DWARF names it and its
    /// parameters (`int cmdline_proc_show(struct seq_file *m, void *v)`).
    fn spellings(&self, off: usize) -> Result<(String, String)> {
        let decl = self.declaration(off)?;
        let e = self.entry(decl)?;
        let ret = self.type_name(self.type_of(&e), 0)?;
        let mut types = Vec::new();
        let mut named = Vec::new();
        for c in self.children(decl)? {
            let p = self.entry(c)?;
            match p.tag() {
                dw::DW_TAG_formal_parameter => {
                    let ty = self.type_name(self.type_of(&p), 0)?;
                    named.push(match self.name(&p) {
                        Some(n) => declarator(&ty, &n),
                        None => ty.clone(),
                    });
                    types.push(ty);
                }
                dw::DW_TAG_unspecified_parameters => {
                    types.push("...".to_string());
                    named.push("...".to_string());
                }
                _ => {}
            }
        }
        if types.is_empty() {
            types.push("void".into());
            named.push("void".into());
        }
        let name = match self.name(&e) {
            Some(n) => n,
            None => self.name(&self.entry(off)?).unwrap_or_else(|| "?".into()),
        };
        Ok((
            format!("{ret} ({})", types.join(", ")),
            declarator(&ret, &format!("{name}({})", named.join(", "))),
        ))
    }

    /// The type at `off`, for a declaration in another language.
    pub(crate) fn ctype(&self, off: Option<usize>, depth: u32) -> Result<CType> {
        let Some(off) = off else {
            return Ok(CType::Void);
        };
        if depth > MAX_DEPTH {
            return Ok(CType::Other("...".into()));
        }
        let e = self.entry(off)?;
        let inner =
            |s: &Self| Ok::<_, crate::error::Error>(Box::new(s.ctype(s.type_of(&e), depth + 1)?));
        let size = e.attr(dw::DW_AT_byte_size).and_then(constant).unwrap_or(0);
        Ok(match e.tag() {
            dw::DW_TAG_base_type => {
                let enc = e.attr_value(dw::DW_AT_encoding);
                match enc {
                    Some(AttributeValue::Encoding(dw::DW_ATE_boolean)) => CType::Bool,
                    Some(AttributeValue::Encoding(dw::DW_ATE_float)) => CType::Float(size),
                    _ => CType::Int {
                        name: self.name(&e).unwrap_or_default(),
                        size,
                        signed: matches!(
                            enc,
                            Some(AttributeValue::Encoding(
                                dw::DW_ATE_signed | dw::DW_ATE_signed_char
                            ))
                        ),
                    },
                }
            }
            dw::DW_TAG_typedef
            | dw::DW_TAG_volatile_type
            | dw::DW_TAG_restrict_type
            | dw::DW_TAG_atomic_type => *inner(self)?,
            dw::DW_TAG_const_type => CType::Const(inner(self)?),
            dw::DW_TAG_pointer_type | dw::DW_TAG_reference_type => CType::Pointer(inner(self)?),
            dw::DW_TAG_array_type => {
                let count = self.children(off)?.first().and_then(|&c| {
                    let sub = self.entry(c).ok()?;
                    sub.attr(dw::DW_AT_count).and_then(constant).or_else(|| {
                        sub.attr(dw::DW_AT_upper_bound)
                            .and_then(constant)
                            .map(|u| u.wrapping_add(1))
                    })
                });
                CType::Array(inner(self)?, count)
            }
            dw::DW_TAG_enumeration_type => {
                let signed = match self.ctype(self.type_of(&e), depth + 1)? {
                    CType::Int { signed, .. } => signed,
                    _ => false,
                };
                CType::Enum(self.type_name(Some(off), 0)?, size, signed)
            }
            t if is_aggregate(t) => CType::Aggregate(self.type_name(Some(off), 0)?, size),
            dw::DW_TAG_subroutine_type => CType::Function,
            _ => CType::Other(self.type_name(Some(off), 0)?),
        })
    }

    /// The function's signature, parameter by parameter.
    pub(crate) fn signature_parts(&self, off: usize) -> Result<Signature> {
        let (c, declaration) = self.spellings(off)?;
        let decl = self.declaration(off)?;
        let e = self.entry(decl)?;
        let mut params = Vec::new();
        let mut variadic = false;
        for c in self.children(decl)? {
            let p = self.entry(c)?;
            match p.tag() {
                dw::DW_TAG_formal_parameter => params.push(Param {
                    name: self.name(&p),
                    ty: self.ctype(self.type_of(&p), 0)?,
                }),
                dw::DW_TAG_unspecified_parameters => variadic = true,
                _ => {}
            }
        }
        Ok(Signature {
            ret: self.ctype(self.type_of(&e), 0)?,
            params,
            variadic,
            c,
            decl: declaration,
        })
    }

    /// The function or variable `name` as this unit declares or defines it
    /// at file scope.
    pub(crate) fn declaration_of(&self, name: &[u8]) -> Result<Decl> {
        let root = self.unit.header.root_offset().0;
        for c in self.children(root)? {
            let e = self.entry(c)?;
            if !matches!(e.tag(), dw::DW_TAG_subprogram | dw::DW_TAG_variable)
                || self.name(&e).as_deref().map(str::as_bytes) != Some(name)
            {
                continue;
            }
            if e.tag() == dw::DW_TAG_subprogram {
                return Ok(Decl::Function(self.signature_parts(c)?));
            }
            let mut ty = self.type_of(&e);
            if ty.is_none() {
                if let Some(o) = e
                    .attr_value(dw::DW_AT_specification)
                    .and_then(|v| unit_ref(&self.unit.header, v))
                {
                    ty = self.type_of(&self.entry(o)?);
                }
            }
            return Ok(Decl::Variable(self.ctype(ty, 0)?, self.type_name(ty, 0)?));
        }
        Ok(Decl::Unknown)
    }

    /// Names (`struct foo`, or a typedef's name) of the aggregate types the
    /// function's parameters and local variables use, through pointers,
    /// qualifiers, arrays and typedefs. Sorted, without duplicates.
    pub(crate) fn used_types(&self, off: usize) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut todo = vec![(off, 0u32)];
        let decl = self.declaration(off)?;
        if decl != off {
            todo.push((decl, 0));
        }
        let mut seen = 0usize;
        while let Some((at, depth)) = todo.pop() {
            seen += 1;
            if depth > MAX_DEPTH || seen > 100_000 {
                break;
            }
            for c in self.children(at)? {
                let e = self.entry(c)?;
                match e.tag() {
                    dw::DW_TAG_formal_parameter | dw::DW_TAG_variable => {
                        let mut ty = self.type_of(&e);
                        if ty.is_none() {
                            if let Some(o) = e
                                .attr_value(dw::DW_AT_abstract_origin)
                                .and_then(|v| unit_ref(&self.unit.header, v))
                            {
                                ty = self.type_of(&self.entry(o)?);
                            }
                        }
                        self.aggregates(ty, 0, &mut out)?;
                    }
                    dw::DW_TAG_lexical_block | dw::DW_TAG_inlined_subroutine
                        if e.has_children() =>
                    {
                        todo.push((c, depth + 1));
                    }
                    _ => {}
                }
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The inlined copies of other functions in the function at `off`
    /// (nested ones included), each with the address ranges of its code.
    pub(crate) fn inlined(&self, off: usize) -> Result<Vec<Inlined>> {
        let mut out = Vec::new();
        let mut todo = vec![(off, 0u32)];
        let mut seen = 0usize;
        while let Some((at, depth)) = todo.pop() {
            seen += 1;
            if depth > MAX_DEPTH || seen > 100_000 {
                break;
            }
            for c in self.children(at)? {
                let e = self.entry(c)?;
                match e.tag() {
                    dw::DW_TAG_inlined_subroutine => {
                        if let Some(name) = self.origin_name(&e, 0)? {
                            out.push(Inlined {
                                name,
                                ranges: self.ranges(&e, c)?,
                            });
                        }
                        if e.has_children() {
                            todo.push((c, depth + 1));
                        }
                    }
                    dw::DW_TAG_lexical_block if e.has_children() => todo.push((c, depth + 1)),
                    _ => {}
                }
            }
        }
        Ok(out)
    }

    /// The name of the function an inlined copy or a concrete instance
    /// stands for, through its abstract origin or specification.
    fn origin_name(
        &self,
        e: &gimli::DebuggingInformationEntry<R<'a>>,
        depth: u32,
    ) -> Result<Option<String>> {
        if let Some(n) = self.name(e) {
            return Ok(Some(n));
        }
        if depth > 4 {
            return Ok(None);
        }
        let origin = [dw::DW_AT_abstract_origin, dw::DW_AT_specification]
            .into_iter()
            .find_map(|a| e.attr_value(a))
            .and_then(|v| unit_ref(&self.unit.header, v));
        match origin {
            Some(o) => self.origin_name(&self.entry(o)?, depth + 1),
            None => Ok(None),
        }
    }

    /// The address ranges of the entry `e` at `off`.
    fn ranges(
        &self,
        e: &gimli::DebuggingInformationEntry<R<'a>>,
        off: usize,
    ) -> Result<Vec<(u64, u64)>> {
        let err = |x| self.d.err(".debug_rnglists", self.base + off as u64, x);
        let mut it = self
            .unit
            .unit_ref(&self.d.dwarf)
            .die_ranges(e)
            .map_err(err)?;
        let mut out = Vec::new();
        while let Some(r) = it.next().map_err(err)? {
            if r.end > r.begin {
                out.push((r.begin, r.end));
            }
        }
        Ok(out)
    }

    fn aggregates(&self, ty: Option<usize>, depth: u32, out: &mut Vec<String>) -> Result<()> {
        let Some(off) = ty else { return Ok(()) };
        if depth > MAX_DEPTH {
            return Ok(());
        }
        let e = self.entry(off)?;
        match e.tag() {
            t if is_aggregate(t) && e.attr(dw::DW_AT_name).is_some() => {
                out.push(self.type_name(Some(off), 0)?);
            }
            dw::DW_TAG_typedef => {
                if let Some(n) = self.name(&e) {
                    out.push(n);
                }
                self.aggregates(self.type_of(&e), depth + 1, out)?;
            }
            dw::DW_TAG_pointer_type
            | dw::DW_TAG_reference_type
            | dw::DW_TAG_const_type
            | dw::DW_TAG_volatile_type
            | dw::DW_TAG_restrict_type
            | dw::DW_TAG_atomic_type
            | dw::DW_TAG_array_type => self.aggregates(self.type_of(&e), depth + 1, out)?,
            _ => {}
        }
        Ok(())
    }
}

/// The C declarator of `inner` (a name, or a function's name and
/// parameters) of the type C writes `ty`: `struct foo *` and `m` give
/// `struct foo *m`, `int (*)(void)` and `f` give `int (*f)(void)`,
/// `char[16]` and `s` give `char s[16]`.
fn declarator(ty: &str, inner: &str) -> String {
    if let Some(at) = ty.find("(*)") {
        format!("{}(*{inner}){}", &ty[..at], &ty[at + 3..])
    } else if let Some(at) = ty.find('[') {
        format!("{} {inner}{}", &ty[..at], &ty[at..])
    } else if ty.ends_with('*') {
        format!("{ty}{inner}")
    } else {
        format!("{ty} {inner}")
    }
}

#[cfg(test)]
mod tests {
    use super::declarator;

    #[test]
    fn a_declarator_names_what_c_would() {
        assert_eq!(declarator("struct seq_file *", "m"), "struct seq_file *m");
        assert_eq!(declarator("long int", "x"), "long int x");
        assert_eq!(declarator("int (*)(void *)", "cb"), "int (*cb)(void *)");
        assert_eq!(declarator("char[16]", "comm"), "char comm[16]");
        assert_eq!(
            declarator("int", "cmdline_proc_show(struct seq_file *m, void *v)"),
            "int cmdline_proc_show(struct seq_file *m, void *v)"
        );
    }
}
