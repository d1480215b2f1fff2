//! Where a fix lies in the source: the functions whose lines it changes,
//! found by comparing each file before and after and walking up from each
//! changed line to the definition around it (kernel style: a definition's
//! header and its braces start at column 0). A replaced function whose own
//! source did not change has the changed code inlined from one of these.

use std::collections::BTreeSet;

/// The functions of `patched` (a `.c` or `.h` file) whose lines differ
/// from `original`, in order of appearance.
pub fn changed_functions(original: &str, patched: &str) -> Vec<String> {
    let lines: Vec<&str> = patched.lines().collect();
    let diff = similar::TextDiff::from_lines(original, patched);
    let mut out: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    for op in diff.ops() {
        let (tag, _, new) = op.as_tag_tuple();
        if tag == similar::DiffTag::Equal {
            continue;
        }
        // A deletion touches the line after it.
        let range = if new.is_empty() {
            new.start..new.start + 1
        } else {
            new.clone()
        };
        for line in range {
            if let Some(name) = enclosing(&lines, line) {
                if seen.insert(name.clone()) {
                    out.push(name);
                }
            }
        }
    }
    out
}

/// The function whose body holds line `at` (0-based) of `lines`.
fn enclosing(lines: &[&str], at: usize) -> Option<String> {
    let at = at.min(lines.len().checked_sub(1)?);
    // The body's opening brace at column 0, with no closing one between.
    let mut open = None;
    for i in (0..=at).rev() {
        let l = lines[i];
        if l.starts_with('}') && i != at {
            return None;
        }
        if l.starts_with('{') {
            open = Some(i);
            break;
        }
    }
    let open = open?;
    // The header: the lines above the brace up to one at column 0 that
    // names the function before its `(`.
    for i in (open.saturating_sub(8)..open).rev() {
        let l = lines[i];
        if l.is_empty() || l.starts_with([' ', '\t', '#', '/', '*', '}']) {
            continue;
        }
        let head = l.split('(').next()?;
        let name = head
            .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .find(|w| !w.is_empty())?;
        return Some(name.to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::changed_functions;

    #[test]
    fn the_function_around_each_change() {
        let old = "static int a(void)\n{\n\treturn 1;\n}\n\nstatic inline int\nb(int x)\n{\n\treturn x;\n}\n\nint c;\n";
        let new = "static int a(void)\n{\n\treturn 1;\n}\n\nstatic inline int\nb(int x)\n{\n\treturn x + 1;\n}\n\nint c = 2;\n";
        assert_eq!(changed_functions(old, new), vec!["b"]);
    }

    #[test]
    fn a_syscall_macro_is_named_by_its_macro() {
        let old = "SYSCALL_DEFINE1(newuname, struct x *, name)\n{\n\tint a;\n}\n";
        let new = "SYSCALL_DEFINE1(newuname, struct x *, name)\n{\n\tint a;\n\ta++;\n}\n";
        assert_eq!(changed_functions(old, new), vec!["SYSCALL_DEFINE1"]);
    }
}
