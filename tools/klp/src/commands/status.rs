//! `klp status`: `ready`, or `in_progress` while a patch is in transition.

use crate::{livepatch::Livepatch, output::Ctx};
use anyhow::{Context, Result};
use serde::Serialize;

/// Options of `klp status`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// The livepatch state: one record.
#[derive(Debug, Serialize)]
pub struct Status {
    /// `ready` or `in_progress`.
    pub status: &'static str,
    /// Under `-v`, the patch in transition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    /// Under `-v`, where it goes: `patched` or `unpatched`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<&'static str>,
}

/// Reads the state and prints it.
pub fn show(ctx: &mut Ctx) -> Result<Status> {
    let lp = Livepatch::open(ctx.root()).context("failed to read the livepatch state")?;
    let transition = lp
        .in_transition(ctx.kernel)
        .context("failed to read the livepatch state")?;
    let verbose = ctx.verbose > 0;
    let status = Status {
        status: if transition.is_some() {
            "in_progress"
        } else {
            "ready"
        },
        patch: transition
            .as_ref()
            .filter(|_| verbose)
            .map(|p| p.name.clone()),
        target: transition.as_ref().filter(|_| verbose).map(|p| {
            if p.enabled {
                "patched"
            } else {
                "unpatched"
            }
        }),
    };
    ctx.print(std::slice::from_ref(&status), |w, s| {
        for s in s {
            match (&s.patch, s.target) {
                (Some(patch), Some(target)) => {
                    writeln!(w, "{}: patch `{patch}` -> {target}", s.status)?
                }
                _ => writeln!(w, "{}", s.status)?,
            }
        }
        Ok(())
    })?;
    Ok(status)
}

/// Runs `klp status`.
pub fn exec(ctx: &mut Ctx, _args: &Args) -> Result<u8> {
    show(ctx)?;
    Ok(0)
}
