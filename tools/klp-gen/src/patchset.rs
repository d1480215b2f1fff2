//! The fix as the engineer gives it: unified diffs against the kernel tree
//! (`patch -p1`), applied in order to a copy of the tree, each `.c` and `.h`
//! hunk with `#line` directives after its changes so that the lines after
//! them keep their original numbers (`__LINE__` in `WARN()` and `BUG()`
//! then never makes an unchanged function look changed).

use crate::Error;
use std::{
    path::{Path, PathBuf},
    process::Command,
};

/// One diff file.
#[derive(Clone, Debug)]
pub struct Patch {
    pub path: PathBuf,
    pub text: String,
}

impl Patch {
    /// Reads `path`.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Input {
            what: format!("the patch `{}`", path.display()),
            why: e.to_string(),
        })?;
        Ok(Self {
            path: path.to_path_buf(),
            text,
        })
    }

    /// The files it changes or creates, relative to the tree (`b/` dropped);
    /// a file it deletes is refused (nothing compiles it any more).
    pub fn files(&self) -> Result<Vec<String>, Error> {
        let mut files = Vec::new();
        let mut old: Option<&str> = None;
        for line in self.text.lines() {
            if let Some(rest) = line.strip_prefix("--- ") {
                old = Some(path_of(rest));
            } else if let Some(rest) = line.strip_prefix("+++ ") {
                let new = path_of(rest);
                if new == "/dev/null" {
                    return Err(Error::Input {
                        what: format!("the patch `{}`", self.path.display()),
                        why: format!(
                            "it deletes `{}`: a live patch cannot remove a unit; keep the file and remove its code",
                            old.unwrap_or("?")
                        ),
                    });
                }
                let new = new.split_once('/').map_or(new, |(_, p)| p);
                if !files.iter().any(|f| f == new) {
                    files.push(new.to_string());
                }
            }
        }
        if files.is_empty() {
            return Err(Error::Input {
                what: format!("the patch `{}`", self.path.display()),
                why: "it holds no unified diff (no `+++ ` line); make it with `diff -u` or `git diff`".into(),
            });
        }
        Ok(files)
    }
}

fn path_of(header: &str) -> &str {
    header.split('\t').next().unwrap_or(header).trim_end()
}

/// `diff` with a `#line N` line added after each group of changes in a
/// `.c` or `.h` file, before the next context line, N being that line's
/// number in the old file; the hunk headers count the added lines. A group
/// that ends inside a macro (a line ending in `\`) gets its directive after
/// the macro.
pub fn with_line_directives(diff: &str) -> Result<String, Error> {
    let mut out: Vec<String> = Vec::new();
    let mut c_file = false;
    let lines: Vec<&str> = diff.lines().collect();
    let mut i = 0;
    // How many lines this file's earlier hunks added.
    let mut shift = 0i64;
    while i < lines.len() {
        let line = lines[i];
        if let Some(rest) = line.strip_prefix("+++ ") {
            let p = path_of(rest);
            c_file = p.ends_with(".c") || p.ends_with(".h");
            shift = 0;
            out.push(line.to_string());
            i += 1;
            continue;
        }
        let Some(header) = line.strip_prefix("@@ ").filter(|_| c_file) else {
            out.push(line.to_string());
            i += 1;
            continue;
        };
        let hunk = HunkHeader::parse(header).ok_or_else(|| Error::Input {
            what: "a patch".into(),
            why: format!("bad hunk header `{line}`"),
        })?;
        let mut body: Vec<String> = Vec::new();
        let mut old_line = hunk.old_start;
        let (mut old_left, mut new_left) = (hunk.old_len, hunk.new_len);
        let mut pending = false;
        let mut added = 0u64;
        let mut last_new: Option<&str> = None;
        i += 1;
        while i < lines.len() && (old_left > 0 || new_left > 0) {
            let l = lines[i];
            match l.as_bytes().first() {
                Some(b'-') => {
                    pending = true;
                    old_line += 1;
                    old_left = old_left.saturating_sub(1);
                }
                Some(b'+') => {
                    pending = true;
                    new_left = new_left.saturating_sub(1);
                    last_new = Some(&l[1..]);
                }
                Some(b'\\') => {}
                _ => {
                    let continues = last_new.is_some_and(|p| p.trim_end().ends_with('\\'));
                    if pending && !continues {
                        body.push(format!("+#line {old_line}"));
                        added += 1;
                        pending = false;
                    }
                    old_line += 1;
                    old_left = old_left.saturating_sub(1);
                    new_left = new_left.saturating_sub(1);
                    last_new = Some(l.get(1..).unwrap_or(""));
                }
            }
            body.push(l.to_string());
            i += 1;
        }
        // `\ No newline at end of file` after the last line.
        while i < lines.len() && lines[i].starts_with('\\') {
            body.push(lines[i].to_string());
            i += 1;
        }
        out.push(hunk.render(shift, added));
        shift += added as i64;
        out.extend(body);
    }
    let mut text = out.join("\n");
    text.push('\n');
    Ok(text)
}

/// `@@ -a,b +c,d @@ rest`.
struct HunkHeader<'a> {
    old_start: u64,
    old_len: u64,
    new_start: u64,
    new_len: u64,
    rest: &'a str,
}

impl<'a> HunkHeader<'a> {
    /// `header` without its leading `@@ `.
    fn parse(header: &'a str) -> Option<Self> {
        let (ranges, rest) = header.split_once(" @@")?;
        let (old, new) = ranges.split_once(' ')?;
        let range = |r: &str| -> Option<(u64, u64)> {
            match r.split_once(',') {
                Some((s, n)) => Some((s.parse().ok()?, n.parse().ok()?)),
                None => Some((r.parse().ok()?, 1)),
            }
        };
        let (old_start, old_len) = range(old.strip_prefix('-')?)?;
        let (new_start, new_len) = range(new.strip_prefix('+')?)?;
        Some(Self {
            old_start,
            old_len,
            new_start,
            new_len,
            rest,
        })
    }

    fn render(&self, shift: i64, added: u64) -> String {
        format!(
            "@@ -{},{} +{},{} @@{}",
            self.old_start,
            self.old_len,
            (self.new_start as i64 + shift).max(0),
            self.new_len + added,
            self.rest
        )
    }
}

/// Applies `patch` to `tree` (a hard-linked copy: each file it changes is
/// first given an inode of its own, so the original tree is never
/// written). Returns the warnings (hunks applied with fuzz or at an
/// offset); a hunk that does not apply is an error naming the file and
/// the hunk.
pub fn apply(tree: &Path, patch: &Patch) -> Result<Vec<String>, Error> {
    for file in patch.files()? {
        let path = tree.join(&file);
        if path.is_file() {
            let data = std::fs::read(&path).map_err(|e| io(&path, e))?;
            std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
            std::fs::write(&path, data).map_err(|e| io(&path, e))?;
        }
    }
    let input = tree.join(".klp-gen-patch");
    let text = with_line_directives(&patch.text)?;
    std::fs::write(&input, text).map_err(|e| io(&input, e))?;
    let output = Command::new("patch")
        .args([
            "-p1",
            "--forward",
            "--batch",
            "--no-backup-if-mismatch",
            "-r",
            "-",
            "-d",
        ])
        .arg(tree)
        .arg("-i")
        .arg(&input)
        .output()
        .map_err(|e| Error::Tool {
            tool: "patch".into(),
            why: format!("{e} (install GNU patch: `cargo xtask setup` does)"),
        })?;
    let _ = std::fs::remove_file(&input);
    let said = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    let (failures, warnings) = read_patch_output(&said);
    if !output.status.success() || !failures.is_empty() {
        let why = if failures.is_empty() {
            said.trim().to_string()
        } else {
            failures.join("; ")
        };
        return Err(Error::DoesNotApply {
            patch: patch.path.clone(),
            why,
        });
    }
    Ok(warnings
        .into_iter()
        .map(|w| format!("{}: {w}", patch.path.display()))
        .collect())
}

/// The failed hunks and the hunks applied with fuzz or offset in what
/// GNU patch printed, each naming its file.
fn read_patch_output(said: &str) -> (Vec<String>, Vec<String>) {
    let (mut failures, mut warnings) = (Vec::new(), Vec::new());
    let mut file = String::new();
    for line in said.lines() {
        if let Some(f) = line.strip_prefix("patching file ") {
            file = f.trim_matches(['\'', '`']).to_string();
        } else if line.starts_with("Hunk #") && line.contains("FAILED") {
            failures.push(format!("`{file}`: {}", line.trim_end_matches('.')));
        } else if line.starts_with("Hunk #") && line.contains("succeeded") {
            warnings.push(format!("`{file}`: {}", line.trim_end_matches('.')));
        } else if line.contains("Reversed (or previously applied) patch detected") {
            failures.push(format!(
                "`{file}`: already applied (the tree has this change)"
            ));
        } else if line.starts_with("can't find file to patch") || line.contains("No such file") {
            failures.push(format!("{} (`{file}`)", line.trim()));
        }
    }
    (failures, warnings)
}

fn io(path: &Path, e: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        why: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_directive_follows_each_group_of_changes() {
        let diff =
            "--- a/k/x.c\n+++ b/k/x.c\n@@ -10,5 +10,6 @@ int f(void)\n a\n-b\n+c\n+d\n e\n f\n g\n";
        let got = with_line_directives(diff).unwrap();
        assert_eq!(
            got,
            "--- a/k/x.c\n+++ b/k/x.c\n@@ -10,5 +10,7 @@ int f(void)\n a\n-b\n+c\n+d\n+#line 12\n e\n f\n g\n"
        );
    }

    #[test]
    fn later_hunks_move_by_the_lines_added_before_them() {
        let diff =
            "--- a/x.h\n+++ b/x.h\n@@ -1,2 +1,2 @@\n-a\n+b\n c\n@@ -20,2 +20,2 @@\n-d\n+e\n f\n";
        let got = with_line_directives(diff).unwrap();
        assert!(
            got.contains("@@ -1,2 +1,3 @@\n-a\n+b\n+#line 2\n c\n"),
            "{got}"
        );
        assert!(
            got.contains("@@ -20,2 +21,3 @@\n-d\n+e\n+#line 21\n f\n"),
            "{got}"
        );
    }

    #[test]
    fn no_directive_inside_a_macro_or_outside_c() {
        let diff =
            "--- a/x.c\n+++ b/x.c\n@@ -1,3 +1,3 @@\n-#define A 1 \\\n+#define A 2 \\\n \t+ 1\n z\n";
        let got = with_line_directives(diff).unwrap();
        assert!(got.contains(" \t+ 1\n+#line 3\n z\n"), "{got}");
        let make = "--- a/Makefile\n+++ b/Makefile\n@@ -1,2 +1,2 @@\n-a\n+b\n c\n";
        assert_eq!(with_line_directives(make).unwrap(), make);
    }

    #[test]
    fn patch_output_names_failed_hunks_and_fuzz() {
        let said = "patching file kernel/a.c\nHunk #1 succeeded at 485 with fuzz 2 (offset 3 lines).\nHunk #2 FAILED at 510.\n1 out of 2 hunks FAILED -- saving rejects to file kernel/a.c.rej\n";
        let (f, w) = read_patch_output(said);
        assert_eq!(f, vec!["`kernel/a.c`: Hunk #2 FAILED at 510"]);
        assert_eq!(
            w,
            vec!["`kernel/a.c`: Hunk #1 succeeded at 485 with fuzz 2 (offset 3 lines)"]
        );
    }

    #[test]
    fn files_drop_the_prefix_and_refuse_deletions() {
        let p = |t: &str| Patch {
            path: "p.diff".into(),
            text: t.into(),
        };
        let files = p("x\n--- a/k/x.c\t2026\n+++ b/k/x.c\t2026\n@@ -1 +1 @@\n-a\n+b\n")
            .files()
            .unwrap();
        assert_eq!(files, vec!["k/x.c"]);
        assert!(p("--- a/k/x.c\n+++ /dev/null\n").files().is_err());
        assert!(p("nothing\n").files().is_err());
    }
}
