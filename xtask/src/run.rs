//! Running external commands: quick ones inline, long ones into a log file
//! with progress on the terminal and the log's tail on failure.

use anyhow::{bail, Context, Result};
use std::{
    fs::File,
    io::{BufRead, BufReader, Read, Seek, SeekFrom},
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

/// How often a long step reports that it is still going.
const PROGRESS_EVERY: Duration = Duration::from_secs(20);

/// Renders a command the way a user would type it.
pub fn display(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        s.push(' ');
        s.push_str(&arg.to_string_lossy());
    }
    s
}

/// Runs `cmd` and returns its stdout; on failure the error holds the command
/// and its stderr.
pub fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{}`", display(cmd)))?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({}):\n{}",
            display(cmd),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `cmd` for the step `step`, its output going to `log`. Prints the step,
/// then a progress line every 20 s with the log's last line; on failure the
/// error names the step, the command and the log, and ends with its tail.
pub fn logged(step: &str, cmd: &mut Command, log: &Path) -> Result<()> {
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file =
        File::create(log).with_context(|| format!("cannot create log `{}`", log.display()))?;
    eprintln!("==> {step} (log: {})", log.display());
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .spawn()
        .with_context(|| format!("{step}: cannot run `{}`", display(cmd)))?;
    let mut last_report = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(100));
        if last_report.elapsed() >= PROGRESS_EVERY {
            last_report = Instant::now();
            let last = tail(log, 1).unwrap_or_default();
            eprintln!("    {:>4}s  {}", start.elapsed().as_secs(), last.trim());
        }
    };
    if !status.success() {
        let tail = tail(log, 25).unwrap_or_else(|e| format!("(cannot read the log: {e})"));
        bail!(
            "{step} failed ({status}) after {}s\n  command: {}\n  log: {}\n--- last lines of the log ---\n{tail}",
            start.elapsed().as_secs(),
            display(cmd),
            log.display()
        );
    }
    eprintln!("    done in {:.1}s", start.elapsed().as_secs_f64());
    Ok(())
}

/// The last `n` lines of a file (reading at most its last 64 KiB).
pub fn tail(path: &Path, n: usize) -> Result<String> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(64 * 1024)))?;
    let mut buf = Vec::new();
    file.read_to_end(&mut buf)?;
    let lines: Vec<String> = BufReader::new(&buf[..])
        .lines()
        .map_while(Result::ok)
        .collect();
    Ok(lines[lines.len().saturating_sub(n)..].join("\n"))
}
