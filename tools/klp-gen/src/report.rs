//! What a generated patch is, for review: each replaced function and why,
//! new functions and variables, every livepatch relocation, every table
//! entry carried; and the refusals, from the comparison of the units.

use crate::{extract::Extracted, module, units::Unit};
use klp_diff::{Report, Why};
use std::fmt::Write;

/// One unit's part of the patch.
pub struct UnitReport {
    pub unit: Unit,
    pub report: Report,
    pub extracted: Extracted,
    /// The name of its object in the module.
    pub part: String,
}

/// What the comparison says cannot be live-patched, one line each.
pub fn refusals(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    for d in &report.changed_data {
        // A variable the new code no longer uses stays in the running
        // kernel, harmless.
        let what = match d.change {
            "new" | "removed" => continue,
            "size" => "changed size (layout)",
            _ => "changed initial value",
        };
        out.push(format!(
            "variable `{}` [{}]: {what}; existing data cannot change in place: carry the new state in a `Shadow<T>` written in Rust (`--rust`)",
            d.var.name, d.var.file
        ));
    }
    for t in report
        .changed_types
        .iter()
        .filter(|t| t.needs_shadow && !t.used_by.is_empty())
    {
        out.push(format!(
            "type `{}`: {} ({}); used by {}: existing instances keep the old layout: carry new fields in a `Shadow<T>` (`--rust`)",
            t.name,
            t.reason(),
            t.changes.join(", "),
            t.used_by.join(", ")
        ));
    }
    for c in &report.changed_functions {
        if let Some((old, new)) = &c.signature {
            out.push(format!(
                "function `{}`: its signature changed (`{old}` -> `{new}`); callers in the running kernel pass the old arguments",
                c.func.name
            ));
        }
    }
    for u in &report.unpatchable {
        out.push(format!("function `{}`: {}", u.func.name, u.reason));
    }
    out
}

/// The report.
pub fn render(
    meta: &module::Metadata,
    patches: &[String],
    warnings: &[String],
    changed_source: &[(String, Vec<String>)],
    replacements: &[module::Replacement],
    units: &[UnitReport],
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "live patch `{}` version {}, generated from {}",
        meta.name,
        meta.version,
        patches.join(", ")
    );
    let _ = writeln!(
        s,
        "atomic replace: {}; cves: {}; bugs: {}",
        if meta.replace { "yes" } else { "no" },
        list(&meta.cves),
        list(&meta.bugs)
    );
    for w in warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    let in_source: Vec<&str> = changed_source
        .iter()
        .flat_map(|(_, f)| f.iter().map(String::as_str))
        .collect();
    for (file, functions) in changed_source {
        let names: Vec<String> = functions.iter().map(|f| format!("{f}()")).collect();
        let _ = writeln!(s, "the fix changes {file}: {}", list(&names));
    }
    for u in units {
        let _ = writeln!(
            s,
            "\n{} ({}) -> `{}`, in part {}.o",
            u.unit.source, u.unit.object, u.unit.target, u.part
        );
        let _ = writeln!(s, "  replaced functions:");
        for (old, entry) in &u.extracted.entry_points {
            let r = replacements.iter().find(|r| &r.entry_point == entry);
            let pos = r.map_or(0, |r| r.sympos);
            // Its own source changed, or the change is in code inlined
            // into it: where, from the DWARF inline ranges of the copies
            // whose code differs, and from the source.
            let own = in_source.iter().any(|f| old == f || crate::stem(old) == *f);
            let from: Vec<String> = u
                .report
                .changed_functions
                .iter()
                .find(|c| &c.func.name == old)
                .map(|c| c.changed_inlines.as_slice())
                .unwrap_or_default()
                .iter()
                // Where the fix changed the source: a copy of another
                // helper may read differently only because code around it
                // moved.
                .filter(|f| in_source.contains(&f.as_str()))
                .map(|f| format!("`{f}()`, whose source the fix changes"))
                .collect();
            let why = match (own, from.is_empty()) {
                (true, true) => "its own source changed".to_string(),
                (true, false) => format!(
                    "its own source changed, and its code inlined from {}",
                    from.join(", ")
                ),
                (false, false) => format!(
                    "the change is in its code inlined from {} (DWARF inline ranges)",
                    from.join(", ")
                ),
                (false, true) => match u
                    .report
                    .replacements
                    .iter()
                    .find(|x| &x.func.name == old)
                    .map(|x| &x.why)
                {
                    Some(Why::Inlines(f)) => {
                        format!("it has an inlined copy of `{f}`, whose code changed")
                    }
                    _ => "its code changed".to_string(),
                },
            };
            let inlined: Vec<&str> = u
                .report
                .inline_callers
                .iter()
                .filter(|c| &c.caller.name == old)
                .map(|c| c.inlines.as_str())
                .collect();
            let inl = if inlined.is_empty() {
                String::new()
            } else {
                format!(" (inlines {})", inlined.join(", "))
            };
            let _ = writeln!(s, "    {old} sympos {pos}: {why}{inl}; new code `{entry}`");
        }
        let new_fns: Vec<&str> = u
            .report
            .new_functions
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        let new_data: Vec<&str> = u
            .report
            .changed_data
            .iter()
            .filter(|d| d.change == "new")
            .map(|d| d.var.name.as_str())
            .collect();
        let _ = writeln!(s, "  new functions: {}", list(&new_fns));
        let _ = writeln!(s, "  new variables: {}", list(&new_data));
        let _ = writeln!(s, "  sections carried: {}", u.extracted.sections.join(" "));
        let _ = writeln!(
            s,
            "  livepatch relocations (symbols of the running kernel it does not export):"
        );
        if u.extracted.klp_symbols.is_empty() {
            let _ = writeln!(s, "    none");
        }
        for k in &u.extracted.klp_symbols {
            let kind = if k.function { "function" } else { "variable" };
            let _ = writeln!(s, "    {} ({kind})", k.symbol);
        }
        let _ = writeln!(s, "  exported symbols used: {}", list(&u.extracted.exports));
        let tables: Vec<String> = u
            .extracted
            .table_entries
            .iter()
            .map(|(n, c)| format!("{n} x{c}"))
            .collect();
        let _ = writeln!(s, "  table entries carried: {}", list(&tables));
    }
    s
}

fn list<S: AsRef<str>>(v: &[S]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        v.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ")
    }
}
