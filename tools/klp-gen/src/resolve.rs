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
    /// Base names of the original unit's symbols.
    pub unit_names: &'a BTreeSet<String>,
}

impl UnitResolver<'_> {
    fn exporter(&self, name: &str) -> Option<String> {
        self.symvers.get(name).map(|m| {
            if m == "vmlinux" {
                m.clone()
            } else {
                m.rsplit('/').next().unwrap_or(m).replace('-', "_")
            }
        })
    }

    fn klp(&self, found: Found) -> Reach {
        Reach::Klp {
            object: self.target.object.clone(),
            name: found.name,
            sympos: found.sympos,
        }
    }

    /// The function `name` of the unit in the target: its name and
    /// `sympos` there.
    pub fn old_function(&self, name: &str) -> Result<Found, String> {
        match self.target.global(name) {
            Some(found) => Ok(found),
            None => self
                .target
                .local(self.unit_file, &crate::stem(name), self.unit_names),
        }
    }
}

impl Resolve for UnitResolver<'_> {
    fn undefined(&self, name: &str) -> Result<Reach, String> {
        // ppc64le: the module's own TOC, which the module loader provides.
        if name == ".TOC." {
            return Ok(Reach::Export(name.to_string()));
        }
        match self.exporter(name) {
            Some(by) if by == self.target.object && by != "vmlinux" => Ok(self.klp(Found {
                name: name.to_string(),
                sympos: 0,
            })),
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
            .local(self.unit_file, &crate::stem(name), self.unit_names)
            .map(|f| self.klp(f))
            .map_err(|why| format!("`{name}`: {why}"))
    }
}
