// SPDX-License-Identifier: GPL-2.0

//! What a patch says about itself: its version in a cumulative series, the
//! kernel it is built for and that kernel's release date (support ends 13
//! months later), the CVEs and bugs it fixes, and whether it is the empty
//! initial "seed" patch of a kernel build.
//!
//! [`patch!`](super::patch) writes it twice: into `.modinfo` (`klp_version=`,
//! `klp_kernel=`, `klp_released=`, `klp_cve=` and `klp_bug=` once per entry,
//! `klp_seed=`), for installed `.ko` files, and, while the module is loaded,
//! into `/sys/module/<name>/klp_rs/` (`version`, `kernel`, `released`, `cves`
//! and `bugs` one per line, `seed` 0/1, `description`), for the `klp` tool.

use super::sysfs::{
    Parent,
    ShowFn,
    SysfsDir, //
};
use core::{
    fmt::Write,
    sync::atomic::{
        AtomicPtr,
        Ordering, //
    },
};
use kernel::{
    bindings,
    ffi::c_char,
    prelude::*,
    str::CStr,
    ThisModule, //
};

/// A patch's metadata.
pub struct Metadata {
    /// The rising version of the patch in its kernel's cumulative series.
    pub version: u32,
    /// The release (`uname -r`) of the kernel the patch is built for.
    pub kernel: &'static str,
    /// That kernel's release date, `YYYY-MM-DD`.
    pub released: &'static str,
    /// CVE ids the patch fixes.
    pub cves: &'static [&'static str],
    /// Bug references the patch fixes.
    pub bugs: &'static [&'static str],
    /// Whether this is the empty initial patch of a kernel build.
    pub seed: bool,
    /// What the patch does.
    pub description: &'static str,
}

/// The metadata the sysfs files show (one patch per module).
static PUBLISHED: AtomicPtr<Metadata> = AtomicPtr::new(core::ptr::null_mut());

/// The files of `/sys/module/<name>/klp_rs/`.
const FILES: [&CStr; 7] = [
    c"version",
    c"kernel",
    c"released",
    c"cves",
    c"bugs",
    c"seed",
    c"description",
];

/// Writes file `index` of `meta` into a sysfs page.
fn render(meta: &Metadata, index: usize, out: &mut PageWriter<'_>) -> core::fmt::Result {
    match index {
        0 => writeln!(out, "{}", meta.version),
        1 => writeln!(out, "{}", meta.kernel),
        2 => writeln!(out, "{}", meta.released),
        3 => meta.cves.iter().try_for_each(|c| writeln!(out, "{c}")),
        4 => meta.bugs.iter().try_for_each(|b| writeln!(out, "{b}")),
        5 => writeln!(out, "{}", u8::from(meta.seed)),
        _ => writeln!(out, "{}", meta.description),
    }
}

/// A `fmt::Write` into a sysfs page, failing rather than overflowing it.
struct PageWriter<'a> {
    page: &'a mut [u8],
    len: usize,
}

impl Write for PageWriter<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        let dest = self.page.get_mut(self.len..end).ok_or(core::fmt::Error)?;
        dest.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The `show` of file `INDEX`.
///
/// # Safety
///
/// `buf` is the page-sized buffer sysfs hands a `show` callback.
unsafe extern "C" fn show<const INDEX: usize>(
    _kobj: *mut bindings::kobject,
    _attr: *mut bindings::kobj_attribute,
    buf: *mut c_char,
) -> isize {
    let meta = PUBLISHED.load(Ordering::Acquire);
    if meta.is_null() {
        return ENODEV.to_errno() as isize;
    }
    let len = kernel::page::PAGE_SIZE;
    // SAFETY: sysfs hands `show` a zeroed buffer of `PAGE_SIZE` bytes.
    let page = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), len) };
    let mut out = PageWriter { page, len: 0 };
    // SAFETY: `PUBLISHED` points to the `'static` metadata of this module.
    match render(unsafe { &*meta }, INDEX, &mut out) {
        Ok(()) => out.len as isize,
        Err(_) => EFBIG.to_errno() as isize,
    }
}

/// The metadata directory of a loaded patch module; removed on drop.
pub struct Published {
    _dir: SysfsDir<{ FILES.len() }>,
}

impl Published {
    /// Creates `/sys/module/<name>/klp_rs/` showing `meta`.
    pub fn create(module: &'static ThisModule, meta: &'static Metadata) -> Result<Self> {
        let shows: [ShowFn; FILES.len()] = [
            show::<0>, show::<1>, show::<2>, show::<3>, show::<4>, show::<5>, show::<6>,
        ];
        PUBLISHED.store(core::ptr::from_ref(meta).cast_mut(), Ordering::Release);
        let files = core::array::from_fn(|i| (FILES[i], shows[i]));
        Ok(Self {
            _dir: SysfsDir::create(Parent::Module(module), c"klp_rs", files)?,
        })
    }
}
