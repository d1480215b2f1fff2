//! Building the C fixtures of `tests/fixtures/` with each architecture's
//! kernel flags, and comparing outputs with the checked-in expected files.

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
    sync::Mutex,
};

/// Tests run in parallel and share fixture builds: one build at a time.
static BUILDING: Mutex<()> = Mutex::new(());

/// A compiler and the flags the kernel uses for ftrace on one architecture.
pub struct Target {
    pub arch: &'static str,
    pub prefix: &'static str,
    pub ftrace_flags: &'static [&'static str],
}

/// The four architectures: `-pg -mfentry` is x86's; arm64 uses patchable
/// function entries; powerpc `-mprofile-kernel`; s390 a NOP'd `-mfentry`
/// recorded in `__mcount_loc`.
pub const TARGETS: &[Target] = &[
    Target {
        arch: "x86_64",
        prefix: "x86_64-linux-gnu-",
        ftrace_flags: &["-pg", "-mfentry"],
    },
    Target {
        arch: "aarch64",
        prefix: "aarch64-linux-gnu-",
        ftrace_flags: &["-fpatchable-function-entry=2"],
    },
    Target {
        arch: "ppc64le",
        prefix: "powerpc64le-linux-gnu-",
        // `-mcmodel=large`, as modules are built: addresses go through the TOC.
        ftrace_flags: &["-pg", "-mprofile-kernel", "-mcmodel=large"],
    },
    Target {
        arch: "s390x",
        prefix: "s390x-linux-gnu-",
        ftrace_flags: &["-pg", "-mfentry", "-mnop-mcount", "-mrecord-mcount"],
    },
];

/// The kernel's code generation flags that matter here.
const COMMON_FLAGS: &[&str] = &[
    "-c",
    "-g",
    "-O2",
    "-ffunction-sections",
    "-fno-PIE",
    "-fno-common",
    "-fno-stack-protector",
    "-ffreestanding",
    "-nostdinc",
];

/// One pair per category of the issue.
pub const CATEGORIES: &[&str] = &[
    "code",
    "new_removed",
    "inline",
    "types",
    "data",
    "patchable",
];

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn out_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("klp-diff-fixtures")
}

impl Target {
    /// Whether the cross compiler is installed; if not, says so.
    pub fn available(&self) -> bool {
        let ok = Command::new(format!("{}gcc", self.prefix))
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            println!(
                "skipping {}: {}gcc not found (`cargo xtask setup` installs it)",
                self.arch, self.prefix
            );
        }
        ok
    }

    /// Compiles `tests/fixtures/<category>/<side>/*.c` with `extra` flags;
    /// several files are linked into one object with `ld -r`, as a module's.
    pub fn build(&self, category: &str, side: &str, extra: &[&str]) -> PathBuf {
        let _one_at_a_time = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
        let src = manifest_dir()
            .join("tests/fixtures")
            .join(category)
            .join(side);
        let tag = if extra.is_empty() {
            String::new()
        } else {
            format!("-{}", extra.join("").replace(['-', '='], ""))
        };
        let dir = out_dir()
            .join(self.arch)
            .join(format!("{category}{tag}"))
            .join(side);
        fs::create_dir_all(&dir).unwrap();
        let mut sources: Vec<PathBuf> = fs::read_dir(&src)
            .unwrap_or_else(|e| panic!("{}: {e}", src.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "c"))
            .collect();
        sources.sort();
        let mut objects = Vec::new();
        for s in &sources {
            let name = s.file_name().unwrap();
            fs::copy(s, dir.join(name)).unwrap();
            let obj = Path::new(name).with_extension("o");
            let mut cmd = Command::new(format!("{}gcc", self.prefix));
            cmd.current_dir(&dir)
                .args(COMMON_FLAGS)
                .args(self.ftrace_flags)
                .args(extra)
                .arg("-o")
                .arg(&obj)
                .arg(name);
            run(&mut cmd);
            objects.push(obj);
        }
        if objects.len() == 1 {
            return dir.join(&objects[0]);
        }
        let linked = Path::new(category).with_extension("o");
        let mut ld = Command::new(format!("{}ld", self.prefix));
        ld.current_dir(&dir)
            .arg("-r")
            .arg("-o")
            .arg(&linked)
            .args(&objects);
        run(&mut ld);
        dir.join(linked)
    }
}

impl Target {
    /// `build`, then linked with `tests/fixtures/stub.c` into an executable
    /// with no relocations left, like a `vmlinux`. On x86, `__mcount_loc`
    /// records the ftrace sites, as the kernel's `-mrecord-mcount` does; on
    /// arm64 the image is position-independent, as the kernel's is.
    pub fn build_linked(&self, category: &str, side: &str) -> PathBuf {
        let record: &[&str] = if self.arch == "x86_64" {
            &["-mrecord-mcount"]
        } else {
            &[]
        };
        let object = self.build(category, side, record);
        let _one_at_a_time = BUILDING.lock().unwrap_or_else(|e| e.into_inner());
        let dir = object.parent().unwrap();
        fs::copy(
            manifest_dir().join("tests/fixtures/stub.c"),
            dir.join("stub.c"),
        )
        .unwrap();
        let mut cc = Command::new(format!("{}gcc", self.prefix));
        cc.current_dir(dir)
            .args(COMMON_FLAGS)
            .args(["-o", "stub.o", "stub.c"]);
        run(&mut cc);
        let linked = object.with_extension("elf");
        let mut ld = Command::new(format!("{}ld", self.prefix));
        if self.arch == "aarch64" {
            // As arm64 links vmlinux: pointers are only in RELATIVE
            // dynamic relocations.
            ld.args(["-pie", "--no-apply-dynamic-relocs"]);
        }
        ld.current_dir(dir)
            .args(["-e", "0", "-o"])
            .arg(&linked)
            .arg(&object)
            .arg("stub.o");
        run(&mut ld);
        linked
    }
}

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The text and JSON reports of `old` against `new`.
pub fn reports(old: &Path, new: &Path, threads: usize) -> (String, String) {
    let (om, nm) = (
        klp_diff::Mapping::open(old).unwrap(),
        klp_diff::Mapping::open(new).unwrap(),
    );
    let o = klp_diff::Binary::parse("old", om.data()).unwrap();
    let n = klp_diff::Binary::parse("new", nm.data()).unwrap();
    let report = klp_diff::diff(
        &o,
        &n,
        &klp_diff::Options {
            threads,
            ..klp_diff::Options::default()
        },
    )
    .unwrap();
    let (mut text, mut json) = (Vec::new(), Vec::new());
    report.write_text(&mut text).unwrap();
    report.write_json(&mut json).unwrap();
    (
        String::from_utf8(text).unwrap(),
        String::from_utf8(json).unwrap(),
    )
}

/// Compares `actual` with the expected file, or rewrites the file when
/// `UPDATE_EXPECT=1`. Returns a description of the mismatch.
pub fn check(expected: &Path, actual: &str) -> Option<String> {
    if std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1") {
        fs::create_dir_all(expected.parent().unwrap()).unwrap();
        fs::write(expected, actual).unwrap();
        return None;
    }
    let want = fs::read_to_string(expected).unwrap_or_default();
    (want != actual).then(|| {
        format!(
            "{} differs (UPDATE_EXPECT=1 rewrites it)\n--- expected\n{want}\n--- actual\n{actual}",
            expected.display()
        )
    })
}
