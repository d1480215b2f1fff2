// SPDX-License-Identifier: GPL-2.0

//! A sysfs directory of read-only files (`kobject_create_and_add()`,
//! `sysfs_create_file()`), removed on drop.
//!
//! C header: [`include/linux/kobject.h`](srctree/include/linux/kobject.h)

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

/// The `show` of a read-only file: fills the page sysfs hands it.
pub type ShowFn = unsafe extern "C" fn(
    *mut bindings::kobject,
    *mut bindings::kobj_attribute,
    *mut c_char,
) -> isize;

/// Where a directory goes.
pub enum Parent {
    /// `/sys/kernel/`.
    Kernel,
    /// `/sys/module/<name>/` of a loaded module.
    Module(&'static ThisModule),
}

/// A directory with `N` read-only files.
///
/// # Invariants
///
/// `kobj` is a live kobject this value holds the only reference to, with the
/// files of `attrs` added; `attrs` stays put until the kobject is put.
pub struct SysfsDir<const N: usize> {
    kobj: *mut bindings::kobject,
    _attrs: KBox<[Opaque<bindings::kobj_attribute>; N]>,
}

// SAFETY: The kobject is refcounted and locked by the kernel; Rust only
// drops its reference.
unsafe impl<const N: usize> Send for SysfsDir<N> {}
// SAFETY: `SysfsDir` has no `&self` methods.
unsafe impl<const N: usize> Sync for SysfsDir<N> {}

impl<const N: usize> SysfsDir<N> {
    /// Creates `<parent>/<name>/` with `files`, each mode `0444`.
    pub fn create(
        parent: Parent,
        name: &'static CStr,
        files: [(&'static CStr, ShowFn); N],
    ) -> Result<Self> {
        let attrs = KBox::new(
            files.map(|(file, show)| {
                // SAFETY: All-zero is a valid `kobj_attribute` (C declares
                // static ones with only name, mode and `show` set).
                let mut raw: bindings::kobj_attribute = unsafe { core::mem::zeroed() };
                raw.attr.name = file.as_char_ptr();
                raw.attr.mode = 0o444;
                raw.__bindgen_anon_1.show = Some(show);
                // An attribute not in static storage needs a lockdep class
                // key that is (C's `sysfs_attr_init()`): one for them all.
                #[cfg(CONFIG_DEBUG_LOCK_ALLOC)]
                {
                    raw.attr.key = kernel::sync::static_lock_class!().as_ptr();
                }
                Opaque::new(raw)
            }),
            GFP_KERNEL,
        )?;
        let parent = match parent {
            // SAFETY: `/sys/kernel`'s kobject lives as long as the kernel.
            Parent::Kernel => unsafe { bindings::kernel_kobj },
            // SAFETY: `module` is live; its `mkobj.kobj` is the kobject of
            // `/sys/module/<name>/`, alive while the module is.
            Parent::Module(module) => unsafe { &raw mut (*module.as_ptr()).mkobj.kobj },
        };
        // SAFETY: `name` is a static C string; `parent` is live.
        let kobj = unsafe { bindings::kobject_create_and_add(name.as_char_ptr(), parent) };
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

impl<const N: usize> Drop for SysfsDir<N> {
    fn drop(&mut self) {
        // SAFETY: The only reference (the type invariant); putting it removes
        // the directory and its files before `_attrs` is freed.
        unsafe { bindings::kobject_put(self.kobj) };
    }
}
