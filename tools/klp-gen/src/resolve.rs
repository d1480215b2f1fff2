//! How the code of one patched unit reaches the target kernel: by export,
//! by livepatch symbol, or not at all (a new reference to a symbol another
//! module exports, a symbol the target lacks).

use crate::{
    extract::{Reach, Resolve},
    symbols::{Found, Target},
};
use std::collections::{BTreeMap, BTreeSet};

/// The resolver of one unit.
pub struct UnitResolver<'a> {
    pub target: &'a Target,
    /// Symbol to exporter (`vmlinux` or a module path), from
    /// `Module.symvers`.
    pub symvers: &'a BTreeMap<String, String>,
    /// The unit's file name (`sysctl.c`), as its `STT_FILE` symbol says.
    pub unit_file: &'a str,
    /// Stems of the original unit's symbols.
    pub unit_names: &'a BTreeSet<String>,
    /// New global symbols of the patch's units: the module's own.
    pub internal: &'a BTreeSet<String>,
}

impl UnitResolver<'_> {
    fn exporter(&self, name: &str) -> Option<String> {
        self.symvers.get(name).map(|m| {
            if m == "vmlinux" {
                m.clone()
            } else {
                crate::units::module_name(m)
            }
        })
    }

    fn klp(&self, found: Found) -> Reach {
        Reach::Klp {
            object: self.target.object.clone(),
            name: found.name,
            sympos: found.sympos,
            function: found.function,
            size: found.size,
        }
    }

    /// The function `name` of the unit in the target: its name and
    /// `sympos` there.
    pub fn old_function(&self, name: &str) -> Result<Found, String> {
        match self.target.global(name) {
            Some(found) => Ok(found),
            None => self.target.local(self.unit_file, name, self.unit_names),
        }
    }
}

impl Resolve for UnitResolver<'_> {
    fn undefined(&self, name: &str) -> Result<Reach, String> {
        // ppc64le: the module's own TOC, which the module loader provides;
        // and what another part of the patch defines.
        if name == ".TOC." || self.internal.contains(name) {
            return Ok(Reach::Export(name.to_string()));
        }
        match self.exporter(name) {
            Some(by) if by == self.target.object && by != "vmlinux" => self
                .target
                .global(name)
                .map(|f| self.klp(f))
                .ok_or_else(|| format!("`{name}`: `{by}` exports it but has no such symbol")),
            Some(by) if by == "vmlinux" => Ok(Reach::Export(name.to_string())),
            Some(by) => Err(format!(
                "`{name}`: a new reference to a symbol the module `{by}` exports; a live patch of `{}` may not depend on another module",
                self.target.object
            )),
            None => self
                .target
                .global(name)
                .map(|f| self.klp(f))
                .ok_or_else(|| {
                    format!(
                        "`{name}`: neither exported nor defined by `{}`",
                        self.target.object
                    )
                }),
        }
    }

    fn defined(&self, name: &str, local: bool) -> Result<Reach, String> {
        if !local {
            if self.exporter(name).as_deref() == Some("vmlinux") && self.target.object == "vmlinux"
            {
                return Ok(Reach::Export(name.to_string()));
            }
            return self
                .target
                .global(name)
                .map(|f| self.klp(f))
                .ok_or_else(|| format!("`{name}`: `{}` has no such symbol", self.target.object));
        }
        self.target
            .local(self.unit_file, name, self.unit_names)
            .map(|f| self.klp(f))
            .map_err(|why| format!("`{name}`: {why}"))
    }
}
