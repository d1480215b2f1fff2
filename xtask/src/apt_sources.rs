//! The Debian mirror of this machine's own apt configuration
//! (`/etc/apt/sources.list` and `/etc/apt/sources.list.d/`, one-line and
//! deb822 files): where setup, the guest tools and the Debian root file
//! system download from, so that a machine behind its own mirror works
//! as it is configured. Read only, never written.

use anyhow::{bail, Context, Result};
use std::path::Path;

/// One `deb` source: a mirror and a suite of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub uri: String,
    pub suite: String,
}

/// The machine's Debian archive mirror: the first `deb` source with the
/// `main` component whose suite is a release (not `-security`, whose
/// archive is another one, nor `-updates` or `-backports`).
pub fn machine_mirror() -> Result<Source> {
    machine_mirror_in(Path::new("/etc/apt"))
}

fn machine_mirror_in(etc_apt: &Path) -> Result<Source> {
    let mut sources = Vec::new();
    let main = etc_apt.join("sources.list");
    if let Ok(text) = std::fs::read_to_string(&main) {
        sources.extend(one_line(&text));
    }
    let parts = etc_apt.join("sources.list.d");
    let mut files: Vec<_> = match std::fs::read_dir(&parts) {
        Ok(entries) => entries
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()
            .with_context(|| format!("cannot list `{}`", parts.display()))?,
        Err(_) => Vec::new(),
    };
    files.sort();
    for file in files {
        let parse: fn(&str) -> Vec<Source> = match file.extension().and_then(|e| e.to_str()) {
            Some("list") => one_line,
            Some("sources") => deb822,
            _ => continue,
        };
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read `{}`", file.display()))?;
        sources.extend(parse(&text));
    }
    match sources.into_iter().find(|s| is_release(&s.suite)) {
        Some(source) => Ok(source),
        None => bail!(
            "no Debian mirror in this machine's apt configuration (`{}`, `{}`): add a `deb` line \
             of a release with the `main` component, e.g. `deb http://deb.debian.org/debian \
             bookworm main`",
            main.display(),
            parts.display()
        ),
    }
}

fn is_release(suite: &str) -> bool {
    !["-security", "-updates", "-backports", "-proposed-updates"]
        .iter()
        .any(|s| suite.ends_with(s))
        && !suite.contains('/')
}

/// `deb [options] URI SUITE COMPONENT...` lines with `main`.
fn one_line(text: &str) -> Vec<Source> {
    let mut found = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        if words.next() != Some("deb") {
            continue;
        }
        let mut rest: Vec<&str> = words.collect();
        if rest.first().is_some_and(|w| w.starts_with('[')) {
            let end = rest.iter().position(|w| w.ends_with(']')).unwrap_or(0);
            rest.drain(..=end);
        }
        if let [uri, suite, components @ ..] = rest.as_slice() {
            if components.contains(&"main") {
                found.push(Source {
                    uri: uri.trim_end_matches('/').to_string(),
                    suite: suite.to_string(),
                });
            }
        }
    }
    found
}

/// deb822 paragraphs (`Types:`, `URIs:`, `Suites:`, `Components:`,
/// `Enabled:`) of type `deb` with `main`.
fn deb822(text: &str) -> Vec<Source> {
    let mut found = Vec::new();
    for paragraph in text.split("\n\n") {
        let field = |name: &str| -> Vec<&str> {
            paragraph
                .lines()
                .filter(|l| !l.starts_with('#'))
                .find_map(|l| {
                    let (key, value) = l.split_once(':')?;
                    key.trim().eq_ignore_ascii_case(name).then_some(value)
                })
                .map(|v| v.split_whitespace().collect())
                .unwrap_or_default()
        };
        if !field("Types").contains(&"deb")
            || !field("Components").contains(&"main")
            || field("Enabled") == ["no"]
        {
            continue;
        }
        for uri in field("URIs") {
            for suite in field("Suites") {
                found.push(Source {
                    uri: uri.trim_end_matches('/').to_string(),
                    suite: suite.to_string(),
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(uri: &str, suite: &str) -> Source {
        Source {
            uri: uri.into(),
            suite: suite.into(),
        }
    }

    #[test]
    fn deb822_sources_give_the_release_suite_and_skip_security() {
        let text = "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\n\
                    Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n\
                    Types: deb\nURIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n\
                    Components: main\n";
        let all = deb822(text);
        assert_eq!(all.len(), 3);
        assert_eq!(
            all.into_iter().find(|s| is_release(&s.suite)),
            Some(source("http://mirror.example/debian", "bookworm"))
        );
    }

    #[test]
    fn one_line_sources_skip_options_comments_and_other_types() {
        let text = "# deb http://old.example/debian buster main\n\
                    deb-src http://src.example/debian bookworm main\n\
                    deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/debian bookworm-backports main\n\
                    deb http://mirror.example/debian bookworm contrib\n\
                    deb http://mirror.example/debian/ bookworm main non-free\n";
        let all = one_line(text);
        assert_eq!(
            all,
            vec![
                source("http://mirror.example/debian", "bookworm-backports"),
                source("http://mirror.example/debian", "bookworm"),
            ]
        );
    }

    #[test]
    fn disabled_paragraphs_and_a_missing_configuration_are_refused() {
        let dir = std::env::temp_dir().join(format!("klp-rs-apt-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sources.list.d")).unwrap();
        std::fs::write(
            dir.join("sources.list.d/debian.sources"),
            "Types: deb\nURIs: http://x/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n",
        )
        .unwrap();
        let err = machine_mirror_in(&dir).unwrap_err().to_string();
        assert!(err.contains("no Debian mirror"), "{err}");
        std::fs::write(
            dir.join("sources.list"),
            "deb http://y/debian bookworm main\n",
        )
        .unwrap();
        assert_eq!(
            machine_mirror_in(&dir).unwrap(),
            source("http://y/debian", "bookworm")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
