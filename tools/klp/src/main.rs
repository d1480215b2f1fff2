//! The `klp` binary: [`klp::run`] on the real kernel, system and standard streams.

use std::process::ExitCode;

fn main() -> ExitCode {
    let code = klp::run(
        std::env::args_os(),
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
        &mut klp::sys::Syscalls,
        &mut klp::host::System,
    );
    ExitCode::from(code)
}
