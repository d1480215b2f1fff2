//! The diff engine on our own kernel: one translation unit of the guest
//! kernel, `kernel/livepatch/shadow.c`, compiled twice with the kernel's
//! own command line (from its `.cmd` file) plus `-g`: as it is, and with a
//! one-line change to `klp_shadow_match()`, a `static inline` helper with
//! no code of its own: GCC inlines it into `klp_shadow_get()`,
//! `klp_shadow_free()` and `klp_shadow_free_all()`. GCC also inlines
//! `klp_shadow_get()` into its one caller, `__klp_shadow_get_or_alloc()`
//! (keeping its out-of-line copy). The report must name exactly those four
//! as the functions to replace, the last as inlining `klp_shadow_get()`,
//! and nothing else.
//!
//! (The engine finds callers of a changed function through its out-of-line
//! code; a helper inlined everywhere has none, so the report names the
//! helper's callers as changed code rather than as inlining callers.)

use crate::{arch::Arch, cache::Cache, kernel, kernel::Kernel, run, setup};
use anyhow::{bail, Context, Result};
use klp_diff::{Binary, Options};
use std::{collections::BTreeSet, path::Path, process::Command};

/// `cargo xtask diff-selftest --arch A`.
#[derive(clap::Args, Debug)]
pub struct DiffSelftestCmd {
    /// Guest architecture whose kernel build is used.
    #[arg(long, default_value = "x86_64")]
    arch: Arch,
}

impl DiffSelftestCmd {
    pub fn run(self, cache: &Cache) -> Result<()> {
        let tc = setup::ensure(cache, false)?;
        let kernel = kernel::build(cache, &tc, self.arch)?;
        check(&kernel, &tc.source)
    }
}

/// The unit, the line changed and its replacement.
const UNIT: &str = "kernel/livepatch/shadow.c";
const OLD_LINE: &str = "\treturn shadow->obj == obj && shadow->id == id;\n";
const NEW_LINE: &str =
    "\treturn shadow->obj == obj && shadow->id == id && !hlist_unhashed(&shadow->node);\n";
/// The function changed, and those with an inlined copy of it.
const CHANGED: &str = "klp_shadow_match";
const CALLERS: [&str; 3] = ["klp_shadow_free", "klp_shadow_free_all", "klp_shadow_get"];
/// A caller of one of `CALLERS` with an inlined copy of it, and which.
const SECOND_HAND: (&str, &str) = ("__klp_shadow_get_or_alloc", "klp_shadow_get");

/// Builds both objects next to the checkout's outputs and checks the report.
pub fn check(kernel: &Kernel, source: &Path) -> Result<()> {
    let work = kernel.checkout_dir().join("diff-selftest");
    std::fs::create_dir_all(&work)?;
    let command = compile_command(kernel, UNIT)?;
    let original = source.join(UNIT);
    let text = std::fs::read_to_string(&original)?;
    if text.matches(OLD_LINE).count() != 1 {
        bail!(
            "`{}` no longer has exactly one `{}`",
            original.display(),
            OLD_LINE.trim()
        );
    }
    let changed = work.join("shadow.c");
    std::fs::write(&changed, text.replace(OLD_LINE, NEW_LINE))?;
    let old = work.join("old.o");
    let new = work.join("new.o");
    compile(kernel, UNIT, &command, &original, &original, &old)?;
    compile(kernel, UNIT, &command, &original, &changed, &new)?;

    let (old_bytes, new_bytes) = (std::fs::read(&old)?, std::fs::read(&new)?);
    let report = klp_diff::diff(
        &Binary::parse("old.o", &old_bytes)?,
        &Binary::parse("new.o", &new_bytes)?,
        &Options::default(),
    )?;
    let changed_fns: BTreeSet<&str> = report
        .changed_functions
        .iter()
        .map(|c| c.func.name.as_str())
        .collect();
    let callers: BTreeSet<&str> = report
        .inline_callers
        .iter()
        .map(|c| c.caller.name.as_str())
        .collect();
    let mut problems = Vec::new();
    let mut expected = BTreeSet::from(CALLERS);
    expected.insert(SECOND_HAND.0);
    if changed_fns != expected {
        problems.push(format!(
            "changed functions {changed_fns:?}, expected {expected:?}"
        ));
    }
    if callers != BTreeSet::from([SECOND_HAND.0]) {
        problems.push(format!(
            "inlining callers {callers:?}, expected {:?}",
            [SECOND_HAND.0]
        ));
    }
    if let Some(c) = report
        .inline_callers
        .iter()
        .find(|c| (c.caller.name.as_str(), c.inlines.as_str()) != SECOND_HAND)
    {
        problems.push(format!(
            "`{}` is said to inline `{}`",
            c.caller.name, c.inlines
        ));
    }
    if !(report.new_functions.is_empty()
        && report.removed_functions.is_empty()
        && report.changed_types.is_empty()
        && report.changed_data.is_empty()
        && report.unpatchable.is_empty())
    {
        problems.push("it reports more than the changed functions".into());
    }
    if problems.is_empty() {
        eprintln!(
            "==> diff of {UNIT} with a one-line change to {CHANGED}(): exactly {CALLERS:?}, which inline it, and {}(), which inlines {}()",
            SECOND_HAND.0, SECOND_HAND.1
        );
        return Ok(());
    }
    let mut text = Vec::new();
    report.write_text(&mut text)?;
    bail!(
        "the diff of {UNIT} is wrong: {}\n--- report ---\n{}",
        problems.join("; "),
        String::from_utf8_lossy(&text)
    )
}

/// The kernel build's compile command of `unit` (`kernel/livepatch/shadow.c`),
/// from its `.cmd` file.
pub fn compile_command(kernel: &Kernel, unit: &str) -> Result<String> {
    let (dir, stem) = unit_parts(unit)?;
    kernel::saved_command(&kernel.dir, &format!("{dir}/{stem}.o"))
}

fn unit_parts(unit: &str) -> Result<(&str, &str)> {
    unit.strip_suffix(".c")
        .and_then(|u| u.rsplit_once('/'))
        .with_context(|| format!("`{unit}` is not a C file in a directory of the tree"))
}

/// Runs the kernel's compile `command` of `unit` (at `original`) on
/// `source` (with DWARF) into `out`, without touching the build's own
/// outputs. The command is shell text (it quotes `-DKBUILD_MODNAME='"..."'`).
pub fn compile(
    kernel: &Kernel,
    unit: &str,
    command: &str,
    original: &Path,
    source: &Path,
    out: &Path,
) -> Result<()> {
    let dir = original.parent().context("a source file has a directory")?;
    let (unit_dir, stem) = unit_parts(unit)?;
    let object = format!("-o {unit_dir}/{stem}.o");
    let depfile = format!("-Wp,-MMD,{unit_dir}/.{stem}.o.d");
    // Only the compiler: what follows a `;` post-processes the build's own
    // object (ppc64le runs `objtool --mcount` on it).
    let compiler = command.split(';').next().unwrap_or(command);
    for needed in [&object, &depfile] {
        if !compiler.contains(needed.as_str()) {
            bail!("the compile command of {unit} has no `{needed}`");
        }
    }
    let text = compiler
        .replace(&depfile, "")
        .replace(&object, &format!("-o '{}'", out.display()))
        .replace(
            &original.display().to_string(),
            &format!("'{}'", source.display()),
        )
        // The copy is compiled under the original's name, so that its
        // statics are the same symbols of the same unit.
        + &format!(
            " -iquote '{dir}' -g -ffile-prefix-map='{}'='{dir}'",
            source.parent().unwrap_or(dir).display(),
            dir = dir.display()
        );
    run::output(
        Command::new("sh")
            .current_dir(&kernel.dir)
            .arg("-c")
            .arg(text),
    )
    .map(drop)
    .with_context(|| format!("compiling {}", source.display()))
}
