//! `klp blocking`: the tasks that hold back the running transition.
//!
//! A task blocks while its `patch_state` differs from the transition's
//! target: 1 when the patch in transition is being enabled, 0 when it is
//! being disabled. Exit 0 either way: `klp check` is the predicate.

use crate::{
    livepatch::Livepatch,
    output::{table, Ctx, Row},
    procfs,
};
use anyhow::{Context, Result};
use serde::Serialize;

/// Options of `klp blocking`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// A blocking task, as much as the verbosity asks for.
#[derive(Debug, Serialize)]
pub struct Blocker {
    /// The process (thread group) id.
    pub pid: u32,
    /// The thread id.
    pub tid: u32,
    /// The task's `comm`.
    pub comm: String,
    /// `-v`: the command line (`[comm]` for a kernel thread).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cmdline: Option<String>,
    /// `-vv`: the kernel stack, one frame an element.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack: Option<Vec<String>>,
}

/// Runs `klp blocking`.
pub fn exec(ctx: &mut Ctx, _args: &Args) -> Result<u8> {
    let transition = Livepatch::open(ctx.root())
        .and_then(|lp| lp.in_transition(ctx.kernel))
        .context("failed to read the livepatch state")?;
    let Some(patch) = transition else {
        ctx.note("no transition in progress")?;
        return Ok(0);
    };
    let target = i32::from(patch.enabled);
    let mut blockers = Vec::new();
    for task in procfs::tasks(ctx.root()).context("failed to read the tasks' patch state")? {
        if task.patch_state == target {
            continue;
        }
        blockers.push(Blocker {
            pid: task.pid,
            tid: task.tid,
            comm: task.comm.clone(),
            cmdline: match ctx.verbose {
                0 => None,
                _ => Some(task.cmdline(ctx.root())?),
            },
            stack: match ctx.verbose {
                0 | 1 => None,
                _ => Some(
                    task.stack()
                        .context("failed to read a task's kernel stack")?,
                ),
            },
        });
    }
    let direction = if patch.enabled {
        "enabling"
    } else {
        "disabling"
    };
    let tasks = match blockers.len() {
        1 => "1 task blocks".to_string(),
        n => format!("{n} tasks block"),
    };
    ctx.note(&format!("{tasks} {direction} patch `{}`", patch.name))?;
    ctx.print(&blockers, |w, blockers| {
        let rows: Vec<Row> = blockers
            .iter()
            .map(|b| {
                let mut cells = vec![b.pid.to_string(), b.tid.to_string(), b.comm.clone()];
                cells.extend(b.cmdline.clone());
                Row {
                    cells,
                    details: b
                        .stack
                        .iter()
                        .flatten()
                        .map(|f| format!("    {f}"))
                        .collect(),
                }
            })
            .collect();
        let header: &[&str] = if blockers.iter().any(|b| b.cmdline.is_some()) {
            &["PID", "TID", "COMM", "CMDLINE"]
        } else {
            &["PID", "TID", "COMM"]
        };
        table(w, header, &rows)
    })?;
    Ok(0)
}
