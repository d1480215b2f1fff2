//! The fix as the engineer gives it: unified diffs against the kernel tree
//! (`patch -p1`), applied in order to a copy of the tree; then each changed
//! `.c` and `.h` file gets `#line` directives after its changes, so that the
//! lines after them keep their original numbers (`__LINE__` in `WARN()` and
//! `BUG()` then never makes an unchanged function look changed).

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

/// `patched` (a `.c` or `.h` file as the fix leaves it) with a `#line N`
/// line after each group of lines that differ from `original`, before the
/// next unchanged line, N being that line's number in `original`: every
/// line after a change keeps its number. A group that ends inside a macro
/// (a line ending in `\`) gets its directive after the macro. The groups
/// come from comparing the two files, so hunks applied at an offset, with
/// fuzz, or by several patches in a row are numbered right.
pub fn with_line_directives(original: &str, patched: &str) -> String {
    let diff = similar::TextDiff::from_lines(original, patched);
    let new_lines: Vec<&str> = diff.new_slices().to_vec();
    let mut out = String::with_capacity(patched.len() + 64);
    let mut pending = false;
    for op in diff.ops() {
        let (_, old, new) = op.as_tag_tuple();
        if matches!(op, similar::DiffOp::Equal { .. }) {
            for (k, line) in new_lines[new.clone()].iter().enumerate() {
                let continues = out.trim_end_matches('\n').ends_with('\\');
                if pending && !continues {
                    out.push_str(&format!("#line {}\n", old.start + k + 1));
                    pending = false;
                }
                out.push_str(line);
            }
        } else {
            for line in &new_lines[new.clone()] {
                out.push_str(line);
            }
            pending = pending || !old.is_empty() || !new.is_empty();
        }
    }
    out
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
        .arg(&patch.path)
        .output()
        .map_err(|e| Error::Tool {
            tool: "patch".into(),
            why: format!("{e} (install GNU patch: `cargo xtask setup` does)"),
        })?;
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
        let old = "a\nb\ne\nf\ng\n";
        let new = "a\nc\nd\ne\nf\ng\n";
        assert_eq!(
            with_line_directives(old, new),
            "a\nc\nd\n#line 3\ne\nf\ng\n"
        );
    }

    #[test]
    fn each_group_gets_its_own_number_and_a_pure_deletion_too() {
        let old = "1\n2\n3\n4\n5\n6\n7\n";
        let new = "1\nx\n2\n3\n5\n6\n7\n";
        assert_eq!(
            with_line_directives(old, new),
            "1\nx\n#line 2\n2\n3\n#line 5\n5\n6\n7\n"
        );
    }

    #[test]
    fn no_directive_inside_a_macro() {
        let old = "#define A 1 \\\n\t+ 1\nz\n";
        let new = "#define A 2 \\\n\t+ 1\nz\n";
        assert_eq!(
            with_line_directives(old, new),
            "#define A 2 \\\n\t+ 1\n#line 3\nz\n"
        );
    }

    #[test]
    fn a_change_at_the_end_needs_no_directive() {
        assert_eq!(with_line_directives("a\nb\n", "a\nc\n"), "a\nc\n");
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
