//! Tasks and their livepatch state, from procfs.
//!
//! `/proc/<pid>/task/<tid>/patch_state` (`srctree/fs/proc/base.c`:
//! `proc_pid_patch_state`) is `0` for a task still unpatched, `1` for one
//! patched, `-1` when no transition runs
//! (`srctree/Documentation/livepatch/livepatch.rst`).

use anyhow::{Context, Result};
use std::{
    fs, io,
    path::{Path, PathBuf},
};

/// A task (thread) and what `klp blocking` shows of it.
#[derive(Debug)]
pub struct Task {
    /// The thread group (process) id.
    pub pid: u32,
    /// The thread id (`pid` for the main thread).
    pub tid: u32,
    /// `patch_state`: -1, 0 or 1.
    pub patch_state: i32,
    /// `comm`.
    pub comm: String,
    /// The thread's directory, where `stack` is.
    pub dir: PathBuf,
}

impl Task {
    /// The command line, arguments separated by spaces; `[comm]` for a
    /// kernel thread, which has none.
    pub fn cmdline(&self, root: &Path) -> Result<String> {
        let path = root.join("proc").join(self.pid.to_string()).join("cmdline");
        let raw = read_bytes_opt(&path)?.unwrap_or_default();
        let args: Vec<String> = raw
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        Ok(if args.is_empty() {
            format!("[{}]", self.comm)
        } else {
            args.join(" ")
        })
    }

    /// The kernel stack, one frame a line (`stack` is readable by root only).
    pub fn stack(&self) -> Result<Vec<String>> {
        let path = self.dir.join("stack");
        Ok(read_opt(&path)
            .map_err(|e| need_root(e, &path))?
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect())
    }
}

/// Every task of every process, sorted by pid and tid. Tasks that exit while
/// being read are left out.
pub fn tasks(root: &Path) -> Result<Vec<Task>> {
    let proc = root.join("proc");
    let mut tasks = Vec::new();
    for pid in numeric_dirs(&proc)? {
        let pid_dir = proc.join(pid.to_string());
        let task_dir = pid_dir.join("task");
        let threads: Vec<(u32, PathBuf)> = if task_dir.is_dir() {
            numeric_dirs(&task_dir)?
                .into_iter()
                .map(|tid| (tid, task_dir.join(tid.to_string())))
                .collect()
        } else {
            vec![(pid, pid_dir.clone())]
        };
        for (tid, dir) in threads {
            let state_path = dir.join("patch_state");
            let Some(state) = read_opt(&state_path).map_err(|e| need_root(e, &state_path))? else {
                continue;
            };
            let patch_state = state.trim().parse().with_context(|| {
                format!(
                    "`{}` holds `{}`, not -1, 0 or 1",
                    state_path.display(),
                    state.trim()
                )
            })?;
            let Some(comm) = read_opt(&dir.join("comm"))? else {
                continue;
            };
            tasks.push(Task {
                pid,
                tid,
                patch_state,
                comm: comm.trim_end_matches('\n').to_string(),
                dir,
            });
        }
    }
    Ok(tasks)
}

/// Adds what to do to an error of reading a root-only procfs file.
fn need_root(err: anyhow::Error, path: &Path) -> anyhow::Error {
    let denied = err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::PermissionDenied)
    });
    if denied {
        err.context(format!(
            "`{}` is readable by root only: run `klp blocking` as root",
            path.display()
        ))
    } else {
        err
    }
}

/// The contents of `path`, `None` if it does not exist.
fn read_opt(path: &Path) -> Result<Option<String>> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

fn read_bytes_opt(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

/// The numeric entries of `dir`, sorted.
fn numeric_dirs(dir: &Path) -> Result<Vec<u32>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot list `{}`", dir.display())),
    };
    let mut ids = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list `{}`", dir.display()))?;
        if let Some(id) = entry.file_name().to_str().and_then(|n| n.parse().ok()) {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}
