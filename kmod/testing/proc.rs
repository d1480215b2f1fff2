// SPDX-License-Identifier: GPL-2.0

//! A `/proc` file shown by a single `show` function
//! (`proc_create_single()`, `include/linux/proc_fs.h`).

use super::bindings;
use kernel::{
    ffi::{c_int, c_void},
    prelude::*,
    str::{
        CStr,
        CStrExt, //
    },
};

/// A file in `/proc`, removed on drop.
///
/// # Invariants
///
/// `entry` is the live entry `proc_create_single_data()` returned.
pub struct ProcEntry {
    entry: *mut bindings::proc_dir_entry,
}

// SAFETY: The entry is only passed back to `proc_remove()`, from any thread.
unsafe impl Send for ProcEntry {}
// SAFETY: `ProcEntry` has no `&self` methods.
unsafe impl Sync for ProcEntry {}

/// The `show` function of a `seq_file`: `int show(struct seq_file *, void *)`.
pub type ShowFn = unsafe extern "C" fn(*mut kernel::bindings::seq_file, *mut c_void) -> c_int;

impl ProcEntry {
    /// Creates `/proc/<name>`, mode `mode` (0 means `0444`), whose content is
    /// what `show` prints.
    pub fn single(name: &'static CStr, mode: u16, show: ShowFn) -> Result<Self> {
        // SAFETY: `name` is a static C string; `show` has the signature the
        // kernel calls it with; a null parent means `/proc` itself.
        let entry = unsafe {
            bindings::proc_create_single_data(
                name.as_char_ptr(),
                mode,
                core::ptr::null_mut(),
                Some(show),
                core::ptr::null_mut(),
            )
        };
        if entry.is_null() {
            return Err(ENOMEM);
        }
        // INVARIANT: `entry` was just created.
        Ok(Self { entry })
    }
}

impl Drop for ProcEntry {
    fn drop(&mut self) {
        // SAFETY: `entry` is live (the type invariant) and removed only here.
        unsafe { bindings::proc_remove(self.entry) };
    }
}
