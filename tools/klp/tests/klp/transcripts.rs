//! One transcript per scenario: each verb's text and JSON output and exit
//! code, with what it asked of the (fake) kernel.

use crate::{
    fake::{FakeHost, FakeKernel, Meta, Patch, Tree},
    transcript,
};
use std::fs;

const RELEASE: &str = "7.3.4";

/// A series of three installed cumulative patches, version 3 active with
/// the kernel's `livepatch_sample` on top, and a corrupt file installed.
fn series(test: &str) -> Tree {
    let tree = Tree::with_livepatch(test, RELEASE);
    for v in 1..=3 {
        tree.install(&Meta::series(v, RELEASE));
    }
    tree.write(
        &format!("lib/modules/{RELEASE}/livepatch/broken.ko"),
        b"\x7fELF\x02\x01\x01 truncated",
    );
    tree.patch(&Patch::active(Meta::series(3, RELEASE), 1));
    tree.patch(&Patch::foreign(2));
    tree
}

#[test]
fn read_verbs() {
    let tree = series("read_verbs");
    let mut k = FakeKernel::new(&tree);
    transcript(
        "read_verbs",
        &tree,
        &mut k,
        &[
            "status",
            "status -v --json",
            "check",
            "check -q",
            "patches",
            "patches -v",
            "patches -vv",
            "patches --json",
            "patches -vv --json",
            "blocking",
            "list",
            "list -v",
            "list --json",
            "lifecycle --today 2027-04-01",
            "lifecycle --today 2027-04-02 --months 6 --json",
        ],
    );
}

#[test]
fn transition() {
    let tree = series("transition");
    tree.patch(&Patch {
        transition: true,
        ..Patch::active(Meta::series(3, RELEASE), 1)
    });
    // Enabling: the tasks still at 0 block.
    tree.task(1, 1, "init", &["/sbin/init"], 1);
    tree.task(2, 2, "kthreadd", &[], 1);
    tree.task(42, 42, "kworker/0:1", &[], 0);
    tree.task(100, 100, "sleeper", &["sleep", "1000"], 1);
    tree.task(100, 101, "sleeper-worker", &["sleep", "1000"], 0);
    tree.task(200, 200, "sh", &["/bin/sh", "-c", "read x"], 0);
    let mut k = FakeKernel::new(&tree);
    transcript(
        "transition",
        &tree,
        &mut k,
        &[
            "status",
            "status -v",
            "check",
            "patches",
            "blocking",
            "blocking -v",
            "blocking -vv",
            "blocking -vv --json",
            "load klp_rs_v2",
            "downgrade --dry-run",
            "initrd --output $ROOT/boot.cpio",
        ],
    );
}

#[test]
fn transition_disabling() {
    let tree = Tree::with_livepatch("transition_disabling", RELEASE);
    tree.patch(&Patch {
        enabled: false,
        transition: true,
        ..Patch::foreign(1)
    });
    // Disabling: the tasks still at 1 block.
    tree.task(1, 1, "init", &["/sbin/init"], 0);
    tree.task(42, 42, "kworker/0:1", &[], 1);
    let mut k = FakeKernel::new(&tree);
    transcript(
        "transition_disabling",
        &tree,
        &mut k,
        &[
            "status -v",
            "check",
            "patches",
            "blocking -v",
            "blocking --json",
        ],
    );
}

#[test]
fn no_livepatch() {
    let tree = Tree::new("no_livepatch", RELEASE);
    let mut k = FakeKernel::new(&tree);
    transcript(
        "no_livepatch",
        &tree,
        &mut k,
        &[
            "status",
            "check --json",
            "patches",
            "blocking",
            "list",
            "load klp_rs_v2",
        ],
    );
}

#[test]
fn no_patches() {
    let tree = Tree::with_livepatch("no_patches", RELEASE);
    let mut k = FakeKernel::new(&tree);
    transcript(
        "no_patches",
        &tree,
        &mut k,
        &[
            "status",
            "patches",
            "list",
            "lifecycle --today 2026-01-01",
            "downgrade --dry-run",
            "initrd --output $ROOT/boot.cpio",
            "unload klp_rs_v1",
            "load klp_rs_v1",
        ],
    );
    assert!(!tree.path("boot.cpio").exists());
}

#[test]
fn install() {
    let tree = Tree::with_livepatch("install", RELEASE);
    tree.install(&Meta::series(1, RELEASE));
    let files = tree.path("incoming");
    let put = |name: &str, data: Vec<u8>| fs::write(files.join(name), data).unwrap();
    fs::create_dir_all(&files).unwrap();
    put("v2.ko", Meta::series(2, RELEASE).ko());
    put("other-kernel.ko", Meta::series(2, "7.4.0").ko());
    put(
        "v2-rebuilt.ko",
        Meta {
            description: "rebuilt".to_string(),
            ..Meta::series(2, RELEASE)
        }
        .ko(),
    );
    put(
        "v1-renamed.ko",
        Meta {
            name: "klp_rs_first".to_string(),
            ..Meta::series(1, RELEASE)
        }
        .ko(),
    );
    put("corrupt.ko", b"\x7fELF\x02\x01\x01\0\0\0".to_vec());
    put("text.ko", b"hello".to_vec());
    put("xz.ko", b"\xfd7zXZ\0\0\0".to_vec());
    put(
        "ordinary.ko",
        crate::fake::module_elf(&[("name", "ext4"), ("license", "GPL")]),
    );
    put(
        "foreign.ko",
        crate::fake::module_elf(&[("name", "livepatch_sample"), ("livepatch", "Y")]),
    );
    put(
        "badversion.ko",
        crate::fake::module_elf(&[
            ("name", "klp_rs_x"),
            ("livepatch", "Y"),
            ("klp_version", "three"),
            ("klp_kernel", RELEASE),
        ]),
    );
    let mut k = FakeKernel::new(&tree);
    transcript(
        "install",
        &tree,
        &mut k,
        &[
            "install $ROOT/incoming/v2.ko",
            "install $ROOT/incoming/v2.ko",
            "install $ROOT/incoming/v2-rebuilt.ko",
            "install $ROOT/incoming/v1-renamed.ko",
            "install $ROOT/incoming/corrupt.ko",
            "install $ROOT/incoming/text.ko",
            "install $ROOT/incoming/xz.ko",
            "install $ROOT/incoming/ordinary.ko",
            "install $ROOT/incoming/foreign.ko",
            "install $ROOT/incoming/badversion.ko",
            "install $ROOT/incoming/missing.ko",
            "install --json $ROOT/incoming/other-kernel.ko",
            "install --force $ROOT/incoming/v2-rebuilt.ko",
            "list",
        ],
    );
    let installed: Vec<String> =
        fs::read_dir(tree.path(&format!("lib/modules/{RELEASE}/livepatch")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
    assert_eq!(installed, ["klp_rs_v1.ko", "klp_rs_v2.ko"]);
}

#[test]
fn load_unload_downgrade() {
    let tree = series("load_unload_downgrade");
    tree.install(&Meta::series(4, RELEASE));
    let mut k = FakeKernel::new(&tree);
    transcript(
        "load_unload_downgrade",
        &tree,
        &mut k,
        &[
            "load klp_rs_v3",
            "load klp_rs_v4",
            "list",
            "load klp_rs_v3",
            "unload klp_rs_v3",
            "unload livepatch_sample",
            "downgrade --dry-run",
            "downgrade --dry-run --json",
            "downgrade",
            "patches",
            "list",
            "downgrade --dry-run",
            "downgrade --json",
            "downgrade",
            "list",
            "unload klp_rs_v1",
            "patches",
            "unload klp_rs_v1",
        ],
    );
}

#[test]
fn a_replaced_patch_not_yet_freed_counts_as_replaced() {
    // Seen in aarch64 guests: when `klp load` looks, the replaced patch is
    // disabled but its sysfs directory not yet gone.
    let tree = series("lingering");
    tree.install(&Meta::series(4, RELEASE));
    let mut k = FakeKernel::new(&tree);
    k.lingering = true;
    let out = crate::run(&tree, &mut k, "load klp_rs_v4");
    assert!(
        out.contains("patch `klp_rs_v3` was replaced; its module stays loaded"),
        "{out}"
    );
}

/// Installed patches 1 to 3, none registered.
fn installed_series(test: &str) -> Tree {
    let tree = Tree::with_livepatch(test, RELEASE);
    for v in 1..=3 {
        tree.install(&Meta::series(v, RELEASE));
    }
    tree
}

#[test]
fn a_patch_being_freed_is_gone_for_every_verb() {
    // Version 3 replaced version 2, whose sysfs directory the kernel is
    // freeing: its attributes answer `ENODEV`, and the first
    // `delete_module` finds the module still held.
    let tree = installed_series("freeing");
    tree.patch(&Patch {
        enabled: false,
        ..Patch::active(Meta::series(2, RELEASE), 1)
    });
    tree.patch(&Patch::active(Meta::series(3, RELEASE), 2));
    let mut k = FakeKernel::new(&tree);
    k.freeing.push("klp_rs_v2".to_string());
    transcript(
        "freeing",
        &tree,
        &mut k,
        &[
            "status -v",
            "check",
            "patches -vv",
            "blocking",
            "list",
            "lifecycle --today 2026-12-01",
            "load klp_rs_v2",
            "downgrade --dry-run",
            "initrd --output $ROOT/boot.cpio",
            "unload klp_rs_v2",
            "list",
        ],
    );
}

#[test]
fn load_unload_downgrade_while_the_kernel_frees_patches() {
    // Each disabled or replaced patch answers `ENODEV` until the kernel
    // has freed it, and holds its module until then: each removal takes
    // two `delete_module` calls.
    let tree = installed_series("slow_free");
    tree.patch(&Patch::active(Meta::series(2, RELEASE), 1));
    let mut k = FakeKernel::new(&tree);
    k.slow_free = true;
    transcript(
        "slow_free",
        &tree,
        &mut k,
        &[
            "load klp_rs_v3",
            "unload klp_rs_v2",
            "downgrade",
            "unload klp_rs_v2",
            "patches",
            "list",
        ],
    );
}

#[test]
fn load_from_file_and_other_kernels() {
    let tree = Tree::with_livepatch("load_from_file", RELEASE);
    let incoming = tree.path("incoming");
    fs::create_dir_all(&incoming).unwrap();
    fs::write(incoming.join("v2.ko"), Meta::series(2, RELEASE).ko()).unwrap();
    fs::write(incoming.join("new.ko"), Meta::series(2, "7.4.0").ko()).unwrap();
    let mut k = FakeKernel::new(&tree);
    transcript(
        "load_from_file",
        &tree,
        &mut k,
        &[
            "load $ROOT/incoming/new.ko",
            "load --json $ROOT/incoming/v2.ko",
            "patches -vv",
        ],
    );
}

#[test]
fn kernel_refuses_and_timeouts() {
    let tree = series("kernel_refuses");
    tree.install(&Meta::series(4, RELEASE));
    let mut k = FakeKernel::new(&tree);
    k.is_root = false;
    let mut text = vec![
        crate::run(&tree, &mut k, "load klp_rs_v4"),
        crate::run(&tree, &mut k, "unload klp_rs_v3"),
        crate::run(&tree, &mut k, "downgrade"),
        crate::run(&tree, &mut k, "downgrade --dry-run"),
    ];
    k.is_root = true;
    k.refuse_load = Some(libc::EINVAL);
    text.push(crate::run(&tree, &mut k, "load klp_rs_v4"));
    text.push(crate::run(&tree, &mut k, "downgrade"));
    // A kernel that accepts signed modules only: the file is not signed,
    // then signed but not as the kernel wants.
    k.refuse_load = Some(libc::EKEYREJECTED);
    text.push(crate::run(&tree, &mut k, "load klp_rs_v4"));
    let v4 = tree.path(&format!("lib/modules/{RELEASE}/livepatch/klp_rs_v4.ko"));
    let mut signed = fs::read(&v4).unwrap();
    signed.extend_from_slice(b"pkcs7");
    signed.extend_from_slice(&[0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 5]);
    signed.extend_from_slice(klp::signature::MAGIC);
    fs::write(&v4, signed).unwrap();
    text.push(crate::run(&tree, &mut k, "load klp_rs_v4"));
    k.refuse_load = None;
    k.stuck = true;
    text.push(crate::run(&tree, &mut k, "load --timeout 0.2 klp_rs_v4"));
    // Past 3 s, `klp` says it is waiting; the error names the whole time.
    text.push(crate::run(&tree, &mut k, "unload --timeout 3.2 klp_rs_v4"));
    text.push(crate::run(&tree, &mut k, "check"));
    text.push(crate::run(&tree, &mut k, "load klp_rs_v2"));
    text.push(crate::run(&tree, &mut k, "load --timeout=-1 klp_rs_v2"));
    crate::expect("kernel_refuses", &text.join("\n"));
}

#[test]
fn initrd_holds_the_active_patch() {
    let tree = series("initrd");
    let mut k = FakeKernel::new(&tree);
    transcript(
        "initrd",
        &tree,
        &mut k,
        &[
            "initrd --output $ROOT/boot.cpio",
            "initrd --json -o $ROOT/boot2.cpio",
        ],
    );
    let archive = fs::read(tree.path("boot.cpio")).unwrap();
    let ko = fs::read(tree.path(&format!("lib/modules/{RELEASE}/livepatch/klp_rs_v3.ko"))).unwrap();
    let names = cpio_names(&archive, &ko);
    assert_eq!(
        names,
        [
            "lib",
            "lib/klp-rs",
            "lib/klp-rs/boot",
            "lib/klp-rs/boot/klp_rs_v3.ko",
            "TRAILER!!!"
        ]
    );

    // The active patch's module file is not installed.
    fs::remove_file(tree.path(&format!("lib/modules/{RELEASE}/livepatch/klp_rs_v3.ko"))).unwrap();
    transcript(
        "initrd_not_installed",
        &tree,
        &mut k,
        &["initrd --output $ROOT/boot3.cpio"],
    );
    assert!(!tree.path("boot3.cpio").exists());
}

/// The names in a `newc` archive, checking that the one file holds `ko`.
fn cpio_names(mut data: &[u8], ko: &[u8]) -> Vec<String> {
    let field = |h: &[u8], i: usize| {
        u32::from_str_radix(std::str::from_utf8(&h[6 + 8 * i..14 + 8 * i]).unwrap(), 16).unwrap()
            as usize
    };
    let align = |n: usize| n.div_ceil(4) * 4;
    let mut names = Vec::new();
    while !data.is_empty() {
        assert_eq!(&data[..6], b"070701");
        let (size, namesize) = (field(data, 6), field(data, 11));
        let name = std::str::from_utf8(&data[110..110 + namesize - 1]).unwrap();
        let start = align(110 + namesize);
        if name.ends_with(".ko") {
            assert_eq!(&data[start..start + size], ko);
        }
        names.push(name.to_string());
        data = &data[align(start + size)..];
    }
    names
}

#[test]
fn bad_metadata_and_usage() {
    let tree = Tree::with_livepatch("bad_metadata", RELEASE);
    tree.patch(&Patch::active(Meta::series(2, RELEASE), 1));
    tree.write("sys/module/klp_rs_v2/klp_rs/version", "two\n");
    let mut k = FakeKernel::new(&tree);
    transcript(
        "bad_metadata",
        &tree,
        &mut k,
        &[
            "patches",
            "lifecycle --today 2026-02-30",
            "lifecycle --months many",
            "unload",
        ],
    );
}

const PACKAGE: &str = "klp-rs-livepatch-7_3_4";

/// Version `installed` of the package active: its patch registered, its
/// file the only one installed.
fn packaged(test: &str) -> Tree {
    let tree = Tree::with_livepatch(test, RELEASE);
    tree.write(
        &format!("usr/share/klp-rs/lifecycle/{PACKAGE}.lifecycle"),
        format!("# package, version, end of support\n{PACKAGE}, 3, 2027-06-30\n{PACKAGE}, 1, 2027-01-31\n"),
    );
    tree
}

fn run_all(tree: &Tree, k: &mut FakeKernel, host: &mut FakeHost, commands: &[&str]) -> Vec<String> {
    commands
        .iter()
        .map(|c| crate::run_on(tree, k, host, c))
        .collect()
}

#[test]
fn downgrade_through_apt() {
    let tree = packaged("package_apt");
    let mut host = FakeHost::new(&tree);
    host.dpkg(
        &tree,
        PACKAGE,
        3,
        &[
            (1, true, false),
            (2, true, false),
            (3, true, true),
            (4, true, false),
        ],
    );
    tree.patch(&Patch::active(Meta::series(3, RELEASE), 1));
    let mut k = FakeKernel::new(&tree);
    let mut text = run_all(
        &tree,
        &mut k,
        &mut host,
        &[
            "-v patches",
            "-vv patches",
            "-vv patches --json",
            "lifecycle --today 2027-05-01",
            "downgrade --dry-run",
            "downgrade --dry-run --json",
        ],
    );
    // A terminal: `klp` asks, and a no changes nothing.
    host.answers = Some(vec![false]);
    text.extend(run_all(&tree, &mut k, &mut host, &["downgrade", "list"]));
    // `-n`: nobody is asked, as SUSE's `klp -n downgrade`.
    host.answers = Some(Vec::new());
    text.extend(run_all(
        &tree,
        &mut k,
        &mut host,
        &[
            "-n downgrade",
            "-vv patches",
            "list",
            "lifecycle --today 2027-05-01",
        ],
    ));
    crate::expect("package_apt", &text.join("\n"));
}

#[test]
fn downgrade_from_the_package_cache_then_nothing_older() {
    let tree = packaged("package_cache");
    let mut host = FakeHost::new(&tree);
    // Version 1 only in `/var/cache/apt/archives`; no repository has it.
    host.dpkg(&tree, PACKAGE, 2, &[(1, false, true), (2, true, false)]);
    tree.patch(&Patch::active(Meta::series(2, RELEASE), 1));
    let mut k = FakeKernel::new(&tree);
    host.answers = Some(vec![true]);
    let text = run_all(
        &tree,
        &mut k,
        &mut host,
        &[
            "downgrade",
            "-v patches",
            "-n downgrade",
            "-n downgrade --force",
            "list",
        ],
    );
    crate::expect("package_cache", &text.join("\n"));
}

/// A Debian system with `rpm` too, whose patch the RPM installed: `dpkg`
/// is asked first and owns nothing, `rpm` does.
#[test]
fn the_package_of_rpm_on_a_system_that_has_dpkg() {
    let tree = packaged("package_rpm_beside_dpkg");
    let mut host = FakeHost::new(&tree);
    host.rpm(&tree, PACKAGE, 3, &[(2, false, true), (3, true, false)]);
    host.other_manager = Some("dpkg");
    tree.patch(&Patch::active(Meta::series(3, RELEASE), 1));
    let mut k = FakeKernel::new(&tree);
    let text = run_all(
        &tree,
        &mut k,
        &mut host,
        &["-v patches", "downgrade --dry-run"],
    );
    crate::expect("package_rpm_beside_dpkg", &text.join("\n"));
}

#[test]
fn downgrade_through_zypper_and_rpm() {
    let tree = packaged("package_rpm");
    let mut host = FakeHost::new(&tree);
    host.rpm(
        &tree,
        PACKAGE,
        3,
        &[(1, false, true), (2, true, false), (3, true, false)],
    );
    tree.patch(&Patch::active(Meta::series(3, RELEASE), 1));
    let mut k = FakeKernel::new(&tree);
    let mut text = run_all(
        &tree,
        &mut k,
        &mut host,
        &["-vv patches", "downgrade --dry-run"],
    );
    // The package manager fails: its status and output, nothing changed.
    host.install_fails = Some(8);
    text.extend(run_all(
        &tree,
        &mut k,
        &mut host,
        &["-n downgrade", "patches"],
    ));
    host.install_fails = None;
    text.extend(run_all(
        &tree,
        &mut k,
        &mut host,
        &[
            "-n downgrade",
            "-n downgrade --dry-run",
            "-n downgrade",
            "-n downgrade",
            "patches -v",
        ],
    ));
    crate::expect("package_rpm", &text.join("\n"));
}

#[test]
fn downgrade_of_a_patch_no_package_owns() {
    let tree = installed_series("package_none");
    tree.patch(&Patch::active(Meta::series(3, RELEASE), 1));
    let mut host = FakeHost::new(&tree);
    host.programs = vec!["dpkg", "dpkg-query", "apt-get", "apt-cache"];
    host.package = Some((PACKAGE.to_string(), "9".to_string(), Vec::new()));
    let mut k = FakeKernel::new(&tree);
    let text = run_all(&tree, &mut k, &mut host, &["-v patches", "-n downgrade"]);
    crate::expect("package_none", &text.join("\n"));
}

#[test]
fn downgrade_refuses_a_tainted_kernel() {
    let tree = installed_series("tainted");
    tree.patch(&Patch::active(Meta::series(3, RELEASE), 1));
    let mut k = FakeKernel::new(&tree);
    let mut host = FakeHost::new(&tree);
    let mut text = Vec::new();
    // Live patched, out of tree, unsigned: fine.
    for taint in ["45056", "512", "640", "33408", "1099511627776"] {
        tree.write("proc/sys/kernel/tainted", format!("{taint}\n"));
        text.push(format!("# tainted: {taint}\n"));
        text.push(crate::run_on(
            &tree,
            &mut k,
            &mut host,
            "-n downgrade --dry-run",
        ));
    }
    tree.write("proc/sys/kernel/tainted", "512\n");
    text.extend(run_all(
        &tree,
        &mut k,
        &mut host,
        &["-n downgrade", "-n downgrade --force", "patches"],
    ));
    tree.write("proc/sys/kernel/tainted", "many\n");
    text.push(crate::run_on(&tree, &mut k, &mut host, "-n downgrade"));
    crate::expect("tainted", &text.join("\n"));
}

#[test]
fn a_terminal_is_asked_unless_non_interactive() {
    let tree = installed_series("confirm");
    tree.patch(&Patch::active(Meta::series(3, RELEASE), 1));
    let mut k = FakeKernel::new(&tree);
    let mut host = FakeHost::new(&tree);
    host.answers = Some(vec![false, true, false]);
    let text = run_all(
        &tree,
        &mut k,
        &mut host,
        &[
            "unload klp_rs_v3",
            "unload klp_rs_v3",
            "load klp_rs_v2",
            "-n load klp_rs_v2",
            "patches",
        ],
    );
    crate::expect("confirm", &text.join("\n"));
}

#[test]
fn downgrade_when_the_package_scripts_load_the_patch() {
    let tree = packaged("package_scripts");
    let mut host = FakeHost::new(&tree);
    host.dpkg(&tree, PACKAGE, 3, &[(2, true, false), (3, true, false)]);
    host.scripts_load = true;
    tree.patch(&Patch::active(Meta::series(3, RELEASE), 1));
    let mut k = FakeKernel::new(&tree);
    let text = run_all(
        &tree,
        &mut k,
        &mut host,
        &["-n downgrade", "patches", "list"],
    );
    crate::expect("package_scripts", &text.join("\n"));
}
