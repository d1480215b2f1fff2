//! What `klp` asks of the system besides the kernel: the package manager's
//! commands, and the terminal for a confirmation.
//!
//! [`Host`] is a trait for the same reason [`crate::sys::Kernel`] is: the
//! tests run `klp` against a fake `dpkg`/`rpm` and a scripted terminal;
//! [`System`] is the real thing.

use std::{
    env,
    io::{self, BufRead, IsTerminal, Write},
    path::PathBuf,
    process::Command,
};

/// What a command printed and how it ended.
#[derive(Debug, Default)]
pub struct Ran {
    /// The exit code, `None` if a signal ended it.
    pub code: Option<i32>,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Ran {
    /// Whether it exited with 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// The programs and the terminal `klp` uses.
pub trait Host {
    /// Where `program` is on `PATH`, `None` if it is not there.
    fn find_program(&self, program: &str) -> Option<PathBuf>;

    /// Runs `program` with `args`, without a terminal, and waits for it.
    fn run(&mut self, program: &str, args: &[String]) -> io::Result<Ran>;

    /// Asks `question` (yes or no) on the terminal: `None` when the
    /// standard input is not a terminal, so nobody can answer.
    fn confirm(&mut self, question: &str) -> io::Result<Option<bool>>;
}

/// The running system: `PATH`, child processes, the standard input.
pub struct System;

impl Host for System {
    fn find_program(&self, program: &str) -> Option<PathBuf> {
        env::split_paths(&env::var_os("PATH")?)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    }

    fn run(&mut self, program: &str, args: &[String]) -> io::Result<Ran> {
        let out = Command::new(program)
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()?;
        Ok(Ran {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }

    fn confirm(&mut self, question: &str) -> io::Result<Option<bool>> {
        let stdin = io::stdin();
        if !stdin.is_terminal() {
            return Ok(None);
        }
        let mut err = io::stderr().lock();
        write!(err, "{question} [y/N] ")?;
        err.flush()?;
        let mut answer = String::new();
        stdin.lock().read_line(&mut answer)?;
        Ok(Some(matches!(
            answer.trim().to_ascii_lowercase().as_str(),
            "y" | "yes"
        )))
    }
}
