//! `cargo xtask bench`: how `cargo xtask diff` does on a real pair of
//! kernels next to the tools people use today, and bounded fuzzing runs of
//! the readers of untrusted files.
//!
//! - `bench diff [OLD NEW]`: wall time and peak memory of `cargo xtask diff`
//!   and, in the same run on the same pair, of `ddbug --diff` (crates.io),
//!   `pahole --sizes` on each file (dwarves) and `abidiff` (abigail-tools),
//!   each stopped after `--timeout` seconds. Without OLD and NEW, the pair is
//!   two successive Debian kernel debug images (`linux-image-*-amd64-dbg`
//!   from trixie-backports, through the project's apt configuration),
//!   downloaded into the cache once.
//! - `bench patched-call`, `bench transition`: what a live patch costs the
//!   patched system, in a guest with an exact clock (see `bench_guest.rs`).
//! - `bench update [OLD NEW]`: the verdict of `cargo xtask diff` on two
//!   whole kernel images (Debian's 7.2.11 and 7.2.12), timed (see
//!   `bench_update.rs`).
//! - `bench fuzz`: the `cargo fuzz` targets of `tools/fuzz/` (klp-diff's
//!   parser, klp-convert's input, klp's `.modinfo` reader), each for a
//!   bounded time, from their checked-in corpora (see `fuzz.rs`).

use crate::{cache::Cache, fuzz, run, setup::AptConfig, Failed};
use anyhow::{bail, Context, Result};
use std::{
    fs::File,
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

// A child of this module, to share `measure`.
#[path = "bench_update.rs"]
mod update;

/// The ddbug release measured.
const DDBUG_VERSION: &str = "0.6.1";

/// `cargo xtask bench`.
#[derive(clap::Args, Debug)]
pub struct BenchCmd {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand, Debug)]
enum What {
    /// Time `cargo xtask diff` next to ddbug, pahole and abidiff on one pair.
    Diff(DiffBench),
    /// Fuzz klp-diff, klp-convert and klp's readers for a bounded time.
    Fuzz(FuzzBench),
    /// The verdict on a whole stable update (vmlinux and every module).
    Update(update::UpdateBench),
    /// `cargo xtask generate` next to upstream's klp-build on the corpus.
    Generate(crate::bench_generate::GenerateBench),
    /// Instructions per call of a patched function: unpatched, the ftrace
    /// floor, C, Rust and generated livepatches, in a guest.
    PatchedCall(crate::bench_guest::GuestBench),
    /// Livepatch transition times of 1, 10 and 100 functions, idle and
    /// under load, in a guest.
    Transition(crate::bench_guest::GuestBench),
}

#[derive(clap::Args, Debug)]
struct DiffBench {
    /// The old vmlinux (default: the older of two successive Debian kernel
    /// debug images, downloaded into the cache).
    #[arg(requires = "new")]
    old: Option<PathBuf>,
    /// The new vmlinux.
    new: Option<PathBuf>,
    /// Stop each tool after this many seconds.
    #[arg(long, default_value_t = 120)]
    timeout: u64,
    /// Measure only `cargo xtask diff` (with 1 and 2 threads).
    #[arg(long)]
    ours_only: bool,
}

#[derive(clap::Args, Debug)]
struct FuzzBench {
    /// Only this target (default: every one).
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(fuzz::TARGETS))]
    target: Option<String>,
    /// How long to fuzz each target, in seconds.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
}

impl BenchCmd {
    pub fn run(self, cache: &Cache) -> Result<()> {
        match self.what {
            What::Diff(b) => b.run(cache),
            What::Fuzz(b) => b.run(cache),
            What::Update(b) => b.run(cache),
            What::Generate(b) => b.run(cache),
            What::PatchedCall(b) => b.patched_call(cache),
            What::Transition(b) => b.transition(cache),
        }
    }
}

fn bench_dir(cache: &Cache) -> PathBuf {
    cache.root().join("bench")
}

/// How a measured run ended.
enum Ended {
    Exited(i32),
    Stopped,
}

/// One measured run.
struct Measured {
    label: String,
    wall: f64,
    /// User + system CPU time.
    cpu: f64,
    peak_mb: f64,
    ended: Ended,
}

/// Runs `program args` under GNU time, its output to
/// `<bench>/out/<slug>.out`; after `timeout` seconds the program (and what
/// it started) is killed, and GNU time still reports it. Returns wall time,
/// CPU time and peak resident memory (of the process tree, as `wait4`
/// reports them).
fn measure(
    cache: &Cache,
    label: &str,
    slug: &str,
    program: &Path,
    args: &[&Path],
    timeout: u64,
) -> Result<Measured> {
    let out = bench_dir(cache).join("out");
    std::fs::create_dir_all(&out)?;
    let times = out.join(format!("{slug}.time"));
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-f")
        .arg("%e %M %U %S")
        .arg("-o")
        .arg(&times)
        .arg(program)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(File::create(out.join(format!("{slug}.out")))?)
        .stderr(File::create(out.join(format!("{slug}.err")))?);
    eprintln!("==> {label} (output: {}/{slug}.out)", out.display());
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot run `{}` (install `time`)", run::display(&cmd)))?;
    let deadline = Instant::now() + Duration::from_secs(timeout);
    let mut stopped = false;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if !stopped && Instant::now() >= deadline {
            stopped = true;
            let mut tree = descendants(child.id());
            tree.reverse();
            for pid in tree {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&times)
        .with_context(|| format!("GNU time wrote no `{}`", times.display()))?;
    let last = text.lines().last().unwrap_or_default();
    let fields: Vec<f64> = last
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(f64::NAN))
        .collect();
    let [wall, kb, user, system] = fields[..] else {
        bail!("cannot read `{}`: {text}", times.display());
    };
    let ended = match status.code() {
        _ if stopped => Ended::Stopped,
        Some(c) => Ended::Exited(c),
        None => Ended::Stopped,
    };
    Ok(Measured {
        label: label.to_string(),
        wall,
        cpu: user + system,
        peak_mb: kb / 1024.0,
        ended,
    })
}

/// The processes below `pid`, parents before children (from
/// `/proc/<pid>/task/<tid>/children`).
fn descendants(pid: u32) -> Vec<u32> {
    let mut all = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for c in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                all.push(c);
                todo.push(c);
            }
        }
    }
    all
}

impl DiffBench {
    fn run(self, cache: &Cache) -> Result<()> {
        let (old, new) = match (self.old, self.new) {
            (Some(o), Some(n)) => (o, n),
            _ => debian_pair(cache)?,
        };
        println!("old: {}\nnew: {}", old.display(), new.display());
        // Every tool then reads the files from the page cache, not the disk.
        for f in [&old, &new] {
            let mut file =
                File::open(f).with_context(|| format!("cannot read `{}`", f.display()))?;
            std::io::copy(&mut file, &mut std::io::sink())?;
        }
        let xtask = std::env::current_exe().context("cannot find the xtask binary")?;
        let diff = Path::new("diff");
        let one = Path::new("-j1");
        let mut rows = vec![measure(
            cache,
            "klp-diff (cargo xtask diff)",
            "klp-diff",
            &xtask,
            &[diff, &old, &new],
            self.timeout,
        )?];
        rows.push(measure(
            cache,
            "klp-diff, 1 thread",
            "klp-diff-j1",
            &xtask,
            &[diff, one, &old, &new],
            self.timeout,
        )?);
        if !self.ours_only {
            let ddbug = ddbug(cache)?;
            rows.push(measure(
                cache,
                "ddbug --diff",
                "ddbug",
                &ddbug,
                &[Path::new("--diff"), &old, &new],
                self.timeout,
            )?);
            let both = Path::new("pahole --sizes \"$0\" >/dev/null && pahole --sizes \"$1\"");
            rows.push(measure(
                cache,
                "pahole --sizes, each file",
                "pahole",
                Path::new("sh"),
                &[Path::new("-c"), both, &old, &new],
                self.timeout,
            )?);
            rows.push(measure(
                cache,
                "abidiff",
                "abidiff",
                Path::new("abidiff"),
                &[&old, &new],
                self.timeout,
            )?);
        }

        println!(
            "\n{:<28} {:>10} {:>10} {:>10}  ended",
            "tool", "wall (s)", "cpu (s)", "peak (MB)"
        );
        for r in &rows {
            let ended = match r.ended {
                Ended::Exited(0) => "ok".to_string(),
                Ended::Exited(c) => format!("exit status {c}"),
                Ended::Stopped => format!("stopped after {} s", self.timeout),
            };
            println!(
                "{:<28} {:>10.1} {:>10.1} {:>10.0}  {ended}",
                r.label, r.wall, r.cpu, r.peak_mb
            );
        }

        let out = bench_dir(cache).join("out");
        let ours = std::fs::read_to_string(out.join("klp-diff.out"))?;
        let single = std::fs::read_to_string(out.join("klp-diff-j1.out"))?;
        println!("\nklp-diff found:");
        for line in ours.lines().filter(|l| l.ends_with("):")) {
            println!("  {}", line.trim_end_matches(':'));
        }
        if ours != single {
            return Err(Failed(format!(
                "klp-diff printed different reports with 1 and 2 threads (see {})",
                out.display()
            ))
            .into());
        }
        println!("the same report with 1 thread and with 2");
        match rows.iter().find(|r| r.label.starts_with("klp-diff")) {
            Some(r) if !matches!(r.ended, Ended::Exited(0)) => {
                Err(Failed("klp-diff did not finish".into()).into())
            }
            _ => Ok(()),
        }
    }
}

/// ddbug, installed into the cache.
fn ddbug(cache: &Cache) -> Result<PathBuf> {
    let root = bench_dir(cache).join("ddbug");
    let bin = root.join("bin/ddbug");
    if !bin.is_file() {
        let mut cmd = Command::new("cargo");
        cmd.args(["install", "--locked", "--root"])
            .arg(&root)
            .args(["ddbug", "--version", DDBUG_VERSION]);
        run::logged(
            &format!("building ddbug {DDBUG_VERSION} (a few minutes)"),
            &mut cmd,
            &cache.logs().join("ddbug-install.log"),
        )?;
    }
    Ok(bin)
}

/// Two successive Debian kernel debug images of the newest kernel series
/// that has two in trixie-backports; returns their vmlinux files.
fn debian_pair(cache: &Cache) -> Result<(PathBuf, PathBuf)> {
    let (apt, list) = debug_images(cache)?;
    let pair = newest_pair(&list)?;
    Ok((
        vmlinux(cache, &apt, &pair[0])?,
        vmlinux(cache, &apt, &pair[1])?,
    ))
}

/// The project's apt configuration, and the amd64 kernel debug images
/// trixie-backports lists (`apt-cache search` lines).
fn debug_images(cache: &Cache) -> Result<(AptConfig, String)> {
    let apt = AptConfig::create(cache)?;
    run::logged(
        "updating the package lists of trixie-backports",
        apt.command("apt-get").arg("update"),
        &cache.logs().join("apt-bench-update.log"),
    )?;
    let list = run::output(apt.command("apt-cache").args([
        "search",
        "--names-only",
        r"^linux-image-[0-9.]+.deb[0-9]+-amd64-dbg$",
    ]))?;
    Ok((apt, list))
}

/// The newest two successive debug images of one kernel series in `list`.
fn newest_pair(list: &str) -> Result<[String; 2]> {
    let mut images: Vec<(Vec<u32>, &str)> = list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter_map(|name| {
            let version = name
                .strip_prefix("linux-image-")?
                .split('+')
                .next()?
                .split('.')
                .map(|n| n.parse().ok())
                .collect::<Option<Vec<u32>>>()?;
            (version.len() == 3).then_some((version, name))
        })
        .collect();
    images.sort();
    let pair = images
        .windows(2)
        .rev()
        .find(|w| w[0].0[..2] == w[1].0[..2])
        .with_context(|| {
            format!("trixie-backports has no two debug images of one kernel series:\n{list}")
        })?;
    Ok([pair[0].1.to_string(), pair[1].1.to_string()])
}

/// The vmlinux of a debug image package, downloaded and extracted once
/// (only the vmlinux is kept).
fn vmlinux(cache: &Cache, apt: &AptConfig, package: &str) -> Result<PathBuf> {
    let dir = bench_dir(cache).join(package);
    if let Some(v) = find_vmlinux(&dir) {
        return Ok(v);
    }
    let debs = bench_dir(cache).join("debs");
    std::fs::create_dir_all(&debs)?;
    run::logged(
        &format!("downloading {package} (about 1.2 GB)"),
        apt.command("apt-get")
            .current_dir(&debs)
            .args(["download", package]),
        &cache.logs().join("bench-download.log"),
    )?;
    let deb = std::fs::read_dir(&debs)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{package}_")) && n.ends_with(".deb"))
        })
        .with_context(|| format!("apt-get left no {package} in `{}`", debs.display()))?;
    std::fs::create_dir_all(&dir)?;
    run::logged(
        &format!("extracting the vmlinux of {package}"),
        Command::new("sh")
            .arg("-c")
            .arg("dpkg-deb --fsys-tarfile \"$0\" | tar -x -C \"$1\" --wildcards './usr/lib/debug/lib/modules/*/vmlinux'")
            .arg(&deb)
            .arg(&dir),
        &cache.logs().join("bench-extract.log"),
    )?;
    std::fs::remove_file(&deb)?;
    find_vmlinux(&dir).with_context(|| format!("`{}` has no vmlinux", deb.display()))
}

fn find_vmlinux(dir: &Path) -> Option<PathBuf> {
    let modules = dir.join("usr/lib/debug/lib/modules");
    std::fs::read_dir(modules)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("vmlinux")))
        .find(|p| p.is_file())
}

impl FuzzBench {
    fn run(self, cache: &Cache) -> Result<()> {
        let targets = match &self.target {
            Some(t) => vec![t.as_str()],
            None => fuzz::TARGETS.to_vec(),
        };
        fuzz::run(cache, &targets, self.seconds)
    }
}
