//! The post-link step on objects built here from small C sources, for every
//! arch klp-rs supports (with the host's `gcc` and the cross compilers
//! `cargo xtask setup` installs; an arch whose compiler is missing is
//! skipped with a note).

use klp_convert::{
    elf::{Elf, SHF_ALLOC, SHF_INFO_LINK, SHF_RELA_LIVEPATCH, SHN_LIVEPATCH},
    target::Targets,
    Error,
};
use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// A patch: calls two unexported functions and reads an unexported
/// variable, declared as `livepatch::klp_extern!` declares them.
const PATCH: &str = r#"
extern int helper(int) __asm__("\".klp.sym.vmlinux.helper,0\"");
extern int counter __asm__("\".klp.sym.vmlinux.counter,0\"");
extern int twin(int) __asm__("\".klp.sym.target_mod.twin,2\"");
extern int exported(int);
/* Weak for the assembler only, as `klp_extern!` does: a compiler that knew
 * would reach them through the GOT, in case they are null. */
__asm__(".weak \".klp.sym.vmlinux.helper,0\"\n"
	".weak \".klp.sym.vmlinux.counter,0\"\n"
	".weak \".klp.sym.target_mod.twin,2\"\n"
	".pushsection .klp_rs.syms,\"\",%0x806b6c70\n"
	".ascii \"fn .klp.sym.vmlinux.helper,0 0\\n\"\n"
	".ascii \"static .klp.sym.vmlinux.counter,0 4\\n\"\n"
	".ascii \"fn .klp.sym.target_mod.twin,2 2177\\n\"\n"
	".popsection");
int replacement(int x) { return helper(x) + counter + exported(x); }
int module_replacement(int x) { return twin(x) + 1; }
"#;

/// The target module: two static `twin`s (one per file) and a variable.
const TARGET_A: &str = "static int __attribute__((used, noipa)) twin(int x) { return x + 1; }\n\
                        int target_secret = 42;\n";
const TARGET_B: &str = "static int __attribute__((used, noipa)) twin(int x) { return x + 100; }\n";

/// `vmlinux`'s `System.map`: `dup` twice, `counter` a variable.
const SYSTEM_MAP: &str = "ffffffff81000000 T _text\n\
                          ffffffff81001000 t helper\n\
                          ffffffff81002000 t dup\n\
                          ffffffff81003000 t dup\n\
                          ffffffff81100000 d counter\n";

struct Arch {
    name: &'static str,
    cc: &'static str,
    flags: &'static [&'static str],
}

const ARCHES: &[Arch] = &[
    Arch {
        name: "x86_64",
        cc: "gcc",
        flags: &["-mcmodel=kernel", "-fno-pic"],
    },
    Arch {
        name: "aarch64",
        cc: "aarch64-linux-gnu-gcc",
        flags: &["-fno-pic"],
    },
    Arch {
        name: "ppc64le",
        cc: "powerpc64le-linux-gnu-gcc",
        flags: &["-mcmodel=medium"],
    },
    // Kernel modules on s390 are built with `-fPIC`.
    Arch {
        name: "s390x",
        cc: "s390x-linux-gnu-gcc",
        flags: &["-fPIC"],
    },
];

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("klp-convert")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Compiles `source` with `cc`; `None` if `cc` is not installed.
fn compile(dir: &Path, cc: &str, flags: &[&str], name: &str, source: &str) -> Option<PathBuf> {
    let c = dir.join(format!("{name}.c"));
    let o = dir.join(format!("{name}.o"));
    std::fs::write(&c, source).unwrap();
    let out = match Command::new(cc)
        .args(["-O2", "-c"])
        .args(flags)
        .arg(&c)
        .arg("-o")
        .arg(&o)
        .output()
    {
        Ok(out) => out,
        Err(_) => {
            eprintln!("note: `{cc}` is not installed; skipped");
            return None;
        }
    };
    assert!(
        out.status.success(),
        "{cc} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(o)
}

/// A kernel build directory with the `System.map` above and a module
/// build whose `modules.order` lists `target_mod` (built with the host's
/// gcc: symbol lookup does not depend on the arch).
fn targets(dir: &Path) -> Targets {
    let kernel = dir.join("kernel");
    std::fs::create_dir_all(&kernel).unwrap();
    std::fs::write(kernel.join("System.map"), SYSTEM_MAP).unwrap();
    let mods = dir.join("mods");
    std::fs::create_dir_all(mods.join("sub")).unwrap();
    // With DWARF: declared signatures are checked against it.
    let a = compile(&mods, "gcc", &["-g"], "a", TARGET_A).unwrap();
    let b = compile(&mods, "gcc", &["-g"], "b", TARGET_B).unwrap();
    let status = Command::new("ld")
        .args(["-r", "-o"])
        .arg(mods.join("sub/target-mod.o"))
        .args([&a, &b])
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::write(mods.join("modules.order"), "sub/target-mod.o\n").unwrap();
    Targets::new(Some(&kernel), &[mods.join("modules.order")])
}

#[test]
fn every_arch_moves_its_relocations() {
    for arch in ARCHES {
        let dir = scratch(arch.name);
        let Some(obj) = compile(&dir, arch.cc, arch.flags, "patch", PATCH) else {
            continue;
        };
        let input = std::fs::read(&obj).unwrap();
        let mut targets = targets(&dir);
        let (out, summary) = klp_convert::convert(&input, &mut targets)
            .unwrap_or_else(|e| panic!("{}: {e}", arch.name))
            .expect("something to convert");
        object::File::parse(&*out)
            .unwrap_or_else(|e| panic!("{}: output does not parse: {e}", arch.name));
        let before = Elf::parse(&input).unwrap();
        let after = Elf::parse(&out).unwrap();
        let (symtab, syms) = after.symtab().unwrap();
        let strtab = after.sections[symtab].link as usize;
        let is_klp = |i: u32| {
            after
                .string(strtab, syms[i as usize].name)
                .unwrap()
                .starts_with(".klp.sym.")
        };

        // The symbols.
        for s in &syms {
            if after
                .string(strtab, s.name)
                .unwrap()
                .starts_with(".klp.sym.")
            {
                assert_eq!(s.shndx, SHN_LIVEPATCH, "{}", arch.name);
                assert_eq!(s.info >> 4, 1, "{}: global", arch.name);
            }
        }
        assert_eq!(summary.symbols.len(), 3, "{}", arch.name);

        // Every relocation against them is in a `.klp.rela.<object>.<section>`
        // of its object, flagged as livepatch wants; none is left elsewhere.
        let mut moved = 0;
        for (i, sec) in after.sections.iter().enumerate() {
            if sec.kind != 4 {
                continue;
            }
            let name = after.section_name(i).unwrap();
            let relas = after.relas(i);
            if let Some(rest) = name.strip_prefix(".klp.rela.") {
                assert_eq!(
                    sec.flags,
                    SHF_ALLOC | SHF_INFO_LINK | SHF_RELA_LIVEPATCH,
                    "{}: {name}",
                    arch.name
                );
                assert_eq!(sec.link as usize, symtab);
                let (object, target) = rest.split_once('.').unwrap();
                assert_eq!(
                    target,
                    after.section_name(sec.info as usize).unwrap(),
                    "{}: {name}",
                    arch.name
                );
                for r in &relas {
                    assert!(
                        is_klp(r.sym),
                        "{}: {name} holds a non-livepatch symbol",
                        arch.name
                    );
                    let sym = after.string(strtab, syms[r.sym as usize].name).unwrap();
                    assert!(
                        sym.starts_with(&format!(".klp.sym.{object}.")),
                        "{}: {sym} in {name}",
                        arch.name
                    );
                }
                moved += relas.len();
            } else if after.sections[sec.info as usize].flags & SHF_ALLOC != 0 {
                assert!(
                    relas.iter().all(|r| !is_klp(r.sym)),
                    "{}: {name} still refers to one",
                    arch.name
                );
            }
        }
        assert!(moved >= 3, "{}: {moved} relocations moved", arch.name);
        assert!(
            summary
                .sections
                .iter()
                .any(|(n, _)| n.starts_with(".klp.rela.vmlinux."))
                && summary
                    .sections
                    .iter()
                    .any(|(n, _)| n.starts_with(".klp.rela.target_mod.")),
            "{}: {:?}",
            arch.name,
            summary.sections
        );

        // Every other section is intact: same index, offset and bytes;
        // relocation sections lost exactly the moved entries.
        let mut total_before = 0;
        let mut total_after = moved;
        for i in 0..before.sections.len() {
            let (b, a) = (&before.sections[i], &after.sections[i]);
            assert_eq!(
                before.section_name(i).unwrap(),
                after.section_name(i).unwrap()
            );
            if i != before.shstrndx {
                assert_eq!(b.offset, a.offset, "{}: section {i} moved", arch.name);
            }
            if b.kind == 4 {
                total_before += before.relas(i).len();
                if !after.section_name(i).unwrap().starts_with(".klp.rela.") {
                    total_after += after.relas(i).len();
                }
            } else if i != symtab && i != before.shstrndx {
                assert_eq!(
                    before.section_data(i),
                    after.section_data(i),
                    "{}: section {i} changed",
                    arch.name
                );
            }
        }
        assert_eq!(
            total_before, total_after,
            "{}: relocations lost or added",
            arch.name
        );

        // A second run finds nothing left to do.
        assert!(
            klp_convert::convert(&out, &mut targets).unwrap().is_none(),
            "{}",
            arch.name
        );
    }
}

/// Converts `source` for x86_64 with `flags`; the error text.
fn x86_error(name: &str, source: &str, flags: &[&str]) -> String {
    let dir = scratch(name);
    let obj = compile(&dir, "gcc", flags, "patch", source).unwrap();
    let mut targets = targets(&dir);
    match klp_convert::convert(&std::fs::read(obj).unwrap(), &mut targets) {
        Err(e @ Error::Symbols(_)) => e.to_string(),
        other => panic!("expected a symbol error, got {other:?}"),
    }
}

fn declaring(decls: &str, syms: &str, body: &str) -> String {
    format!(
        "{decls}\n__asm__(\".pushsection .klp_rs.syms,\\\"\\\",%0x806b6c70\\n\"{syms}\".popsection\");\n{body}\n"
    )
}

#[test]
fn missing_ambiguous_and_mismatched_symbols_are_named() {
    let err = x86_error(
        "bad-symbols",
        &declaring(
            r#"extern int nosuch(void) __asm__("\".klp.sym.vmlinux.nosuch,0\"") __attribute__((weak));
extern int dup(void) __asm__("\".klp.sym.vmlinux.dup,0\"") __attribute__((weak));
extern int dup3(void) __asm__("\".klp.sym.vmlinux.dup,3\"") __attribute__((weak));
extern int helper_var __asm__("\".klp.sym.vmlinux.helper,0\"") __attribute__((weak));
extern long target_secret __asm__("\".klp.sym.target_mod.target_secret,0\"") __attribute__((weak));
extern int nomod(void) __asm__("\".klp.sym.vmlinux.counter,0\"") __attribute__((weak));
extern long twin1(long, long) __asm__("\".klp.sym.target_mod.twin,1\"") __attribute__((weak));"#,
            r#"".ascii \"fn .klp.sym.vmlinux.nosuch,0 0\\n\"\n"
".ascii \"fn .klp.sym.vmlinux.dup,0 0\\n\"\n"
".ascii \"fn .klp.sym.vmlinux.dup,3 0\\n\"\n"
".ascii \"static .klp.sym.vmlinux.helper,0 4\\n\"\n"
".ascii \"static .klp.sym.target_mod.target_secret,0 8\\n\"\n"
".ascii \"fn .klp.sym.vmlinux.counter,0 0\\n\"\n"
".ascii \"fn .klp.sym.target_mod.twin,1 69890\\n\"\n""#,
            "long f(void) { return nosuch() + dup() + dup3() + helper_var + target_secret + nomod() + twin1(1, 2); }",
        ),
        &["-mcmodel=kernel", "-fno-pic"],
    );
    let expect = [
        "symbol `nosuch` of `vmlinux`: not found in `",
        "symbol `dup` of `vmlinux`: 2 symbols of that name in `",
        "name one with `#[sympos = N]` (1 to 2)",
        "symbol `dup` of `vmlinux`: sympos 3 but `",
        "symbol `helper` of `vmlinux`: declared as a variable, but `",
        "symbol `target_secret` of `target_mod`: declared with 8 bytes, but it has 4 in `",
        "symbol `counter` of `vmlinux`: declared as a function, but `",
        "symbol `twin`: declared with 2 parameters (8, 8 bytes), returning 8 bytes, but the DWARF of `",
        "says `int (int)` (object `target_mod`)",
    ];
    for e in expect {
        assert!(err.contains(e), "`{e}` not in:\n{err}");
    }
}

#[test]
fn a_module_missing_from_every_build_is_named() {
    let dir = scratch("no-module");
    let obj = compile(
        &dir,
        "gcc",
        &["-fno-pic"],
        "patch",
        r#"extern int f(void) __asm__("\".klp.sym.nomod.f,0\"") __attribute__((weak));
int g(void) { return f(); }"#,
    )
    .unwrap();
    let mut targets = targets(&dir);
    let err = klp_convert::convert(&std::fs::read(obj).unwrap(), &mut targets).unwrap_err();
    assert!(
        err.to_string()
            .contains("module `nomod` is not in any modules.order searched"),
        "{err}"
    );
}

#[test]
fn an_unsupported_relocation_type_is_named() {
    // A GOT-relative reference (as position-independent code makes), which
    // the x86_64 module loader has no relocation type for.
    let err = x86_error(
        "bad-type",
        r#"__asm__(".weak \".klp.sym.vmlinux.counter,0\"\n"
	".pushsection .text.f,\"ax\",@progbits\n"
	".reloc ., R_X86_64_GOTPCREL, \".klp.sym.vmlinux.counter,0\"\n"
	".long 0\n"
	".popsection");"#,
        &["-fno-pic"],
    );
    assert!(
        err.contains("`.klp.sym.vmlinux.counter,0`: relocation type")
            && err.contains("is not one the x86_64 module loader applies to a livepatch symbol"),
        "{err}"
    );
}

#[test]
fn the_tool_leaves_a_refused_file_untouched() {
    let dir = scratch("cli");
    let obj = compile(
        &dir,
        "gcc",
        &["-fno-pic"],
        "patch",
        r#"extern int f(void) __asm__("\".klp.sym.vmlinux.nosuch,0\"") __attribute__((weak));
int g(void) { return f(); }"#,
    )
    .unwrap();
    let _ = targets(&dir);
    let before = std::fs::read(&obj).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_klp-convert"))
        .arg("--kernel")
        .arg(dir.join("kernel"))
        .arg(&obj)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("symbol `nosuch` of `vmlinux`: not found"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&obj).unwrap(), before);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// The mark of `kmod/livepatch/post_link.rs`: a zero in its own section.
const MARKED: &str = r#"__attribute__((used, section(".klp_rs.post_linked"))) static const char mark = 0;
int g(void) { return 1; }"#;

fn mark_of(data: &[u8]) -> Vec<u8> {
    let elf = Elf::parse(data).unwrap();
    let index = (0..elf.sections.len())
        .find(|&i| elf.section_name(i).unwrap() == klp_convert::POST_LINKED_SECTION)
        .expect("the mark's section");
    elf.section_data(index).unwrap().to_vec()
}

#[test]
fn the_post_link_mark_is_set_even_with_nothing_to_convert() {
    let dir = scratch("mark");
    let obj = compile(&dir, "gcc", &["-fno-pic"], "patch", MARKED).unwrap();
    let input = std::fs::read(&obj).unwrap();
    assert_eq!(mark_of(&input), [0]);
    let mut targets = targets(&dir);
    let (out, summary) = klp_convert::convert(&input, &mut targets)
        .unwrap()
        .expect("a mark to set");
    assert_eq!(summary, klp_convert::Summary::default());
    assert_eq!(mark_of(&out), [1]);
    // Only the mark changed.
    let changed = input.iter().zip(&out).filter(|(a, b)| a != b).count();
    assert_eq!((changed, input.len()), (1, out.len()));
    assert!(klp_convert::convert(&out, &mut targets).unwrap().is_none());
}

#[test]
fn the_post_link_mark_is_set_with_the_conversion() {
    let dir = scratch("mark-convert");
    let source = format!("{MARKED}\n{PATCH}");
    let obj = compile(&dir, "gcc", &["-fno-pic"], "patch", &source).unwrap();
    let mut targets = targets(&dir);
    let (out, _) = klp_convert::convert(&std::fs::read(&obj).unwrap(), &mut targets)
        .unwrap()
        .expect("something to convert");
    assert_eq!(mark_of(&out), [1]);
}

/// `.klp_rs.syms` lines of `patch!`'s replacements (no symbol of theirs in
/// the `.ko`), in a patch object built for x86_64.
fn replacing(name: &str, lines: &[&str], targets: &mut Targets) -> Result<(), Error> {
    let dir = scratch(name);
    let syms: String = lines
        .iter()
        .map(|l| format!("\".ascii \\\"{l}\\\\n\\\"\\n\"\n"))
        .collect();
    let source = format!("{MARKED}\n{}", declaring("", &syms, ""));
    let obj = compile(&dir, "gcc", &["-fno-pic"], "patch", &source).unwrap();
    klp_convert::convert(&std::fs::read(obj).unwrap(), targets).map(drop)
}

#[test]
fn replaced_functions_are_found_and_checked_against_dwarf() {
    let dir = scratch("replaced-targets");
    let mut targets = targets(&dir);
    let err = replacing(
        "replaced",
        &[
            // `int twin(int)` replaced by a `long (long, long)`, and by an
            // `int (int)`, which is right.
            "replace .klp.sym.target_mod.twin,1 69890",
            "replace .klp.sym.target_mod.twin,2 2177",
            "replace .klp.sym.vmlinux.nosuch,0 0",
            "replace .klp.sym.vmlinux.dup,0 0",
            "replace .klp.sym.vmlinux.counter,0 0",
        ],
        &mut targets,
    )
    .unwrap_err()
    .to_string();
    let expect = [
        "replacement of `twin()` in `target_mod` has 2 parameters (8, 8 bytes), returning 8 bytes, \
         but `target_mod` has `int twin(int x)`: 1 parameter (4 bytes), returning 4 bytes; \
         give the replacement that parameter list and return type",
        "replacement of `nosuch()` in `vmlinux`: not found in `",
        "replacement of `dup()` in `vmlinux`: 2 symbols of that name in `",
        "replacement of `counter()` in `vmlinux`: declared as a function, but `",
    ];
    for e in expect {
        assert!(err.contains(e), "`{e}` not in:\n{err}");
    }
    assert_eq!(err.lines().count(), expect.len(), "{err}");
}

#[test]
fn a_replaced_function_of_a_module_missing_from_every_build_is_named() {
    let dir = scratch("replaced-no-module-targets");
    let mut targets = targets(&dir);
    let err = replacing(
        "replaced-no-module",
        &["replace .klp.sym.nomod.f,0 0"],
        &mut targets,
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("module `nomod` is not in any modules.order searched"),
        "{err}"
    );
}

#[test]
fn a_bad_replace_line_is_named() {
    let dir = scratch("replaced-bad-line-targets");
    let mut targets = targets(&dir);
    let err = replacing("replaced-bad-line", &["replace f 0"], &mut targets).unwrap_err();
    assert!(
        err.to_string()
            .contains("bad line in `.klp_rs.syms`: `replace f 0`"),
        "{err}"
    );
}

/// A linked x86_64 image with DWARF and its `System.map`: a function, and
/// a system call entry that is an alias, as x86_64's `SYSCALL_DEFINE0`
/// makes `__x64_sys_getpid` of `__do_sys_getpid`.
const IMAGE: &str = r#"struct seq_file;
struct pt_regs;
int cmdline_proc_show(struct seq_file *m, void *v);
int cmdline_proc_show(struct seq_file *m, void *v) { return m == v; }
static long __attribute__((used, noipa)) __do_sys_getpid(const struct pt_regs *__unused) { return 42; }
long __x64_sys_getpid(const struct pt_regs *regs) __attribute__((alias("__do_sys_getpid")));
"#;

fn image(dir: &Path) -> Targets {
    use object::{Object, ObjectSymbol};
    let obj = compile(dir, "gcc", &["-g", "-fno-pic"], "image", IMAGE).unwrap();
    let kernel = dir.join("kernel");
    std::fs::create_dir_all(&kernel).unwrap();
    let vmlinux = kernel.join("vmlinux");
    let status = Command::new("ld")
        .args(["--entry=0", "-o"])
        .arg(&vmlinux)
        .arg(&obj)
        .status()
        .unwrap();
    assert!(status.success());
    let data = std::fs::read(&vmlinux).unwrap();
    let file = object::File::parse(&*data).unwrap();
    let mut map: Vec<(u64, String)> = file
        .symbols()
        .filter(|s| s.kind() == object::SymbolKind::Text)
        .map(|s| {
            let ty = if s.is_global() { "T" } else { "t" };
            (s.address(), format!("{ty} {}", s.name().unwrap()))
        })
        .collect();
    map.sort();
    let text: String = map
        .iter()
        .map(|(addr, rest)| format!("{addr:016x} {rest}\n"))
        .collect();
    std::fs::write(kernel.join("System.map"), text).unwrap();
    Targets::new(Some(&kernel), &[])
}

#[test]
fn a_replaced_alias_is_checked_against_the_function_at_its_address() {
    let dir = scratch("replaced-image");
    let mut targets = image(&dir);
    // `(struct seq_file *, void *) -> int` and `(const struct pt_regs *) ->
    // long`: right.
    replacing(
        "replaced-image-right",
        &[
            "replace .klp.sym.vmlinux.cmdline_proc_show,0 69762",
            "replace .klp.sym.vmlinux.__x64_sys_getpid,0 4353",
        ],
        &mut targets,
    )
    .unwrap();
    // The entry without its registers, and `cmdline_proc_show()` without
    // `v`.
    let err = replacing(
        "replaced-image-wrong",
        &[
            "replace .klp.sym.vmlinux.cmdline_proc_show,0 4225",
            "replace .klp.sym.vmlinux.__x64_sys_getpid,0 256",
        ],
        &mut targets,
    )
    .unwrap_err()
    .to_string();
    let expect = [
        "replacement of `cmdline_proc_show()` in `vmlinux` has 1 parameter (8 bytes), returning 4 bytes, \
         but `vmlinux` has `int cmdline_proc_show(struct seq_file *m, void *v)`: 2 parameters (8, 8 bytes), returning 4 bytes;",
        "replacement of `__x64_sys_getpid()` in `vmlinux` has no parameters, returning 8 bytes, \
         but `vmlinux` has `long int __do_sys_getpid(const struct pt_regs *__unused)`: 1 parameter (8 bytes), returning 8 bytes;",
    ];
    for e in expect {
        assert!(err.contains(e), "`{e}` not in:\n{err}");
    }
}
