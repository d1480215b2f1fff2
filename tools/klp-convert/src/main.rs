//! `klp-convert`: the post-link step of klp-rs patch modules (see the
//! crate's documentation); Kbuild runs it on every `.ko` it links.

use anyhow::{Context, Result};
use clap::Parser;
use klp_convert::target::Targets;
use std::{
    path::{Path, PathBuf},
    process::ExitCode,
};

/// Livepatch relocations for the unexported symbols a patch module uses.
#[derive(Parser, Debug)]
#[command(version)]
struct Cli {
    /// The target kernel's build directory (its `System.map`, `vmlinux` and
    /// `modules.order`).
    #[arg(long)]
    kernel: Option<PathBuf>,
    /// A `modules.order` of another module build whose modules patches may
    /// target (repeatable).
    #[arg(long = "modules-order")]
    modules_order: Vec<PathBuf>,
    /// Print what was converted.
    #[arg(short, long)]
    verbose: bool,
    /// The `.ko` files, rewritten in place (through a temporary file).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut targets = Targets::new(cli.kernel.as_deref(), &cli.modules_order);
    let mut status = ExitCode::SUCCESS;
    for file in &cli.files {
        match run(file, &mut targets, cli.verbose) {
            Ok(()) => {}
            Err(e) => {
                eprintln!("error: klp-convert: `{}`: {e:#}", file.display());
                status = ExitCode::from(if e.downcast_ref::<klp_convert::Error>().is_some() {
                    1
                } else {
                    2
                });
            }
        }
    }
    status
}

fn run(file: &Path, targets: &mut Targets, verbose: bool) -> Result<()> {
    let data = std::fs::read(file).with_context(|| "cannot read it")?;
    let Some((out, summary)) = klp_convert::convert(&data, targets)? else {
        return Ok(());
    };
    let tmp = file.with_extension("ko.klp-convert.tmp");
    std::fs::write(&tmp, out)
        .and_then(|()| std::fs::rename(&tmp, file))
        .inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
        .with_context(|| format!("cannot write it (through `{}`)", tmp.display()))?;
    if verbose {
        for (section, n) in &summary.sections {
            println!("{}: {section}: {n} relocation(s)", file.display());
        }
    }
    Ok(())
}
