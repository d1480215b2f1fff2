//! `.modinfo` parsing, on ELF files written by `object` and by a C compiler.

use crate::fake::{module_elf, Meta};
use klp::modinfo::{ModInfo, PatchFile};
use std::{path::Path, process::Command};

#[test]
fn reads_repeated_keys_in_order() {
    let elf = module_elf(&[
        ("name", "p"),
        ("klp_cve", "CVE-1"),
        ("klp_bug", "b"),
        ("klp_cve", "CVE-2"),
        ("empty", ""),
        ("eq", "a=b"),
    ]);
    let info = ModInfo::parse(&elf).unwrap();
    assert_eq!(info.get("name"), Some("p"));
    assert_eq!(info.all("klp_cve").collect::<Vec<_>>(), ["CVE-1", "CVE-2"]);
    assert_eq!(info.get("empty"), Some(""));
    assert_eq!(info.get("eq"), Some("a=b"));
    assert_eq!(info.get("missing"), None);
}

#[test]
fn reads_a_patch() {
    let meta = Meta::series(3, "7.3.4");
    let p = PatchFile::from_bytes(Path::new("/x/klp-rs-v3.ko"), &meta.ko()).unwrap();
    assert_eq!(
        (
            p.name.as_str(),
            p.meta.version,
            p.meta.kernel.as_str(),
            p.meta.seed
        ),
        ("klp_rs_v3", 3, "7.3.4", false)
    );
    assert_eq!(p.meta.released.unwrap().to_string(), "2026-03-01");
    assert_eq!(p.meta.cves, ["CVE-2026-1002", "CVE-2026-1003"]);
    assert_eq!(p.meta.bugs, ["bug#13"]);
    assert_eq!(p.meta.description, "klp-rs cumulative patch 3");

    // Without `name=`, the file name with `-` as `_`.
    let elf = module_elf(&[
        ("livepatch", "Y"),
        ("klp_version", "1"),
        ("klp_kernel", "k"),
    ]);
    let p = PatchFile::from_bytes(Path::new("/x/klp-rs-v1.ko"), &elf).unwrap();
    assert_eq!(
        (p.name.as_str(), p.meta.released, p.meta.seed),
        ("klp_rs_v1", None, false)
    );
}

#[test]
fn rejects_what_is_not_a_patch() {
    let err = |data: &[u8]| {
        let e = PatchFile::from_bytes(Path::new("x.ko"), data).unwrap_err();
        e.chain()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join(": ")
    };
    assert_eq!(err(b"text"), "not an ELF file");
    assert_eq!(
        err(b"\x28\xb5\x2f\xfdzstd"),
        "the module is compressed (xz or zstd): decompress it first (`xz -d`, `zstd -d`)"
    );
    assert!(err(b"\x7fELF\x02\x01\x01").starts_with("not a valid ELF file: "));
    assert_eq!(
        err(&module_elf(&[("livepatch", "N")])),
        "it is not a livepatch module (no `livepatch=Y` in `.modinfo`)"
    );
    let bad_seed = module_elf(&[
        ("livepatch", "Y"),
        ("klp_version", "1"),
        ("klp_kernel", "k"),
        ("klp_seed", "maybe"),
    ]);
    assert_eq!(err(&bad_seed), "`klp_seed=maybe` is neither `Y` nor `N`");
    let bad_date = module_elf(&[
        ("livepatch", "Y"),
        ("klp_version", "1"),
        ("klp_kernel", "k"),
        ("klp_released", "March 2026"),
    ]);
    assert_eq!(
        err(&bad_date),
        "bad `klp_released=`: `March 2026` is not a date of the form YYYY-MM-DD"
    );
}

/// `.modinfo` as a C compiler lays it out from `__MODULE_INFO`
/// (`include/linux/moduleparam.h`): one aligned(1) string per entry.
#[test]
fn reads_what_gcc_emits() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("klp/gcc");
    std::fs::create_dir_all(&dir).unwrap();
    let c = dir.join("m.c");
    std::fs::write(
        &c,
        r#"
#define INFO(id, s) static const char id[] __attribute__((used, section(".modinfo"), aligned(1))) = s
INFO(info_a, "livepatch=Y");
INFO(info_b, "klp_version=7");
INFO(info_c, "klp_kernel=7.3.4");
INFO(info_d, "klp_cve=CVE-2026-1");
INFO(info_e, "klp_cve=CVE-2026-2");
INFO(info_f, "klp_seed=N");
INFO(info_g, "name=gcc_patch");
int patched(void) { return 0; }
"#,
    )
    .unwrap();
    let o = dir.join("m.o");
    match Command::new("gcc")
        .arg("-c")
        .arg(&c)
        .arg("-o")
        .arg(&o)
        .status()
    {
        Ok(status) => assert!(status.success(), "gcc failed on {}", c.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("skipped: no `gcc`");
            return;
        }
        Err(e) => panic!("cannot run gcc: {e}"),
    }
    let p = PatchFile::read(&o).unwrap();
    assert_eq!(
        (p.name.as_str(), p.meta.version, p.meta.kernel.as_str()),
        ("gcc_patch", 7, "7.3.4")
    );
    assert_eq!(p.meta.cves, ["CVE-2026-1", "CVE-2026-2"]);
}
