//! The symbols of the object a patch targets (`vmlinux` or a module's
//! `.ko`), to turn a reference of the extracted code to something it does
//! not carry into a livepatch symbol `.klp.sym.<object>.<name>,<sympos>`:
//! a local symbol is looked up among the locals of its own unit (the
//! symbols after the unit's `STT_FILE` symbol), and its `sympos` counted as
//! the kernel counts it (in `vmlinux`, among the same-named symbols in
//! address order, as kallsyms sorts them; in a module, in symbol table
//! order). `Module.symvers` says what is exported, and by whom.

use crate::Error;
use object::{read::elf::ElfFile64, Endianness, Object, ObjectSymbol, SymbolKind, SymbolSection};
use std::{
    collections::{BTreeMap, BTreeSet},
    path::Path,
};

/// One symbol of the target.
#[derive(Clone, Debug)]
struct Entry {
    name: String,
    address: u64,
    size: u64,
    function: bool,
    local: bool,
    /// The unit (`STT_FILE` name) a local symbol belongs to.
    file: Option<usize>,
}

/// A symbol found in the target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// Its name there (a static local may carry another numeric suffix
    /// than in the patched unit).
    pub name: String,
    pub sympos: u64,
    /// A function (else data), and its size, in the target.
    pub function: bool,
    pub size: u64,
}

/// The symbols of one target object.
pub struct Target {
    /// `vmlinux` or the module's name.
    pub object: String,
    entries: Vec<Entry>,
    files: Vec<String>,
    by_name: BTreeMap<String, Vec<usize>>,
}

impl Target {
    /// Reads the symbol table of `path`, the linked `object`.
    pub fn read(path: &Path, object: &str) -> Result<Self, Error> {
        let data = std::fs::read(path).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            why: e.to_string(),
        })?;
        let bad = |why: String| Error::Input {
            what: format!("`{}`", path.display()),
            why,
        };
        let elf = ElfFile64::<Endianness>::parse(&*data).map_err(|e| bad(e.to_string()))?;
        let mut entries = Vec::new();
        let mut files: Vec<String> = Vec::new();
        let mut current: Option<usize> = None;
        for sym in elf.symbols() {
            let name = sym.name().unwrap_or_default();
            if sym.kind() == SymbolKind::File {
                files.push(name.to_string());
                current = Some(files.len() - 1);
                continue;
            }
            if name.is_empty() || sym.kind() == SymbolKind::Section {
                continue;
            }
            if matches!(sym.section(), SymbolSection::Undefined) {
                continue;
            }
            let local = sym.is_local();
            entries.push(Entry {
                name: name.to_string(),
                address: sym.address(),
                size: sym.size(),
                function: sym.kind() == SymbolKind::Text,
                local,
                file: if local { current } else { None },
            });
        }
        let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, e) in entries.iter().enumerate() {
            by_name.entry(e.name.clone()).or_default().push(i);
        }
        // kallsyms counts `vmlinux` symbols in address order, a module's in
        // symbol table order.
        if object == "vmlinux" {
            for list in by_name.values_mut() {
                list.sort_by_key(|&i| entries[i].address);
            }
        }
        Ok(Self {
            object: object.to_string(),
            entries,
            files,
            by_name,
        })
    }

    /// The global symbol `name`, if the target defines one.
    pub fn global(&self, name: &str) -> Option<Found> {
        let list = self.by_name.get(name)?;
        let &i = list.iter().find(|&&i| !self.entries[i].local)?;
        Some(self.found(i))
    }

    /// The local symbol `name` of the unit whose file is `file`
    /// (`sysctl.c`): of that exact name, else of its stem. Where
    /// several units have that file name, the one whose local symbols
    /// share most names with `unit_names` (the patched unit's). `Err`: not
    /// found, or more than one candidate.
    pub fn local(
        &self,
        file: &str,
        name: &str,
        unit_names: &BTreeSet<String>,
    ) -> Result<Found, String> {
        let base = crate::stem(name);
        let base = base.as_str();
        let groups: Vec<usize> = self
            .files
            .iter()
            .enumerate()
            .filter(|(_, f)| *f == file)
            .map(|(i, _)| i)
            .collect();
        if groups.is_empty() {
            return Err(format!(
                "`{}` has no symbols of a unit `{file}` (is it built with `CONFIG_KALLSYMS_ALL` and without LTO?)",
                self.object
            ));
        }
        let mut candidates: Vec<(usize, usize)> = Vec::new();
        for &g in &groups {
            // The exact name first (a numbered static local, as the
            // original unit names it), else the one of that stem.
            let mut matches: Vec<usize> = self
                .entries
                .iter()
                .enumerate()
                .filter(|(_, e)| e.file == Some(g) && e.name == name)
                .map(|(i, _)| i)
                .collect();
            if matches.is_empty() {
                matches = self
                    .entries
                    .iter()
                    .enumerate()
                    .filter(|(_, e)| e.file == Some(g) && crate::stem(&e.name) == base)
                    .map(|(i, _)| i)
                    .collect();
            }
            match matches.len() {
                0 => {}
                1 => {
                    let overlap = self
                        .entries
                        .iter()
                        .filter(|e| e.file == Some(g) && unit_names.contains(&crate::stem(&e.name)))
                        .count();
                    candidates.push((matches[0], overlap));
                }
                _ => {
                    return Err(format!(
                    "the unit `{file}` of `{}` has {} local symbols named `{base}` ({}): ambiguous",
                    self.object,
                    matches.len(),
                    matches
                        .iter()
                        .map(|&i| self.entries[i].name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                }
            }
        }
        candidates.sort_by_key(|&(_, overlap)| std::cmp::Reverse(overlap));
        match candidates[..] {
            [] => Err(format!(
                "the unit `{file}` of `{}` has no local symbol `{base}`",
                self.object
            )),
            [(i, _)] => Ok(self.found(i)),
            [(i, a), (_, b), ..] if a > b => Ok(self.found(i)),
            _ => Err(format!(
                "{} units `{file}` of `{}` have a local `{base}` and none is clearly the patched one: ambiguous local symbol",
                candidates.len(),
                self.object
            )),
        }
    }

    fn found(&self, i: usize) -> Found {
        let e = &self.entries[i];
        let name = &e.name;
        let list = &self.by_name[name];
        let sympos = if list.len() == 1 {
            0
        } else {
            list.iter()
                .position(|&j| j == i)
                .map_or(0, |p| p as u64 + 1)
        };
        Found {
            name: name.clone(),
            sympos,
            function: e.function,
            size: e.size,
        }
    }
}

/// Who exports what, from a build's `Module.symvers`: symbol to exporter
/// (`vmlinux` or a module's path). An export to a namespace only (`module:
/// kvm`, ...) is left out: the patch reaches it as any unexported symbol.
pub fn read_symvers(path: &Path) -> Result<BTreeMap<String, String>, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        why: format!("{e} (a built kernel tree has it)"),
    })?;
    Ok(text
        .lines()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let (_crc, name, module) = (f.next()?, f.next()?, f.next()?);
            let namespace = f.nth(1).unwrap_or_default();
            namespace
                .is_empty()
                .then(|| (name.to_string(), module.to_string()))
        })
        .collect())
}
