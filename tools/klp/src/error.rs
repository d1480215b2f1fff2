//! Errors that decide the exit code, and how an error is printed.
//!
//! Exit codes follow ripgrep: 0 success, 1 the kernel refused or a
//! transition is still running ([`Failure`] somewhere in the chain), 2 any
//! other error (usage, environment). A broken pipe on the output is not an
//! error: the reader has all it wanted, exit 0.

use std::{fmt, io, io::Write, time::Duration};

/// What the kernel did not do: the reason for exit code 1.
#[derive(Debug)]
pub enum Failure {
    /// A syscall or a sysfs write was refused by the kernel.
    Refused {
        /// What was asked, e.g. "load `/lib/.../foo.ko`".
        what: String,
        /// The kernel's answer.
        source: io::Error,
    },
    /// A transition is still running.
    InTransition {
        /// The patch in transition.
        patch: String,
        /// How long `klp` waited, `None` when it did not wait.
        waited: Option<Duration>,
    },
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Refused { what, .. } => write!(f, "the kernel refused to {what}"),
            Failure::InTransition {
                patch,
                waited: Some(waited),
            } => write!(
                f,
                "patch `{patch}` is still in transition after {} s (`klp blocking` shows the tasks \
                 that hold it back)",
                waited.as_secs_f64()
            ),
            Failure::InTransition {
                patch,
                waited: None,
            } => write!(
                f,
                "patch `{patch}` is in transition: wait for `klp check` to succeed (`klp blocking` \
                 shows the tasks that hold it back)"
            ),
        }
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Failure::Refused { source, .. } => Some(source),
            Failure::InTransition { .. } => None,
        }
    }
}

/// The exit code of an error: 0 for a broken pipe, 1 for a [`Failure`], else 2.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    if is_broken_pipe(err) {
        0
    } else if err.chain().any(|e| e.is::<Failure>()) {
        1
    } else {
        2
    }
}

/// Whether writing the output failed because its reader went away.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// Prints `err` as cargo does: `error: ...` then one `Caused by:` block
/// per cause.
pub fn print(w: &mut dyn Write, err: &anyhow::Error) -> io::Result<()> {
    writeln!(w, "error: {err}")?;
    for cause in err.chain().skip(1) {
        writeln!(w, "\nCaused by:")?;
        for line in cause.to_string().lines() {
            writeln!(w, "  {line}")?;
        }
    }
    Ok(())
}
