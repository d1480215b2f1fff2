//! Host tests of `klp` against fake `/sys`, `/proc` and `/lib/modules` trees.
//!
//! Most tests are transcripts: a list of `klp` commands run in-process
//! against a tree and a [`fake::FakeKernel`], whose outputs are compared
//! with `tests/expected/<test>.txt`. There a command is a `$ klp ...` line,
//! followed by its standard output as is, its standard error with each
//! line prefixed `! `, what it asked of the kernel prefixed `kernel: `, and
//! `[exit N]`. The temporary root shows as `$ROOT`. `UPDATE_EXPECT=1 cargo
//! test -p klp` rewrites the expected files.

mod binary;
mod fake;
mod modinfo;
mod transcripts;

use fake::{FakeHost, FakeKernel, Tree};
use std::{fs, path::Path};

/// Runs `klp` with the words of `command` (after `klp`) against `tree`,
/// returning the transcript of the command.
pub fn run(tree: &Tree, kernel: &mut FakeKernel, command: &str) -> String {
    run_on(tree, kernel, &mut FakeHost::new(tree), command)
}

/// Like [`run`], on a system with `host`'s programs and terminal: what it
/// ran and asked shows prefixed `host: `.
pub fn run_on(tree: &Tree, kernel: &mut FakeKernel, host: &mut FakeHost, command: &str) -> String {
    let words: Vec<String> = command
        .split_whitespace()
        .map(|w| w.replace("$ROOT", &tree.root.display().to_string()))
        .collect();
    let mut args = vec![
        "klp".into(),
        "--root".into(),
        tree.root.clone().into_os_string(),
    ];
    args.extend(words.iter().map(Into::into));
    let (mut out, mut err) = (Vec::new(), Vec::new());
    kernel.log.clear();
    host.log.clear();
    let code = klp::run(args, &mut out, &mut err, kernel, host);
    let mut t = format!("$ klp {command}\n");
    t.push_str(&String::from_utf8(out).unwrap());
    for line in String::from_utf8(err).unwrap().lines() {
        t.push_str(format!("! {line}").trim_end());
        t.push('\n');
    }
    for call in &host.log {
        t.push_str(&format!("host: {call}\n"));
    }
    for call in &kernel.log {
        t.push_str(&format!("kernel: {call}\n"));
    }
    t.push_str(&format!("[exit {code}]\n"));
    t.replace(&tree.root.display().to_string(), "$ROOT")
}

/// Compares `actual` with `tests/expected/<name>.txt`, or writes it there
/// under `UPDATE_EXPECT=1`.
pub fn expect(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/expected")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        fs::write(&path, actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (UPDATE_EXPECT=1 cargo test -p klp writes it)",
            path.display()
        )
    });
    if expected != actual {
        let diff: Vec<String> = diff_lines(&expected, actual);
        panic!(
            "{} differs (UPDATE_EXPECT=1 cargo test -p klp rewrites it):\n{}",
            path.display(),
            diff.join("\n")
        );
    }
}

/// The lines that differ, `-` expected and `+` actual, by position.
fn diff_lines(expected: &str, actual: &str) -> Vec<String> {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let mut out = Vec::new();
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i), a.get(i));
        if x != y {
            out.push(format!("line {}:", i + 1));
            out.extend(x.map(|x| format!("-{x}")));
            out.extend(y.map(|y| format!("+{y}")));
        }
    }
    out
}

/// Runs `commands` in turn and compares the whole transcript.
pub fn transcript(name: &str, tree: &Tree, kernel: &mut FakeKernel, commands: &[&str]) {
    let text: Vec<String> = commands.iter().map(|c| run(tree, kernel, c)).collect();
    expect(name, &text.join("\n"));
}
