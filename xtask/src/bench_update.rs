//! `cargo xtask bench update [OLD NEW]`: the verdict of `cargo xtask diff
//! OLD NEW` on two directories (`klp_diff::compare_images`) over a
//! distribution's whole stable update, measured: wall time, CPU time and
//! peak memory with the default number of threads and with one, the two
//! verdicts checked byte for byte, then set against the goal (the whole
//! update in at most 60 s and 2 GB).
//!
//! Without OLD and NEW, the images are Debian's amd64 debug images of two
//! successive stable kernels from trixie-backports
//! (`linux-image-7.2.11+deb13-amd64-dbg` and its 7.2.12 twin, else the
//! newest two of one series, said so), downloaded through the project's apt
//! configuration once, with only `vmlinux` and the modules extracted into
//! the cache (about 7.6 GB each).
//! Their `.ko` files are whole modules, code and DWARF (the same `.text`
//! and build id as the signed, debug-stripped ones of `linux-modules-*`),
//! not `objcopy --only-keep-debug` files: nothing else is needed. Were they
//! ever debug-only, the verdict would refuse them (code sections without
//! contents) rather than compare empty code. Compressed modules are
//! decompressed when extracted.

use super::{bench_dir, measure, Ended, Measured};
use crate::{cache::Cache, run, setup::AptConfig, Failed};
use anyhow::{Context, Result};
use std::{
    fs::File,
    path::{Path, PathBuf},
    process::Command,
};

/// The two debug images compared by default.
const PACKAGES: [&str; 2] = [
    "linux-image-7.2.11+deb13-amd64-dbg",
    "linux-image-7.2.12+deb13-amd64-dbg",
];

/// The goal: wall time in seconds, peak memory in MB.
const GOAL: (f64, f64) = (60.0, 2048.0);

/// Marks an image whose extraction finished.
const EXTRACTED: &str = ".klp-rs-extracted";

/// `cargo xtask bench update`.
#[derive(clap::Args, Debug)]
pub(super) struct UpdateBench {
    /// The old kernel image: a directory with its vmlinux and modules, with
    /// DWARF (default: Debian's 7.2.11 amd64 debug image, downloaded into
    /// the cache).
    #[arg(requires = "new")]
    old: Option<PathBuf>,
    /// The new kernel image.
    new: Option<PathBuf>,
    /// Stop each run after this many seconds.
    #[arg(long, default_value_t = 600)]
    timeout: u64,
}

impl UpdateBench {
    pub(super) fn run(self, cache: &Cache) -> Result<()> {
        let (old, new) = match (self.old, self.new) {
            (Some(o), Some(n)) => (o, n),
            _ => debian_images(cache)?,
        };
        // A missing or unreadable image fails here, before any run, with
        // what fetches one; a run that fails later prints no verdict.
        let mut files = Vec::new();
        for dir in [&old, &new] {
            let image = klp_diff::Image::scan(dir).with_context(|| {
                format!(
                    "no kernel image in `{}`: `cargo xtask bench update` without arguments \
                     downloads Debian's into the cache; by hand, `apt-get download {}` (from \
                     trixie-backports) then `dpkg-deb -x <the .deb> {}`",
                    dir.display(),
                    PACKAGES[0],
                    dir.display()
                )
            })?;
            files.extend(image.objects().map(|(_, p)| p.to_path_buf()));
        }
        println!("old: {}\nnew: {}", old.display(), new.display());
        // Both runs then read the files from the page cache, not the disk.
        let mut bytes = 0;
        for f in &files {
            let mut file =
                File::open(f).with_context(|| format!("cannot read `{}`", f.display()))?;
            bytes += std::io::copy(&mut file, &mut std::io::sink())?;
        }
        println!(
            "{} objects, {:.1} GB, read once into the page cache",
            files.len(),
            bytes as f64 / 1e9
        );

        let xtask = std::env::current_exe().context("cannot find the xtask binary")?;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let diff = Path::new("diff");
        let rows = [
            measure(
                cache,
                &format!(
                    "verdict, {threads} thread{}",
                    if threads == 1 { "" } else { "s" }
                ),
                "update",
                &xtask,
                &[diff, &old, &new],
                self.timeout,
            )?,
            measure(
                cache,
                "verdict, 1 thread",
                "update-j1",
                &xtask,
                &[diff, Path::new("-j1"), &old, &new],
                self.timeout,
            )?,
        ];
        let out = bench_dir(cache).join("out");
        for (row, slug) in rows.iter().zip(["update", "update-j1"]) {
            match row.ended {
                Ended::Exited(0) => {}
                Ended::Exited(_) | Ended::Stopped => {
                    let err = out.join(format!("{slug}.err"));
                    let tail = run::tail(&err, 20).unwrap_or_default();
                    let how = match row.ended {
                        Ended::Stopped => format!("was stopped after {} s", self.timeout),
                        _ => "failed".to_string(),
                    };
                    return Err(Failed(format!(
                        "the {} {how}: no verdict ({})\n{tail}",
                        row.label,
                        err.display()
                    ))
                    .into());
                }
            }
        }
        let verdict = std::fs::read_to_string(out.join("update.out"))?;
        let single = std::fs::read_to_string(out.join("update-j1.out"))?;

        println!();
        for line in verdict.lines().take_while(|l| !l.starts_with("by object")) {
            println!("{line}");
        }
        println!("objects with a change:");
        for line in verdict
            .lines()
            .skip_while(|l| !l.starts_with("by object"))
            .skip(1)
            .filter(|l| !l.starts_with(' '))
        {
            println!("  {line}");
        }
        println!("(the whole verdict: {})", out.join("update.out").display());

        println!(
            "\n{:<24} {:>10} {:>10} {:>10}",
            "run", "wall (s)", "cpu (s)", "peak (MB)"
        );
        for r in &rows {
            println!(
                "{:<24} {:>10.1} {:>10.1} {:>10.0}",
                r.label, r.wall, r.cpu, r.peak_mb
            );
        }
        if verdict != single {
            return Err(Failed(format!(
                "the verdicts with {threads} threads and with 1 differ (see {})",
                out.display()
            ))
            .into());
        }
        println!("the same verdict with {threads} threads and with 1");
        println!("{}", goal(&rows[0]));
        Ok(())
    }
}

/// The run set against the goal, in one line.
fn goal(r: &Measured) -> String {
    let met = r.wall <= GOAL.0 && r.peak_mb <= GOAL.1;
    format!(
        "goal: the whole update in at most {:.0} s and {:.0} MB: {} ({:.1} s, {:.0} MB)",
        GOAL.0,
        GOAL.1,
        if met { "met" } else { "missed" },
        r.wall,
        r.peak_mb
    )
}

/// The two debug images, extracted into the cache once: `PACKAGES`, or
/// if trixie-backports no longer has them, the newest two successive ones
/// of one kernel series.
fn debian_images(cache: &Cache) -> Result<(PathBuf, PathBuf)> {
    let dir = |p: &str| bench_dir(cache).join("update").join(p);
    if PACKAGES.iter().all(|p| dir(p).join(EXTRACTED).is_file()) {
        return Ok((dir(PACKAGES[0]), dir(PACKAGES[1])));
    }
    let (apt, list) = super::debug_images(cache)?;
    let pair = choose(&list)?;
    if pair != PACKAGES.map(str::to_string) {
        println!(
            "{} and {} are not both in trixie-backports: comparing {} with {}",
            PACKAGES[0], PACKAGES[1], pair[0], pair[1]
        );
    }
    Ok((
        extract(cache, &apt, &pair[0], &dir(&pair[0]))?,
        extract(cache, &apt, &pair[1], &dir(&pair[1]))?,
    ))
}

/// `PACKAGES` if `apt-cache search` (its output `list`) found both, else
/// the newest two successive debug images of one series (`7.2.11`,
/// `7.2.12`).
fn choose(list: &str) -> Result<[String; 2]> {
    let names: Vec<&str> = list
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    if PACKAGES.iter().all(|p| names.contains(p)) {
        return Ok(PACKAGES.map(str::to_string));
    }
    super::newest_pair(list)
}

/// Downloads the debug image `package` and extracts its `vmlinux` and
/// modules into `dir` (decompressing modules if they are compressed),
/// unless an earlier run did; the package itself is not kept.
fn extract(cache: &Cache, apt: &AptConfig, package: &str, dir: &Path) -> Result<PathBuf> {
    if dir.join(EXTRACTED).is_file() {
        return Ok(dir.to_path_buf());
    }
    let debs = bench_dir(cache).join("debs");
    std::fs::create_dir_all(&debs)?;
    let mut download = apt.command("apt-get");
    download.current_dir(&debs).args(["download", package]);
    run::logged(
        &format!("downloading {package} (about 1.2 GB)"),
        &mut download,
        &cache.logs().join("bench-update-download.log"),
    )
    .with_context(|| {
        format!(
            "cannot fetch {package}; by hand: `cd {} && {}`",
            debs.display(),
            run::display(&download)
        )
    })?;
    let deb = std::fs::read_dir(&debs)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{package}_")) && n.ends_with(".deb"))
        })
        .with_context(|| format!("apt-get left no {package} in `{}`", debs.display()))?;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir)?;
    run::logged(
        &format!("extracting the vmlinux and modules of {package} (about 7.6 GB)"),
        Command::new("sh")
            .arg("-c")
            .arg(
                "dpkg-deb --fsys-tarfile \"$0\" | tar -x -C \"$1\" --wildcards \
                 './usr/lib/debug/lib/modules/*/vmlinux' './usr/lib/debug/lib/modules/*/kernel/*'",
            )
            .arg(&deb)
            .arg(dir),
        &cache.logs().join("bench-update-extract.log"),
    )?;
    if has_compressed(dir)? {
        run::logged(
            "decompressing the modules",
            Command::new("sh")
                .arg("-c")
                .arg(
                    "find \"$0\" \\( -name '*.ko.xz' -exec xz -d {} + \\) \
                     -o \\( -name '*.ko.zst' -exec zstd -d -q --rm {} + \\) \
                     -o \\( -name '*.ko.gz' -exec gzip -d {} + \\)",
                )
                .arg(dir),
            &cache.logs().join("bench-update-decompress.log"),
        )?;
    }
    std::fs::remove_file(&deb)?;
    klp_diff::Image::scan(dir)
        .with_context(|| format!("`{}` holds no kernel image", deb.display()))?;
    std::fs::write(dir.join(EXTRACTED), package)?;
    Ok(dir.to_path_buf())
}

/// Whether a module under `dir` is compressed (`.ko.xz`, `.ko.zst`,
/// `.ko.gz`).
fn has_compressed(dir: &Path) -> Result<bool> {
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).with_context(|| format!("cannot read `{}`", d.display()))? {
            let e = e?;
            let name = e.file_name();
            let name = name.to_string_lossy();
            if e.file_type()?.is_dir() {
                todo.push(e.path());
            } else if [".ko.xz", ".ko.zst", ".ko.gz"]
                .iter()
                .any(|s| name.ends_with(s))
            {
                return Ok(true);
            }
        }
    }
    Ok(false)
}
