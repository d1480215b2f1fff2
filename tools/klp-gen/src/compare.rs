//! One unit compiled as it was and as it is now (both at once), and the
//! two objects compared by the `klp-diff` engine: what to replace, what is
//! new, what cannot be live-patched.

use crate::{compile, report, stem, units::Unit, Build, Error};
use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

/// A unit and what changed in it.
pub struct Compared {
    pub unit: Unit,
    /// The objects, original and patched.
    pub original: Vec<u8>,
    pub patched: Vec<u8>,
    pub report: klp_diff::Report,
    /// Functions whose code changed (callers with a changed inlined copy
    /// included).
    pub replaced: Vec<String>,
    /// Functions only the patched unit has.
    pub new: Vec<String>,
}

impl Compared {
    /// Compiles `unit` from the build's tree and from `tree` into `work`,
    /// and compares the two.
    pub fn run(
        build: &Build,
        unit: &Unit,
        tree: &Path,
        work: &Path,
        exports: &BTreeSet<String>,
    ) -> Result<Self, Error> {
        let (orig, new) = (
            work.join("orig").join(&unit.object),
            work.join("patched").join(&unit.object),
        );
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| compile::compile(build, unit, &build.source, &orig));
            let b = compile::compile(build, unit, tree, &new);
            (a.join().unwrap_or_else(|p| std::panic::resume_unwind(p)), b)
        });
        a?;
        b?;
        let (original, patched) = (read(&orig)?, read(&new)?);
        let fail = |what: &str, e: klp_diff::Error| Error::Input {
            what: format!("{what} of `{}`", unit.object),
            why: e.to_string(),
        };
        let old_bin = klp_diff::Binary::parse(&unit.object, &original)
            .map_err(|e| fail("the original", e))?;
        let new_bin =
            klp_diff::Binary::parse(&unit.object, &patched).map_err(|e| fail("the patched", e))?;
        let report = klp_diff::diff(
            &old_bin,
            &new_bin,
            &klp_diff::Options {
                describe: true,
                exports: exports.clone(),
                ..klp_diff::Options::default()
            },
        )
        .map_err(|e| fail("the comparison", e))?;
        // A caller with an inlined copy of a changed function is among
        // them if its own code changed (it may not: the copy can be dead).
        let replaced: Vec<String> = report
            .changed_functions
            .iter()
            .map(|c| c.func.name.clone())
            .collect();
        let new = report
            .new_functions
            .iter()
            .map(|f| f.name.clone())
            .collect();
        Ok(Self {
            unit: unit.clone(),
            original,
            patched,
            report,
            replaced,
            new,
        })
    }

    /// Whether the unit changed at all.
    pub fn changed(&self) -> bool {
        !self.replaced.is_empty() || !self.new.is_empty() || !self.refusals().is_empty()
    }

    /// What cannot be live-patched in it. A removed `static` function is
    /// fine (its callers, all in the unit, changed too and are replaced);
    /// a removed global one is not: other units still call it.
    pub fn refusals(&self) -> Vec<String> {
        let mut out = report::refusals(&self.report);
        let globals = names(&self.original, |s| {
            use object::ObjectSymbol;
            s.is_global()
        });
        for f in &self.report.removed_functions {
            if globals.contains(&f.name) {
                out.push(format!(
                    "function `{}` [{}]: removed; the rest of the kernel still calls it",
                    f.name, f.file
                ));
            }
        }
        out
    }

    /// The stems of the symbols the original object defines.
    pub fn original_names(&self) -> BTreeSet<String> {
        names(&self.original, |_| true)
    }

    /// The global symbols only the patched object defines: the patch
    /// module's own, for the other units' parts to link to.
    pub fn new_globals(&self) -> BTreeSet<String> {
        let old = self.original_names();
        names(&self.patched, |s| {
            use object::ObjectSymbol;
            s.is_global()
        })
        .into_iter()
        .filter(|n| !old.contains(n))
        .collect()
    }
}

/// The stems of the defined symbols of `data` that `keep` keeps.
fn names(data: &[u8], keep: impl Fn(&object::Symbol<'_, '_>) -> bool) -> BTreeSet<String> {
    use object::{Object, ObjectSymbol};
    let Ok(file) = object::File::parse(data) else {
        return BTreeSet::new();
    };
    file.symbols()
        .filter(|s| s.is_definition() && keep(s))
        .filter_map(|s| s.name().ok().map(stem))
        .collect()
}

fn read(path: &PathBuf) -> Result<Vec<u8>, Error> {
    std::fs::read(path).map_err(|e| Error::Io {
        path: path.clone(),
        why: e.to_string(),
    })
}
