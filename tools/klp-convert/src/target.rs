//! The symbols of the objects a patch reaches into: `vmlinux` (its
//! `System.map`, in `/proc/kallsyms` order, plus sizes from the `vmlinux`
//! ELF when it is there) and modules (their `.o` or `.ko`, found through
//! `modules.order` files), as the kernel counts `sympos` in each.

use crate::Error;
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind, SymbolSection};
use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

/// What a symbol is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Function,
    Variable,
    /// Neither, or not known (e.g. a `NOTYPE` label).
    Other,
}

/// One symbol of an object, in the order the kernel counts `sympos`.
#[derive(Clone, Debug)]
pub struct Entry {
    pub name: String,
    pub kind: Kind,
    /// Known from an ELF symbol table, not from `System.map`.
    pub size: Option<u64>,
    /// Its address in a linked image (`System.map`); `None` in a module.
    pub addr: Option<u64>,
}

/// The symbols of one object and where they were read.
#[derive(Debug)]
pub struct ObjectSymbols {
    pub origin: PathBuf,
    pub entries: Vec<Entry>,
}

impl ObjectSymbols {
    /// The `sympos`-th symbol `name` (0: the only one).
    pub fn find(&self, name: &str, sympos: u64) -> Result<&Entry, Lookup> {
        let matches: Vec<&Entry> = self.entries.iter().filter(|e| e.name == name).collect();
        match (matches.len(), sympos) {
            (0, _) => Err(Lookup::Missing),
            (1, 0) => Ok(matches[0]),
            (n, 0) => Err(Lookup::Ambiguous(n)),
            (n, pos) if pos as usize > n => Err(Lookup::NoSuchPosition(n)),
            (_, pos) => Ok(matches[pos as usize - 1]),
        }
    }
}

/// Why a lookup failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    Missing,
    Ambiguous(usize),
    NoSuchPosition(usize),
}

/// Where to find the target objects, and those already read.
#[derive(Debug, Default)]
pub struct Targets {
    pub system_map: Option<PathBuf>,
    pub vmlinux: Option<PathBuf>,
    pub modules_orders: Vec<PathBuf>,
    cache: HashMap<String, ObjectSymbols>,
}

impl Targets {
    /// Targets of a kernel build directory `kernel` (its `System.map`,
    /// `vmlinux` and `modules.order`) and of the `modules.order` files of
    /// other module builds.
    pub fn new(kernel: Option<&Path>, modules_orders: &[PathBuf]) -> Self {
        let mut t = Self::default();
        if let Some(k) = kernel {
            t.system_map = Some(k.join("System.map"));
            t.vmlinux = Some(k.join("vmlinux")).filter(|p| p.is_file());
            let order = k.join("modules.order");
            if order.is_file() {
                t.modules_orders.push(order);
            }
        }
        t.modules_orders.extend(modules_orders.iter().cloned());
        t
    }

    /// The file whose DWARF describes `object`'s functions: `vmlinux`, or
    /// the module's object as read for its symbols.
    pub fn debug_file(&self, object: &str) -> Option<PathBuf> {
        if object == "vmlinux" {
            self.vmlinux.clone()
        } else {
            self.cache.get(object).map(|s| s.origin.clone())
        }
    }

    /// The symbols of `object` (`vmlinux` or a module name).
    pub fn object(&mut self, object: &str) -> Result<&ObjectSymbols, Error> {
        if !self.cache.contains_key(object) {
            let symbols = if object == "vmlinux" {
                self.read_vmlinux()?
            } else {
                self.read_module(object)?
            };
            self.cache.insert(object.to_string(), symbols);
        }
        Ok(&self.cache[object])
    }

    /// Adds the symbols of `object` read elsewhere (tests).
    pub fn insert(&mut self, object: &str, symbols: ObjectSymbols) {
        self.cache.insert(object.to_string(), symbols);
    }

    fn read_vmlinux(&self) -> Result<ObjectSymbols, Error> {
        let map = self.system_map.as_deref().ok_or_else(|| {
            Error::Target("no System.map of the target kernel given (`--kernel DIR`)".into())
        })?;
        let text = std::fs::read_to_string(map)
            .map_err(|e| Error::Target(format!("cannot read `{}`: {e}", map.display())))?;
        let sizes = match &self.vmlinux {
            Some(v) => elf_sizes(v)?,
            None => HashMap::new(),
        };
        let mut entries = Vec::new();
        for line in text.lines() {
            let mut f = line.split_whitespace();
            let (Some(addr), Some(ty), Some(name), None) = (f.next(), f.next(), f.next(), f.next())
            else {
                continue;
            };
            let Ok(addr) = u64::from_str_radix(addr, 16) else {
                continue;
            };
            let kind = match ty {
                "t" | "T" | "w" | "W" => Kind::Function,
                "d" | "D" | "b" | "B" | "r" | "R" | "g" | "G" | "s" | "S" | "v" | "V" => {
                    Kind::Variable
                }
                _ => Kind::Other,
            };
            entries.push(Entry {
                name: name.to_string(),
                kind,
                size: sizes.get(&(name.to_string(), addr)).copied(),
                addr: Some(addr),
            });
        }
        Ok(ObjectSymbols {
            origin: map.to_path_buf(),
            entries,
        })
    }

    fn read_module(&self, module: &str) -> Result<ObjectSymbols, Error> {
        let mut searched = Vec::new();
        for order in &self.modules_orders {
            let base = order.parent().unwrap_or(Path::new("."));
            let Ok(text) = std::fs::read_to_string(order) else {
                searched.push(format!("`{}` (unreadable)", order.display()));
                continue;
            };
            searched.push(format!("`{}`", order.display()));
            for line in text.lines() {
                let path = base.join(line.trim());
                let stem = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .unwrap_or_default();
                if stem.replace('-', "_") != module {
                    continue;
                }
                // The `.o` is complete before any `.ko` is linked; a `.ko` may
                // still be being written by a parallel link.
                let file = [path.with_extension("o"), path.with_extension("ko")]
                    .into_iter()
                    .find(|p| p.is_file())
                    .ok_or_else(|| {
                        Error::Target(format!(
                            "module `{module}` is listed in `{}` but neither `{}` nor its `.ko` exists",
                            order.display(),
                            path.with_extension("o").display()
                        ))
                    })?;
                return module_symbols(&file);
            }
        }
        Err(Error::Target(format!(
            "module `{module}` is not in any modules.order searched ({})",
            if searched.is_empty() {
                "none given: `--modules-order FILE`".to_string()
            } else {
                searched.join(", ")
            }
        )))
    }
}

/// The symbols of a module's `.o` or `.ko`, in symbol table order (the order
/// in which the kernel counts `sympos` in a loaded module).
pub fn module_symbols(path: &Path) -> Result<ObjectSymbols, Error> {
    let data = std::fs::read(path)
        .map_err(|e| Error::Target(format!("cannot read `{}`: {e}", path.display())))?;
    let file = object::File::parse(&*data)
        .map_err(|e| Error::Target(format!("cannot parse `{}`: {e}", path.display())))?;
    let mut entries = Vec::new();
    for sym in file.symbols() {
        let SymbolSection::Section(index) = sym.section() else {
            continue;
        };
        let allocated = file
            .section_by_index(index)
            .map(|s| {
                matches!(
                    s.flags(),
                    object::SectionFlags::Elf { sh_flags, .. } if sh_flags.0 & crate::elf::SHF_ALLOC != 0
                )
            })
            .unwrap_or(false);
        let Ok(name) = sym.name() else { continue };
        if !allocated || name.is_empty() {
            continue;
        }
        entries.push(Entry {
            name: name.to_string(),
            kind: match sym.kind() {
                SymbolKind::Text => Kind::Function,
                SymbolKind::Data | SymbolKind::Tls => Kind::Variable,
                _ => Kind::Other,
            },
            size: Some(sym.size()),
            addr: None,
        });
    }
    Ok(ObjectSymbols {
        origin: path.to_path_buf(),
        entries,
    })
}

/// Sizes of the symbols of a linked image, by name and address.
fn elf_sizes(path: &Path) -> Result<HashMap<(String, u64), u64>, Error> {
    let data = std::fs::read(path)
        .map_err(|e| Error::Target(format!("cannot read `{}`: {e}", path.display())))?;
    let file = object::File::parse(&*data)
        .map_err(|e| Error::Target(format!("cannot parse `{}`: {e}", path.display())))?;
    Ok(file
        .symbols()
        .filter_map(|s| Some(((s.name().ok()?.to_string(), s.address()), s.size())))
        .collect())
}
