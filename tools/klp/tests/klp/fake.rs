//! Fake `/sys`, `/proc` and `/lib/modules` trees, patch module files, and a
//! fake kernel that acts on the tree as the real one would.

use object::write::Object;
use std::{
    fs, io,
    path::{Path, PathBuf},
};

/// A directory standing for `/`, made empty on creation.
pub struct Tree {
    pub root: PathBuf,
}

impl Tree {
    /// An empty tree named after the test, with a running kernel release
    /// and sysfs (but no `/sys/kernel/livepatch`).
    pub fn new(test: &str, release: &str) -> Tree {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("klp")
            .join(test);
        match fs::remove_dir_all(&root) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => panic!("{}: {e}", root.display()),
            _ => {}
        }
        let tree = Tree { root };
        tree.write("proc/sys/kernel/osrelease", format!("{release}\n"));
        tree.write("proc/sys/kernel/tainted", "0\n");
        tree.mkdir("sys/kernel");
        tree.mkdir("sys/module");
        tree
    }

    /// Like [`Tree::new`], with `/sys/kernel/livepatch`.
    pub fn with_livepatch(test: &str, release: &str) -> Tree {
        let tree = Tree::new(test, release);
        tree.mkdir("sys/kernel/livepatch");
        tree
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn mkdir(&self, rel: &str) {
        fs::create_dir_all(self.path(rel)).unwrap();
    }

    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    /// Registers `patch` with the fake kernel: its livepatch sysfs
    /// directory and its module (with klp-rs metadata if it has some).
    pub fn patch(&self, patch: &Patch) {
        let dir = format!("sys/kernel/livepatch/{}", patch.meta.name);
        self.write(
            &format!("{dir}/enabled"),
            format!("{}\n", u8::from(patch.enabled)),
        );
        self.write(
            &format!("{dir}/transition"),
            format!("{}\n", u8::from(patch.transition)),
        );
        self.write(&format!("{dir}/force"), "");
        self.write(
            &format!("{dir}/replace"),
            format!("{}\n", u8::from(patch.replace)),
        );
        self.write(
            &format!("{dir}/stack_order"),
            format!("{}\n", patch.stack_order),
        );
        for (obj, funcs) in &patch.objects {
            self.write(&format!("{dir}/{obj}/patched"), "1\n");
            for func in funcs {
                self.mkdir(&format!("{dir}/{obj}/{func}"));
            }
        }
        self.module(&patch.meta, patch.klp_rs);
    }

    /// A loaded module, with klp-rs metadata if `klp_rs`.
    pub fn module(&self, meta: &Meta, klp_rs: bool) {
        let dir = format!("sys/module/{}", meta.name);
        self.write(&format!("{dir}/initstate"), "live\n");
        if !klp_rs {
            return;
        }
        let lines = |v: &[String]| v.iter().map(|l| format!("{l}\n")).collect::<String>();
        self.write(
            &format!("{dir}/klp_rs/version"),
            format!("{}\n", meta.version),
        );
        self.write(
            &format!("{dir}/klp_rs/kernel"),
            format!("{}\n", meta.kernel),
        );
        self.write(
            &format!("{dir}/klp_rs/released"),
            format!("{}\n", meta.released),
        );
        self.write(&format!("{dir}/klp_rs/cves"), lines(&meta.cves));
        self.write(&format!("{dir}/klp_rs/bugs"), lines(&meta.bugs));
        self.write(
            &format!("{dir}/klp_rs/seed"),
            format!("{}\n", u8::from(meta.seed)),
        );
        self.write(
            &format!("{dir}/klp_rs/description"),
            format!("{}\n", meta.description),
        );
    }

    /// Installs `meta`'s module file for its kernel as `<name>.ko`.
    pub fn install(&self, meta: &Meta) -> PathBuf {
        let rel = format!("lib/modules/{}/livepatch/{}.ko", meta.kernel, meta.name);
        self.write(&rel, meta.ko());
        self.path(&rel)
    }

    /// A task: `/proc/<pid>/{cmdline,task/<tid>/{comm,patch_state,stack}}`.
    pub fn task(&self, pid: u32, tid: u32, comm: &str, cmdline: &[&str], state: i32) {
        let p = format!("proc/{pid}");
        let t = format!("{p}/task/{tid}");
        let cmdline: Vec<u8> = cmdline
            .iter()
            .flat_map(|a| [a.as_bytes(), b"\0"].concat())
            .collect();
        self.write(&format!("{p}/cmdline"), cmdline);
        self.write(&format!("{t}/comm"), format!("{comm}\n"));
        self.write(&format!("{t}/patch_state"), format!("{state}\n"));
        self.write(
            &format!("{t}/stack"),
            format!("[<0>] {comm}_wait+0x2c/0x60\n[<0>] ret_from_fork+0x31/0x50\n"),
        );
        if pid == tid {
            self.write(&format!("{p}/comm"), format!("{comm}\n"));
            self.write(&format!("{p}/patch_state"), format!("{state}\n"));
        }
    }
}

/// The metadata of a klp-rs patch: its `.modinfo` and its sysfs files.
#[derive(Clone)]
pub struct Meta {
    pub name: String,
    pub version: u32,
    pub kernel: String,
    pub released: String,
    pub cves: Vec<String>,
    pub bugs: Vec<String>,
    pub seed: bool,
    pub description: String,
}

impl Meta {
    /// Version `version` of the test series `klp_rs_v<version>`.
    pub fn series(version: u32, kernel: &str) -> Meta {
        Meta {
            name: format!("klp_rs_v{version}"),
            version,
            kernel: kernel.to_string(),
            released: "2026-03-01".to_string(),
            cves: (2..=version).map(|v| format!("CVE-2026-100{v}")).collect(),
            bugs: (3..=version).map(|v| format!("bug#1{v}")).collect(),
            seed: version == 1,
            description: format!("klp-rs cumulative patch {version}"),
        }
    }

    /// The `.modinfo` entries a klp-rs build gives this patch.
    pub fn modinfo(&self) -> Vec<(String, String)> {
        let mut e = vec![
            ("description".to_string(), self.description.clone()),
            ("license".to_string(), "GPL".to_string()),
            ("livepatch".to_string(), "Y".to_string()),
            ("klp_version".to_string(), self.version.to_string()),
            ("klp_kernel".to_string(), self.kernel.clone()),
            ("klp_released".to_string(), self.released.clone()),
        ];
        e.extend(
            self.cves
                .iter()
                .map(|c| ("klp_cve".to_string(), c.to_string())),
        );
        e.extend(
            self.bugs
                .iter()
                .map(|b| ("klp_bug".to_string(), b.to_string())),
        );
        e.push((
            "klp_seed".to_string(),
            if self.seed { "Y" } else { "N" }.to_string(),
        ));
        e.push(("depends".to_string(), String::new()));
        e.push(("name".to_string(), self.name.clone()));
        e.push((
            "vermagic".to_string(),
            format!("{} SMP preempt mod_unload ", self.kernel),
        ));
        e
    }

    /// A module file with this metadata.
    pub fn ko(&self) -> Vec<u8> {
        let entries = self.modinfo();
        let entries: Vec<(&str, &str)> = entries
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        module_elf(&entries)
    }
}

/// A relocatable x86_64 ELF file with a `.modinfo` of `entries` and a
/// `.text`, as a kernel module has.
pub fn module_elf(entries: &[(&str, &str)]) -> Vec<u8> {
    use object::{write::StandardSection, Architecture, BinaryFormat, Endianness, SectionKind};
    let mut obj = Object::new(BinaryFormat::Elf, Architecture::X86_64, Endianness::Little);
    let text = obj.section_id(StandardSection::Text);
    obj.append_section_data(text, &[0xc3], 16);
    let modinfo = obj.add_section(Vec::new(), b".modinfo".to_vec(), SectionKind::ReadOnlyData);
    let data: Vec<u8> = entries
        .iter()
        .flat_map(|(k, v)| format!("{k}={v}\0").into_bytes())
        .collect();
    obj.append_section_data(modinfo, &data, 1);
    obj.write().unwrap()
}

/// A patch registered with the kernel.
pub struct Patch {
    pub meta: Meta,
    pub klp_rs: bool,
    pub enabled: bool,
    pub transition: bool,
    pub replace: bool,
    pub stack_order: u32,
    pub objects: Vec<(&'static str, Vec<&'static str>)>,
}

impl Patch {
    /// An enabled atomic-replace klp-rs patch out of transition.
    pub fn active(meta: Meta, stack_order: u32) -> Patch {
        Patch {
            meta,
            klp_rs: true,
            enabled: true,
            transition: false,
            replace: true,
            stack_order,
            objects: vec![(
                "vmlinux",
                vec!["cmdline_proc_show,1", "meminfo_proc_show,1"],
            )],
        }
    }

    /// The kernel's own `livepatch_sample`, not a klp-rs patch.
    pub fn foreign(stack_order: u32) -> Patch {
        Patch {
            meta: Meta {
                name: "livepatch_sample".to_string(),
                ..Meta::series(1, "")
            },
            klp_rs: false,
            enabled: true,
            transition: false,
            replace: false,
            stack_order,
            objects: vec![("vmlinux", vec!["cmdline_proc_show,1"])],
        }
    }
}

/// A fake kernel: loading a module registers its patch in the tree (an
/// atomic replace unregisters the others), `0` to `enabled` unregisters
/// the patch, removal deletes `/sys/module/<name>`. Every call but a read
/// is logged.
pub struct FakeKernel {
    pub root: PathBuf,
    pub is_root: bool,
    /// The errno `finit_module` fails with.
    pub refuse_load: Option<i32>,
    /// Patches stay in transition after loading.
    pub stuck: bool,
    /// Replaced patches stay registered, disabled, after an atomic replace,
    /// as they do until the real kernel frees them from a work item.
    pub lingering: bool,
    /// Disabled and replaced patches are freed as the real kernel frees
    /// them, from a work item: they join [`FakeKernel::freeing`].
    pub slow_free: bool,
    /// Patches being freed: their attributes answer `ENODEV`, and the
    /// first `delete_module` of one fails with `EWOULDBLOCK` (the patch
    /// still holds its module) while the work item finishes, removing the
    /// patch's directory.
    pub freeing: Vec<String>,
    pub log: Vec<String>,
}

impl FakeKernel {
    pub fn new(tree: &Tree) -> FakeKernel {
        FakeKernel {
            root: tree.root.clone(),
            is_root: true,
            refuse_load: None,
            stuck: false,
            lingering: false,
            slow_free: false,
            freeing: Vec::new(),
            log: Vec::new(),
        }
    }

    /// Whether `path` is in the directory of a patch being freed.
    fn is_freeing(&self, path: &Path) -> bool {
        let lp = self.root.join("sys/kernel/livepatch");
        self.freeing
            .iter()
            .any(|name| path.starts_with(lp.join(name)))
    }

    fn rel(&self, path: &Path) -> String {
        format!(
            "/{}",
            path.strip_prefix(&self.root).unwrap_or(path).display()
        )
    }
}

impl klp::sys::Kernel for FakeKernel {
    fn is_root(&self) -> bool {
        self.is_root
    }

    fn load_module(&mut self, file: &Path) -> io::Result<()> {
        self.log.push(format!("finit_module({})", self.rel(file)));
        if let Some(errno) = self.refuse_load {
            return Err(io::Error::from_raw_os_error(errno));
        }
        let p = klp::modinfo::PatchFile::read(file).map_err(io::Error::other)?;
        let tree = Tree {
            root: self.root.clone(),
        };
        let lp = tree.path("sys/kernel/livepatch");
        let mut others = Vec::new();
        for e in fs::read_dir(&lp)? {
            others.push(e?.path());
        }
        let stack_order = others.len() as u32 + 1;
        if !self.stuck {
            for other in &others {
                if self.slow_free {
                    let name = other.file_name().unwrap().to_string_lossy();
                    self.freeing.push(name.into_owned());
                } else if self.lingering {
                    fs::write(other.join("enabled"), "0\n")?;
                } else {
                    fs::remove_dir_all(other)?;
                }
            }
        }
        let meta = Meta {
            name: p.name,
            version: p.meta.version,
            kernel: p.meta.kernel,
            released: p.meta.released.map(|d| d.to_string()).unwrap_or_default(),
            cves: p.meta.cves,
            bugs: p.meta.bugs,
            seed: p.meta.seed,
            description: p.meta.description,
        };
        tree.patch(&Patch {
            transition: self.stuck,
            ..Patch::active(meta, stack_order)
        });
        Ok(())
    }

    fn remove_module(&mut self, name: &str) -> io::Result<()> {
        self.log.push(format!("delete_module({name}, O_NONBLOCK)"));
        if let Some(i) = self.freeing.iter().position(|f| f == name) {
            self.freeing.remove(i);
            fs::remove_dir_all(self.root.join("sys/kernel/livepatch").join(name))?;
            return Err(io::Error::from_raw_os_error(libc::EWOULDBLOCK));
        }
        if self.root.join("sys/kernel/livepatch").join(name).exists() {
            return Err(io::Error::from_raw_os_error(libc::EBUSY));
        }
        fs::remove_dir_all(self.root.join("sys/module").join(name))
    }

    fn read_attr(&self, path: &Path) -> io::Result<String> {
        if self.is_freeing(path) {
            return Err(io::Error::from_raw_os_error(libc::ENODEV));
        }
        fs::read_to_string(path)
    }

    fn write_attr(&mut self, path: &Path, value: &str) -> io::Result<()> {
        self.log.push(format!("echo {value} > {}", self.rel(path)));
        fs::OpenOptions::new().write(true).open(path)?;
        let dir = path.parent().unwrap();
        if path.ends_with("enabled") && value == "0" && self.slow_free {
            let name = dir.file_name().unwrap().to_string_lossy();
            self.freeing.push(name.into_owned());
        } else if path.ends_with("enabled") && value == "0" && !self.stuck {
            fs::remove_dir_all(dir)?;
        } else {
            fs::write(path, format!("{value}\n"))?;
        }
        Ok(())
    }
}

/// A version of a fake package: what it installs.
#[derive(Clone)]
pub struct PackageVersion {
    pub version: String,
    pub meta: Meta,
    /// In a repository (`apt-cache madison`, `zypper search`).
    pub in_repository: bool,
    /// A package file in the local cache.
    pub cached: bool,
}

/// A fake system: the programs on `PATH`, a package manager acting on the
/// tree (the packages install patch files as klp-rs's do), and a terminal
/// with scripted answers. Every command run and question asked is logged.
pub struct FakeHost {
    pub root: PathBuf,
    pub programs: Vec<&'static str>,
    /// The package name, its installed version and every version known.
    pub package: Option<(String, String, Vec<PackageVersion>)>,
    /// The answers of the terminal; `None`: the input is not a terminal.
    pub answers: Option<Vec<bool>>,
    /// The exit code of the package manager's install command.
    pub install_fails: Option<i32>,
    /// A package manager on `PATH` besides the one that installed the
    /// package, which owns no file (`rpm` on a Debian system).
    pub other_manager: Option<&'static str>,
    /// The packages' scripts load the patch they install, replacing the
    /// active one (as the fake kernel's `finit_module` would).
    pub scripts_load: bool,
    pub log: Vec<String>,
}

impl FakeHost {
    /// No package manager, no terminal.
    pub fn new(tree: &Tree) -> FakeHost {
        FakeHost {
            root: tree.root.clone(),
            programs: Vec::new(),
            package: None,
            answers: None,
            install_fails: None,
            other_manager: None,
            scripts_load: false,
            log: Vec::new(),
        }
    }

    /// `dpkg` (and `apt-get`, `apt-cache`) with `name` at `installed`,
    /// which, as each of `versions`, installs the series patch of that
    /// version; cached versions are written to `/var/cache/apt/archives`.
    pub fn dpkg(
        &mut self,
        tree: &Tree,
        name: &str,
        installed: u32,
        versions: &[(u32, bool, bool)],
    ) {
        self.programs = vec!["dpkg", "dpkg-query", "apt-get", "apt-cache"];
        self.packages(tree, name, installed, versions, |v| {
            format!("var/cache/apt/archives/{name}_{v}_amd64.deb")
        });
    }

    /// `rpm` (and `zypper`) as [`FakeHost::dpkg`] has `dpkg`.
    pub fn rpm(&mut self, tree: &Tree, name: &str, installed: u32, versions: &[(u32, bool, bool)]) {
        self.programs = vec!["rpm", "zypper"];
        self.packages(tree, name, installed, versions, |v| {
            format!("var/cache/zypp/packages/repo-klp/x86_64/{name}-{v}-1.x86_64.rpm")
        });
    }

    fn packages(
        &mut self,
        tree: &Tree,
        name: &str,
        installed: u32,
        versions: &[(u32, bool, bool)],
        cache: impl Fn(u32) -> String,
    ) {
        let mut known = Vec::new();
        for &(v, in_repository, cached) in versions {
            if cached {
                tree.write(&cache(v), b"package");
            }
            known.push(PackageVersion {
                version: v.to_string(),
                meta: Meta::series(v, "7.3.4"),
                in_repository,
                cached,
            });
        }
        tree.install(&Meta::series(installed, "7.3.4"));
        self.package = Some((name.to_string(), installed.to_string(), known));
    }

    fn file_of(&self, version: &str) -> Option<String> {
        let (_, _, known) = self.package.as_ref()?;
        let v = known.iter().find(|k| k.version == version)?;
        Some(format!(
            "/lib/modules/{}/livepatch/{}.ko",
            v.meta.kernel, v.meta.name
        ))
    }

    /// Replaces the installed version with `version`'s files (an RPM
    /// release after `-` is ignored).
    fn install(&mut self, version: &str) -> klp::host::Ran {
        let version = version.split('-').next().unwrap();
        if let Some(code) = self.install_fails {
            return klp::host::Ran {
                code: Some(code),
                stdout: String::new(),
                stderr: "error: the package could not be installed\n".to_string(),
            };
        }
        let tree = Tree {
            root: self.root.clone(),
        };
        let (_, installed, known) = self.package.as_mut().unwrap();
        let old = known.iter().find(|k| k.version == *installed).unwrap();
        let old = format!(
            "lib/modules/{}/livepatch/{}.ko",
            old.meta.kernel, old.meta.name
        );
        fs::remove_file(tree.path(&old)).unwrap();
        let new = known.iter().find(|k| k.version == version).unwrap();
        tree.install(&new.meta);
        if self.scripts_load {
            let lp = tree.path("sys/kernel/livepatch");
            for e in fs::read_dir(&lp).unwrap() {
                fs::remove_dir_all(e.unwrap().path()).unwrap();
            }
            tree.patch(&Patch::active(new.meta.clone(), 1));
        }
        *installed = version.to_string();
        klp::host::Ran {
            code: Some(0),
            stdout: format!("Setting up package version {version} ...\n"),
            stderr: String::new(),
        }
    }
}

impl klp::host::Host for FakeHost {
    fn find_program(&self, program: &str) -> Option<PathBuf> {
        (self.programs.contains(&program) || self.other_manager == Some(program))
            .then(|| PathBuf::from("/usr/bin").join(program))
    }

    fn run(&mut self, program: &str, args: &[String]) -> io::Result<klp::host::Ran> {
        self.log.push(format!("{program} {}", args.join(" ")));
        if self.other_manager == Some(program) {
            return Ok(klp::host::Ran {
                code: Some(1),
                stdout: String::new(),
                stderr: format!("{program}: the file belongs to no package\n"),
            });
        }
        if !self.programs.contains(&program) {
            return Err(io::Error::from(io::ErrorKind::NotFound));
        }
        let ok = |stdout: String| klp::host::Ran {
            code: Some(0),
            stdout,
            stderr: String::new(),
        };
        let (name, installed, known) = self.package.clone().unwrap();
        let owned = self.file_of(&installed);
        let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
        let ran = match (program, arg(0)) {
            ("dpkg", "-S") if Some(arg(1)) == owned.as_deref() => {
                ok(format!("{name}: {}\n", arg(1)))
            }
            ("dpkg", "-S") => klp::host::Ran {
                code: Some(1),
                stdout: String::new(),
                stderr: format!("dpkg-query: no path found matching pattern {}\n", arg(1)),
            },
            ("dpkg-query", "-W") => ok(installed.clone()),
            ("rpm", "-qf") if Some(arg(3)) == owned.as_deref() => {
                ok(format!("{name} {installed}\n"))
            }
            ("rpm", "-qf") => klp::host::Ran {
                code: Some(1),
                stdout: format!("file {} is not owned by any package\n", arg(3)),
                stderr: String::new(),
            },
            ("apt-cache", "madison") => ok(known
                .iter()
                .filter(|k| k.in_repository)
                .map(|k| format!("{name} | {} | file:/srv/klp-rs ./ Packages\n", k.version))
                .collect()),
            ("zypper", _) if args.iter().any(|a| a == "search") => ok(known
                .iter()
                .filter(|k| k.in_repository)
                .map(|k| {
                    format!(
                        "   | {name} | package | {}-1 | x86_64 | klp-rs\n",
                        k.version
                    )
                })
                .collect()),
            ("apt-get" | "zypper", _) => {
                let pinned = args.last().unwrap();
                let version = pinned.rsplit_once('=').unwrap().1.to_string();
                self.install(&version)
            }
            ("dpkg", "-i") | ("rpm", "-Uvh") => {
                let file = args.last().unwrap();
                let version = known
                    .iter()
                    .find(|k| {
                        k.cached
                            && (file.contains(&format!("_{}_", k.version))
                                || file.contains(&format!("-{}-1.", k.version)))
                    })
                    .unwrap()
                    .version
                    .clone();
                self.install(&version)
            }
            _ => panic!("the fake host does not know `{program} {}`", args.join(" ")),
        };
        Ok(ran)
    }

    fn confirm(&mut self, question: &str) -> io::Result<Option<bool>> {
        let Some(answers) = self.answers.as_mut() else {
            return Ok(None);
        };
        let answer = answers.remove(0);
        self.log.push(format!(
            "{question} [y/N] {}",
            if answer { "y" } else { "n" }
        ));
        Ok(Some(answer))
    }
}
