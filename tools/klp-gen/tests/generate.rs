//! `klp_gen::generate` on a tiny fake x86_64 kernel build made here with
//! the host's `gcc` and `ld`: an `O=` build directory (`.cmd` files with
//! Kbuild's compile commands, `Module.symvers`, `.config`, a `vmlinux`
//! linked with `ld -r`) with a `source` link to its tree. Each test gives
//! one fix and checks what is generated, or that it is refused with the
//! right error, naming the file or symbol and the reason, writing nothing
//! to the module directory and leaving the tree and the build as they were.
//! Without the host tools (or on another arch) the tests are skipped with a
//! note.

use klp_gen::{module::Metadata, Build, Error, Generated, Request};
use object::{Object, ObjectSection, ObjectSymbol, SymbolKind};
use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    process::Command,
};

/// A unit of `vmlinux`: a global and a static variable, an exported
/// function, a function that
/// calls an unexported global of another unit, init code, and a function
/// and a variable whose code and value are their own line numbers (which a
/// fix above them must not move).
const FOO_C: &str = "\
/*
 * kernel/foo.c: a unit of the fake kernel.
 *
 * Nothing here is real kernel code.
 */

extern int bar_helper(int x);

int foo_limit = 10;

__attribute__((noipa)) int foo_exported(int x)
{
    return x * 3;
}

int foo_check(int x)
{
    return x < foo_limit;
}

static int foo_count = 1;

int foo_bump(void)
{
    return foo_count++;
}

int foo_compute(int x)
{
    /* Scaled by the helper. */
    return bar_helper(x) + 1;
}

__attribute__((section(\".init.text\"))) int foo_init(void)
{
    return foo_limit + 1;
}

int foo_line(void)
{
    return __LINE__;
}

int foo_where = __LINE__;
";

/// `kernel/bar.c`: a global the kernel does not export, and a `static`
/// helper whose name `lib/bar.c` has too.
const KERNEL_BAR_C: &str = "\
/* kernel/bar.c */

__attribute__((noipa)) static int helper(int x)
{
    return x + 7;
}

int bar_helper(int x)
{
    return x - 1;
}

int kbar_fn(int x)
{
    return helper(x) * 2;
}
";

/// `lib/bar.c`: the same file name, the same local symbols.
const LIB_BAR_C: &str = "\
/* lib/bar.c */

__attribute__((noipa)) static int helper(int x)
{
    return x + 9;
}

int lbar_fn(int x)
{
    return helper(x) * 5;
}
";

/// In the tree, not in this build (`CONFIG_QUUX` is not set).
const QUUX_C: &str = "\
/* kernel/quux.c */

int quux(int x)
{
    return x + 1;
}
";

const KERNEL_MAKEFILE: &str = "obj-y += foo.o bar.o\nobj-$(CONFIG_QUUX) += quux.o\n";
const LIB_MAKEFILE: &str = "obj-y += bar.o\n";

/// The compiled units: object, source.
const UNITS: &[(&str, &str)] = &[
    ("kernel/foo.o", "kernel/foo.c"),
    ("kernel/bar.o", "kernel/bar.c"),
    ("lib/bar.o", "lib/bar.c"),
];

/// The kernel's code generation flags that matter here, its DWARF, and
/// x86's ftrace (`__fentry__` calls recorded in `__mcount_loc`).
const CFLAGS: &str = "-O2 -g -fno-PIE -mcmodel=kernel -fno-common -fno-stack-protector \
                      -ffreestanding -nostdinc -fno-asynchronous-unwind-tables \
                      -pg -mrecord-mcount -mfentry";

/// The name of the generated module.
const NAME: &str = "klp_test";

/// A fake kernel build: `src/` (the tree), `build/` (the `O=` build).
struct Fixture {
    root: PathBuf,
    src: PathBuf,
    build: PathBuf,
}

/// Whether `tool --version` runs.
fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

impl Fixture {
    /// Builds the fake kernel in a directory of its own for the test
    /// `name`; `None` (with a note) without the host tools.
    fn new(name: &str) -> Option<Self> {
        Self::with_foo(name, FOO_C)
    }

    /// `new`, `kernel/foo.c` being `foo_c`.
    fn with_foo(name: &str, foo_c: &str) -> Option<Self> {
        if !cfg!(all(target_arch = "x86_64", target_os = "linux")) {
            println!("skipping: the fixture is an x86_64 Linux kernel build");
            return None;
        }
        for tool in ["gcc", "ld", "patch"] {
            if !have(tool) {
                println!("skipping: `{tool}` not found (`cargo xtask setup` installs it)");
                return None;
            }
        }
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("klp-gen-generate")
            .join(name);
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).unwrap();
        // The build's commands name the tree as `source` resolves.
        let root = fs::canonicalize(&root).unwrap();
        let (src, build) = (root.join("src"), root.join("build"));
        for (path, text) in [
            ("kernel/foo.c", foo_c),
            ("kernel/bar.c", KERNEL_BAR_C),
            ("kernel/quux.c", QUUX_C),
            ("kernel/Makefile", KERNEL_MAKEFILE),
            ("lib/bar.c", LIB_BAR_C),
            ("lib/Makefile", LIB_MAKEFILE),
        ] {
            write(&src.join(path), text);
        }
        fs::create_dir_all(&build).unwrap();
        std::os::unix::fs::symlink(&src, build.join("source")).unwrap();
        write(
            &build.join(".config"),
            "CONFIG_FOO=y\n# CONFIG_QUUX is not set\n",
        );
        write(
            &build.join("Module.symvers"),
            "0x1a2b3c4d\tfoo_exported\tvmlinux\tEXPORT_SYMBOL\t\n\
             0x5e6f7a8b\t__fentry__\tvmlinux\tEXPORT_SYMBOL\t\n",
        );
        // Each unit as Kbuild compiles it, and the `.cmd` file it keeps.
        for (object, source) in UNITS {
            let (dir, file) = object.rsplit_once('/').unwrap();
            let source = src.join(source);
            let command = format!(
                "gcc -c {CFLAGS} -Wp,-MMD,{dir}/.{file}.d -o {object} {}",
                source.display()
            );
            fs::create_dir_all(build.join(dir)).unwrap();
            run(Command::new("sh")
                .current_dir(&build)
                .arg("-c")
                .arg(&command));
            write(
                &build.join(dir).join(format!(".{file}.cmd")),
                &format!(
                    "savedcmd_{object} := {command}\n\nsource_{object} := {src}\n\n\
                     deps_{object} := \\\n  {src} \\\n\n{object}: $(deps_{object})\n\n$(deps_{object}):\n",
                    src = source.display()
                ),
            );
        }
        run(Command::new("ld")
            .current_dir(&build)
            .args(["-r", "-o", "vmlinux"])
            .args(UNITS.iter().map(|(o, _)| o)));
        Some(Self { root, src, build })
    }

    /// The request to generate from the unified diff `patch`.
    fn request(&self, patch: &str) -> Request {
        let path = self.root.join("fix.diff");
        fs::write(&path, patch).unwrap();
        Request {
            patches: vec![path],
            meta: Metadata {
                name: NAME.into(),
                description: "a test fix".into(),
                version: 1,
                replace: true,
                cves: vec![],
                bugs: vec![],
            },
            livepatch: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../kmod/livepatch"),
            rust: None,
            work: self.root.join("work"),
            out: self.root.join("out"),
        }
    }

    /// Generates from `patch`, checking that the tree and the build are
    /// as they were.
    fn generate(&self, patch: &str) -> (Result<Generated, Error>, Request) {
        let request = self.request(patch);
        let (src, build) = (snapshot(&self.src), snapshot(&self.build));
        let result = Build::open(&self.build).and_then(|b| klp_gen::generate(&b, &request));
        assert!(src == snapshot(&self.src), "the source tree changed");
        assert!(
            build == snapshot(&self.build),
            "the build directory changed"
        );
        (result, request)
    }

    /// Generates from `patch`, which must be refused: the error, after
    /// checking that no module directory was written.
    fn refused(&self, patch: &str) -> Error {
        let (result, request) = self.generate(patch);
        let err = match result {
            Ok(g) => panic!("generated, but should not have been:\n{}", g.report),
            Err(e) => e,
        };
        println!("refused: {err}");
        assert!(
            !request.out.exists(),
            "`{}` was written, by a generation that failed with: {err}",
            request.out.display()
        );
        err
    }
}

/// Every file under `dir` (symbolic links not followed): its contents, or
/// where a link points.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = fs::symlink_metadata(&path).unwrap();
            if meta.is_symlink() {
                let to = fs::read_link(&path).unwrap();
                out.insert(path, to.into_os_string().into_encoded_bytes());
            } else if meta.is_dir() {
                walk(&path, out);
            } else {
                out.insert(path.clone(), fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, &mut out);
    out
}

/// A unified diff of `file` from `old` to `new`, one hunk with three lines
/// of context, as `diff -u` makes it.
fn unified(file: &str, old: &str, new: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let start = prefix.saturating_sub(3);
    let (a_end, b_end) = (
        (a.len() - suffix + 3).min(a.len()),
        (b.len() - suffix + 3).min(b.len()),
    );
    let mut out = format!(
        "--- a/{file}\n+++ b/{file}\n@@ -{},{} +{},{} @@\n",
        start + 1,
        a_end - start,
        start + 1,
        b_end - start
    );
    let mut put = |mark: char, lines: &[&str]| {
        for l in lines {
            out.push(mark);
            out.push_str(l);
            out.push('\n');
        }
    };
    put(' ', &a[start..prefix]);
    put('-', &a[prefix..a.len() - suffix]);
    put('+', &b[prefix..b.len() - suffix]);
    put(' ', &a[a.len() - suffix..a_end]);
    out
}

/// `text` with `from` replaced by `to`, which must be there.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "no `{from}` in:\n{text}");
    text.replacen(from, to, 1)
}

/// The good fix: `foo_compute` changed, two lines longer (the functions
/// after it keep their line numbers all the same), now calling the
/// exported `foo_exported` too.
fn good_fix(old: &str) -> String {
    edit(
        old,
        "    return bar_helper(x) + 1;\n",
        "    int y = foo_exported(x);\n\n    return bar_helper(x) + y;\n",
    )
}

/// The `=> extern` lines of the module's Rust part.
fn replacements(generated: &Generated) -> Vec<String> {
    let rust = fs::read_to_string(generated.dir.join(format!("{NAME}_rs.rs"))).unwrap();
    rust.lines()
        .filter(|l| l.contains("=> extern"))
        .map(|l| l.trim().to_string())
        .collect()
}

#[test]
fn a_hunk_that_does_not_apply_is_refused_naming_file_and_hunk() {
    let Some(fx) = Fixture::new("does-not-apply") else {
        return;
    };
    // Made against a tree where the line was different.
    let patch = unified(
        "kernel/foo.c",
        &edit(FOO_C, "bar_helper(x) + 1;", "bar_helper(x) + 7;"),
        &edit(FOO_C, "bar_helper(x) + 1;", "bar_helper(x) + 8;"),
    );
    match fx.refused(&patch) {
        Error::DoesNotApply { patch: p, why } => {
            assert_eq!(p, fx.root.join("fix.diff"));
            assert!(why.contains("kernel/foo.c"), "{why}");
            assert!(why.contains("Hunk #1 FAILED"), "{why}");
        }
        e => panic!("not DoesNotApply: {e:?}"),
    }
}

#[test]
fn a_file_this_build_does_not_compile_is_refused_naming_its_option() {
    let Some(fx) = Fixture::new("not-compiled") else {
        return;
    };
    let patch = unified("kernel/quux.c", QUUX_C, &edit(QUUX_C, "x + 1", "x + 2"));
    match fx.refused(&patch) {
        Error::NotCompiled { file, why } => {
            assert_eq!(file, "kernel/quux.c");
            assert!(why.contains("CONFIG_QUUX"), "{why}");
            assert!(why.contains("does not set"), "{why}");
        }
        e => panic!("not NotCompiled: {e:?}"),
    }
    // Nothing was even copied.
    assert!(!fx.root.join("work").exists());
}

#[test]
fn a_comment_only_fix_changes_nothing() {
    let Some(fx) = Fixture::new("no-changes") else {
        return;
    };
    let patch = unified(
        "kernel/foo.c",
        FOO_C,
        &edit(
            FOO_C,
            "    /* Scaled by the helper. */\n",
            "    /*\n     * Scaled by the helper,\n     * which is in bar.c.\n     */\n",
        ),
    );
    match fx.refused(&patch) {
        Error::NoChanges(units) => assert!(units.contains("kernel/foo.c"), "{units}"),
        e => panic!("not NoChanges: {e:?}"),
    }
}

#[test]
fn a_changed_initial_value_is_refused_pointing_to_a_shadow() {
    let Some(fx) = Fixture::new("changed-data") else {
        return;
    };
    for (variable, from, to) in [
        ("foo_limit", "int foo_limit = 10;", "int foo_limit = 20;"),
        (
            "foo_count",
            "static int foo_count = 1;",
            "static int foo_count = 2;",
        ),
    ] {
        let patch = unified("kernel/foo.c", FOO_C, &edit(FOO_C, from, to));
        match fx.refused(&patch) {
            Error::Refused(problems) => {
                let text = problems.join("\n");
                assert!(
                    problems.iter().any(|p| p.contains(&format!("`{variable}`"))
                        && p.contains("initial value")
                        && p.contains("Shadow")),
                    "{text}"
                );
            }
            e => panic!("not Refused: {e:?}"),
        }
    }
}

#[test]
fn a_change_to_init_code_is_refused() {
    let Some(fx) = Fixture::new("init-code") else {
        return;
    };
    let patch = unified(
        "kernel/foo.c",
        FOO_C,
        &edit(FOO_C, "return foo_limit + 1;", "return foo_limit + 2;"),
    );
    match fx.refused(&patch) {
        Error::Refused(problems) => {
            let text = problems.join("\n");
            assert!(
                problems
                    .iter()
                    .any(|p| p.contains("`foo_init`") && p.contains("init or exit code")),
                "{text}"
            );
            assert!(text.contains(".init.text"), "{text}");
        }
        e => panic!("not Refused: {e:?}"),
    }
}

#[test]
fn a_static_helper_two_units_of_one_file_name_have_is_refused_as_ambiguous() {
    let Some(fx) = Fixture::new("ambiguous-local") else {
        return;
    };
    let patch = unified(
        "kernel/bar.c",
        KERNEL_BAR_C,
        &edit(KERNEL_BAR_C, "helper(x) * 2", "helper(x) * 4"),
    );
    match fx.refused(&patch) {
        Error::Refused(problems) => {
            let text = problems.join("\n");
            assert!(
                problems.iter().any(|p| p.contains("`helper`")
                    && p.contains("bar.c")
                    && p.contains("ambiguous")),
                "{text}"
            );
        }
        e => panic!("not Refused: {e:?}"),
    }
}

#[test]
fn a_good_fix_generates_a_module() {
    let Some(fx) = Fixture::new("good") else {
        return;
    };
    let patch = unified("kernel/foo.c", FOO_C, &good_fix(FOO_C));
    let (result, request) = fx.generate(&patch);
    let g = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(g.dir, request.out);
    assert!(g.warnings.is_empty(), "{:?}", g.warnings);

    // Kbuild, the Rust part and the report.
    let kbuild = fs::read_to_string(g.dir.join("Kbuild")).unwrap();
    assert!(
        kbuild.contains(&format!("{NAME}-y := {NAME}_rs.o {NAME}_gen0.o")),
        "{kbuild}"
    );
    // Only `foo_compute`: `foo_line` after it returns the same `__LINE__`.
    assert_eq!(
        replacements(&g),
        ["\"foo_compute\" => extern klp_rs_new_foo_compute,"]
    );
    let report = fs::read_to_string(g.dir.join(format!("{NAME}.report.txt"))).unwrap();
    assert_eq!(report, g.report);
    assert!(report.contains("kernel/foo.c"), "{report}");
    assert!(
        report.contains("the fix changes kernel/foo.c: foo_compute()"),
        "{report}"
    );
    assert!(
        report.contains("foo_compute sympos 0: its own source changed"),
        "{report}"
    );
    assert!(
        report.contains(".klp.sym.vmlinux.bar_helper,0 (function)"),
        "{report}"
    );

    // The part and the `.cmd` file Kbuild wants of it.
    let part = g.dir.join(format!("{NAME}_gen0.o"));
    let cmd = g.dir.join(format!(".{NAME}_gen0.o.cmd"));
    assert_eq!(g.parts, [part.clone(), cmd.clone()]);
    assert!(fs::read_to_string(&cmd)
        .unwrap()
        .starts_with(&format!("savedcmd_{NAME}_gen0.o := ")));
    let data = fs::read(&part).unwrap();
    let obj = object::File::parse(&*data).unwrap();
    let symbol = |name: &str| {
        obj.symbols()
            .find(|s| s.name() == Ok(name))
            .unwrap_or_else(|| panic!("the part has no symbol `{name}`"))
    };
    let entry = symbol("klp_rs_new_foo_compute");
    assert!(entry.is_global() && entry.is_definition() && entry.kind() == SymbolKind::Text);
    // The unexported global of another unit: a livepatch symbol, declared
    // for the post-link step.
    let klp = symbol(".klp.sym.vmlinux.bar_helper,0");
    assert!(klp.is_undefined() && klp.is_weak());
    let syms = obj
        .section_by_name(".klp_rs.syms")
        .expect("a `.klp_rs.syms` section");
    let syms = String::from_utf8(syms.data().unwrap().to_vec()).unwrap();
    assert!(
        syms.lines()
            .any(|l| l == "fn .klp.sym.vmlinux.bar_helper,0 0"),
        "{syms}"
    );
    // Exported symbols stay plain undefined ones; the unit's variable and
    // the functions not replaced are not carried.
    assert!(symbol("foo_exported").is_undefined());
    assert!(symbol("__fentry__").is_undefined());
    for name in [
        "foo_limit",
        "foo_check",
        "foo_init",
        "foo_line",
        "bar_helper",
    ] {
        assert!(
            obj.symbols().all(|s| s.name() != Ok(name)),
            "the part has `{name}`"
        );
    }
    // The ftrace site of the new code comes along.
    assert!(obj.section_by_name("__mcount_loc").is_some());
    // And it is an object `ld` takes.
    run(Command::new("ld")
        .current_dir(&fx.root)
        .args(["-r", "-o", "linked.o"])
        .arg(&part));
}

/// The good fix, made against a tree that lacks the six lines of this
/// one's header comment: its hunk applies six lines further down.
fn at_an_offset(foo_c: &str) -> String {
    let shorter = foo_c.split_once(" */\n\n").unwrap().1;
    unified("kernel/foo.c", shorter, &good_fix(shorter))
}

#[test]
fn a_hunk_applied_at_an_offset_is_warned_about() {
    // Without `foo_where`, which such a hunk changes (see below).
    let foo_c = edit(FOO_C, "\nint foo_where = __LINE__;\n", "");
    let Some(fx) = Fixture::with_foo("offset", &foo_c) else {
        return;
    };
    let (result, _) = fx.generate(&at_an_offset(&foo_c));
    let g = result.unwrap_or_else(|e| panic!("{e}"));
    assert!(!g.warnings.is_empty());
    let text = g.warnings.join("\n");
    assert!(
        text.contains("kernel/foo.c") && text.contains("offset 6 lines"),
        "{text}"
    );
    assert!(
        g.report.contains(&format!("warning: {}", g.warnings[0])),
        "{}",
        g.report
    );
    assert_eq!(
        replacements(&g),
        ["\"foo_compute\" => extern klp_rs_new_foo_compute,"]
    );
}

#[test]
fn a_hunk_applied_at_an_offset_moves_no_line_after_it() {
    let Some(fx) = Fixture::new("offset-lines") else {
        return;
    };
    // `foo_line` returns its own `__LINE__`, `foo_where` holds its own:
    // the `#line` directive after the hunk must number the lines after it
    // as the tree does (else `foo_line` looks moved, and `foo_where` has a
    // changed initial value: the fix is refused).
    let (result, _) = fx.generate(&at_an_offset(FOO_C));
    let g = result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        replacements(&g),
        ["\"foo_compute\" => extern klp_rs_new_foo_compute,"]
    );
}

/// `kernel/foo.c` with a `static inline` helper, which the compiler inlines
/// into its one caller and emits no copy of its own.
fn with_inline_helper() -> String {
    format!(
        "{FOO_C}\nstatic inline int foo_scale(int x)\n{{\n    return x * 2;\n}}\n\n\
         int foo_scaled(int x)\n{{\n    return foo_scale(x) + foo_limit;\n}}\n"
    )
}

#[test]
fn a_change_in_an_inlined_helper_is_named_from_dwarf() {
    let foo_c = with_inline_helper();
    let Some(fx) = Fixture::with_foo("inline", &foo_c) else {
        return;
    };
    let fixed = edit(&foo_c, "return x * 2;", "return x * 3;");
    let (result, _) = fx.generate(&unified("kernel/foo.c", &foo_c, &fixed));
    let g = result.unwrap_or_else(|e| panic!("{e}"));
    // The helper has no code of its own: its caller is replaced.
    assert_eq!(
        replacements(&g),
        ["\"foo_scaled\" => extern klp_rs_new_foo_scaled,"]
    );
    assert!(
        g.report.contains(
            "foo_scaled sympos 0: the change is in its code inlined from `foo_scale()`, \
             whose source the fix changes (DWARF inline ranges)"
        ),
        "{}",
        g.report
    );
}
