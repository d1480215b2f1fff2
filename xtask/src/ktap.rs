//! Reading a suite's KTAP results from a guest console.

use std::fmt;

/// The guest prints this before running its scenario.
pub const START: &str = "# klp-rs: running suite";
/// The guest prints this when its scenario has finished.
pub const DONE: &str = "# klp-rs: guest done";
/// The guest prints this before checks of its own after the scenario (on a
/// debug kernel): a KTAP document whose points follow the suite's.
pub const AFTER: &str = "# klp-rs: checks after the suite";
/// A scenario prints a file for the host (an initramfs to boot next) in
/// base64 between these two lines.
pub const ARCHIVE_BEGIN: &str = "# klp-rs: archive begin";
pub const ARCHIVE_END: &str = "# klp-rs: archive end";

/// The file a console printed between [`ARCHIVE_BEGIN`] and [`ARCHIVE_END`].
pub fn printed_archive(console: &str) -> anyhow::Result<Vec<u8>> {
    let mut lines = console.lines().map(|l| l.trim_end_matches('\r'));
    if !lines.any(|l| l == ARCHIVE_BEGIN) {
        anyhow::bail!("the guest printed no `{ARCHIVE_BEGIN}` line");
    }
    let mut text = String::new();
    for line in lines.by_ref() {
        if line == ARCHIVE_END {
            return base64_decode(&text);
        }
        text.push_str(line.trim());
    }
    anyhow::bail!("the guest's archive has no `{ARCHIVE_END}` line (cut short?)")
}

/// Decodes standard base64 (`busybox base64`), padding included.
fn base64_decode(text: &str) -> anyhow::Result<Vec<u8>> {
    let value = |c: u8| -> anyhow::Result<u32> {
        Ok(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => anyhow::bail!("`{}` is not base64", char::from(c)),
        }
        .into())
    };
    let bytes = text.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        if chunk.len() == 1 {
            anyhow::bail!("base64 text of a bad length ({} characters)", text.len());
        }
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c)? << (18 - 6 * i);
        }
        let decoded = n.to_be_bytes();
        out.extend_from_slice(&decoded[1..chunk.len()]);
    }
    Ok(out)
}

/// One test point.
#[derive(Debug, PartialEq, Eq)]
pub struct Point {
    pub number: usize,
    pub ok: bool,
    pub name: String,
    /// The reason of a `# SKIP` directive: the test did not run (for
    /// kselftest, exit code 4), so it neither passed nor failed.
    pub skip: Option<String>,
}

/// What a console said about a suite.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub planned: Option<usize>,
    pub points: Vec<Point>,
    pub bail_out: Option<String>,
    /// The guest reached the end of its scenario.
    pub finished: bool,
}

impl Report {
    /// Parses console lines; kernel messages in between are ignored.
    /// The checks after the suite ([`AFTER`]) count as points of its own.
    pub fn parse<'a>(lines: impl IntoIterator<Item = &'a str>) -> Self {
        let mut documents = vec![Report::default()];
        for line in lines {
            let line = line.trim_end();
            if line == AFTER {
                documents.push(Report::default());
                continue;
            }
            let Some(report) = documents.last_mut() else {
                continue;
            };
            if let Some(n) = line.strip_prefix("1..") {
                report.planned = n.trim().parse().ok();
            } else if let Some(reason) = line.strip_prefix("Bail out!") {
                report.bail_out = Some(reason.trim().to_string());
            } else if line == DONE {
                report.finished = true;
            } else if let Some(point) = parse_point(line) {
                report.points.push(point);
            }
        }
        let mut documents = documents.into_iter();
        let mut report = documents.next().unwrap_or_default();
        for after in documents {
            report.append(after);
        }
        report
    }

    /// Adds the points of a later boot, numbered after these.
    pub fn append(&mut self, next: Report) {
        let offset = self.planned.unwrap_or(self.points.len());
        self.planned = match (self.planned, next.planned) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
        self.points.extend(next.points.into_iter().map(|mut p| {
            p.number += offset;
            p
        }));
        self.bail_out = self.bail_out.take().or(next.bail_out);
        self.finished = next.finished;
    }

    /// Points that passed (skipped ones are not counted).
    pub fn passed(&self) -> usize {
        self.points
            .iter()
            .filter(|p| p.ok && p.skip.is_none())
            .count()
    }

    /// Points skipped with a `# SKIP` directive.
    pub fn skipped(&self) -> usize {
        self.points.iter().filter(|p| p.skip.is_some()).count()
    }

    /// Failed points, plus planned points the guest never reported.
    pub fn failed(&self) -> usize {
        let reported_failed = self
            .points
            .iter()
            .filter(|p| !p.ok && p.skip.is_none())
            .count();
        let missing = self.planned.unwrap_or(0).saturating_sub(self.points.len());
        let nothing = usize::from(self.planned.is_none() || self.bail_out.is_some());
        reported_failed + missing + nothing
    }

    /// The suite passed: a plan, every point ok or skipped, at least one
    /// passed, and the guest finished.
    pub fn success(&self) -> bool {
        self.finished && self.failed() == 0 && self.passed() > 0
    }
}

fn parse_point(line: &str) -> Option<Point> {
    let (ok, rest) = if let Some(rest) = line.strip_prefix("ok ") {
        (true, rest)
    } else {
        (false, line.strip_prefix("not ok ")?)
    };
    let (number, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    // After ` # ` comes a directive (`SKIP reason`) or a comment.
    let (name, directive) = rest.split_once(" # ").unwrap_or((rest, ""));
    let skip = directive
        .get(..4)
        .filter(|d| d.eq_ignore_ascii_case("skip"))
        .map(|_| directive[4..].trim().to_string());
    Some(Point {
        number: number.parse().ok()?,
        ok,
        name: name.trim_start_matches("- ").trim_end().to_string(),
        skip,
    })
}

impl fmt::Display for Report {
    /// The closing line: `N passed, N failed`, then `, N skipped` if any
    /// point was skipped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed", self.passed(), self.failed())?;
        match self.skipped() {
            0 => Ok(()),
            n => write!(f, ", {n} skipped"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONSOLE: &str = "SeaBIOS noise\n# klp-rs: running suite smoke\nKTAP version 1\n1..3\nok 1 loads\n[  1.0] livepatch: enabling patch\n# diagnostic\nnot ok 2 enabled\nok 3 - rmmod\n# klp-rs: guest done\n";

    #[test]
    fn parses_points_between_kernel_messages() {
        let r = Report::parse(CONSOLE.lines());
        assert_eq!(r.planned, Some(3));
        assert_eq!(r.points.len(), 3);
        assert_eq!(
            r.points[1],
            Point {
                number: 2,
                ok: false,
                name: "enabled".into(),
                skip: None,
            }
        );
        assert_eq!(r.points[2].name, "rmmod");
        assert!(r.finished);
        assert_eq!(r.to_string(), "2 passed, 1 failed");
        assert!(!r.success());
    }

    #[test]
    fn checks_after_the_suite_are_points_of_its_own() {
        let console = "1..2\nok 1 a\nok 2 b\n# klp-rs: checks after the suite\n\
                       KTAP version 1\n1..2\nok 1 kmemleak\nnot ok 2 log\n# klp-rs: guest done\n";
        let r = Report::parse(console.lines());
        assert_eq!(r.planned, Some(4));
        assert_eq!((r.passed(), r.failed()), (3, 1));
        assert_eq!(r.points[3].number, 4);
        assert_eq!(r.points[3].name, "log");
        assert!(r.finished);
        let unfinished = Report::parse("1..1\nok 1 a\n# klp-rs: checks after the suite\n".lines());
        assert!(
            !unfinished.success(),
            "checks that never planned must fail the suite"
        );
    }

    #[test]
    fn missing_points_count_as_failed() {
        let r = Report::parse("1..4\nok 1 a\nok 2 b\n".lines());
        assert_eq!(r.to_string(), "2 passed, 2 failed");
        assert!(!r.success());
    }

    #[test]
    fn a_guest_that_printed_nothing_failed() {
        let r = Report::parse("Kernel panic - not syncing\n".lines());
        assert_eq!(r.to_string(), "0 passed, 1 failed");
        assert!(!r.success());
    }

    #[test]
    fn a_clean_run_succeeds() {
        let r = Report::parse("1..1\nok 1 a\n# klp-rs: guest done\n".lines());
        assert!(r.success());
        assert_eq!(r.to_string(), "1 passed, 0 failed");
    }

    #[test]
    fn skipped_points_are_counted_apart_and_shown() {
        let console = "1..4\nok 1 test-livepatch.sh\n\
            ok 2 test-kprobe.sh # SKIP test-kprobe requires CONFIG_KPROBES_ON_FTRACE\n\
            not ok 3 test-callbacks.sh # a comment, not a directive\n\
            ok 4 test-state.sh # skip\n# klp-rs: guest done\n";
        let r = Report::parse(console.lines());
        assert_eq!(
            r.points[1].skip.as_deref(),
            Some("test-kprobe requires CONFIG_KPROBES_ON_FTRACE")
        );
        assert_eq!(r.points[1].name, "test-kprobe.sh");
        assert_eq!(r.points[2].name, "test-callbacks.sh");
        assert_eq!(r.points[2].skip, None);
        assert_eq!(r.points[3].skip.as_deref(), Some(""));
        assert_eq!(r.to_string(), "1 passed, 1 failed, 2 skipped");
        assert!(!r.success());
    }

    #[test]
    fn a_skip_is_no_failure_but_not_enough_to_pass() {
        let r =
            Report::parse("1..2\nok 1 a\nok 2 b # SKIP no kprobes\n# klp-rs: guest done\n".lines());
        assert_eq!(r.to_string(), "1 passed, 0 failed, 1 skipped");
        assert!(r.success());
        let r = Report::parse("1..1\nok 1 b # SKIP no kprobes\n# klp-rs: guest done\n".lines());
        assert_eq!(r.to_string(), "0 passed, 0 failed, 1 skipped");
        assert!(!r.success());
    }

    #[test]
    fn a_second_boot_continues_the_numbering() {
        let mut r = Report::parse("1..2\nok 1 a\nok 2 b\n# klp-rs: guest done\n".lines());
        r.append(Report::parse("1..1\nnot ok 1 c\n".lines()));
        assert_eq!(r.points[2].number, 3);
        assert_eq!(r.to_string(), "2 passed, 1 failed");
        assert!(!r.finished, "the second boot did not finish");
    }

    #[test]
    fn reads_a_printed_archive() {
        let console =
            format!("noise\n{ARCHIVE_BEGIN}\r\naGVsbG8g\nd29ybGQ=\n{ARCHIVE_END}\nmore\n");
        assert_eq!(printed_archive(&console).unwrap(), b"hello world");
        let cut = format!("{ARCHIVE_BEGIN}\naGVs\n");
        assert!(printed_archive(&cut)
            .unwrap_err()
            .to_string()
            .contains("cut short"));
        assert!(printed_archive("nothing").is_err());
        let bad = format!("{ARCHIVE_BEGIN}\na*\n{ARCHIVE_END}\n");
        assert!(printed_archive(&bad).is_err());
    }

    #[test]
    fn bail_out_fails() {
        let r = Report::parse("Bail out! no scenario\n# klp-rs: guest done\n".lines());
        assert_eq!(r.bail_out.as_deref(), Some("no scenario"));
        assert!(!r.success());
    }
}
