//! `cargo xtask diff OLD NEW --emit-skeleton DIR`: a Rust live patch
//! module to start from, written from the diff.
//!
//! It has every function to replace (changed, and callers with an inlined
//! copy) with its signature from the new build's DWARF, the non-exported
//! symbols their new code uses as `klp_extern!` declarations, the changed
//! layouts that need shadow variables, and the metadata to fill in. Each
//! body is `livepatch::unwritten!(...)`: the module refuses to build, naming
//! each function, until its author has written every body. Nothing is
//! stubbed that would build and run.

use anyhow::{Context, Result};
use klp_diff::{CType, Decl, Param, Reach, Reference, Replacement, Report, Signature, Why};
use std::{collections::BTreeSet, fmt::Write as _, path::Path};

/// What the skeleton is named and patches.
pub struct Spec<'a> {
    /// The module's name (`klp_fix_foo`).
    pub name: &'a str,
    /// `None` for vmlinux, else the patched module's name.
    pub object: Option<&'a str>,
    /// Where the diff came from, for the header.
    pub old: &'a str,
    pub new: &'a str,
    /// How DIR reaches `kmod/livepatch` (`../livepatch`, or an absolute
    /// path).
    pub livepatch: &'a str,
    /// The kernel source tree, cut from file names if given.
    pub tree: Option<&'a Path>,
}

impl Spec<'_> {
    fn file<'f>(&self, file: &'f str) -> &'f str {
        let cut = self.tree.and_then(|t| {
            let t = t.to_str()?;
            file.strip_prefix(t)?.strip_prefix('/')
        });
        match cut {
            Some(rest) => rest,
            None if file.is_empty() => "?",
            None => file,
        }
    }
}

/// Writes `DIR/<name>.rs` and `DIR/Kbuild`.
pub fn write(report: &Report, spec: &Spec<'_>, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let rs = dir.join(format!("{}.rs", spec.name));
    std::fs::write(&rs, render(report, spec))
        .with_context(|| format!("cannot write `{}`", rs.display()))?;
    let kbuild = dir.join("Kbuild");
    let include = if spec.livepatch.starts_with('/') {
        spec.livepatch.to_string()
    } else {
        format!("$(src)/{}", spec.livepatch)
    };
    std::fs::write(
        &kbuild,
        format!(
            "# SPDX-License-Identifier: GPL-2.0\nobj-m += {}.o\ninclude {include}/livepatch.mk\n",
            spec.name
        ),
    )
    .with_context(|| format!("cannot write `{}`", kbuild.display()))?;
    eprintln!("==> wrote {} and {}", rs.display(), kbuild.display());
    Ok(())
}

/// The module's source.
pub fn render(report: &Report, spec: &Spec<'_>) -> String {
    let mut ffi = BTreeSet::new();
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(w, "// SPDX-License-Identifier: GPL-2.0\n");
    let _ = writeln!(
        w,
        "//! Live patch skeleton, from `cargo xtask diff --emit-skeleton` of\n//! `{}`\n//! -> `{}` ({}).\n//!\n//! Write each replacement's body (each is `livepatch::unwritten!`, which\n//! refuses to build until it is written) from the new source of the\n//! function it replaces, and fill in the metadata.",
        spec.old, spec.new, report.arch
    );
    let refs: Vec<&Reference> = {
        let mut v: Vec<&Reference> = report
            .replacements
            .iter()
            .flat_map(|r| &r.references)
            .collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v.dedup_by(|a, b| a.name == b.name);
        v
    };
    let list = |w: &mut String, title: &str, reach: Reach| {
        let names: Vec<&str> = refs
            .iter()
            .filter(|r| r.reach == reach)
            .map(|r| r.name.as_str())
            .collect();
        if !names.is_empty() {
            let _ = writeln!(w, "//!\n//! {title}:");
            for n in names {
                let _ = writeln!(w, "//! - `{n}`");
            }
        }
    };
    list(
        w,
        "New in this build: the patch must carry its own copy (port it as a\n//! Rust function of this module)",
        Reach::New,
    );
    list(
        w,
        "Exported: call them as any module does (`kernel::bindings`, or an\n//! `extern \"C\"` block)",
        Reach::Exported,
    );
    list(
        w,
        "Undefined in the object and not known to be exported (pass\n//! `--exports <build>/Module.symvers` to tell): declare each in\n//! `klp_extern!` or link to it",
        Reach::Unknown,
    );
    let unchanged: Vec<String> = report
        .inline_callers
        .iter()
        .filter(|c| !c.also_changed)
        .map(|c| format!("`{}` (inlines `{}`)", c.caller.name, c.inlines))
        .collect();
    if !unchanged.is_empty() {
        let _ = writeln!(
            w,
            "//!\n//! Callers with an inlined copy of a changed function whose own code\n//! is the same in both builds (the changed part is dead there): no\n//! replacement needed:"
        );
        for c in unchanged {
            let _ = writeln!(w, "//! - {c}");
        }
    }
    let shadows: Vec<_> = report
        .changed_types
        .iter()
        .filter(|t| t.needs_shadow)
        .collect();
    if !shadows.is_empty() {
        let _ = writeln!(
            w,
            "//!\n//! Layouts that changed: existing instances keep the old one. Keep new\n//! fields in a shadow variable (`livepatch::Shadow<T>`) attached to them:"
        );
        for t in shadows {
            let used = if t.used_by.is_empty() {
                String::new()
            } else {
                format!(", used by {}", t.used_by.join(", "))
            };
            let _ = writeln!(
                w,
                "//! - `{}` ({} -> {} bytes{used}): {}",
                t.name,
                t.old_size,
                t.new_size,
                t.changes.join("; ")
            );
        }
    }
    let _ = writeln!(
        w,
        "\n#[path = \"{}/mod.rs\"]\npub mod livepatch;\n",
        spec.livepatch
    );

    let mut body = String::new();
    let relocated: Vec<&&Reference> = refs
        .iter()
        .filter(|r| r.reach == Reach::Relocation)
        .collect();
    if !relocated.is_empty() {
        let _ = writeln!(body, "livepatch::klp_extern! {{\n    {} {{", object(spec));
        for r in relocated {
            let _ = write!(body, "{}", extern_item(r, &mut ffi));
        }
        let _ = writeln!(body, "    }}\n}}\n");
    }
    let _ = writeln!(body, "livepatch::patch! {{");
    let _ = writeln!(body, "    name: \"{}\",", spec.name);
    let _ = writeln!(body, "    authors: [\"\"], // fill in: who wrote the fix");
    let _ = writeln!(
        body,
        "    description: \"\", // fill in: what it fixes, in one line"
    );
    let _ = writeln!(
        body,
        "    replace: true, // cumulative: carry every earlier fix too"
    );
    let _ = writeln!(
        body,
        "    metadata: {{\n        version: 1, // fill in: one more than the patch it replaces\n        cves: [], // fill in\n        bugs: [], // fill in\n    }},"
    );
    let _ = writeln!(body, "    {} {{", object(spec));
    for r in &report.replacements {
        let _ = write!(body, "{}", replacement(r, spec, &mut ffi));
    }
    let _ = writeln!(body, "    }}\n}}");

    if !ffi.is_empty() {
        let names: Vec<&str> = ffi.iter().copied().collect();
        let _ = writeln!(w, "use kernel::ffi::{{{}}};\n", names.join(", "));
    }
    out.push_str(&body);
    out
}

fn object(spec: &Spec<'_>) -> String {
    match spec.object {
        None => "vmlinux".into(),
        Some(m) => format!("module \"{m}\""),
    }
}

/// One `klp_extern!` item.
fn extern_item(r: &Reference, ffi: &mut BTreeSet<&'static str>) -> String {
    let pos = if r.sympos != 0 {
        format!("        #[sympos = {}]\n", r.sympos)
    } else {
        String::new()
    };
    match &r.decl {
        Decl::Function(sig) => match rust_signature(sig, Pointers::Raw, ffi) {
            Ok((params, ret)) => format!(
                "        // {}\n{pos}        unsafe fn {}({params}){ret};\n",
                c_of(sig, &r.name),
                r.name
            ),
            Err(why) => format!(
                "        // `{}`: {why}; declare it by hand\n",
                c_of(sig, &r.name)
            ),
        },
        Decl::Variable(ty, c) => match rust_type(ty, ffi) {
            Ok(t) => format!(
                "        // {c} {}\n{pos}        static {}: {t};\n",
                r.name, r.name
            ),
            Err(why) => format!("        // `{c} {}`: {why}; declare it by hand\n", r.name),
        },
        Decl::Unknown => format!(
            "        // `{}`: no DWARF declaration in its unit; declare it by hand\n",
            r.name
        ),
    }
}

/// One replacement in `patch!`.
fn replacement(r: &Replacement, spec: &Spec<'_>, ffi: &mut BTreeSet<&'static str>) -> String {
    let mut s = String::new();
    let why = match &r.why {
        Why::Changed => "changed".to_string(),
        Why::Inlines(f) => format!("changed, with an inlined copy of `{f}()`, which changed"),
    };
    let file = spec.file(&r.func.file);
    let _ = writeln!(s, "        // {}() in {file}: {why}", r.func.name);
    if r.func.name.contains('.') {
        let _ = writeln!(
            s,
            "        // a copy GCC made (`.isra`, `.constprop`, `.part`), with GCC's own\n        // calling convention: replace the functions that call it instead"
        );
        return s;
    }
    let Some(sig) = &r.signature else {
        let _ = writeln!(
            s,
            "        // no DWARF for it in the new build: write its signature by hand\n        //{} => fn livepatch_{}() {{ ... }}",
            sympos_attr(r.func.sympos),
            r.func.name
        );
        return s;
    };
    let _ = writeln!(s, "        // {}", c_of(sig, &r.func.name));
    let (params, ret) = match rust_signature(sig, Pointers::Views, ffi) {
        Ok(p) => p,
        Err(why) => {
            let _ = writeln!(s, "        // {why}: write its signature by hand");
            return s;
        }
    };
    let used: Vec<&str> = r
        .references
        .iter()
        .filter(|x| x.reach == Reach::Relocation)
        .map(|x| x.name.as_str())
        .collect();
    if !used.is_empty() {
        let _ = writeln!(s, "        // its new code uses: {}", used.join(", "));
    }
    let _ = writeln!(
        s,
        "        {}{} => fn livepatch_{}({params}){ret} {{\n            livepatch::unwritten!(\"{}\", \"{file}\")\n        }}",
        sympos_attr(r.func.sympos),
        r.func.name,
        r.func.name,
        r.func.name
    );
    s
}

fn sympos_attr(pos: u32) -> String {
    if pos == 0 {
        String::new()
    } else {
        format!("#[sympos = {pos}] ")
    }
}

/// `int foo(struct bar *, long)`.
fn c_of(sig: &Signature, name: &str) -> String {
    match sig.c.split_once(" (") {
        Some((ret, params)) => format!("{ret} {name}({params}"),
        None => format!("{name}: {}", sig.c),
    }
}

/// How a signature's pointer parameters are written.
#[derive(Clone, Copy, PartialEq)]
enum Pointers {
    /// Raw pointers, as the C declaration says (`klp_extern!`).
    Raw,
    /// A replacement's safe views where the crate has one: a pointer to a
    /// scalar is an `Option<&T>` (`const`) or `Option<&mut T>`.
    Views,
}

/// The parameter list and `-> ret` of `sig` in Rust.
fn rust_signature(
    sig: &Signature,
    pointers: Pointers,
    ffi: &mut BTreeSet<&'static str>,
) -> Result<(String, String), String> {
    if sig.variadic {
        return Err("it takes variable arguments".into());
    }
    let mut params = Vec::new();
    for (i, Param { name, ty }) in sig.params.iter().enumerate() {
        let n = match name {
            Some(n) if is_keyword(n) => format!("{n}_"),
            Some(n) => n.clone(),
            None => format!("arg{i}"),
        };
        let view = match pointers {
            Pointers::Views => scalar_view(ty, ffi),
            Pointers::Raw => None,
        };
        let t = match view {
            Some(v) => v,
            None => rust_type(ty, ffi).map_err(|e| format!("parameter `{n}`: {e}"))?,
        };
        params.push(format!("{n}: {t}"));
    }
    let ret = match &sig.ret {
        CType::Void => String::new(),
        t => format!(
            " -> {}",
            rust_type(t, ffi).map_err(|e| format!("return type: {e}"))?
        ),
    };
    Ok((params.join(", "), ret))
}

/// The safe view of a pointer to a scalar (`int *` is `Option<&mut c_int>`,
/// `const bool *` is `Option<&bool>`): NULL is `None`. The author turns an
/// `Option<&c_int>` another CPU may write into `Option<&AtomicI32>`.
fn scalar_view(t: &CType, ffi: &mut BTreeSet<&'static str>) -> Option<String> {
    let CType::Pointer(inner) = t else {
        return None;
    };
    let (reference, pointee) = match inner.as_ref() {
        CType::Const(x) => ("&", x.as_ref()),
        x => ("&mut ", x),
    };
    match pointee {
        CType::Int { .. } | CType::Bool => Some(format!(
            "Option<{reference}{}>",
            rust_type(pointee, ffi).ok()?
        )),
        _ => None,
    }
}

/// The Rust type with the C ABI of `t`: kernel FFI integers, raw
/// pointers (to `c_void` for structs, unions and functions), arrays, and
/// a byte array for a struct or union variable.
fn rust_type(t: &CType, ffi: &mut BTreeSet<&'static str>) -> Result<String, String> {
    Ok(match t {
        CType::Void => {
            ffi.insert("c_void");
            "c_void".into()
        }
        CType::Bool => "bool".into(),
        CType::Int { name, size, signed } => {
            let known = match name.as_str() {
                "char" => Some("c_char"),
                "signed char" => Some("c_schar"),
                "unsigned char" => Some("c_uchar"),
                "short int" => Some("c_short"),
                "short unsigned int" => Some("c_ushort"),
                "int" => Some("c_int"),
                "unsigned int" => Some("c_uint"),
                "long int" => Some("c_long"),
                "long unsigned int" => Some("c_ulong"),
                "long long int" => Some("c_longlong"),
                "long long unsigned int" => Some("c_ulonglong"),
                _ => None,
            };
            match known {
                Some(k) => {
                    ffi.insert(k);
                    k.into()
                }
                None => format!("{}{}", if *signed { "i" } else { "u" }, size * 8),
            }
        }
        CType::Enum(_, size, signed) => format!("{}{}", if *signed { "i" } else { "u" }, size * 8),
        CType::Float(4) => "f32".into(),
        CType::Float(8) => "f64".into(),
        CType::Float(n) => return Err(format!("a {n}-byte float")),
        CType::Const(inner) => rust_type(inner, ffi)?,
        CType::Pointer(inner) => {
            let (constness, pointee) = match inner.as_ref() {
                CType::Const(x) => ("const", x.as_ref()),
                x => ("mut", x),
            };
            let to = match pointee {
                CType::Aggregate(..) | CType::Function | CType::Void | CType::Other(_) => {
                    ffi.insert("c_void");
                    "c_void".into()
                }
                x => rust_type(x, ffi)?,
            };
            format!("*{constness} {to}")
        }
        CType::Array(elem, Some(n)) => format!("[{}; {n}]", rust_type(elem, ffi)?),
        CType::Array(_, None) => return Err("an array of unknown size".into()),
        CType::Aggregate(name, size) => format!("[u8; {size}] /* {name} */"),
        CType::Function => return Err("a function type".into()),
        CType::Other(c) => return Err(format!("`{c}` has no Rust equivalent here")),
    })
}

fn is_keyword(n: &str) -> bool {
    matches!(
        n,
        "as" | "box"
            | "break"
            | "const"
            | "continue"
            | "crate"
            | "dyn"
            | "else"
            | "enum"
            | "extern"
            | "false"
            | "fn"
            | "for"
            | "if"
            | "impl"
            | "in"
            | "let"
            | "loop"
            | "match"
            | "mod"
            | "move"
            | "mut"
            | "pub"
            | "ref"
            | "return"
            | "self"
            | "Self"
            | "static"
            | "struct"
            | "super"
            | "trait"
            | "true"
            | "type"
            | "unsafe"
            | "use"
            | "where"
            | "while"
            | "async"
            | "await"
            | "try"
            | "yield"
            | "gen"
    )
}

#[cfg(test)]
mod tests {
    use super::{render, rust_signature, rust_type, Pointers, Spec};
    use klp_diff::{
        CType, ChangedType, Decl, FunctionRef, InlineCaller, Param, Reach, Reference, Replacement,
        Report, Signature, Why,
    };
    use std::collections::BTreeSet;

    fn int() -> CType {
        CType::Int {
            name: "int".into(),
            size: 4,
            signed: true,
        }
    }

    #[test]
    fn pointers_keep_const_and_hide_structs() {
        let mut ffi = BTreeSet::new();
        let char_t = CType::Int {
            name: "char".into(),
            size: 1,
            signed: true,
        };
        let argv = CType::Pointer(Box::new(CType::Pointer(Box::new(CType::Const(Box::new(
            char_t,
        ))))));
        assert_eq!(rust_type(&argv, &mut ffi).unwrap(), "*mut *const c_char");
        let ctx = CType::Pointer(Box::new(CType::Aggregate("struct ctx".into(), 40)));
        assert_eq!(rust_type(&ctx, &mut ffi).unwrap(), "*mut c_void");
        assert!(rust_type(&CType::Function, &mut ffi).is_err());
        assert_eq!(ffi.into_iter().collect::<Vec<_>>(), ["c_char", "c_void"]);
    }

    #[test]
    fn a_replacement_sees_scalar_pointers_through_safe_views_an_extern_does_not() {
        let ulong = CType::Int {
            name: "long unsigned int".into(),
            size: 8,
            signed: false,
        };
        let param = |name: &str, ty: CType| Param {
            name: Some(name.into()),
            ty,
        };
        let sig = Signature {
            ret: int(),
            params: vec![
                param("u_ptr", CType::Pointer(Box::new(ulong))),
                param(
                    "k_ptr",
                    CType::Pointer(Box::new(CType::Const(Box::new(int())))),
                ),
                param("negp", CType::Pointer(Box::new(CType::Bool))),
                param(
                    "table",
                    CType::Pointer(Box::new(CType::Aggregate("struct ctl_table".into(), 64))),
                ),
                param("op", CType::Pointer(Box::new(CType::Function))),
            ],
            variadic: false,
            c: "int (ulong *, const int *, bool *, struct ctl_table *, ulong (*)(ulong))".into(),
            decl: "int f(ulong *u_ptr, const int *k_ptr, bool *negp, struct ctl_table *table, ulong (*op)(ulong))".into(),
        };
        let mut ffi = BTreeSet::new();
        let (views, ret) = rust_signature(&sig, Pointers::Views, &mut ffi).unwrap();
        assert_eq!(
            views,
            "u_ptr: Option<&mut c_ulong>, k_ptr: Option<&c_int>, negp: Option<&mut bool>, \
             table: *mut c_void, op: *mut c_void"
        );
        assert_eq!(ret, " -> c_int");
        let (raw, _) = rust_signature(&sig, Pointers::Raw, &mut ffi).unwrap();
        assert_eq!(
            raw,
            "u_ptr: *mut c_ulong, k_ptr: *const c_int, negp: *mut bool, \
             table: *mut c_void, op: *mut c_void"
        );
    }

    #[test]
    fn renders_a_replacement_that_refuses_to_build_and_its_externs() {
        let sig = |params: Vec<Param>, ret: CType, c: &str| Signature {
            ret,
            params,
            variadic: false,
            c: c.into(),
            decl: String::new(),
        };
        let mut report = Report {
            arch: "x86_64",
            replacements: vec![Replacement {
                func: FunctionRef {
                    name: "f".into(),
                    file: "/src/a.c".into(),
                    sympos: 2,
                },
                why: Why::Changed,
                signature: Some(sig(
                    vec![Param {
                        name: Some("type".into()),
                        ty: int(),
                    }],
                    int(),
                    "int (int)",
                )),
                references: vec![
                    Reference {
                        name: "helper".into(),
                        function: true,
                        reach: Reach::Relocation,
                        sympos: 0,
                        decl: Decl::Function(sig(
                            vec![Param {
                                name: None,
                                ty: int(),
                            }],
                            CType::Void,
                            "void (int)",
                        )),
                    },
                    Reference {
                        name: "kfree".into(),
                        function: true,
                        reach: Reach::Exported,
                        sympos: 0,
                        decl: Decl::Unknown,
                    },
                ],
            }],
            changed_types: vec![ChangedType {
                name: "struct conn".into(),
                old_size: 16,
                new_size: 24,
                changes: vec!["member `retries` added at offset 16".into()],
                used_by: vec!["f".into()],
                needs_shadow: true,
            }],
            inline_callers: vec![InlineCaller {
                caller: FunctionRef {
                    name: "g".into(),
                    file: "/src/a.c".into(),
                    sympos: 0,
                },
                inlines: "f".into(),
                also_changed: false,
            }],
            ..Report::default()
        };
        report.replacements.push(Replacement {
            func: FunctionRef {
                name: "h.isra.0".into(),
                file: "/src/a.c".into(),
                sympos: 0,
            },
            why: Why::Changed,
            signature: None,
            references: Vec::new(),
        });
        let spec = Spec {
            name: "klp_fix",
            object: Some("m"),
            old: "old.o",
            new: "new.o",
            livepatch: "../livepatch",
            tree: Some(std::path::Path::new("/src")),
        };
        let text = render(&report, &spec);
        for want in [
            "use kernel::ffi::{c_int};",
            "livepatch::klp_extern! {\n    module \"m\" {\n        // void helper(int)\n        unsafe fn helper(arg0: c_int);",
            "//! - `kfree`",
            "#[sympos = 2] f => fn livepatch_f(type_: c_int) -> c_int {\n            livepatch::unwritten!(\"f\", \"a.c\")",
            "version: 1, // fill in",
            "//! - `struct conn` (16 -> 24 bytes, used by f): member `retries` added at offset 16",
            "//! - `g` (inlines `f`)",
            "// h.isra.0() in a.c: changed\n        // a copy GCC made",
        ] {
            assert!(text.contains(want), "missing {want:?} in\n{text}");
        }
    }
}
