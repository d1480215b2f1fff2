//! The result of a comparison and its two renderings: a report for people,
//! grouped by what the patch author must do, and one JSON document with the
//! same contents (its schema is in the repository's README).

use std::io::{self, Write};

/// A function, by the name a live patch uses for it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FunctionRef {
    pub name: String,
    /// The compilation unit (source file) it is in.
    pub file: String,
    /// Its position among symbols of the same name in the old binary
    /// (`klp_func.old_sympos`), 0 if the name is unique.
    pub sympos: u32,
}

/// A function whose code changed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangedFunction {
    pub func: FunctionRef,
    pub old_size: u64,
    pub new_size: u64,
    /// Old and new signature, when they differ.
    pub signature: Option<(String, String)>,
    /// Changed types its parameters or variables use.
    pub uses_changed_types: Vec<String>,
    /// Functions inlined into it whose inlined code differs (found by the
    /// DWARF inline ranges of its copies), sorted; relocatable objects only.
    pub changed_inlines: Vec<String>,
}

/// A function with an inlined copy of a changed function.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct InlineCaller {
    pub caller: FunctionRef,
    /// The changed function inlined into it.
    pub inlines: String,
    /// Whether its own code changed too (it is then also in
    /// `changed_functions`).
    pub also_changed: bool,
}

/// A struct, union, enum (or typedef of an anonymous one) whose layout
/// changed.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangedType {
    /// `struct foo`, `union bar`, `enum baz`, or the typedef's name.
    pub name: String,
    pub old_size: u64,
    pub new_size: u64,
    /// What differs, one line each (`member `b`: offset 8 -> 16`).
    pub changes: Vec<String>,
    /// Changed functions whose parameters or variables use it.
    pub used_by: Vec<String>,
    /// Whether instances change shape (size, member offsets or types), so
    /// that new fields must live in shadow variables; false for an enum
    /// that only gained or changed values.
    pub needs_shadow: bool,
}

impl ChangedType {
    /// Why it matters, in one phrase.
    pub fn reason(&self) -> &'static str {
        if self.needs_shadow {
            "layout changed: existing instances cannot change in place; use a shadow variable"
        } else {
            "values changed: same size and layout"
        }
    }
}

/// A variable that changed, appeared or disappeared.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ChangedData {
    pub var: FunctionRef,
    /// `new`, `removed`, `size` or `value`.
    pub change: &'static str,
    pub old_size: Option<u64>,
    pub new_size: Option<u64>,
}

/// A function that must be replaced but cannot be.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unpatchable {
    pub func: FunctionRef,
    pub reason: String,
}

/// Everything `klp-diff` found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub arch: &'static str,
    pub changed_functions: Vec<ChangedFunction>,
    /// Functions whose code differs only in line numbers.
    pub line_only_functions: Vec<FunctionRef>,
    /// Functions whose code differs only in the kernel version it names
    /// (with `Options::ignore_release`); not part of the text or JSON
    /// report.
    pub release_only_functions: Vec<FunctionRef>,
    pub new_functions: Vec<FunctionRef>,
    pub removed_functions: Vec<FunctionRef>,
    pub inline_callers: Vec<InlineCaller>,
    pub changed_types: Vec<ChangedType>,
    pub changed_data: Vec<ChangedData>,
    pub unpatchable: Vec<Unpatchable>,
    /// What the author needs for each function to replace (changed, or
    /// an inlining caller), if asked for (`Options::describe`); not part
    /// of the text or JSON report.
    pub replacements: Vec<crate::facts::Replacement>,
}

fn place(f: &FunctionRef) -> String {
    let mut s = f.name.clone();
    if !f.file.is_empty() {
        s.push_str(&format!(" [{}]", f.file));
    }
    if f.sympos != 0 {
        s.push_str(&format!(" sympos {}", f.sympos));
    }
    s
}

impl Report {
    /// Writes the report for people.
    pub fn write_text(&self, w: &mut impl Write) -> io::Result<()> {
        writeln!(w, "architecture: {}", self.arch)?;
        let replaced: Vec<&ChangedFunction> = self
            .changed_functions
            .iter()
            .filter(|c| !self.unpatchable.iter().any(|u| u.func == c.func))
            .collect();
        writeln!(w, "\nreplace these ({}):", replaced.len())?;
        for c in replaced {
            writeln!(w, "  {}", place(&c.func))?;
            if let Some((old, new)) = &c.signature {
                writeln!(
                    w,
                    "    signature changed: `{old}` -> `{new}`: every caller must be replaced too"
                )?;
            }
            if !c.uses_changed_types.is_empty() {
                writeln!(
                    w,
                    "    uses changed types: {}",
                    c.uses_changed_types.join(", ")
                )?;
            }
            if !c.changed_inlines.is_empty() {
                writeln!(
                    w,
                    "    changed code inlined from: {}",
                    c.changed_inlines.join(", ")
                )?;
            }
        }
        writeln!(
            w,
            "\nalso replace these callers (inlined) ({}):",
            self.inline_callers.len()
        )?;
        for c in &self.inline_callers {
            let also = if c.also_changed {
                " (its code changed: listed above)"
            } else {
                ""
            };
            writeln!(w, "  {}: inlines {}{also}", place(&c.caller), c.inlines)?;
        }
        writeln!(
            w,
            "\ncannot replace, because ... ({}):",
            self.unpatchable.len()
        )?;
        for u in &self.unpatchable {
            writeln!(w, "  {}: {}", place(&u.func), u.reason)?;
        }
        writeln!(
            w,
            "\ndata changes ({}):",
            self.changed_types.len() + self.changed_data.len()
        )?;
        for t in &self.changed_types {
            write!(w, "  {}: ", t.name)?;
            if t.old_size != t.new_size {
                write!(w, "size {} -> {}; ", t.old_size, t.new_size)?;
            }
            writeln!(w, "{}", t.reason())?;
            for c in &t.changes {
                writeln!(w, "    {c}")?;
            }
            if !t.used_by.is_empty() {
                writeln!(w, "    used by changed functions: {}", t.used_by.join(", "))?;
            }
        }
        for d in &self.changed_data {
            let what = match d.change {
                "new" => "new variable".to_string(),
                "removed" => "removed variable".to_string(),
                "size" => format!(
                    "size {} -> {}",
                    d.old_size.unwrap_or(0),
                    d.new_size.unwrap_or(0)
                ),
                _ => "initial value changed".to_string(),
            };
            writeln!(w, "  variable {}: {what}", place(&d.var))?;
        }
        writeln!(
            w,
            "\nonly line numbers changed, not replaced ({}):",
            self.line_only_functions.len()
        )?;
        for f in &self.line_only_functions {
            writeln!(w, "  {}", place(f))?;
        }
        writeln!(w, "\nnew functions ({}):", self.new_functions.len())?;
        for f in &self.new_functions {
            writeln!(w, "  {}", place(f))?;
        }
        writeln!(w, "\nremoved functions ({}):", self.removed_functions.len())?;
        for f in &self.removed_functions {
            writeln!(w, "  {}", place(f))?;
        }
        Ok(())
    }

    /// Writes the report as one JSON document.
    pub fn write_json(&self, w: &mut impl Write) -> io::Result<()> {
        let mut j = Json::new(w);
        j.open('{')?;
        j.key("arch")?;
        j.str(self.arch)?;
        j.key("changed_functions")?;
        j.list(&self.changed_functions, |j, c| {
            j.func(&c.func)?;
            j.key("old_size")?;
            j.num(c.old_size)?;
            j.key("new_size")?;
            j.num(c.new_size)?;
            j.key("signature_changed")?;
            j.raw(if c.signature.is_some() {
                "true"
            } else {
                "false"
            })?;
            if let Some((old, new)) = &c.signature {
                j.key("old_signature")?;
                j.str(old)?;
                j.key("new_signature")?;
                j.str(new)?;
            }
            j.key("uses_changed_types")?;
            j.strs(&c.uses_changed_types)?;
            j.key("changed_inlines")?;
            j.strs(&c.changed_inlines)
        })?;
        j.key("line_only_functions")?;
        j.list(&self.line_only_functions, Json::func)?;
        j.key("new_functions")?;
        j.list(&self.new_functions, Json::func)?;
        j.key("removed_functions")?;
        j.list(&self.removed_functions, Json::func)?;
        j.key("inline_callers")?;
        j.list(&self.inline_callers, |j, c| {
            j.func(&c.caller)?;
            j.key("inlines")?;
            j.str(&c.inlines)?;
            j.key("also_changed")?;
            j.raw(if c.also_changed { "true" } else { "false" })
        })?;
        j.key("changed_types")?;
        j.list(&self.changed_types, |j, t| {
            j.key("name")?;
            j.str(&t.name)?;
            j.key("old_size")?;
            j.num(t.old_size)?;
            j.key("new_size")?;
            j.num(t.new_size)?;
            j.key("changes")?;
            j.strs(&t.changes)?;
            j.key("used_by")?;
            j.strs(&t.used_by)?;
            j.key("needs_shadow")?;
            j.raw(if t.needs_shadow { "true" } else { "false" })?;
            j.key("reason")?;
            j.str(t.reason())
        })?;
        j.key("changed_data")?;
        j.list(&self.changed_data, |j, d| {
            j.func(&d.var)?;
            j.key("change")?;
            j.str(d.change)?;
            j.key("old_size")?;
            j.opt_num(d.old_size)?;
            j.key("new_size")?;
            j.opt_num(d.new_size)
        })?;
        j.key("unpatchable")?;
        j.list(&self.unpatchable, |j, u| {
            j.func(&u.func)?;
            j.key("reason")?;
            j.str(&u.reason)
        })?;
        j.close('}')?;
        writeln!(j.w)
    }
}

/// A small JSON writer: two-space indentation, keys in the order written.
pub(crate) struct Json<'w, W: Write> {
    pub(crate) w: &'w mut W,
    /// Per open container: whether something was written in it yet.
    first: Vec<bool>,
}

impl<'w, W: Write> Json<'w, W> {
    pub(crate) fn new(w: &'w mut W) -> Self {
        Self {
            w,
            first: Vec::new(),
        }
    }

    fn indent(&mut self) -> io::Result<()> {
        writeln!(self.w)?;
        for _ in 0..self.first.len() {
            self.w.write_all(b"  ")?;
        }
        Ok(())
    }

    /// Starts a value inside the current container (a comma if needed).
    fn item(&mut self) -> io::Result<()> {
        if let Some(first) = self.first.last_mut() {
            if !*first {
                self.w.write_all(b",")?;
            }
            *first = false;
            self.indent()?;
        }
        Ok(())
    }

    pub(crate) fn open(&mut self, c: char) -> io::Result<()> {
        write!(self.w, "{c}")?;
        self.first.push(true);
        Ok(())
    }

    pub(crate) fn close(&mut self, c: char) -> io::Result<()> {
        let empty = self.first.pop().unwrap_or(true);
        if !empty {
            self.indent()?;
        }
        write!(self.w, "{c}")
    }

    pub(crate) fn key(&mut self, k: &str) -> io::Result<()> {
        self.item()?;
        self.string(k)?;
        self.w.write_all(b": ")
    }

    pub(crate) fn raw(&mut self, s: &str) -> io::Result<()> {
        self.w.write_all(s.as_bytes())
    }

    pub(crate) fn num(&mut self, n: u64) -> io::Result<()> {
        self.raw(&n.to_string())
    }

    pub(crate) fn opt_num(&mut self, n: Option<u64>) -> io::Result<()> {
        match n {
            Some(n) => self.num(n),
            None => self.raw("null"),
        }
    }

    fn string(&mut self, s: &str) -> io::Result<()> {
        self.w.write_all(b"\"")?;
        for c in s.chars() {
            match c {
                '"' => self.w.write_all(b"\\\"")?,
                '\\' => self.w.write_all(b"\\\\")?,
                '\n' => self.w.write_all(b"\\n")?,
                '\t' => self.w.write_all(b"\\t")?,
                c if (c as u32) < 0x20 => write!(self.w, "\\u{:04x}", c as u32)?,
                c => write!(self.w, "{c}")?,
            }
        }
        self.w.write_all(b"\"")
    }

    pub(crate) fn str(&mut self, s: &str) -> io::Result<()> {
        self.string(s)
    }

    pub(crate) fn strs(&mut self, items: &[String]) -> io::Result<()> {
        self.w.write_all(b"[")?;
        for (i, s) in items.iter().enumerate() {
            if i > 0 {
                self.w.write_all(b", ")?;
            }
            self.string(s)?;
        }
        self.w.write_all(b"]")
    }

    pub(crate) fn func(&mut self, f: &FunctionRef) -> io::Result<()> {
        self.key("name")?;
        self.str(&f.name)?;
        self.key("file")?;
        self.str(&f.file)?;
        self.key("sympos")?;
        self.num(u64::from(f.sympos))
    }

    /// A list of objects, each written by `each` as key/value pairs.
    pub(crate) fn list<T>(
        &mut self,
        items: &[T],
        mut each: impl FnMut(&mut Self, &T) -> io::Result<()>,
    ) -> io::Result<()> {
        self.open('[')?;
        for item in items {
            self.item()?;
            self.open('{')?;
            each(self, item)?;
            self.close('}')?;
        }
        self.close(']')
    }
}
