//! The `klp` binary itself: exit codes, and a reader that goes away.

use crate::fake::{Meta, Patch, Tree};
use std::{
    io::Read,
    process::{Command, Stdio},
};

fn klp(tree: &Tree, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_klp"))
        .arg("--root")
        .arg(&tree.root)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn exit_codes() {
    let tree = Tree::with_livepatch("exit_codes", "7.3.4");
    tree.patch(&Patch::active(Meta::series(2, "7.3.4"), 1));
    assert_eq!(klp(&tree, &["check"]), (0, "ready\n".into(), String::new()));
    tree.patch(&Patch {
        transition: true,
        ..Patch::active(Meta::series(2, "7.3.4"), 1)
    });
    assert_eq!(klp(&tree, &["status"]).0, 0);
    assert_eq!(
        klp(&tree, &["check"]),
        (1, "in_progress\n".into(), String::new())
    );
    assert_eq!(
        klp(&tree, &["check", "-q"]),
        (1, String::new(), String::new())
    );
    assert_eq!(klp(&tree, &["blocking"]).0, 0);

    let (code, out, err) = klp(&tree, &["frobnicate"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.contains("unrecognized subcommand 'frobnicate'"),
        "{err}"
    );
    let (code, out, _) = klp(&tree, &["--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("Usage: klp"), "{out}");

    let bare = Tree::new("exit_codes_bare", "7.3.4");
    let (code, out, err) = klp(&bare, &["status"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(
        err.starts_with("error: failed to read the livepatch state\n\nCaused by:\n"),
        "{err}"
    );
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let tree = Tree::with_livepatch("closed_pipe", "7.3.4");
    tree.patch(&Patch {
        transition: true,
        ..Patch::active(Meta::series(2, "7.3.4"), 1)
    });
    // Far more output than a pipe buffer (64 KiB) holds; no `task/`
    // directories, which `klp` does without.
    let long = "x".repeat(1000);
    for pid in 1..=200 {
        tree.write(&format!("proc/{pid}/comm"), "busy\n");
        tree.write(&format!("proc/{pid}/patch_state"), "0\n");
        tree.write(
            &format!("proc/{pid}/cmdline"),
            format!("/bin/busy\0{long}\0"),
        );
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_klp"))
        .arg("--root")
        .arg(&tree.root)
        .args(["blocking", "-v"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // The read end is closed now: the rest of the output meets EPIPE.
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(&first, b"PID  TID  COMM  ");
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(!err.contains("error"), "{err}");
}
