//! The verdict on a whole update: two kernel images made of the C fixtures
//! (a linked `vmlinux` and modules, below `lib/modules/<release>/` as a
//! distribution installs them), with a module in each category, one
//! unchanged, one added, one removed and one moved; compared with
//! `tests/expected/x86_64/update.{txt,json}`, and the same for any number
//! of threads. Bad images are errors, never part of a verdict.

use crate::common::{check, manifest_dir, TARGETS};
use klp_diff::{compare_images, Error, Image, Presence, Verdict};
use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

/// A fresh, empty directory for `name` under the test's scratch space.
fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("klp-diff-update")
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn put(from: &Path, to: &Path) {
    fs::create_dir_all(to.parent().unwrap()).unwrap();
    fs::copy(from, to).unwrap();
}

/// The two images, in `<scratch>/old` and `<scratch>/new`.
fn images(name: &str) -> (PathBuf, PathBuf) {
    let t = &TARGETS[0];
    let root = scratch(name);
    let mut dirs = Vec::new();
    for (side, release) in [("old", "1.0.1"), ("new", "1.0.2")] {
        let image = root.join(side);
        let modules = image.join("lib/modules").join(release);
        put(&t.build_linked("code", side), &modules.join("vmlinux"));
        for (category, place) in [
            ("code", "kernel/code/code.ko"),
            ("patchable", "kernel/patchable/patchable.ko"),
            ("types", "kernel/types/types.ko"),
            ("data", "kernel/data/data.ko"),
            ("release", "kernel/release/release.ko"),
        ] {
            put(&t.build(category, side, &[]), &modules.join(place));
        }
        // Unchanged: the same object in both.
        put(
            &t.build("code", "old", &[]),
            &modules.join("kernel/same/same.ko"),
        );
        // Moved from `kernel/old_place/` to `kernel/new_place/`.
        put(
            &t.build("inline", side, &[]),
            &modules.join(format!("kernel/{side}_place/inline.ko")),
        );
        dirs.push(image);
    }
    let t0 = t.build("new_removed", "old", &[]);
    put(&t0, &dirs[0].join("lib/modules/1.0.1/kernel/gone/gone.ko"));
    put(
        &t0,
        &dirs[1].join("lib/modules/1.0.2/kernel/fresh/fresh.ko"),
    );
    (dirs.remove(0), dirs.remove(0))
}

fn verdict(old: &Path, new: &Path, threads: usize) -> Verdict {
    compare_images(
        &Image::scan(old).unwrap(),
        &Image::scan(new).unwrap(),
        threads,
    )
    .unwrap()
}

fn texts(v: &Verdict) -> (String, String) {
    let (mut text, mut json) = (Vec::new(), Vec::new());
    v.write_text(&mut text).unwrap();
    v.write_json(&mut json).unwrap();
    (
        String::from_utf8(text).unwrap(),
        String::from_utf8(json).unwrap(),
    )
}

#[test]
fn verdict_on_an_update() {
    let (old, new) = images("golden");
    let v = verdict(&old, &new, 2);
    let (text, json) = texts(&v);
    let dir = manifest_dir().join("tests/expected/x86_64");
    let failures: Vec<String> = [
        check(&dir.join("update.txt"), &text),
        check(&dir.join("update.json"), &json),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // What the expected files say, checked here as facts.
    let t = v.totals;
    assert_eq!((t.old_objects, t.new_objects), (9, 9));
    assert_eq!((t.compared, t.moved, t.added, t.removed), (8, 1, 1, 1));
    let object = |name: &str| v.objects.iter().find(|o| o.name == name).unwrap();
    assert!(object("kernel/code/code.ko").livepatchable());
    assert!(object("vmlinux").livepatchable());
    let patchable = object("kernel/patchable/patchable.ko");
    assert!(patchable.changed() && !patchable.livepatchable());
    assert!(patchable.functions.iter().any(|f| f
        .cannot
        .as_deref()
        .is_some_and(|r| r.contains(".init.text"))));
    let types = object("kernel/types/types.ko");
    assert!(types.functions.iter().all(|f| f
        .cannot
        .as_deref()
        .is_some_and(|r| r.contains("shadow variable"))));
    assert!(!object("kernel/data/data.ko").livepatchable());
    assert_eq!(
        object("kernel/new_place/inline.ko").presence,
        Presence::Moved("kernel/old_place/inline.ko".into())
    );
    assert_eq!(object("kernel/gone/gone.ko").presence, Presence::Removed);
    assert_eq!(object("kernel/fresh/fresh.ko").presence, Presence::Added);
    assert!(!v.objects.iter().any(|o| o.name == "kernel/same/same.ko"));
    // Only `rel_fixed` changed beyond the kernel release it names.
    let release = object("kernel/release/release.ko");
    let names: Vec<&str> = release
        .functions
        .iter()
        .map(|f| f.func.name.as_str())
        .collect();
    assert_eq!(names, ["rel_fixed"]);
    assert!(release.variables.is_empty(), "{:?}", release.variables);
}

/// `cargo xtask diff` on two files still reports a release-only change.
#[test]
fn release_only_changes_count_in_a_diff_of_two_files() {
    let t = &TARGETS[0];
    let (old, new) = (
        t.build("release", "old", &[]),
        t.build("release", "new", &[]),
    );
    let (text, _) = crate::common::reports(&old, &new, 1);
    for name in ["rel_banner", "rel_code", "rel_copy", "rel_fixed"] {
        assert!(
            text.contains(&format!("  {name} [release.c]")),
            "{name}:\n{text}"
        );
    }
}

#[test]
fn verdict_does_not_depend_on_the_thread_count() {
    let (old, new) = images("threads");
    let one = texts(&verdict(&old, &new, 1));
    for threads in 2..=4 {
        assert_eq!(
            texts(&verdict(&old, &new, threads)),
            one,
            "{threads} threads"
        );
    }
}

#[test]
fn a_missing_or_empty_image_is_an_error() {
    let root = scratch("missing");
    let err = Image::scan(root.join("nowhere")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    let err = Image::scan(&root).unwrap_err();
    assert!(matches!(err, Error::NoObjects { .. }), "{err}");
    assert!(
        err.to_string().contains("no vmlinux and no module"),
        "{err}"
    );
}

#[test]
fn compressed_modules_are_an_error_naming_the_command() {
    let root = scratch("compressed");
    fs::create_dir_all(root.join("kernel/fs")).unwrap();
    fs::write(root.join("kernel/fs/ext4.ko.xz"), b"\xfd7zXZ\0").unwrap();
    let err = Image::scan(&root).unwrap_err().to_string();
    assert!(err.contains("ext4.ko.xz` is compressed"), "{err}");
    assert!(err.contains("-name '*.ko.xz' -exec xz -d {} +"), "{err}");
}

#[test]
fn two_images_in_one_directory_are_an_error() {
    let root = scratch("two-kernels");
    let v = TARGETS[0].build_linked("code", "old");
    put(&v, &root.join("a/vmlinux"));
    put(&v, &root.join("b/vmlinux"));
    let err = Image::scan(&root).unwrap_err();
    assert!(matches!(err, Error::TwoImages { .. }), "{err}");
    // The one nearest the top is the kernel (as in a build tree, whose
    // `arch/x86/boot/compressed/vmlinux` is another).
    put(&v, &root.join("vmlinux"));
    let image = Image::scan(&root).unwrap();
    let names: Vec<&str> = image.objects().map(|(n, _)| n).collect();
    assert_eq!(names, ["vmlinux"]);
    // One module under two releases.
    let m = TARGETS[0].build("code", "old", &[]);
    put(&m, &root.join("lib/modules/1.0.1/kernel/m.ko"));
    put(&m, &root.join("lib/modules/1.0.2/kernel/m.ko"));
    let err = Image::scan(&root).unwrap_err().to_string();
    assert!(err.contains("are both `kernel/m.ko`"), "{err}");
}

/// A module of debug information only (`objcopy --only-keep-debug`, code
/// sections NOBITS) cannot be compared; one bad module among good ones
/// makes the whole verdict an error.
#[test]
fn a_bad_module_is_an_error_of_the_whole_verdict() {
    let t = &TARGETS[0];
    let (old, new) = images("bad");
    let debug_only = old.join("lib/modules/1.0.1/kernel/code/code.ko");
    let status = Command::new("objcopy")
        .arg("--only-keep-debug")
        .arg(&debug_only)
        .status()
        .unwrap();
    assert!(status.success());
    let err = compare_images(&Image::scan(&old).unwrap(), &Image::scan(&new).unwrap(), 2)
        .unwrap_err()
        .to_string();
    assert!(err.contains("code/code.ko`: section `.text"), "{err}");
    assert!(err.contains("debug-only file"), "{err}");

    put(
        &t.build("code", "old", &[]),
        &old.join("lib/modules/1.0.1/kernel/code/code.ko"),
    );
    let truncated = new.join("lib/modules/1.0.2/kernel/types/types.ko");
    let bytes = fs::read(&truncated).unwrap();
    fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    for threads in 1..=2 {
        let err = compare_images(
            &Image::scan(&old).unwrap(),
            &Image::scan(&new).unwrap(),
            threads,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("types/types.ko`"), "{err}");
    }
}
