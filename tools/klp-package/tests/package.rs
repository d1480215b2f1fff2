//! Packages built from fake patch modules, read back with the formats' own
//! tools (`dpkg-deb`, `rpm`), and their scripts parsed and run with stub
//! commands.

use klp_package::{arch::Arch, common_package, deb, patch_package_from, rpmpkg, Options, Package};
use object::{write::Object, Architecture, BinaryFormat, Endianness};
use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

/// A module image of `arch` whose `.modinfo` holds `entries`.
fn module_elf(arch: Architecture, endian: Endianness, entries: &[(&str, &str)]) -> Vec<u8> {
    use object::{write::StandardSection, SectionKind};
    let mut obj = Object::new(BinaryFormat::Elf, arch, endian);
    let text = obj.section_id(StandardSection::Text);
    obj.append_section_data(text, &[0; 4], 16);
    let modinfo = obj.add_section(Vec::new(), b".modinfo".to_vec(), SectionKind::ReadOnlyData);
    let data: Vec<u8> = entries
        .iter()
        .flat_map(|(k, v)| format!("{k}={v}\0").into_bytes())
        .collect();
    obj.append_section_data(modinfo, &data, 1);
    obj.write().unwrap()
}

const V1: &[(&str, &str)] = &[
    ("name", "klp_series_v1"),
    ("livepatch", "Y"),
    ("klp_version", "1"),
    ("klp_kernel", "7.3.4"),
    ("klp_released", "2026-03-01"),
    ("klp_cve", "CVE-2026-10001"),
    ("klp_bug", "klp-rs#101"),
    ("description", "Cumulative patch 1 of the example series"),
];

fn v1() -> Package {
    let data = module_elf(Architecture::X86_64, Endianness::Little, V1);
    patch_package_from(Path::new("klp_series_v1.ko"), data, &Options::default()).unwrap()
}

/// A fresh directory for one test's files.
fn tmp(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("klp-package")
        .join(test);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `cmd`, which must succeed, and returns its standard output.
fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} (is it installed?): {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn names_the_package_after_the_kernel_release() {
    assert_eq!(klp_package::package_name("7.3.4"), "klp-rs-livepatch-7_3_4");
    assert_eq!(
        klp_package::package_name("7.3.4-1-amd64"),
        "klp-rs-livepatch-7_3_4_1_amd64"
    );
    let p = v1();
    assert_eq!(p.name, "klp-rs-livepatch-7_3_4");
    assert_eq!(p.version, "1");
    assert_eq!(deb::file_name(&p), "klp-rs-livepatch-7_3_4_1_amd64.deb");
    assert_eq!(
        rpmpkg::file_name(&p),
        "klp-rs-livepatch-7_3_4-1-1.x86_64.rpm"
    );
}

#[test]
fn reads_the_arch_from_the_elf_header() {
    let cases = [
        (Architecture::X86_64, Endianness::Little, "amd64", "x86_64"),
        (
            Architecture::Aarch64,
            Endianness::Little,
            "arm64",
            "aarch64",
        ),
        (
            Architecture::PowerPc64,
            Endianness::Little,
            "ppc64el",
            "ppc64le",
        ),
        (Architecture::S390x, Endianness::Big, "s390x", "s390x"),
    ];
    for (arch, endian, deb, rpm) in cases {
        let a = Arch::of_elf(&module_elf(arch, endian, V1)).unwrap();
        assert_eq!((a.deb(), a.rpm()), (deb, rpm), "{arch:?}");
    }
    let big_power = module_elf(Architecture::PowerPc64, Endianness::Big, V1);
    assert!(Arch::of_elf(&big_power).is_err());
}

#[test]
fn refuses_what_is_not_a_klp_rs_patch() {
    let no_version: Vec<_> = V1
        .iter()
        .filter(|(k, _)| *k != "klp_version")
        .copied()
        .collect();
    let no_release: Vec<_> = V1
        .iter()
        .filter(|(k, _)| *k != "klp_released")
        .copied()
        .collect();
    let odd_kernel: Vec<_> = V1
        .iter()
        .map(|&(k, v)| {
            if k == "klp_kernel" {
                (k, "7.3 4;rm")
            } else {
                (k, v)
            }
        })
        .collect();
    for entries in [&no_version[..], &no_release, &odd_kernel] {
        let data = module_elf(Architecture::X86_64, Endianness::Little, entries);
        assert!(
            patch_package_from(Path::new("x.ko"), data, &Options::default()).is_err(),
            "{entries:?}"
        );
    }
}

#[test]
fn lifecycle_file_ends_support_thirteen_months_after_the_release() {
    let p = v1();
    let file = p
        .files
        .iter()
        .find(|f| f.path == "/usr/share/klp-rs/lifecycle/klp-rs-livepatch-7_3_4.lifecycle")
        .expect("a lifecycle file");
    let text = String::from_utf8(file.data.clone()).unwrap();
    let data: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(data, ["klp-rs-livepatch-7_3_4, 1, 2027-04-01"]);

    let six = Options {
        support_months: 6,
        ..Options::default()
    };
    let data = module_elf(Architecture::X86_64, Endianness::Little, V1);
    let p = patch_package_from(Path::new("klp_series_v1.ko"), data, &six).unwrap();
    assert!(p
        .extra_fields
        .contains(&("Klp-End-Of-Support".to_string(), "2026-09-01".to_string())));
}

#[test]
fn dpkg_deb_reads_the_deb() {
    let dir = tmp("deb");
    let p = v1();
    let path = dir.join(deb::file_name(&p));
    deb::write(&p, fs::File::create(&path).unwrap()).unwrap();

    let info = run(Command::new("dpkg-deb").arg("-I").arg(&path));
    for line in [
        " Package: klp-rs-livepatch-7_3_4\n",
        " Version: 1\n",
        " Architecture: amd64\n",
        " Depends: klp-rs-livepatch-common (>= 0.1.0), kmod\n",
        " Klp-End-Of-Support: 2027-04-01\n",
        " Description: klp-rs live patch 1 of Linux 7.3.4\n",
        "  Cumulative patch 1 of the example series\n",
        "  CVEs: CVE-2026-10001\n",
        "  Bugs: klp-rs#101\n",
    ] {
        assert!(info.contains(line), "no {line:?} in:\n{info}");
    }
    for script in ["postinst", "prerm", "postrm"] {
        assert!(
            info.lines()
                .any(|l| l.contains(script) && l.contains("#!/bin/sh")),
            "no {script} in:\n{info}"
        );
    }
    let fields = run(Command::new("dpkg-deb").arg("-f").arg(&path).arg("Package"));
    assert_eq!(fields, "klp-rs-livepatch-7_3_4\n");

    let list = run(Command::new("dpkg-deb").arg("-c").arg(&path));
    for file in [
        "./lib/modules/7.3.4/livepatch/klp_series_v1.ko",
        "./usr/share/klp-rs/lifecycle/klp-rs-livepatch-7_3_4.lifecycle",
    ] {
        assert!(
            list.lines()
                .any(|l| l.starts_with("-rw-r--r-- root/root") && l.ends_with(file)),
            "no {file} in:\n{list}"
        );
    }

    // The module comes out of the package as it went in.
    let root = dir.join("root");
    run(Command::new("dpkg-deb").arg("-x").arg(&path).arg(&root));
    let ko = fs::read(root.join("lib/modules/7.3.4/livepatch/klp_series_v1.ko")).unwrap();
    assert_eq!(ko, p.files[0].data);

    // The scripts as dpkg extracts them parse.
    let control = dir.join("control");
    run(Command::new("dpkg-deb").arg("-e").arg(&path).arg(&control));
    for script in ["postinst", "prerm", "postrm"] {
        run(Command::new("sh").arg("-n").arg(control.join(script)));
    }
}

#[test]
fn rpm_reads_the_rpm() {
    let dir = tmp("rpm");
    let p = v1();
    let path = dir.join(rpmpkg::file_name(&p));
    rpmpkg::write(&p, &mut fs::File::create(&path).unwrap()).unwrap();

    let info = run(Command::new("rpm").arg("-qip").arg(&path));
    for want in [
        ("Name", "klp-rs-livepatch-7_3_4"),
        ("Version", "1"),
        ("Release", "1"),
        ("Architecture", "x86_64"),
        ("Summary", "klp-rs live patch 1 of Linux 7.3.4"),
    ] {
        assert!(
            info.lines().any(|l| l
                .split_once(':')
                .is_some_and(|(k, v)| k.trim() == want.0 && v.trim() == want.1)),
            "no {want:?} in:\n{info}"
        );
    }
    for text in [
        "CVEs: CVE-2026-10001",
        "Bugs: klp-rs#101",
        "Supported until: 2027-04-01 (13 months",
    ] {
        assert!(info.contains(text), "no {text:?} in:\n{info}");
    }
    let files = run(Command::new("rpm").arg("-qlp").arg(&path));
    assert_eq!(
        files,
        "/lib/modules/7.3.4/livepatch/klp_series_v1.ko\n\
         /usr/share/klp-rs/lifecycle/klp-rs-livepatch-7_3_4.lifecycle\n"
    );
    let requires = run(Command::new("rpm").arg("-qp").arg("--requires").arg(&path));
    assert!(
        requires.contains("klp-rs-livepatch-common >= 0.1.0\n"),
        "{requires}"
    );
    assert!(requires.contains("kmod\n"), "{requires}");
    let script_requires = run(Command::new("rpm")
        .arg("-qp")
        .arg("--qf")
        .arg("[%{REQUIREFLAGS:deptype} %{REQUIRES}\\n]")
        .arg(&path));
    for want in ["post /bin/sh\n", "preun /bin/sh\n", "postun /bin/sh\n"] {
        assert!(
            script_requires.contains(want),
            "no {want:?} in:\n{script_requires}"
        );
    }
    let scripts = run(Command::new("rpm").arg("-qp").arg("--scripts").arg(&path));
    for s in [
        "postinstall scriptlet (using /bin/sh):",
        "preuninstall scriptlet (using /bin/sh):",
        "postuninstall scriptlet (using /bin/sh):",
        "klp_rs_refresh_initrd dracut",
    ] {
        assert!(scripts.contains(s), "no {s:?} in:\n{scripts}");
    }
}

#[test]
fn the_common_package_carries_the_initramfs_integration() {
    let dir = tmp("common");
    let p = common_package(&Options::default());
    let deb_path = dir.join(deb::file_name(&p));
    deb::write(&p, fs::File::create(&deb_path).unwrap()).unwrap();
    assert!(deb_path.ends_with("klp-rs-livepatch-common_0.1.0_all.deb"));
    let list = run(Command::new("dpkg-deb").arg("-c").arg(&deb_path));
    let rpm_path = dir.join(rpmpkg::file_name(&p));
    rpmpkg::write(&p, &mut fs::File::create(&rpm_path).unwrap()).unwrap();
    let rpm_list = run(Command::new("rpm").arg("-qlp").arg(&rpm_path));
    for file in [
        "/usr/share/initramfs-tools/hooks/klp-rs",
        "/usr/share/initramfs-tools/scripts/init-top/klp-rs",
        "/usr/lib/dracut/modules.d/90klp-rs/module-setup.sh",
        "/usr/lib/dracut/modules.d/90klp-rs/klp-rs-load.sh",
    ] {
        assert!(
            list.lines()
                .any(|l| l.starts_with("-rwxr-xr-x root/root") && l.ends_with(&format!(".{file}"))),
            "no {file} in:\n{list}"
        );
        assert!(
            rpm_list.lines().any(|l| l == file),
            "no {file} in:\n{rpm_list}"
        );
    }
}

/// Every script a package runs or installs parses (`sh -n`; `bash -n` for
/// dracut's module-setup.sh, which dracut sources from bash).
#[test]
fn every_script_parses() {
    let dir = tmp("parse");
    let p = v1();
    let mut scripts = Vec::new();
    for (format, s) in [("deb", &p.deb_scripts), ("rpm", &p.rpm_scripts)] {
        for (what, text) in [
            ("post-install", &s.post_install),
            ("pre-remove", &s.pre_remove),
            ("post-remove", &s.post_remove),
        ] {
            scripts.push((format!("{format}-{what}"), text.clone().unwrap()));
        }
    }
    for f in common_package(&Options::default()).files {
        let name = f.path.replace('/', "_");
        scripts.push((name, String::from_utf8(f.data).unwrap()));
    }
    assert_eq!(scripts.len(), 10);
    for (name, text) in scripts {
        assert!(
            !text.contains("@SELECT@"),
            "{name} has an unreplaced placeholder"
        );
        let path = dir.join(&name);
        fs::write(&path, &text).unwrap();
        let shell = if name.ends_with("module-setup.sh") {
            "bash"
        } else {
            "sh"
        };
        let out = Command::new(shell).arg("-n").arg(&path).output().unwrap();
        assert!(
            out.status.success(),
            "{name} does not parse: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A maintainer script's run: its exit code, its output, and the commands
/// it ran among the stubs, one a line.
struct Ran {
    code: i32,
    out: String,
    commands: String,
}

/// Runs `script` with `args` and nothing on `PATH` but stubs: `uname`
/// (release `running`), `klp` (`load` exits `load`, `check` exits `check`)
/// and `update-initramfs` and `dracut` if `initrd_tools`; with
/// `DPKG_ROOT` a fake root where kernel 7.3.4 is installed (its
/// `modules.dep`) if `installed`.
fn run_script(
    test: &str,
    script: &str,
    args: &[&str],
    running: &str,
    load_check: (u8, u8),
    installed: bool,
    initrd_tools: bool,
) -> Ran {
    run_script_with(
        test,
        script,
        args,
        running,
        load_check,
        installed,
        initrd_tools,
        &[],
    )
}

/// [`run_script`] with `sysfs`, directories of the fake `/sys` the script
/// sees (`KLP_RS_SYSFS`).
#[allow(clippy::too_many_arguments)]
fn run_script_with(
    test: &str,
    script: &str,
    args: &[&str],
    running: &str,
    (load, check): (u8, u8),
    installed: bool,
    initrd_tools: bool,
    sysfs: &[&str],
) -> Ran {
    let dir = tmp(test);
    for d in sysfs {
        fs::create_dir_all(dir.join("sys").join(d)).unwrap();
    }
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let root = dir.join("root");
    let modules = root.join("lib/modules/7.3.4");
    fs::create_dir_all(&modules).unwrap();
    if installed {
        fs::write(modules.join("modules.dep"), "").unwrap();
    }
    let log = dir.join("commands.log");
    let stub = |name: &str, body: &str| {
        let path = bin.join(name);
        let text = format!(
            "#!/bin/sh\necho \"{name} $*\" >> '{}'\n{body}\n",
            log.display()
        );
        fs::write(&path, text).unwrap();
        run(Command::new("chmod").arg("+x").arg(&path));
    };
    stub("uname", &format!("echo {running}"));
    stub(
        "klp",
        &format!("case \"$*\" in\nload*) exit {load} ;;\n*check) exit {check} ;;\nesac"),
    );
    if initrd_tools {
        stub("update-initramfs", "");
        stub("dracut", "");
    }
    let path = dir.join("script");
    fs::write(&path, script).unwrap();
    let out = Command::new("/bin/sh")
        .arg(&path)
        .args(args)
        .env("PATH", &bin)
        .env("DPKG_ROOT", &root)
        .env("KLP_RS_SYSFS", dir.join("sys"))
        .output()
        .unwrap();
    Ran {
        code: out.status.code().unwrap(),
        out: String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr),
        commands: fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.starts_with("uname"))
            .map(|l| format!("{l}\n"))
            .collect(),
    }
}

/// Runs the Debian `postinst` of v1 with `configure`, kernel 7.3.4
/// installed and no initramfs tool; returns its exit code, its output and
/// what `klp` was asked.
fn postinst(test: &str, running: &str, load: u8, check: u8) -> (i32, String, String) {
    postinst_with(test, running, load, check, &[])
}

/// [`postinst`] with `sysfs` (see [`run_script_with`]).
fn postinst_with(
    test: &str,
    running: &str,
    load: u8,
    check: u8,
    sysfs: &[&str],
) -> (i32, String, String) {
    let script = v1().deb_scripts.post_install.unwrap();
    let ran = run_script_with(
        test,
        &script,
        &["configure"],
        running,
        (load, check),
        true,
        false,
        sysfs,
    );
    let klp = ran
        .commands
        .lines()
        .filter_map(|l| l.strip_prefix("klp "))
        .map(|l| format!("{l}\n"))
        .collect();
    (ran.code, ran.out, klp)
}

#[test]
fn postinst_loads_the_patch_of_the_running_kernel() {
    let (code, out, klp) = postinst("postinst-load", "7.3.4", 0, 0);
    assert_eq!(code, 0, "{out}");
    assert_eq!(klp, "load /lib/modules/7.3.4/livepatch/klp_series_v1.ko\n");
    assert!(
        out.contains("loaded patch klp_series_v1 into the running kernel"),
        "{out}"
    );
}

#[test]
fn postinst_removes_the_module_of_a_replaced_patch_before_loading_it_again() {
    // A downgrade to v1 after v2 replaced it: v1's module is still loaded.
    let (code, out, klp) = postinst_with(
        "postinst-lingering",
        "7.3.4",
        0,
        0,
        &["module/klp_series_v1"],
    );
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        klp,
        "unload klp_series_v1\nload /lib/modules/7.3.4/livepatch/klp_series_v1.ko\n"
    );
    assert!(
        out.contains("removing the module of the replaced patch klp_series_v1"),
        "{out}"
    );
    // An active patch is left as it is.
    let (code, out, klp) = postinst_with(
        "postinst-active",
        "7.3.4",
        0,
        0,
        &["module/klp_series_v1", "kernel/livepatch/klp_series_v1"],
    );
    assert_eq!((code, klp.as_str()), (0, ""), "{out}");
    assert!(
        out.contains("patch klp_series_v1 is already loaded"),
        "{out}"
    );
}

#[test]
fn postinst_loads_nothing_into_another_kernel() {
    let (code, out, klp) = postinst("postinst-other", "7.3.5", 0, 0);
    assert_eq!(code, 0, "{out}");
    assert_eq!(klp, "");
    assert!(
        out.contains("the running kernel is 7.3.5: nothing loaded"),
        "{out}"
    );
}

#[test]
fn postinst_succeeds_while_the_transition_runs() {
    let (code, out, klp) = postinst("postinst-transition", "7.3.4", 1, 1);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        klp,
        "load /lib/modules/7.3.4/livepatch/klp_series_v1.ko\n-q check\n"
    );
    assert!(out.contains("its transition is still running"), "{out}");
}

#[test]
fn postinst_fails_when_the_kernel_refuses() {
    let (code, out, _) = postinst("postinst-refused", "7.3.4", 1, 0);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("the running kernel is NOT patched"), "{out}");
}

/// The dracut module (and the initramfs-tools hook, which shares its
/// choice) carries the installed patch of the highest `klp_version`, read
/// by kmod's `modinfo`, and nothing for a kernel without a patch.
#[test]
fn the_initramfs_carries_the_newest_installed_patch() {
    let dir = tmp("select");
    let livepatch = dir.join("modules/7.3.4/livepatch");
    fs::create_dir_all(&livepatch).unwrap();
    for (name, version) in [
        ("klp_series_v0", "0"),
        ("klp_series_v2", "2"),
        ("klp_series_v1", "1"),
    ] {
        let entries: Vec<_> = V1
            .iter()
            .map(|&(k, v)| match k {
                "name" => (k, name),
                "klp_version" => (k, version),
                _ => (k, v),
            })
            .collect();
        let elf = module_elf(Architecture::X86_64, Endianness::Little, &entries);
        fs::write(livepatch.join(format!("{name}.ko")), elf).unwrap();
    }
    fs::write(livepatch.join("zz_not_a_module.ko"), "junk").unwrap();
    let setup = common_package(&Options::default())
        .files
        .into_iter()
        .find(|f| f.path.ends_with("/module-setup.sh"))
        .unwrap();
    let setup_path = dir.join("module-setup.sh");
    fs::write(&setup_path, setup.data).unwrap();
    let script = format!(
        ". '{}'\nkernel=7.3.4\nklp_rs_select \"$kernel\"\ncheck; echo \"check $?\"\n\
         kernel=7.3.5\ncheck; echo \"check $?\"\n",
        setup_path.display()
    );
    let out = run(Command::new("bash")
        .arg("-c")
        .arg(script)
        .env("KLP_RS_MODULES_DIR", dir.join("modules")));
    assert_eq!(
        out,
        format!(
            "{}\ncheck 0\ncheck 255\n",
            livepatch.join("klp_series_v2.ko").display()
        )
    );
}

/// A v`version` patch package of kernel `kernel`, written as a `.deb` in
/// `dir`.
fn deb_of(dir: &Path, kernel: &str, version: &str) -> PathBuf {
    let name = format!("klp_test_v{version}");
    let entries: Vec<_> = V1
        .iter()
        .map(|&(k, v)| match k {
            "name" => (k, name.as_str()),
            "klp_version" => (k, version),
            "klp_kernel" => (k, kernel),
            _ => (k, v),
        })
        .collect();
    let data = module_elf(Architecture::X86_64, Endianness::Little, &entries);
    let p = patch_package_from(Path::new("x.ko"), data, &Options::default()).unwrap();
    let path = dir.join(deb::file_name(&p));
    deb::write(&p, fs::File::create(&path).unwrap()).unwrap();
    path
}

/// dpkg itself installs, upgrades and removes the packages in a fake root
/// (scripts run outside it, `--force-script-chrootless`; kmod and the
/// common package's dependencies are not in it, `--force-depends`): the
/// newer cumulative version replaces the older, and the packages of two
/// kernel releases (neither the running one) coexist.
#[test]
fn dpkg_installs_upgrades_and_removes() {
    let dir = tmp("dpkg");
    let root = dir.join("root");
    fs::create_dir_all(root.join("var/lib/dpkg/info")).unwrap();
    fs::create_dir_all(root.join("var/lib/dpkg/updates")).unwrap();
    fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    let dpkg = |args: &[&dyn AsRef<std::ffi::OsStr>]| {
        let mut cmd = Command::new("dpkg");
        cmd.arg(format!("--root={}", root.display()))
            .args([
                "--force-script-chrootless",
                "--force-not-root",
                "--force-depends",
                "--log=/dev/null",
            ])
            .args(args.iter().map(|a| a.as_ref()));
        run(&mut cmd)
    };
    let (a, b) = ("0.0.1-klptest", "0.0.2-klptest");
    let out = dpkg(&[&"-i", &deb_of(&dir, a, "1")]);
    assert!(
        out.contains(&format!(
            "klp-rs-livepatch-0_0_1_klptest: installed the live patch of kernel {a}; the running kernel is"
        )),
        "{out}"
    );
    dpkg(&[&"-i", &deb_of(&dir, a, "2")]);
    dpkg(&[&"-i", &deb_of(&dir, b, "1")]);
    let livepatch = |k: &str| -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(root.join("lib/modules").join(k).join("livepatch"))
                .map(|d| {
                    d.map(|e| e.unwrap().file_name().into_string().unwrap())
                        .collect()
                })
                .unwrap_or_default();
        names.sort();
        names
    };
    assert_eq!(livepatch(a), ["klp_test_v2.ko"]);
    assert_eq!(livepatch(b), ["klp_test_v1.ko"]);
    let status = dpkg(&[&"-l"]);
    let versions: Vec<(&str, &str)> = status
        .lines()
        .filter(|l| l.starts_with("ii "))
        .map(|l| {
            let mut f = l.split_whitespace().skip(1);
            (f.next().unwrap(), f.next().unwrap())
        })
        .collect();
    assert_eq!(
        versions,
        [
            ("klp-rs-livepatch-0_0_1_klptest", "2"),
            ("klp-rs-livepatch-0_0_2_klptest", "1")
        ]
    );
    let out = dpkg(&[&"-r", &"klp-rs-livepatch-0_0_1_klptest"]);
    assert!(
        out.contains("a loaded patch klp_test_v2 stays loaded"),
        "{out}"
    );
    assert_eq!(livepatch(a), Vec::<String>::new());
    assert_eq!(livepatch(b), ["klp_test_v1.ko"]);
}

/// A v`version` patch package of kernel `kernel`, written as an `.rpm` in
/// `dir`.
fn rpm_of(dir: &Path, kernel: &str, version: &str) -> PathBuf {
    let name = format!("klp_test_v{version}");
    let entries: Vec<_> = V1
        .iter()
        .map(|&(k, v)| match k {
            "name" => (k, name.as_str()),
            "klp_version" => (k, version),
            "klp_kernel" => (k, kernel),
            _ => (k, v),
        })
        .collect();
    let data = module_elf(Architecture::X86_64, Endianness::Little, &entries);
    let p = patch_package_from(Path::new("x.ko"), data, &Options::default()).unwrap();
    let path = dir.join(rpmpkg::file_name(&p));
    rpmpkg::write(&p, &mut fs::File::create(&path).unwrap()).unwrap();
    path
}

/// rpm itself installs, upgrades (`-U`) and erases the packages in a fake
/// root (without the scriptlets, which rpm runs chrooted): the newer
/// cumulative version replaces the older, and the packages of two kernel
/// releases coexist.
#[test]
fn rpm_installs_upgrades_and_erases() {
    let dir = tmp("rpm-install");
    let root = dir.join("root");
    fs::create_dir_all(&root).unwrap();
    let rpm = || {
        let mut cmd = Command::new("rpm");
        cmd.arg(format!("--root={}", root.display()));
        cmd
    };
    let change = |verb: &str, what: &dyn AsRef<std::ffi::OsStr>| {
        run(rpm().args([verb, "--nodeps", "--noscripts"]).arg(what))
    };
    let (a, b) = ("0.0.1-klptest", "0.0.2-klptest");
    change("-i", &rpm_of(&dir, a, "1"));
    change("-U", &rpm_of(&dir, a, "2"));
    change("-i", &rpm_of(&dir, b, "1"));
    let installed = |k: &str, v: &str| {
        root.join("lib/modules")
            .join(k)
            .join(format!("livepatch/klp_test_v{v}.ko"))
            .is_file()
    };
    assert!(!installed(a, "1") && installed(a, "2") && installed(b, "1"));
    let mut all: Vec<String> = run(rpm().arg("-qa")).lines().map(str::to_string).collect();
    all.sort();
    assert_eq!(
        all,
        [
            "klp-rs-livepatch-0_0_1_klptest-2-1.x86_64",
            "klp-rs-livepatch-0_0_2_klptest-1-1.x86_64"
        ]
    );
    change("-e", &"klp-rs-livepatch-0_0_1_klptest");
    assert!(!installed(a, "2") && installed(b, "1"));
}

#[test]
fn postinst_refreshes_the_initramfs_of_the_patched_kernel() {
    let p = v1();
    let deb = p.deb_scripts.post_install.unwrap();
    let ran = run_script(
        "refresh-deb",
        &deb,
        &["configure"],
        "7.3.4",
        (0, 0),
        true,
        true,
    );
    assert_eq!(ran.code, 0, "{}", ran.out);
    assert_eq!(
        ran.commands,
        "klp load /lib/modules/7.3.4/livepatch/klp_series_v1.ko\n\
         update-initramfs -u -k 7.3.4\n"
    );
    let rpm = p.rpm_scripts.post_install.unwrap();
    let ran = run_script("refresh-rpm", &rpm, &["2"], "7.3.5", (0, 0), true, true);
    assert_eq!(ran.code, 0, "{}", ran.out);
    assert_eq!(ran.commands, "dracut -f --kver 7.3.4\n");

    // Without the tool, or without the kernel, it is said and skipped.
    let ran = run_script(
        "refresh-no-tool",
        &deb,
        &["configure"],
        "7.3.5",
        (0, 0),
        true,
        false,
    );
    assert_eq!(ran.code, 0, "{}", ran.out);
    assert!(
        ran.out
            .contains("update-initramfs not found: the initramfs of 7.3.4 is not refreshed"),
        "{}",
        ran.out
    );
    let ran = run_script(
        "refresh-no-kernel",
        &deb,
        &["configure"],
        "7.3.5",
        (0, 0),
        false,
        true,
    );
    assert_eq!(ran.code, 0, "{}", ran.out);
    assert_eq!(ran.commands, "");
    assert!(
        ran.out
            .contains("kernel 7.3.4 is not installed: no initramfs to refresh"),
        "{}",
        ran.out
    );
}

/// Removal leaves the loaded patch loaded (no `klp` call) and refreshes the
/// initramfs; an upgrade's removal of the old version does neither.
#[test]
fn removal_keeps_the_patch_loaded_and_refreshes_the_initramfs() {
    let p = v1();
    let (deb, rpm) = (p.deb_scripts, p.rpm_scripts);
    let cases = [
        (&deb.pre_remove, "remove", "", true),
        (
            &deb.post_remove,
            "remove",
            "update-initramfs -u -k 7.3.4\n",
            false,
        ),
        (
            &deb.post_remove,
            "purge",
            "update-initramfs -u -k 7.3.4\n",
            false,
        ),
        (&deb.pre_remove, "upgrade", "", false),
        (&deb.post_remove, "upgrade", "", false),
        (&rpm.pre_remove, "0", "", true),
        (&rpm.post_remove, "0", "dracut -f --kver 7.3.4\n", false),
        (&rpm.pre_remove, "1", "", false),
        (&rpm.post_remove, "1", "", false),
    ];
    for (i, (script, arg, commands, says)) in cases.into_iter().enumerate() {
        let ran = run_script(
            &format!("remove-{i}"),
            script.as_deref().unwrap(),
            &[arg],
            "7.3.4",
            (0, 0),
            true,
            true,
        );
        assert_eq!(ran.code, 0, "case {i}: {}", ran.out);
        assert_eq!(ran.commands, commands, "case {i}: {}", ran.out);
        assert_eq!(
            ran.out
                .contains("a loaded patch klp_series_v1 stays loaded"),
            says,
            "case {i}: {}",
            ran.out
        );
    }
}
