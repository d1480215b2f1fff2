//! `klp check`: `klp status` as a predicate, exit 1 while a transition is
//! in progress.

use crate::output::Ctx;
use anyhow::Result;

/// Options of `klp check`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs `klp check`.
pub fn exec(ctx: &mut Ctx, _args: &Args) -> Result<u8> {
    let status = super::status::show(ctx)?;
    Ok(u8::from(status.status != "ready"))
}
