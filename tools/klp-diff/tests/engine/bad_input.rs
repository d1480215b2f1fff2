//! Bad input gives an error naming the file (and the section and offset
//! where there is one), never a panic.

use crate::common::TARGETS;
use klp_diff::{diff, Binary, Error, Options};
use object::{Object, ObjectSection};
use std::{fs, path::Path};

/// Parses and compares `old` with `new`, as `cargo xtask diff` would.
fn run(old: &[u8], new: &[u8]) -> Result<(), Error> {
    let o = Binary::parse("old.o", old)?;
    let n = Binary::parse("new.o", new)?;
    diff(
        &o,
        &n,
        &Options {
            threads: 2,
            ..Options::default()
        },
    )
    .map(drop)
}

fn fixture(extra: &[&str]) -> Vec<u8> {
    fs::read(TARGETS[0].build("code", "old", extra)).unwrap()
}

#[test]
fn truncated_files_are_errors_naming_the_file() {
    let good = fixture(&[]);
    run(&good, &good).unwrap();
    for len in [0, 3, 16, 63, 64, 200, good.len() / 2, good.len() - 1] {
        let err = run(&good[..len], &good).unwrap_err().to_string();
        assert!(err.contains("`old.o`"), "cut at {len}: {err}");
        assert!(err.contains("offset 0x"), "cut at {len}: {err}");
    }
}

#[test]
fn garbage_is_an_error() {
    let mut x: u32 = 12345;
    let mut noise: Vec<u8> = (0..4096)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect();
    let err = run(&noise, &noise).unwrap_err().to_string();
    assert!(err.contains("`old.o`: ELF header at offset 0x0"), "{err}");
    noise[..4].copy_from_slice(b"\x7fELF");
    assert!(run(&noise, &noise).is_err());
}

#[test]
fn corrupt_dwarf_names_the_section_and_offset() {
    let good = fixture(&[]);
    let file = object::File::parse(&*good).unwrap();
    let (start, size) = file
        .section_by_name(".debug_info")
        .unwrap()
        .file_range()
        .unwrap();
    let mut bad = good.clone();
    // The first DIE's abbreviation code, just after the unit header.
    bad[start as usize + 12] = 0x7f;
    let err = run(&bad, &good).unwrap_err().to_string();
    assert!(err.contains("`old.o`: .debug_info at offset 0x"), "{err}");
    // Every byte of the section damaged in turn: errors or reports, no panic.
    for i in 0..size as usize {
        let mut bad = good.clone();
        bad[start as usize + i] ^= 0xa5;
        let _ = run(&bad, &good);
    }
}

#[test]
fn no_dwarf_is_an_error() {
    let t = &TARGETS[0];
    let good = fixture(&[]);
    let plain = t.build("code", "old", &["-g0"]);
    let err = run(&fs::read(plain).unwrap(), &good).unwrap_err();
    assert!(matches!(err, Error::NoDwarf { .. }), "{err}");
    assert!(err.to_string().contains("`old.o`: no DWARF"), "{err}");
}

#[test]
fn split_dwarf_is_an_error() {
    let split = fixture(&["-gsplit-dwarf"]);
    let err = run(&split, &split).unwrap_err();
    assert!(matches!(err, Error::SplitDwarf { .. }), "{err}");
    assert!(err.to_string().contains("split DWARF"), "{err}");
    assert!(err.to_string().contains("code.dwo"), "{err}");
}

#[test]
fn different_arches_are_an_error() {
    let other = &TARGETS[1];
    if !other.available() {
        return;
    }
    let x86 = fixture(&[]);
    let arm = fs::read(other.build("code", "old", &[])).unwrap();
    let err = run(&x86, &arm).unwrap_err().to_string();
    assert_eq!(
        err,
        "`old.o` is x86_64 but `new.o` is aarch64: both must be the same architecture"
    );
}

#[test]
fn missing_file_is_an_error_naming_it() {
    let err = klp_diff::Mapping::open(Path::new("/nonexistent/vmlinux"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.starts_with("cannot read `/nonexistent/vmlinux`"),
        "{err}"
    );
}

#[test]
fn a_compressed_section_claiming_a_huge_size_is_an_error() {
    let good = fixture(&["-gz=zlib"]);
    let file = object::File::parse(&*good).unwrap();
    let (start, _) = file
        .section_by_name(".debug_info")
        .unwrap()
        .file_range()
        .unwrap();
    let mut bad = good.clone();
    // `Elf64_Chdr.ch_size`, the uncompressed size (found by the fuzzer).
    let at = start as usize + 8;
    bad[at..at + 8].copy_from_slice(&0xd4_0000_0000u64.to_le_bytes());
    let err = run(&bad, &good).unwrap_err().to_string();
    assert!(
        err.contains("`old.o`: section `.debug_info` at offset 0x"),
        "{err}"
    );
    assert!(
        err.contains("claims 910533066752 bytes uncompressed"),
        "{err}"
    );
}
