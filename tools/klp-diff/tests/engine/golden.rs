//! Golden tests: each C pair of `tests/fixtures/` compiled for each
//! architecture, reported as text and JSON, and compared with
//! `tests/expected/<arch>/<category>.{txt,json}`.

use crate::common::{check, manifest_dir, reports, Target, CATEGORIES, TARGETS};

fn golden(target: &Target) {
    if !target.available() {
        assert_ne!(target.arch, "x86_64", "the host compiler is required");
        return;
    }
    let mut failures = Vec::new();
    for category in CATEGORIES {
        let old = target.build(category, "old", &[]);
        let new = target.build(category, "new", &[]);
        let (text, json) = reports(&old, &new, 2);
        let dir = manifest_dir().join("tests/expected").join(target.arch);
        failures.extend(check(&dir.join(format!("{category}.txt")), &text));
        failures.extend(check(&dir.join(format!("{category}.json")), &json));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A linked executable has no relocations: calls within it are explained
/// by resolving both displacements, and pointers in data by what they
/// point to. Same reports as the objects (but for ftrace sites, which a
/// linked image only has in `__mcount_loc` or patchable-entry tables).
fn golden_linked(target: &Target) {
    if !target.available() {
        return;
    }
    let mut failures = Vec::new();
    for category in ["code", "data"] {
        let old = target.build_linked(category, "old");
        let new = target.build_linked(category, "new");
        let (text, _) = reports(&old, &new, 2);
        let expected = manifest_dir()
            .join("tests/expected")
            .join(target.arch)
            .join(format!("{category}-linked.txt"));
        failures.extend(check(&expected, &text));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn x86_64_linked() {
    golden_linked(&TARGETS[0]);
}

#[test]
fn aarch64_linked() {
    golden_linked(&TARGETS[1]);
}

#[test]
fn ppc64le_linked() {
    golden_linked(&TARGETS[2]);
}

#[test]
fn s390x_linked() {
    golden_linked(&TARGETS[3]);
}

#[test]
fn x86_64() {
    golden(&TARGETS[0]);
}

#[test]
fn aarch64() {
    golden(&TARGETS[1]);
}

#[test]
fn ppc64le() {
    golden(&TARGETS[2]);
}

#[test]
fn s390x() {
    golden(&TARGETS[3]);
}

/// The same report for 1 to 4 threads, on an object with one unit per
/// category (linked like a module).
#[test]
fn output_does_not_depend_on_the_thread_count() {
    let t = &TARGETS[0];
    let link = |side: &str| {
        let objects: Vec<_> = CATEGORIES.iter().map(|c| t.build(c, side, &[])).collect();
        let out = objects[0].parent().unwrap().join(format!("all-{side}.o"));
        let status = std::process::Command::new(format!("{}ld", t.prefix))
            .arg("-r")
            .arg("-o")
            .arg(&out)
            .args(&objects)
            .status()
            .unwrap();
        assert!(status.success());
        out
    };
    let (old, new) = (link("old"), link("new"));
    let one = reports(&old, &new, 1);
    assert!(one.0.contains("code_changed"), "{}", one.0);
    for threads in 2..=4 {
        assert_eq!(reports(&old, &new, threads), one, "{threads} threads");
    }
}

/// DWARF 4 and compressed debug sections give the same reports as the
/// default (DWARF 5, uncompressed).
#[test]
fn dwarf_4_and_compressed_sections_read_the_same() {
    let t = &TARGETS[0];
    for category in ["types", "inline", "code"] {
        let plain = reports(
            &t.build(category, "old", &[]),
            &t.build(category, "new", &[]),
            2,
        );
        for extra in [
            &["-gdwarf-4"][..],
            &["-gz=zlib"],
            &["-gdwarf-4", "-gz=zlib"],
        ] {
            let other = reports(
                &t.build(category, "old", extra),
                &t.build(category, "new", extra),
                2,
            );
            assert_eq!(other, plain, "{category} with {extra:?}");
        }
    }
}

/// x86-64 code that moved and got other alignment NOPs (and branches of
/// other lengths across them) is not a change: only `grow` is.
#[test]
fn x86_64_padding_is_no_change() {
    let target = &TARGETS[0];
    let old = target.build("padding", "old", &["-fno-function-sections"]);
    let new = target.build("padding", "new", &["-fno-function-sections"]);
    let (text, _) = reports(&old, &new, 2);
    let expected = manifest_dir().join("tests/expected/x86_64/padding.txt");
    if let Some(failure) = check(&expected, &text) {
        panic!("{failure}");
    }
}
