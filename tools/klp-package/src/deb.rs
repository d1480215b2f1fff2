//! A `.deb`: an `ar` archive of `debian-binary`, `control.tar.gz` and
//! `data.tar.gz` (deb(5)).

use crate::{File, Package};
use anyhow::{bail, Context, Result};
use flate2::{write::GzEncoder, Compression};
use std::{collections::BTreeSet, io::Write};

/// The file name Debian gives the package: `<name>_<version>_<arch>.deb`.
pub fn file_name(p: &Package) -> String {
    format!("{}_{}_{}.deb", p.name, p.version, arch(p))
}

fn arch(p: &Package) -> &'static str {
    p.arch.map_or("all", |a| a.deb())
}

/// The `control` file (deb-control(5)).
pub fn control(p: &Package) -> String {
    let installed_kib = p
        .files
        .iter()
        .map(|f| f.data.len())
        .sum::<usize>()
        .div_ceil(1024);
    let depends: Vec<String> = p
        .depends
        .iter()
        .map(|(name, min)| match min {
            Some(v) => format!("{name} (>= {v})"),
            None => name.clone(),
        })
        .collect();
    let mut text = format!(
        "Package: {}\nVersion: {}\nArchitecture: {}\nMaintainer: {}\nInstalled-Size: {}\n\
         Depends: {}\nSection: kernel\nPriority: optional\n",
        p.name,
        p.version,
        arch(p),
        p.maintainer,
        installed_kib,
        depends.join(", "),
    );
    for (key, value) in &p.extra_fields {
        text.push_str(&format!("{key}: {value}\n"));
    }
    // The long description: each line indented by one space, an empty line
    // as ` .`.
    text.push_str(&format!("Description: {}\n", p.summary));
    for line in p.description.lines() {
        if line.is_empty() {
            text.push_str(" .\n");
        } else {
            text.push_str(&format!(" {line}\n"));
        }
    }
    text
}

/// Writes the `.deb` of `p`.
pub fn write(p: &Package, w: impl Write) -> Result<()> {
    let control = control(p);
    let mut control_files = vec![File {
        path: "control".to_string(),
        mode: 0o644,
        data: control.into_bytes(),
    }];
    for (name, script) in [
        ("postinst", &p.deb_scripts.post_install),
        ("prerm", &p.deb_scripts.pre_remove),
        ("postrm", &p.deb_scripts.post_remove),
    ] {
        if let Some(s) = script {
            control_files.push(File {
                path: name.to_string(),
                mode: 0o755,
                data: s.clone().into_bytes(),
            });
        }
    }
    let control_tar = tar_gz(&control_files).context("cannot write control.tar.gz")?;
    let data_tar = tar_gz(&p.files).context("cannot write data.tar.gz")?;
    let mut ar = ar::Builder::new(w);
    for (name, data) in [
        ("debian-binary", b"2.0\n".to_vec()),
        ("control.tar.gz", control_tar),
        ("data.tar.gz", data_tar),
    ] {
        let mut header = ar::Header::new(name.as_bytes().to_vec(), data.len() as u64);
        header.set_mode(0o100644);
        ar.append(&header, data.as_slice())
            .with_context(|| format!("cannot write `{name}` to the .deb"))?;
    }
    Ok(())
}

/// A gzip-compressed tar of `files` under `./`, with an entry for each
/// directory, owned by root.
fn tar_gz(files: &[File]) -> Result<Vec<u8>> {
    let mut tar = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::best()));
    let mut dirs = BTreeSet::new();
    for f in files {
        let rel = f.path.trim_start_matches('/');
        let mut dir = String::from(".");
        for part in rel
            .split('/')
            .rev()
            .skip(1)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
        {
            dir.push('/');
            dir.push_str(part);
            dirs.insert(format!("{dir}/"));
        }
    }
    let header = |kind: tar::EntryType, mode: u32, size: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_size(size);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(0);
        // Ownership by name too, as dpkg-deb writes it.
        let _ = h.set_username("root");
        let _ = h.set_groupname("root");
        h
    };
    // Paths begin with `./`, as dpkg-deb writes them: set in the header
    // directly, since the tar crate's `set_path` drops a `.` component.
    let named = |mut h: tar::Header, path: &str| -> Result<tar::Header> {
        let name = &mut h.as_old_mut().name;
        if path.len() >= name.len() {
            bail!("`{path}` is too long for a tar header");
        }
        name[..path.len()].copy_from_slice(path.as_bytes());
        h.set_cksum();
        Ok(h)
    };
    tar.append(
        &named(header(tar::EntryType::Directory, 0o755, 0), "./")?,
        std::io::empty(),
    )?;
    for dir in &dirs {
        let h = named(header(tar::EntryType::Directory, 0o755, 0), dir)?;
        tar.append(&h, std::io::empty())?;
    }
    for f in files {
        let path = format!("./{}", f.path.trim_start_matches('/'));
        let h = header(tar::EntryType::Regular, f.mode, f.data.len() as u64);
        tar.append(&named(h, &path)?, f.data.as_slice())?;
    }
    Ok(tar.into_inner()?.finish()?)
}
