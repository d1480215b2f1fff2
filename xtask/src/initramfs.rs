//! The guest's initramfs: an uncompressed `newc` cpio archive (the kernel
//! unpacks it without any decompressor) holding busybox, bash, the shims of
//! `qemu/guest/shims/` over busybox applets, `/init`, the scenario scripts,
//! the patch modules and any further files a suite needs.

use crate::repo_root;
use anyhow::{bail, Context, Result};
use klp::cpio::Archive;
use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
};

/// The `e_machine` of an ELF file (`EM_X86_64` is 62), if it is one.
pub fn elf_machine(bytes: &[u8]) -> Option<u16> {
    if bytes.len() < 0x14 || bytes[..4] != *b"\x7fELF" {
        return None;
    }
    let raw = [bytes[0x12], bytes[0x13]];
    Some(if bytes[5] == 1 {
        u16::from_le_bytes(raw)
    } else {
        u16::from_be_bytes(raw)
    })
}

/// Whether an ELF file is statically linked (has no `PT_INTERP`).
pub fn is_static_elf(bytes: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    let is_elf64 = bytes.len() >= 64 && bytes[..4] == *b"\x7fELF" && bytes[4] == 2;
    if !is_elf64 {
        return false;
    }
    let little = bytes[5] == 1;
    let u16_at = |o: usize| {
        let b = [bytes[o], bytes[o + 1]];
        if little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        }
    };
    let u32_at = |o: usize| {
        let b = [bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]];
        if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let u64_at = |o: usize| {
        let mut b = [0; 8];
        b.copy_from_slice(&bytes[o..o + 8]);
        if little {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        }
    };
    let (phoff, phentsize, phnum) = (
        u64_at(0x20) as usize,
        u16_at(0x36) as usize,
        u16_at(0x38) as usize,
    );
    (0..phnum).all(|i| {
        let at = phoff + i * phentsize;
        at + 4 <= bytes.len() && u32_at(at) != PT_INTERP
    })
}

/// A file placed in the archive beyond the fixed layout; `build` creates its
/// parent directories.
#[derive(Debug)]
pub struct File {
    /// The path inside the guest, without a leading `/`.
    pub path: String,
    pub executable: bool,
    pub data: Vec<u8>,
}

/// Reads a program the guest runs, which must be a static ELF (the guest has
/// no shared libraries); `package` is the Debian package that provides it.
pub fn read_static(path: &Path, package: &str) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read `{}`; install {package}", path.display()))?;
    if !is_static_elf(&bytes) {
        bail!(
            "`{}` is not a static 64-bit ELF; install {package}",
            path.display()
        );
    }
    Ok(bytes)
}

/// The files of a directory, sorted by name, selected by `keep`.
fn files_in(dir: &Path, keep: impl Fn(&Path) -> bool) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list `{}`", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && keep(p))
        .collect();
    files.sort();
    Ok(files)
}

fn file_name(path: &Path) -> Result<String> {
    Ok(path
        .file_name()
        .with_context(|| format!("`{}` has no file name", path.display()))?
        .to_string_lossy()
        .into_owned())
}

/// Writes the guest initramfs for one arch to `out`: busybox (`/init` installs
/// its applets as links, which leave the shims in `/bin` in place), bash as
/// `/bin/bash`, the patch modules in `/lib/klp`, then `extra`.
pub fn build(
    busybox: &Path,
    bash: &Path,
    modules: &[PathBuf],
    extra: &[File],
    out: &Path,
) -> Result<()> {
    let guest = repo_root().join("qemu/guest");
    let busybox_bytes = read_static(busybox, "busybox-static")?;
    let bash_bytes = read_static(bash, "bash-static")?;
    let mut a = Archive::default();
    let mut dirs = BTreeSet::new();
    for dir in [
        "bin",
        "sbin",
        "dev",
        "proc",
        "sys",
        "tmp",
        "lib",
        "lib/klp",
        "scenarios",
    ] {
        a.dir(dir);
        dirs.insert(dir.to_string());
    }
    a.char_dev("dev/console", 5, 1);
    a.executable("bin/busybox", &busybox_bytes);
    a.executable("bin/bash", &bash_bytes);
    for shim in files_in(&guest.join("shims"), |_| true)? {
        a.executable(
            &format!("bin/{}", file_name(&shim)?),
            &std::fs::read(&shim)?,
        );
    }
    a.executable("init", &std::fs::read(guest.join("init"))?);
    for path in files_in(&guest.join("scenarios"), |p| {
        p.extension().is_some_and(|e| e == "sh")
    })? {
        let name = file_name(&path)?;
        a.file(&format!("scenarios/{name}"), &std::fs::read(&path)?);
    }
    for ko in modules {
        let name = file_name(ko)?;
        a.file(&format!("lib/klp/{name}"), &std::fs::read(ko)?);
    }
    add_files(&mut a, &mut dirs, extra);
    std::fs::write(out, a.finish()).with_context(|| format!("cannot write `{}`", out.display()))
}

/// Adds `files`, each after whichever of its parent directories `dirs` (the
/// directories already in the archive) lacks.
fn add_files(a: &mut Archive, dirs: &mut BTreeSet<String>, files: &[File]) {
    for f in files {
        let mut parent = String::new();
        for part in Path::new(&f.path).parent().into_iter().flat_map(Path::iter) {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(&part.to_string_lossy());
            if dirs.insert(parent.clone()) {
                a.dir(&parent);
            }
        }
        if f.executable {
            a.executable(&f.path, &f.data);
        } else {
            a.file(&f.path, &f.data);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_get_each_missing_parent_directory_once() {
        let file = |path: &str| File {
            path: path.into(),
            executable: false,
            data: b"x".to_vec(),
        };
        let mut a = Archive::default();
        let mut dirs = BTreeSet::from(["bin".to_string()]);
        add_files(
            &mut a,
            &mut dirs,
            &[file("s/c/m/a.ko"), file("s/c/m/b.ko"), file("bin/x")],
        );
        let text = String::from_utf8_lossy(&a.finish()).into_owned();
        let names: Vec<&str> = ["s\0", "s/c\0", "s/c/m\0", "bin\0"]
            .into_iter()
            .filter(|n| text.contains(n))
            .collect();
        assert_eq!(names, ["s\0", "s/c\0", "s/c/m\0"]);
        for name in ["s\0", "s/c\0", "s/c/m\0"] {
            assert_eq!(text.matches(name).count(), 1, "{name:?}");
        }
        assert!(text.contains("s/c/m/b.ko\0") && text.contains("bin/x\0"));
    }

    #[test]
    fn reads_the_machine_of_either_endianness() {
        let mut elf = vec![0u8; 64];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[5] = 1;
        elf[0x12] = 62;
        assert_eq!(elf_machine(&elf), Some(62));
        elf[5] = 2;
        elf[0x12] = 0;
        elf[0x13] = 22;
        assert_eq!(elf_machine(&elf), Some(22));
        assert_eq!(elf_machine(b"#!/bin/sh"), None);
    }

    #[test]
    fn static_elf_detection() {
        assert!(!is_static_elf(b"not an elf"));
        // A minimal ELF64 header with no program headers counts as static.
        let mut elf = vec![0u8; 64];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[4] = 2;
        elf[5] = 1;
        assert!(is_static_elf(&elf));
        // One PT_INTERP program header makes it dynamic.
        elf[0x20] = 64;
        elf[0x36] = 56;
        elf[0x38] = 1;
        elf.resize(64 + 56, 0);
        elf[64] = 3;
        assert!(!is_static_elf(&elf));
    }
}
