//! The few ELF64 structures the rewrite touches, read and written in place
//! in either byte order (`srctree/include/uapi/linux/elf.h`).

use crate::Error;

/// `SHT_PROGBITS`.
pub const SHT_PROGBITS: u32 = 1;
/// `SHT_SYMTAB`.
pub const SHT_SYMTAB: u32 = 2;
/// `SHT_STRTAB`.
pub const SHT_STRTAB: u32 = 3;
/// `SHT_RELA`.
pub const SHT_RELA: u32 = 4;
/// `SHT_REL`.
pub const SHT_REL: u32 = 9;
/// `SHF_ALLOC`.
pub const SHF_ALLOC: u64 = 0x2;
/// `SHF_INFO_LINK`.
pub const SHF_INFO_LINK: u64 = 0x40;
/// `SHF_RELA_LIVEPATCH`: a relocation section livepatch applies itself.
pub const SHF_RELA_LIVEPATCH: u64 = 0x0010_0000;
/// `SHN_UNDEF`.
pub const SHN_UNDEF: u16 = 0;
/// `SHN_LORESERVE`.
pub const SHN_LORESERVE: u16 = 0xff00;
/// `SHN_LIVEPATCH`: a symbol livepatch resolves itself.
pub const SHN_LIVEPATCH: u16 = 0xff20;
/// `STB_GLOBAL`.
pub const STB_GLOBAL: u8 = 1;

/// Size of a section header.
pub const SHDR_SIZE: usize = 64;
/// Size of a symbol.
pub const SYM_SIZE: usize = 24;
/// Size of a `RELA` entry.
pub const RELA_SIZE: usize = 24;

/// A section header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shdr {
    pub name: u32,
    pub kind: u32,
    pub flags: u64,
    pub addr: u64,
    pub offset: u64,
    pub size: u64,
    pub link: u32,
    pub info: u32,
    pub addralign: u64,
    pub entsize: u64,
}

/// A symbol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sym {
    pub name: u32,
    pub info: u8,
    pub other: u8,
    pub shndx: u16,
    pub value: u64,
    pub size: u64,
}

/// A `RELA` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rela {
    pub offset: u64,
    pub sym: u32,
    pub kind: u32,
    pub addend: i64,
}

/// A relocatable 64-bit ELF file (a `.ko` or `.o`), borrowed.
pub struct Elf<'a> {
    pub data: &'a [u8],
    pub big_endian: bool,
    pub machine: u16,
    pub sections: Vec<Shdr>,
    pub shstrndx: usize,
    pub shoff: u64,
}

impl<'a> Elf<'a> {
    /// Reads the file header and the section headers; `object` checks them.
    pub fn parse(data: &'a [u8]) -> Result<Self, Error> {
        use object::{elf::FileHeader64, read::elf::FileHeader};
        let header = FileHeader64::<object::Endianness>::parse(data)
            .map_err(|e| Error::Elf(format!("not a 64-bit ELF file: {e}")))?;
        let endian = header
            .endian()
            .map_err(|e| Error::Elf(format!("bad byte order: {e}")))?;
        // Empty when `e_shoff` is 0, whatever `e_shnum` says.
        let headers = header
            .section_headers(endian, data)
            .map_err(|e| Error::Elf(format!("bad section headers: {e}")))?;
        let big_endian = data[5] == 2;
        let e_type = get_u16(data, 16, big_endian);
        if e_type != 1 {
            return Err(Error::Elf(format!(
                "not a relocatable object (e_type {e_type})"
            )));
        }
        let machine = get_u16(data, 18, big_endian);
        let shoff = get_u64(data, 40, big_endian);
        let shnum = usize::from(get_u16(data, 60, big_endian));
        let shstrndx = usize::from(get_u16(data, 62, big_endian));
        if shnum == 0 || shstrndx >= shnum {
            return Err(Error::Elf(
                "extended section numbering is not supported".into(),
            ));
        }
        if headers.len() != shnum {
            return Err(Error::Elf(format!(
                "{shnum} sections but no section header table (e_shoff {shoff})"
            )));
        }
        // The rewrite appends a longer copy of it: were it the symbol
        // table, the symbols would be rewritten in the copy left behind.
        let shstrtab_kind = get_u32(data, shoff as usize + shstrndx * SHDR_SIZE + 4, big_endian);
        if shstrtab_kind != SHT_STRTAB {
            return Err(Error::Elf(format!(
                "the section name table (section {shstrndx}) is of type {shstrtab_kind}, not `SHT_STRTAB`"
            )));
        }
        let sections = (0..shnum)
            .map(|i| {
                let at = shoff as usize + i * SHDR_SIZE;
                Shdr {
                    name: get_u32(data, at, big_endian),
                    kind: get_u32(data, at + 4, big_endian),
                    flags: get_u64(data, at + 8, big_endian),
                    addr: get_u64(data, at + 16, big_endian),
                    offset: get_u64(data, at + 24, big_endian),
                    size: get_u64(data, at + 32, big_endian),
                    link: get_u32(data, at + 40, big_endian),
                    info: get_u32(data, at + 44, big_endian),
                    addralign: get_u64(data, at + 48, big_endian),
                    entsize: get_u64(data, at + 56, big_endian),
                }
            })
            .collect::<Vec<_>>();
        let elf = Self {
            data,
            big_endian,
            machine,
            sections,
            shstrndx,
            shoff,
        };
        // The rewrite writes into sections in place (`RELA` entries,
        // symbols, the post-link mark), so each must be a range of its own:
        // in the file, and overlapping neither another section, nor the file
        // header, nor the section header table.
        let mut ranges = vec![
            (0, 64, "the file header".to_string()),
            (
                shoff,
                shoff + (shnum * SHDR_SIZE) as u64,
                "the section header table".to_string(),
            ),
        ];
        for (i, s) in elf.sections.iter().enumerate() {
            if s.kind == 8 {
                continue;
            }
            if elf.section_data(i).is_none() {
                return Err(Error::Elf(format!("section {i} lies outside the file")));
            }
            if s.size != 0 {
                ranges.push((s.offset, s.offset + s.size, format!("section {i}")));
            }
        }
        ranges.sort();
        let mut last = &ranges[0];
        for r in &ranges[1..] {
            if r.0 < last.1 {
                return Err(Error::Elf(format!("{} and {} overlap", last.2, r.2)));
            }
            if r.1 > last.1 {
                last = r;
            }
        }
        Ok(elf)
    }

    /// The bytes of section `index` (empty for `SHT_NOBITS`).
    pub fn section_data(&self, index: usize) -> Option<&'a [u8]> {
        let s = self.sections.get(index)?;
        if s.kind == 8 {
            return Some(&[]);
        }
        let start = usize::try_from(s.offset).ok()?;
        let end = start.checked_add(usize::try_from(s.size).ok()?)?;
        self.data.get(start..end)
    }

    /// The NUL-terminated string at `offset` of string table `index`.
    pub fn string(&self, index: usize, offset: u32) -> Result<&'a str, Error> {
        let table = self
            .section_data(index)
            .ok_or_else(|| Error::Elf(format!("no string table {index}")))?;
        let tail = table
            .get(offset as usize..)
            .ok_or_else(|| Error::Elf(format!("string offset {offset} out of table {index}")))?;
        let end = tail
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| Error::Elf(format!("unterminated string in table {index}")))?;
        std::str::from_utf8(&tail[..end])
            .map_err(|_| Error::Elf(format!("string in table {index} is not UTF-8")))
    }

    /// The name of section `index`.
    pub fn section_name(&self, index: usize) -> Result<&'a str, Error> {
        self.string(self.shstrndx, self.sections[index].name)
    }

    /// The one symbol table: its section index and its symbols.
    pub fn symtab(&self) -> Result<(usize, Vec<Sym>), Error> {
        let mut found = self
            .sections
            .iter()
            .enumerate()
            .filter(|(_, s)| s.kind == SHT_SYMTAB);
        let (index, _) = found
            .next()
            .ok_or_else(|| Error::Elf("no symbol table".into()))?;
        if found.next().is_some() {
            return Err(Error::Elf("more than one symbol table".into()));
        }
        let strtab = self.sections[index].link as usize;
        if self.sections.get(strtab).map(|s| s.kind) != Some(SHT_STRTAB) {
            return Err(Error::Elf(format!(
                "the symbol table links to section {strtab}, not to a string table"
            )));
        }
        let data = self.section_data(index).unwrap_or_default();
        let be = self.big_endian;
        let syms = data
            .chunks_exact(SYM_SIZE)
            .map(|b| Sym {
                name: get_u32(b, 0, be),
                info: b[4],
                other: b[5],
                shndx: get_u16(b, 6, be),
                value: get_u64(b, 8, be),
                size: get_u64(b, 16, be),
            })
            .collect();
        Ok((index, syms))
    }

    /// The entries of `SHT_RELA` section `index`.
    pub fn relas(&self, index: usize) -> Vec<Rela> {
        let data = self.section_data(index).unwrap_or_default();
        let be = self.big_endian;
        data.chunks_exact(RELA_SIZE)
            .map(|b| {
                let info = get_u64(b, 8, be);
                Rela {
                    offset: get_u64(b, 0, be),
                    sym: (info >> 32) as u32,
                    kind: info as u32,
                    addend: get_u64(b, 16, be) as i64,
                }
            })
            .collect()
    }
}

/// Writes ELF64 structures in one byte order.
#[derive(Clone, Copy)]
pub struct Writer {
    pub big_endian: bool,
}

impl Writer {
    pub fn shdr(self, s: &Shdr) -> [u8; SHDR_SIZE] {
        let mut b = [0; SHDR_SIZE];
        self.u32(&mut b[0..], s.name);
        self.u32(&mut b[4..], s.kind);
        self.u64(&mut b[8..], s.flags);
        self.u64(&mut b[16..], s.addr);
        self.u64(&mut b[24..], s.offset);
        self.u64(&mut b[32..], s.size);
        self.u32(&mut b[40..], s.link);
        self.u32(&mut b[44..], s.info);
        self.u64(&mut b[48..], s.addralign);
        self.u64(&mut b[56..], s.entsize);
        b
    }

    pub fn sym(self, s: &Sym) -> [u8; SYM_SIZE] {
        let mut b = [0; SYM_SIZE];
        self.u32(&mut b[0..], s.name);
        b[4] = s.info;
        b[5] = s.other;
        self.u16(&mut b[6..], s.shndx);
        self.u64(&mut b[8..], s.value);
        self.u64(&mut b[16..], s.size);
        b
    }

    pub fn rela(self, r: &Rela) -> [u8; RELA_SIZE] {
        let mut b = [0; RELA_SIZE];
        self.u64(&mut b[0..], r.offset);
        self.u64(&mut b[8..], (u64::from(r.sym) << 32) | u64::from(r.kind));
        self.u64(&mut b[16..], r.addend as u64);
        b
    }

    pub fn u16(self, b: &mut [u8], v: u16) {
        b[..2].copy_from_slice(&if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }

    pub fn u32(self, b: &mut [u8], v: u32) {
        b[..4].copy_from_slice(&if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }

    pub fn u64(self, b: &mut [u8], v: u64) {
        b[..8].copy_from_slice(&if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        });
    }
}

fn get_u16(b: &[u8], at: usize, be: bool) -> u16 {
    let v = [b[at], b[at + 1]];
    if be {
        u16::from_be_bytes(v)
    } else {
        u16::from_le_bytes(v)
    }
}

fn get_u32(b: &[u8], at: usize, be: bool) -> u32 {
    let mut v = [0; 4];
    v.copy_from_slice(&b[at..at + 4]);
    if be {
        u32::from_be_bytes(v)
    } else {
        u32::from_le_bytes(v)
    }
}

fn get_u64(b: &[u8], at: usize, be: bool) -> u64 {
    let mut v = [0; 8];
    v.copy_from_slice(&b[at..at + 8]);
    if be {
        u64::from_be_bytes(v)
    } else {
        u64::from_le_bytes(v)
    }
}

#[cfg(test)]
mod tests {
    use super::{Elf, SHT_STRTAB, SHT_SYMTAB};

    /// The header of a little-endian x86-64 relocatable object with
    /// `shnum` sections, its section header table at `shoff` and the
    /// section name table section 1, in `len` bytes.
    fn header(shoff: u64, shnum: u16, len: usize) -> Vec<u8> {
        let mut data = vec![0; len];
        // Magic, ELFCLASS64, ELFDATA2LSB, EV_CURRENT.
        data[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
        data[16] = 1; // ET_REL
        data[18] = 62; // EM_X86_64
        data[20] = 1; // EV_CURRENT
        data[40..48].copy_from_slice(&shoff.to_le_bytes());
        data[52] = 64; // e_ehsize
        data[58] = 64; // e_shentsize
        data[60..62].copy_from_slice(&shnum.to_le_bytes());
        data[62] = 1; // e_shstrndx
        data
    }

    /// Sets section header `index` (the table being at 64): type `kind`,
    /// at `offset`, `size` bytes, linked to section `link`.
    fn section(data: &mut [u8], index: usize, kind: u32, (offset, size): (u64, u64), link: u32) {
        let at = 64 + index * 64;
        data[at + 4..at + 8].copy_from_slice(&kind.to_le_bytes());
        data[at + 24..at + 32].copy_from_slice(&offset.to_le_bytes());
        data[at + 32..at + 40].copy_from_slice(&size.to_le_bytes());
        data[at + 40..at + 44].copy_from_slice(&link.to_le_bytes());
    }

    /// Parses an object with sections 1 (the name table) to 3 and a
    /// table of symbols of its own; `Some` error.
    fn error(sections: &[(u32, (u64, u64), u32)]) -> Option<String> {
        let mut data = header(64, 4, 64 + 4 * 64 + 64);
        for (i, &(kind, range, link)) in sections.iter().enumerate() {
            section(&mut data, i + 1, kind, range, link);
        }
        match Elf::parse(&data) {
            Ok(elf) => elf.symtab().err().map(|e| e.to_string()),
            Err(e) => Some(e.to_string()),
        }
    }

    const PROGBITS: u32 = 1;

    #[test]
    fn sections_that_overlap_are_an_error() {
        let err = |a, b| error(&[(SHT_STRTAB, a, 0), (SHT_SYMTAB, b, 1)]);
        assert_eq!(err((320, 8), (328, 24)), None);
        // Empty sections may be anywhere.
        assert_eq!(err((0, 0), (320, 24)), None);
        assert_eq!(
            err((320, 8), (324, 24)).as_deref(),
            Some("section 1 and section 2 overlap")
        );
        assert_eq!(
            err((320, 32), (328, 24)).as_deref(),
            Some("section 1 and section 2 overlap")
        );
        // The post-link mark would be set over the header.
        assert_eq!(
            err((0, 8), (320, 24)).as_deref(),
            Some("section 1 and the file header overlap")
        );
        assert_eq!(
            err((300, 8), (320, 24)).as_deref(),
            Some("the section header table and section 1 overlap")
        );
    }

    #[test]
    fn the_name_tables_must_be_string_tables() {
        assert_eq!(
            error(&[(SHT_SYMTAB, (320, 24), 2), (SHT_STRTAB, (344, 8), 0)]).as_deref(),
            Some("the section name table (section 1) is of type 2, not `SHT_STRTAB`")
        );
        assert_eq!(
            error(&[
                (SHT_STRTAB, (320, 8), 0),
                (SHT_SYMTAB, (328, 24), 3),
                (PROGBITS, (352, 8), 0)
            ])
            .as_deref(),
            Some("the symbol table links to section 3, not to a string table")
        );
        assert_eq!(
            error(&[(SHT_STRTAB, (320, 8), 0), (SHT_SYMTAB, (328, 24), 2)]).as_deref(),
            Some("the symbol table links to section 2, not to a string table")
        );
    }

    #[test]
    fn sections_without_a_section_header_table_are_an_error() {
        // `object` reads an `e_shoff` of 0 as no sections at all.
        let err = Elf::parse(&header(0, 12, 128)).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("12 sections but no section header table (e_shoff 0)")
        );
    }
}
