//! `klp`, the admin tool of klp-rs live patches.
//!
//! It reads the kernel's livepatch state (`/sys/kernel/livepatch`,
//! `/proc/<pid>/patch_state`), the metadata klp-rs patch modules carry (in
//! their `.modinfo` and under `/sys/module/<name>/klp_rs/`), and the patches
//! installed in `/lib/modules/<release>/livepatch/`; and it loads, unloads,
//! downgrades and installs patches. A patch installed by a package is
//! downgraded through its package manager ([`package`]), which, like the
//! confirmation prompt, goes through [`host`]. Every path is under
//! `--root`, so the tests run it against fake trees; the syscalls are in
//! [`sys`].

pub mod commands;
pub mod cpio;
pub mod date;
pub mod error;
pub mod host;
pub mod installed;
pub mod livepatch;
pub mod modinfo;
pub mod output;
pub mod package;
pub mod procfs;
pub mod signature;
pub mod sys;
pub mod taint;

use clap::Parser;
use std::{ffi::OsString, io::Write, path::PathBuf};

/// Inspect and manage klp-rs kernel live patches.
#[derive(Debug, Parser)]
#[command(name = "klp", version)]
struct Cli {
    /// More detail (repeat for more: `-vv`).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Print nothing but errors (the exit code tells the result).
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Print records as JSON, one object a line.
    #[arg(long, global = true)]
    json: bool,
    /// Non-interactive: do not ask before changing the system (as SUSE's
    /// `klp -n`).
    #[arg(short = 'n', long = "non-interactive", global = true)]
    non_interactive: bool,
    /// Look for /sys, /proc, /lib/modules, the lifecycle files and the
    /// package caches under this directory.
    #[arg(long, global = true, value_name = "DIR", default_value = "/")]
    root: PathBuf,
    #[command(subcommand)]
    command: commands::Command,
}

/// Runs `klp` with `args` (the first is the program name) and returns its
/// exit code: 0 success, 1 the kernel refused or a transition is still
/// running, 2 a usage or environment error. The package manager's
/// commands and the confirmation prompt go through `host`.
pub fn run(
    args: impl IntoIterator<Item = OsString>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    kernel: &mut dyn sys::Kernel,
    host: &mut dyn host::Host,
) -> u8 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let text = e.render().to_string();
            // A help text or usage error that cannot be printed has nowhere
            // to go either.
            return if e.use_stderr() {
                let _ = err.write_all(text.as_bytes());
                2
            } else {
                let _ = out.write_all(text.as_bytes());
                0
            };
        }
    };
    let mut ctx = output::Ctx {
        root: cli.root,
        verbose: cli.verbose,
        quiet: cli.quiet,
        json: cli.json,
        non_interactive: cli.non_interactive,
        out,
        err,
        kernel,
        host,
    };
    match cli.command.exec(&mut ctx) {
        Ok(code) => code,
        Err(e) => {
            let code = error::exit_code(&e);
            if !error::is_broken_pipe(&e) {
                // Nothing more can be said if the error stream is gone.
                let _ = error::print(ctx.err, &e);
            }
            code
        }
    }
}
