//! What every subcommand gets: the global options, the output streams and
//! the kernel; and the two printers of a record list (text table, JSON lines).

use crate::{host::Host, sys::Kernel};
use anyhow::bail;
use serde::Serialize;
use std::{
    io::{self, Write},
    path::{Path, PathBuf},
};

/// The context a subcommand runs in.
pub struct Ctx<'a> {
    /// Every path is under this directory (`--root`, default `/`).
    pub root: PathBuf,
    /// `-v` count: how much each record holds.
    pub verbose: u8,
    /// `-q`: print no records, notes or warnings (errors still).
    pub quiet: bool,
    /// `--json`: records as JSON, one object a line.
    pub json: bool,
    /// `-n`: never ask before changing the system.
    pub non_interactive: bool,
    /// Records go here.
    pub out: &'a mut dyn Write,
    /// Errors, warnings and progress notes go here.
    pub err: &'a mut dyn Write,
    /// Module loading and removal.
    pub kernel: &'a mut dyn Kernel,
    /// The package manager's commands and the terminal.
    pub host: &'a mut dyn Host,
}

impl Ctx<'_> {
    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Prints `records` as [`Ctx::print`] does, or, in text and when there
    /// are none, the note `none`.
    pub fn print_list<T: Serialize>(
        &mut self,
        records: &[T],
        none: &str,
        text: impl FnOnce(&mut dyn Write, &[T]) -> io::Result<()>,
    ) -> io::Result<()> {
        if records.is_empty() && !self.json {
            return self.note(none);
        }
        self.print(records, text)
    }

    /// Prints `records`: one JSON object a line under `--json`, else
    /// through `text`; nothing under `-q`.
    pub fn print<T: Serialize>(
        &mut self,
        records: &[T],
        text: impl FnOnce(&mut dyn Write, &[T]) -> io::Result<()>,
    ) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        if self.json {
            for record in records {
                serde_json::to_writer(&mut *self.out, record)?;
                writeln!(self.out)?;
            }
        } else {
            text(self.out, records)?;
        }
        self.out.flush()
    }

    /// Asks whether to go on with `what` when someone can answer: not
    /// under `-n`, and only when the standard input is a terminal. Fails,
    /// having changed nothing, on any answer but yes.
    pub fn confirm(&mut self, what: &str) -> anyhow::Result<()> {
        if self.non_interactive {
            return Ok(());
        }
        match self.host.confirm(&format!("{what}?"))? {
            None | Some(true) => Ok(()),
            Some(false) => bail!("not confirmed: nothing changed (`klp -n` does not ask)"),
        }
    }

    /// Prints a progress note on the error stream, unless `-q`.
    pub fn note(&mut self, msg: &str) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        writeln!(self.err, "{msg}")
    }

    /// Prints a warning, unless `-q`.
    pub fn warn(&mut self, err: &anyhow::Error) -> io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        let chain: Vec<String> = err.chain().map(|e| e.to_string()).collect();
        writeln!(self.err, "warning: {}", chain.join(": "))
    }
}

/// One line of a table: its cells, then lines shown indented below it.
pub struct Row {
    /// The cells, one per column.
    pub cells: Vec<String>,
    /// Detail lines (already indented as they should be shown).
    pub details: Vec<String>,
}

impl Row {
    /// A row without details.
    pub fn new(cells: Vec<String>) -> Row {
        Row {
            cells,
            details: Vec::new(),
        }
    }
}

/// Prints `header` and `rows` in columns two spaces apart; nothing when
/// `rows` is empty.
pub fn table(w: &mut dyn Write, header: &[&str], rows: &[Row]) -> io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(&row.cells) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |w: &mut dyn Write, cells: &mut dyn Iterator<Item = &str>| -> io::Result<()> {
        let mut text = String::new();
        for (i, (cell, width)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            text.extend(std::iter::repeat_n(' ', width - cell.chars().count()));
        }
        writeln!(w, "{}", text.trim_end())
    };
    line(w, &mut header.iter().copied())?;
    for row in rows {
        line(w, &mut row.cells.iter().map(String::as_str))?;
        for detail in &row.details {
            writeln!(w, "{detail}")?;
        }
    }
    Ok(())
}

/// A version for a table cell: `-` when unknown.
pub fn opt<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}
