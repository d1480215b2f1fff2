//! `cargo xtask diff OLD NEW`: what changed between two builds of a kernel
//! or module, from their ELF and DWARF (the `klp-diff` engine): functions to
//! replace, callers with inlined copies, types that changed layout,
//! functions that cannot be patched. A report, or `--json` (schema in
//! README.md).

use crate::cache::Cache;
use anyhow::{Context, Result};
use klp_diff::{Binary, Mapping, Options};
use std::{
    io::{BufWriter, ErrorKind, Write},
    path::PathBuf,
};

/// `cargo xtask diff`.
#[derive(clap::Args, Debug)]
pub struct DiffCmd {
    /// The old build: a vmlinux, a module (.ko) or an object (.o), with DWARF.
    old: PathBuf,
    /// The new build, of the same architecture.
    new: PathBuf,
    /// Print one JSON document instead of the report.
    #[arg(long)]
    json: bool,
    /// Worker threads (default: one per core); the output is the same for any.
    #[arg(short = 'j', long, value_name = "N")]
    threads: Option<usize>,
}

impl DiffCmd {
    pub fn run(self, _cache: &Cache) -> Result<()> {
        let (old, new) = (Mapping::open(&self.old)?, Mapping::open(&self.new)?);
        let (old_name, new_name) = (
            self.old.display().to_string(),
            self.new.display().to_string(),
        );
        let (o, n) = std::thread::scope(|s| {
            let o = s.spawn(|| Binary::parse(&old_name, old.data()));
            let n = Binary::parse(&new_name, new.data());
            (o.join().unwrap_or_else(|p| std::panic::resume_unwind(p)), n)
        });
        let mut opts = Options::default();
        if let Some(t) = self.threads {
            opts.threads = t.max(1);
        }
        let report = klp_diff::diff(&o?, &n?, &opts)?;
        let mut out = BufWriter::new(std::io::stdout().lock());
        let written = if self.json {
            report.write_json(&mut out)
        } else {
            report.write_text(&mut out)
        }
        .and_then(|()| out.flush());
        match written {
            Err(e) if e.kind() == ErrorKind::BrokenPipe => Ok(()),
            r => r.context("cannot write the report"),
        }
    }
}
