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

/// Runs the binary with `PATH` holding only `bin`.
fn klp_with_path(tree: &Tree, bin: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_klp"))
        .env("PATH", bin)
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

/// Writes an executable shell script `bin/name`.
fn script(bin: &std::path::Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = bin.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn the_package_manager_is_found_on_path_and_run() {
    let tree = Tree::with_livepatch("path_dpkg", "7.3.4");
    tree.install(&Meta::series(2, "7.3.4"));
    tree.install(&Meta::series(1, "7.3.4"));
    tree.patch(&Patch::active(Meta::series(2, "7.3.4"), 1));
    let bin = tree.path("bin");
    std::fs::create_dir_all(&bin).unwrap();
    // SUSE's form, `klp -n downgrade`, on a system without a package
    // manager: klp's own files.
    let (code, out, err) = klp_with_path(&tree, &bin, &["-n", "downgrade", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("would load patch `klp_rs_v1` (version 1)"),
        "{out}"
    );
    assert!(
        err.contains("no package manager (dpkg, rpm) on this system"),
        "{err}"
    );
    // A `dpkg` that owns the file.
    script(
        &bin,
        "dpkg",
        r#"[ "$1" = -S ] && echo "klp-rs-livepatch-7_3_4: $2""#,
    );
    script(&bin, "dpkg-query", "printf 2");
    let (code, out, err) = klp_with_path(&tree, &bin, &["-v", "patches"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("  package: klp-rs-livepatch-7_3_4 2 (dpkg)\n"),
        "{out}"
    );
    // No older version: no `apt-cache`, nothing cached.
    let (code, _, err) = klp_with_path(&tree, &bin, &["-n", "downgrade"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("no version of package `klp-rs-livepatch-7_3_4` older than 2"),
        "{err}"
    );
}
