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

use core::{
    fmt::Write,
    sync::atomic::{
        AtomicPtr,
        Ordering, //
    },
};
use kernel::{
    bindings,
    error::to_result,
    ffi::c_char,
    prelude::*,
    str::{
        CStr,
        CStrExt, //
    },
    types::Opaque,
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
    // SAFETY: sysfs hands `show` a zeroed buffer of `PAGE_SIZE` bytes.
    let page =
        unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), kernel::page::PAGE_SIZE) };
    let mut out = PageWriter { page, len: 0 };
    // SAFETY: `PUBLISHED` points to the `'static` metadata of this module.
    match render(unsafe { &*meta }, INDEX, &mut out) {
        Ok(()) => out.len as isize,
        Err(_) => EFBIG.to_errno() as isize,
    }
}

/// The metadata directory of a loaded patch module; removed on drop.
///
/// # Invariants
///
/// `kobj` is a live kobject this value holds the only reference to, with the
/// files of `attrs` added; `attrs` stays put until the kobject is put.
pub struct Published {
    kobj: *mut bindings::kobject,
    _attrs: KBox<[Opaque<bindings::kobj_attribute>; FILES.len()]>,
}

// SAFETY: The kobject is refcounted and locked by the kernel; Rust only
// drops its reference.
unsafe impl Send for Published {}
// SAFETY: `Published` has no `&self` methods.
unsafe impl Sync for Published {}

impl Published {
    /// Creates `/sys/module/<name>/klp_rs/` showing `meta`.
    pub fn create(module: &'static ThisModule, meta: &'static Metadata) -> Result<Self> {
        let shows: [unsafe extern "C" fn(
            *mut bindings::kobject,
            *mut bindings::kobj_attribute,
            *mut c_char,
        ) -> isize; FILES.len()] = [
            show::<0>, show::<1>, show::<2>, show::<3>, show::<4>, show::<5>, show::<6>,
        ];
        let attrs = KBox::new(
            core::array::from_fn(|i| {
                // SAFETY: All-zero is a valid `kobj_attribute` (C declares
                // static ones with only name, mode and `show` set).
                let mut raw: bindings::kobj_attribute = unsafe { core::mem::zeroed() };
                raw.attr.name = FILES[i].as_char_ptr();
                raw.attr.mode = 0o444;
                raw.__bindgen_anon_1.show = Some(shows[i]);
                Opaque::new(raw)
            }),
            GFP_KERNEL,
        )?;
        PUBLISHED.store(core::ptr::from_ref(meta).cast_mut(), Ordering::Release);
        // SAFETY: `module` is this live module; its `mkobj.kobj` is the
        // kobject of `/sys/module/<name>/`, alive while the module is.
        let parent = unsafe { &raw mut (*module.as_ptr()).mkobj.kobj };
        // SAFETY: The name is a static C string; `parent` is live.
        let kobj = unsafe { bindings::kobject_create_and_add(c"klp_rs".as_char_ptr(), parent) };
        if kobj.is_null() {
            return Err(ENOMEM);
        }
        for attr in attrs.iter() {
            // SAFETY: `kobj` is live; `attr` is boxed and outlives the
            // kobject reference (dropped after it, see `Drop`).
            let added = to_result(unsafe {
                bindings::sysfs_create_file_ns(kobj, &raw mut (*attr.get()).attr, core::ptr::null())
            });
            if let Err(e) = added {
                // SAFETY: We hold the only reference.
                unsafe { bindings::kobject_put(kobj) };
                return Err(e);
            }
        }
        // INVARIANT: `kobj` is live with every file added.
        Ok(Self {
            kobj,
            _attrs: attrs,
        })
    }
}

impl Drop for Published {
    fn drop(&mut self) {
        // SAFETY: The only reference (the type invariant); putting it removes
        // the directory and its files before `_attrs` is freed.
        unsafe { bindings::kobject_put(self.kobj) };
    }
}
