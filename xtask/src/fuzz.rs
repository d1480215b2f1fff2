//! The fuzz targets of `tools/fuzz/` (a cargo project of its own, outside
//! the workspace), each for a bounded time: `cargo xtask bench fuzz`, and a
//! step of `cargo xtask test`.
//!
//! They build with the stable toolchain: cargo-fuzz's AddressSanitizer
//! build passes `-Zsanitizer`, which `RUSTC_BOOTSTRAP=1` lets stable take.
//! Each target starts from its checked-in corpus
//! (`tools/fuzz/corpus/<target>/`), copied into the cache; the inputs
//! libFuzzer finds go there too, and what it fails on to the cache's
//! `artifacts/<target>/`. The repository changes only by hand: a failure is
//! fixed, then its input added to the checked-in corpus, which the crate
//! that owns the code replays in `cargo test` (`tests/fuzz_corpus.rs`).

use crate::{cache::Cache, repo_root, run, setup, Failed};
use anyhow::{Context, Result};
use std::{
    ffi::OsString,
    path::{Path, PathBuf},
    process::Command,
    time::SystemTime,
};

/// The targets, `tools/fuzz/fuzz_targets/<target>.rs`.
pub const TARGETS: &[&str] = &["parse", "convert", "modinfo"];

/// How long one input may run, in seconds, before libFuzzer calls it a
/// hang (its default is 20 minutes).
const INPUT_TIMEOUT: u64 = 10;

/// Builds the fuzz targets, then runs each of `targets` for `seconds`;
/// every one runs even if another fails.
pub fn run(cache: &Cache, targets: &[&str], seconds: u64) -> Result<()> {
    let fuzz = Fuzz {
        bin: setup::cargo_fuzz(cache)?,
        dir: repo_root().join("tools/fuzz"),
        cache: cache.fuzz(),
    };
    run::logged(
        "building the fuzz targets (the first time: about 3 minutes)",
        &mut fuzz.cargo("build"),
        &cache.logs().join("fuzz-build.log"),
    )?;
    let mut failed = Vec::new();
    for target in targets {
        match fuzz.target(cache, target, seconds) {
            Ok(()) => {}
            Err(e) if e.is::<Failed>() => failed.push(e.to_string()),
            Err(e) => return Err(e),
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failed(failed.join("\n")).into())
    }
}

/// Where cargo-fuzz, the fuzz project and the cache's part are.
struct Fuzz {
    /// `bin` of cargo-fuzz.
    bin: PathBuf,
    /// `tools/fuzz`.
    dir: PathBuf,
    /// The build, corpora and artifacts (`Cache::fuzz`).
    cache: PathBuf,
}

impl Fuzz {
    /// `cargo fuzz <subcommand>` on the project, built in the cache.
    fn cargo(&self, subcommand: &str) -> Command {
        let mut path = OsString::from(&self.bin);
        if let Some(old) = std::env::var_os("PATH") {
            path.push(":");
            path.push(old);
        }
        let mut cmd = Command::new("cargo");
        cmd.current_dir(&self.dir)
            .env("PATH", path)
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_TARGET_DIR", self.cache.join("target"))
            .args(["fuzz", subcommand, "--fuzz-dir"])
            .arg(&self.dir)
            // Overflow checks, as in the `cargo test` that replays the
            // corpus.
            .arg("--debug-assertions");
        cmd
    }

    /// Runs `target` for `seconds`; a failure found is a [`Failed`]
    /// naming the input.
    fn target(&self, cache: &Cache, target: &str, seconds: u64) -> Result<()> {
        let corpus = self.cache.join("corpus").join(target);
        let artifacts = self.cache.join("artifacts").join(target);
        std::fs::create_dir_all(&corpus)?;
        std::fs::create_dir_all(&artifacts)?;
        let seeds = self.dir.join("corpus").join(target);
        for entry in std::fs::read_dir(&seeds)
            .with_context(|| format!("cannot read the corpus `{}`", seeds.display()))?
        {
            let seed = entry?.path();
            if let Some(name) = seed.file_name() {
                std::fs::copy(&seed, corpus.join(name))?;
            }
        }
        let log = cache.logs().join(format!("fuzz-{target}.log"));
        let mut cmd = self.cargo("run");
        cmd.arg(target)
            .arg(&corpus)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg(format!("-timeout={INPUT_TIMEOUT}"))
            .arg(format!("-artifact_prefix={}/", artifacts.display()));
        let start = SystemTime::now();
        let result = run::logged(
            &format!("fuzzing `{target}` for {seconds} s"),
            &mut cmd,
            &log,
        );
        let found = written_since(&artifacts, start)?;
        match result {
            Ok(()) => {
                println!(
                    "`{target}`: {}, no failure (corpus: {} inputs in {})",
                    runs(&log),
                    std::fs::read_dir(&corpus)?.count(),
                    corpus.display()
                );
                Ok(())
            }
            // Not a finding: the build or libFuzzer's options.
            Err(e) if found.is_empty() => Err(e),
            Err(_) => Err(Failed(format!(
                "fuzz target `{target}` failed on {} ({}; log: {}): fix it, then add the input to tools/fuzz/corpus/{target}/ (`cargo fuzz tmin` can make it smaller first)",
                found
                    .iter()
                    .map(|f| format!("`{}`", f.display()))
                    .collect::<Vec<_>>()
                    .join(", "),
                failure(&log),
                log.display()
            ))
            .into()),
        }
    }
}

/// The files of `dir` written at `start` or later.
fn written_since(dir: &Path, start: SystemTime) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.metadata()?.modified()? >= start {
            files.push(entry.path());
        }
    }
    files.sort();
    Ok(files)
}

/// libFuzzer's count of runs, from its last line (`Done N runs in S
/// second(s)`).
fn runs(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .rev()
        .find_map(|l| l.strip_prefix("Done "))
        .map_or_else(|| "no count of runs in the log".into(), str::to_string)
}

/// What failed, from the log: the panic and its message, or libFuzzer's
/// error (a deadly signal, a timeout, memory).
fn failure(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    if let Some(i) = lines.iter().position(|l| l.contains(" panicked at ")) {
        return lines[i..lines.len().min(i + 2)].join(" ");
    }
    lines
        .iter()
        .find_map(|l| l.split_once("ERROR: libFuzzer: ").map(|(_, e)| e.trim()))
        .unwrap_or("see the log")
        .to_string()
}
