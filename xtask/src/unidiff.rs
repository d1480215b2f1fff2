//! Unified diffs (`diff -u`), applied in reverse: each hunk's new side
//! must be found exactly once in the file, or the file is refused, naming
//! the hunk. Text before the first `--- ` line is a description.

use anyhow::{bail, Context, Result};

/// One file of a diff.
#[derive(Debug, PartialEq, Eq)]
pub struct FileDiff {
    /// Relative to the tree (`b/` dropped).
    pub path: String,
    hunks: Vec<Hunk>,
}

/// One hunk: the lines before and after (context included).
#[derive(Debug, PartialEq, Eq)]
struct Hunk {
    header: String,
    old: Vec<String>,
    new: Vec<String>,
}

/// The files of `diff` and their hunks.
pub fn parse(diff: &str) -> Result<Vec<FileDiff>> {
    let mut files: Vec<FileDiff> = Vec::new();
    let mut lines = diff.lines().peekable();
    while let Some(line) = lines.next() {
        if let Some(rest) = line.strip_prefix("+++ ") {
            let path = rest.split('\t').next().unwrap_or(rest).trim();
            let path = path.strip_prefix("b/").unwrap_or(path);
            files.push(FileDiff {
                path: path.to_string(),
                hunks: Vec::new(),
            });
        } else if line.starts_with("@@ ") {
            let file = files
                .last_mut()
                .with_context(|| format!("hunk `{line}` before any `+++` line"))?;
            let mut hunk = Hunk {
                header: line.to_string(),
                old: Vec::new(),
                new: Vec::new(),
            };
            while let Some(body) = lines.next_if(|l| {
                l.starts_with([' ', '-', '+', '\\']) && !l.starts_with("--- ") || l.is_empty()
            }) {
                match body.split_at(body.len().min(1)) {
                    ("-", rest) => hunk.old.push(rest.to_string()),
                    ("+", rest) => hunk.new.push(rest.to_string()),
                    ("\\", _) => {}
                    (_, rest) => {
                        hunk.old.push(rest.to_string());
                        hunk.new.push(rest.to_string());
                    }
                }
            }
            file.hunks.push(hunk);
        }
    }
    if files.is_empty() || files.iter().any(|f| f.hunks.is_empty()) {
        bail!("not a unified diff with at least one hunk per file");
    }
    Ok(files)
}

/// `text` with `file`'s hunks undone.
pub fn revert(text: &str, file: &FileDiff) -> Result<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for hunk in &file.hunks {
        let n = hunk.new.len();
        let found: Vec<usize> = (0..=lines.len().saturating_sub(n))
            .filter(|&i| lines[i..i + n] == hunk.new[..])
            .collect();
        let [at] = found[..] else {
            bail!(
                "`{}`: the new side of hunk `{}` is found {} times, not once: the source is not the one the fix was made for",
                file.path,
                hunk.header,
                found.len()
            );
        };
        lines.splice(at..at + n, hunk.old.iter().cloned());
    }
    let mut out = lines.join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::{parse, revert};

    const DIFF: &str = "what it fixes\n\n--- a/x.c\t2026\n+++ b/x.c\t2026\n@@ -1,4 +1,4 @@\n a\n-old\n+new\n b\n \n";

    #[test]
    fn reverts_a_hunk_found_once() {
        let files = parse(DIFF).unwrap();
        assert_eq!(files[0].path, "x.c");
        assert_eq!(
            revert("z\na\nnew\nb\n\n", &files[0]).unwrap(),
            "z\na\nold\nb\n\n"
        );
    }

    #[test]
    fn refuses_a_hunk_found_twice_or_never() {
        let files = parse(DIFF).unwrap();
        let twice = revert("a\nnew\nb\n\na\nnew\nb\n\n", &files[0]).unwrap_err();
        assert!(twice.to_string().contains("found 2 times"), "{twice}");
        let never = revert("a\nold\nb\n\n", &files[0]).unwrap_err();
        assert!(never.to_string().contains("found 0 times"), "{never}");
    }

    #[test]
    fn refuses_text_that_is_no_diff() {
        assert!(parse("just words\n").is_err());
    }
}
