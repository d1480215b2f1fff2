//! An uncompressed `newc` cpio archive, the format the kernel unpacks into
//! its initramfs (`srctree/Documentation/driver-api/early-userspace/buffer-format.rst`).
//!
//! Entries carry uid 0, gid 0 and mtime 0, so an archive depends only on
//! its contents.

/// A cpio archive being built in memory.
#[derive(Default)]
pub struct Archive {
    data: Vec<u8>,
    next_ino: u32,
}

impl Archive {
    /// Adds a directory with mode `0755`.
    pub fn dir(&mut self, name: &str) {
        self.entry(name, 0o040_755, 2, (0, 0), &[]);
    }

    /// Adds a regular file with mode `0644`.
    pub fn file(&mut self, name: &str, contents: &[u8]) {
        self.entry(name, 0o100_644, 1, (0, 0), contents);
    }

    /// Adds a regular file with mode `0755`.
    pub fn executable(&mut self, name: &str, contents: &[u8]) {
        self.entry(name, 0o100_755, 1, (0, 0), contents);
    }

    /// Adds a character device node with mode `0600`.
    pub fn char_dev(&mut self, name: &str, major: u32, minor: u32) {
        self.entry(name, 0o020_600, 1, (major, minor), &[]);
    }

    /// Ends the archive with its `TRAILER!!!` entry and returns its bytes.
    pub fn finish(mut self) -> Vec<u8> {
        self.next_ino = 0;
        self.entry("TRAILER!!!", 0, 1, (0, 0), &[]);
        self.data
    }

    fn entry(&mut self, name: &str, mode: u32, nlink: u32, rdev: (u32, u32), contents: &[u8]) {
        let ino = self.next_ino;
        self.next_ino += 1;
        // CAST: a module file is far smaller than 4 GiB, which newc cannot
        // describe.
        let fields = [
            ino,
            mode,
            0,
            0,
            nlink,
            0,
            contents.len() as u32,
            0,
            0,
            rdev.0,
            rdev.1,
            name.len() as u32 + 1,
            0,
        ];
        self.data.extend_from_slice(b"070701");
        for field in fields {
            self.data
                .extend_from_slice(format!("{field:08x}").as_bytes());
        }
        self.data.extend_from_slice(name.as_bytes());
        self.data.push(0);
        self.pad();
        self.data.extend_from_slice(contents);
        self.pad();
    }

    fn pad(&mut self) {
        while !self.data.len().is_multiple_of(4) {
            self.data.push(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Archive;

    #[test]
    fn writes_newc_entries_aligned_to_four_bytes() {
        let mut a = Archive::default();
        a.dir("lib");
        a.file("lib/x", b"hello");
        let data = a.finish();
        // The 13 fields: ino, mode, uid, gid, nlink, mtime, filesize,
        // devmajor, devminor, rdevmajor, rdevminor, namesize, check.
        let header = |ino: &str, mode: &str, nlink: &str, size: &str, namesize: &str| {
            let zero = "00000000";
            [
                "070701", ino, mode, zero, zero, nlink, zero, size, zero, zero, zero, zero,
                namesize, zero,
            ]
            .concat()
        };
        let expected = [
            header("00000000", "000041ed", "00000002", "00000000", "00000004"),
            "lib\0\0\0".to_string(),
            header("00000001", "000081a4", "00000001", "00000005", "00000006"),
            "lib/x\0hello\0\0\0".to_string(),
            header("00000000", "00000000", "00000001", "00000000", "0000000b"),
            "TRAILER!!!\0\0\0\0".to_string(),
        ]
        .concat();
        assert_eq!(String::from_utf8_lossy(&data), expected);
        assert_eq!(data.len(), 364);
    }

    /// Field `i` of the first header.
    fn field(data: &[u8], i: usize) -> &str {
        std::str::from_utf8(&data[6 + 8 * i..14 + 8 * i]).unwrap()
    }

    #[test]
    fn file_header_carries_mode_and_size() {
        let mut a = Archive::default();
        a.file("f", b"abc");
        let bytes = a.finish();
        assert_eq!(field(&bytes, 1), format!("{:08x}", 0o100_644));
        assert_eq!(field(&bytes, 6), "00000003");
        assert_eq!(field(&bytes, 11), "00000002");
    }

    #[test]
    fn executables_and_device_nodes() {
        let mut a = Archive::default();
        a.executable("init", b"#!");
        let bytes = a.finish();
        assert_eq!(field(&bytes, 1), format!("{:08x}", 0o100_755));
        let mut a = Archive::default();
        a.char_dev("dev/console", 5, 1);
        let bytes = a.finish();
        assert_eq!(field(&bytes, 1), format!("{:08x}", 0o020_600));
        assert_eq!(
            (field(&bytes, 9), field(&bytes, 10)),
            ("00000005", "00000001")
        );
    }
}
