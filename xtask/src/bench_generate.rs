//! `cargo xtask bench generate`: `cargo xtask generate` next to upstream's
//! klp-build (`scripts/livepatch/klp-build` of the same kernel source), on
//! the patches of `kmod/corpus/`, against one x86_64 tree and config (the
//! corpus kernel's), each module then proven by the same test in the same
//! guest.
//!
//! klp-build works only in a kernel tree built in place, which it cleans and
//! builds itself; so the bench keeps a copy of the source in the cache, with
//! the corpus kernel's `.config` (x86_64 selects `CONFIG_KLP_BUILD`). Its
//! first patch pays for that full build of the original kernel, as it does
//! for a user; the others start at its step 2 (`-S 2`), reusing the original
//! objects it kept (`-T`), as a user patching one kernel again would. Then the
//! tree is brought back to the original kernel (klp-build leaves the patched
//! objects behind), `cargo xtask generate --kdir` runs on it, and the guest
//! boots that tree's kernel twice: with klp-build's modules, with ours.

use crate::{
    arch::Arch,
    cache::Cache,
    corpus, generate, kernel, qemu, run, setup,
    signing::{self, SigningKey},
};
use anyhow::{bail, Result};
use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

/// The arguments klp-build gives `make` for both of its kernel builds
/// (`build_kernel()`): the bench's own build of the tree uses the same, so
/// that it recompiles only what a patch changed.
const KLP_BUILD_MAKE_ARGS: &[&str] = &[
    "KBUILD_MODPOST_WARN=1",
    "KLP_SYMIDS=1",
    "KCFLAGS=-ffunction-sections -fdata-sections",
];

/// `cargo xtask bench generate`.
#[derive(clap::Args, Debug)]
pub struct GenerateBench {
    /// Only these cases of `kmod/corpus/` (default: all).
    #[arg(long = "case", value_name = "NAME")]
    cases: Vec<String>,
}

/// What one tool made of one case.
struct Made {
    /// The module, or why there is none.
    ko: Result<PathBuf, String>,
    seconds: f64,
}

impl GenerateBench {
    pub fn run(self, cache: &Cache) -> Result<()> {
        let tc = setup::ensure(cache, false)?;
        let corpus_kernel = corpus::kernel(cache, &tc, Arch::X86_64)?;
        let mut cases = corpus::cases()?;
        if !self.cases.is_empty() {
            for want in &self.cases {
                if !cases.iter().any(|c| &c.name == want) {
                    bail!("no case `{want}` in kmod/corpus/");
                }
            }
            cases.retain(|c| self.cases.contains(&c.name));
        }
        let bench = cache.root().join("bench/generate");
        let tree = prepare_tree(cache, &tc, &corpus_kernel, &bench)?;

        let mut peer = Vec::new();
        for (i, case) in cases.iter().enumerate() {
            let kept = i > 0 && tree.join("klp-tmp/1-orig/.complete").is_file();
            peer.push(klp_build(cache, &tc, &tree, case, kept, &bench)?);
        }

        restore_original(cache, &tc, &tree)?;
        let kernel = kernel::Kernel::of_tree(&tree)?;
        let mut ours = Vec::new();
        let mut targets = Vec::new();
        for case in &cases {
            let (made, target) = generate_ours(cache, &tc, &kernel, case, &bench);
            ours.push(made);
            targets.push(target);
        }

        let peer_tests = prove(cache, &kernel, &cases, &peer, &targets, true)?;
        let our_tests = prove(cache, &kernel, &cases, &ours, &targets, false)?;
        print_table(&cases, &peer, &peer_tests, &ours, &our_tests);
        Ok(())
    }
}

/// The in-place tree klp-build works in: a copy of the source with the
/// corpus kernel's `.config`, made once per source and config.
fn prepare_tree(
    cache: &Cache,
    tc: &setup::Toolchain,
    corpus_kernel: &kernel::Kernel,
    bench: &Path,
) -> Result<PathBuf> {
    let config = std::fs::read_to_string(corpus_kernel.dir.join(".config"))?;
    let key = format!(
        "source {}\nconfig of {}\n",
        tc.source.display(),
        corpus_kernel.dir.display()
    );
    let tree = bench.join("linux");
    let stamp = bench.join("tree-key.txt");
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(key.as_str()) {
        return Ok(tree);
    }
    if tree.exists() {
        std::fs::remove_dir_all(&tree)?;
    }
    std::fs::create_dir_all(bench)?;
    run::logged(
        "copying the kernel source for klp-build (it builds in place)",
        Command::new("cp").arg("-a").arg(&tc.source).arg(&tree),
        &cache.logs().join("bench-generate-copy.log"),
    )?;
    std::fs::write(tree.join(".config"), &config)?;
    run::logged(
        "configuring it as the corpus kernel (olddefconfig)",
        tc.command("make").arg("-C").arg(&tree).arg("olddefconfig"),
        &cache.logs().join("bench-generate-config.log"),
    )?;
    let done = std::fs::read_to_string(tree.join(".config"))?;
    for option in ["CONFIG_LIVEPATCH=y", "CONFIG_KLP_BUILD=y"] {
        if !done.lines().any(|l| l == option) {
            bail!(
                "`{}` has no `{option}`, which klp-build needs",
                tree.join(".config").display()
            );
        }
    }
    std::fs::write(&stamp, key)?;
    Ok(tree)
}

/// klp-build on one case, timed: the module, or its last error line.
fn klp_build(
    cache: &Cache,
    tc: &setup::Toolchain,
    tree: &Path,
    case: &corpus::Case,
    kept: bool,
    bench: &Path,
) -> Result<Made> {
    let out = bench.join("klp-build");
    std::fs::create_dir_all(&out)?;
    let ko = out.join(format!("{}.ko", case.module));
    let _ = std::fs::remove_file(&ko);
    let log = cache
        .logs()
        .join(format!("bench-generate-klp-build-{}.log", case.name));
    let patch = peer_patch(case, &out)?;
    let mut cmd = tc.command("bash");
    cmd.current_dir(tree)
        .arg("scripts/livepatch/klp-build")
        .args(["-T", "-j", &jobs()])
        .args(if kept { &["-S", "2"][..] } else { &[] })
        .arg("-o")
        .arg(&ko)
        .arg(&patch);
    let step = format!(
        "klp-build {}{}",
        case.name,
        if kept {
            " (-S 2: the original build kept)"
        } else {
            " (with the original kernel's full build)"
        }
    );
    let start = Instant::now();
    let result = run::logged(&step, &mut cmd, &log);
    let seconds = start.elapsed().as_secs_f64();
    let ko = match result {
        Ok(()) if ko.is_file() => Ok(ko),
        Ok(()) => Err(format!("it wrote no `{}`", ko.display())),
        Err(_) => Err(last_error(&log)),
    };
    Ok(Made { ko, seconds })
}

/// The case's patch as klp-build takes it: a system call defined with
/// upstream's own helper (`KLP_SYSCALL_DEFINEn` of
/// `<linux/livepatch_helpers.h>`) in place of ours (`<klp-rs/syscall.h>`,
/// which is in the include path of our compiles only), the same lines.
fn peer_patch(case: &corpus::Case, out: &Path) -> Result<PathBuf> {
    let text = std::fs::read_to_string(&case.patch)?;
    if !text.contains("<klp-rs/syscall.h>") {
        return Ok(case.patch.clone());
    }
    let path = out.join(format!("{}.klp-build.patch", case.name));
    std::fs::write(
        &path,
        text.replace("<klp-rs/syscall.h>", "<linux/livepatch_helpers.h>")
            .replace("KLP_RS_SYSCALL_DEFINE", "KLP_SYSCALL_DEFINE"),
    )?;
    Ok(path)
}

/// What went wrong, from klp-build's log: the compiler's or linker's first
/// error if there is one (klp-build's own last line only says which build
/// failed), else its last error line.
fn last_error(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let cause = text
        .lines()
        .find(|l| l.contains("fatal error") || l.contains("undefined reference"));
    let last = text
        .lines()
        .rev()
        .find(|l| l.contains("error") || l.contains("ERROR"));
    match (cause, last) {
        (Some(c), Some(l)) => format!("{}: {}", l.trim(), c.trim()),
        (None, Some(l)) => l.trim().to_string(),
        (Some(c), None) => c.trim().to_string(),
        (None, None) => "failed, with no error line".to_string(),
    }
}

fn jobs() -> String {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .to_string()
}

/// Rebuilds the tree's original kernel with klp-build's own flags (it
/// reverts the patches' sources but leaves the patched objects), and its
/// boot image.
fn restore_original(cache: &Cache, tc: &setup::Toolchain, tree: &Path) -> Result<()> {
    // Its work directory goes too: its module build's `.cmd` files would
    // read as units of the tree.
    if tree.join("klp-tmp").exists() {
        std::fs::remove_dir_all(tree.join("klp-tmp"))?;
    }
    let mut make = tc.command("make");
    make.arg("-C")
        .arg(tree)
        .arg(format!("-j{}", jobs()))
        .args(KLP_BUILD_MAKE_ARGS)
        .args(["vmlinux", "modules", "bzImage"]);
    run::logged(
        "rebuilding the original kernel of the tree (klp-build left the patched objects)",
        &mut make,
        &cache.logs().join("bench-generate-original.log"),
    )
}

/// `cargo xtask generate --kdir TREE` on one case, timed; and the module the
/// case patches, if any.
fn generate_ours(
    cache: &Cache,
    tc: &setup::Toolchain,
    kernel: &kernel::Kernel,
    case: &corpus::Case,
    bench: &Path,
) -> (Made, Option<(String, PathBuf)>) {
    let meta = case.metadata();
    let input = generate::Input {
        patches: std::slice::from_ref(&case.patch),
        rust: case.rust.as_deref(),
        source: None,
        meta: &meta,
    };
    let start = Instant::now();
    let result = generate::generate(cache, tc, kernel, &input, &bench.join("ours"));
    let seconds = start.elapsed().as_secs_f64();
    match result {
        Ok(out) => (
            Made {
                ko: Ok(out.ko),
                seconds,
            },
            out.modules.into_iter().next(),
        ),
        Err(e) => (
            Made {
                ko: Err(format!("{e:#}").lines().next().unwrap_or("").to_string()),
                seconds,
            },
            None,
        ),
    }
}

/// Boots the tree's kernel with the modules `made` made and runs each
/// case's test; for each case, whether all of its points passed.
fn prove(
    cache: &Cache,
    kernel: &kernel::Kernel,
    cases: &[corpus::Case],
    made: &[Made],
    targets: &[Option<(String, PathBuf)>],
    sign: bool,
) -> Result<Vec<Option<bool>>> {
    let mut built = Vec::new();
    for ((case, m), target) in cases.iter().zip(made).zip(targets) {
        let Ok(ko) = &m.ko else { continue };
        built.push(corpus::Built {
            case: case.clone(),
            ko: ko.clone(),
            target: target.clone(),
        });
    }
    if built.is_empty() {
        return Ok(vec![None; cases.len()]);
    }
    if sign {
        let kos: Vec<PathBuf> = built.iter().map(|b| b.ko.clone()).collect();
        signing::sign_all(kernel, &SigningKey::of_build(kernel)?, &kos)?;
    }
    let outcome = corpus::run_guest(
        cache,
        kernel.clone(),
        &built,
        qemu::Accel::Tcg,
        corpus::Loader::Insmod,
    )?;
    eprintln!("    guest log: {}", outcome.log.display());
    Ok(cases
        .iter()
        .zip(made)
        .map(|(case, m)| {
            m.ko.is_ok().then(|| {
                let prefix = format!("{}: ", case.name);
                let mine: Vec<_> = outcome
                    .report
                    .points
                    .iter()
                    .filter(|p| p.name.starts_with(&prefix))
                    .collect();
                !mine.is_empty() && mine.iter().all(|p| p.ok)
            })
        })
        .collect())
}

fn print_table(
    cases: &[corpus::Case],
    peer: &[Made],
    peer_tests: &[Option<bool>],
    ours: &[Made],
    our_tests: &[Option<bool>],
) {
    let verdict = |m: &Made, test: Option<bool>| match (&m.ko, test) {
        (Err(why), _) => format!("refused: {why}"),
        (Ok(_), Some(true)) => "built, test passed".to_string(),
        (Ok(_), _) => "built, test FAILED".to_string(),
    };
    println!();
    println!("| case | klp-build | time | klp-rs generate | time | ratio |");
    println!("|---|---|---|---|---|---|");
    for (i, case) in cases.iter().enumerate() {
        println!(
            "| `{}` | {} | {:.1} s | {} | {:.1} s | {:.3} |",
            case.name,
            verdict(&peer[i], peer_tests[i]),
            peer[i].seconds,
            verdict(&ours[i], our_tests[i]),
            ours[i].seconds,
            ours[i].seconds / peer[i].seconds
        );
    }
    let total = |m: &[Made]| m.iter().map(|m| m.seconds).sum::<f64>();
    println!(
        "| all | | {:.1} s | | {:.1} s | {:.3} |",
        total(peer),
        total(ours),
        total(ours) / total(peer)
    );
    println!(
        "\nklp-build's first case includes its full build of the original kernel (it starts \
         with `make clean`); the others start at its step 2 (`-S 2`), reusing the original \
         objects it kept (`-T`)."
    );
}
