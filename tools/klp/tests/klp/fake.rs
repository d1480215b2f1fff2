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
