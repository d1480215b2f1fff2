// SPDX-License-Identifier: GPL-2.0

//! Shadow ids bound to their type across modules: a module that declares an
//! id whose data another loaded module writes as another type is refused at
//! load, so no patch reads shadow data as the wrong type.
//!
//! The binding is itself a shadow variable, which every module that declares
//! the id shares: its key is an address no object has (the kernel's
//! `klp_shadow_alloc()`), its id the declared one with the top bit set
//! (which `klp_shadow_free_all(id)` never touches), and it counts the loaded
//! modules that declare the id.

use super::{
    bindings,
    Shadow, //
};
use core::{
    mem::size_of,
    sync::atomic::{
        AtomicUsize,
        Ordering, //
    },
};
use kernel::{
    ffi::{
        c_int,
        c_ulong,
        c_void, //
    },
    prelude::*,
};

/// The bit that makes a declared id the id of its type record.
pub(crate) const TYPE_RECORD: c_ulong = 1 << (c_ulong::BITS - 1);

/// The longest module name (C's `MODULE_NAME_LEN`).
const MODULE_NAME_LEN: usize = 56;

/// The most of a type's name a record keeps, for messages.
const TYPE_NAME_LEN: usize = 96;

/// What one id is bound to, shared by every loaded module that declares it.
#[repr(C)]
struct TypeRecord {
    users: AtomicUsize,
    size: usize,
    align: usize,
    name_hash: u64,
    name: [u8; TYPE_NAME_LEN],
    module: [u8; MODULE_NAME_LEN],
}

/// What the record constructor gets as `ctor_data`.
struct NewRecord<'a> {
    init: &'a TypeRecord,
    created: bool,
}

/// A shadow declaration of [`patch!`](super::patch), bound while its module
/// is loaded.
pub trait ShadowDecl: Sync {
    /// Binds the id to this declaration's type, or fails (`EINVAL`, naming
    /// both types) if a loaded module bound it to another.
    fn bind(&self, module: &'static str) -> Result;

    /// Releases this module's binding.
    fn unbind(&self);
}

impl<O, T: Sync> ShadowDecl for Shadow<O, T> {
    fn bind(&self, module: &'static str) -> Result {
        let ours = TypeRecord::of::<T>(module);
        loop {
            let mut new = NewRecord {
                init: &ours,
                created: false,
            };
            // SAFETY: `construct_record` reads `ctor_data` as the
            // `NewRecord` we pass, which lives across the call; the key is
            // only compared as an address.
            let data = unsafe {
                bindings::klp_shadow_get_or_alloc(
                    record_key(),
                    self.id() | TYPE_RECORD,
                    size_of::<TypeRecord>(),
                    kernel::bindings::GFP_KERNEL,
                    Some(construct_record),
                    (&raw mut new).cast(),
                )
            };
            if data.is_null() {
                return Err(ENOMEM);
            }
            if new.created {
                return Ok(());
            }
            // SAFETY: Records are only ever `TypeRecord`s, freed only by the
            // last module to unbind, after its count reached 0, which
            // `users` below does not take from 0 again.
            let theirs = unsafe { &*data.cast::<TypeRecord>() };
            if !theirs.same_type(&ours) {
                pr_err!(
                    "shadow variable id {} holds `{}` ({} bytes) in module {}, but this module declares it `{}` ({} bytes): give this data its own id, or declare the same type\n",
                    self.id(),
                    text(&theirs.name),
                    theirs.size,
                    text(&theirs.module),
                    text(&ours.name),
                    ours.size,
                );
                return Err(EINVAL);
            }
            let joined = theirs
                .users
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n != 0).then_some(n + 1)
                });
            if joined.is_ok() {
                return Ok(());
            }
            // The last user is freeing it: a new record follows.
            core::hint::spin_loop();
        }
    }

    fn unbind(&self) {
        let id = self.id() | TYPE_RECORD;
        // SAFETY: The key is only compared as an address.
        let data = unsafe { bindings::klp_shadow_get(record_key(), id) };
        if data.is_null() {
            return;
        }
        // SAFETY: As in `bind`; this module's binding keeps it alive.
        let record = unsafe { &*data.cast::<TypeRecord>() };
        if record.users.fetch_sub(1, Ordering::AcqRel) == 1 {
            // SAFETY: No module holds the record: the count stays 0.
            unsafe { bindings::klp_shadow_free(record_key(), id, None) };
        }
    }
}

impl TypeRecord {
    fn of<T>(module: &str) -> Self {
        let mut record = Self {
            users: AtomicUsize::new(1),
            size: size_of::<T>(),
            align: core::mem::align_of::<T>(),
            name_hash: 0xcbf2_9ce4_8422_2325,
            name: [0; TYPE_NAME_LEN],
            module: [0; MODULE_NAME_LEN],
        };
        let mut len = 0;
        for b in crate_free_name(core::any::type_name::<T>()) {
            record.name_hash = (record.name_hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
            if len < TYPE_NAME_LEN - 1 {
                record.name[len] = b;
                len += 1;
            }
        }
        for (to, &b) in record.module[..MODULE_NAME_LEN - 1]
            .iter_mut()
            .zip(module.as_bytes())
        {
            *to = b;
        }
        record
    }

    fn same_type(&self, other: &Self) -> bool {
        (self.size, self.align, self.name_hash) == (other.size, other.align, other.name_hash)
    }
}

/// The bytes of a type's name without this crate's name, which differs from
/// patch module to patch module (`klp_fix_v1::Leak` and `klp_fix_v2::Leak`
/// are both `Leak`).
fn crate_free_name(name: &'static str) -> impl Iterator<Item = u8> {
    // This file is compiled into each patch module: its path starts with
    // the module's crate.
    let krate = module_path!().split("::").next().unwrap_or("");
    let bytes = name.as_bytes();
    let mut i = 0;
    core::iter::from_fn(move || loop {
        let b = *bytes.get(i)?;
        let at_path_start =
            i == 0 || !(bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        let rest = &bytes[i..];
        if at_path_start
            && rest.starts_with(krate.as_bytes())
            && rest[krate.len()..].starts_with(b"::")
        {
            i += krate.len() + 2;
            continue;
        }
        i += 1;
        return Some(b);
    })
}

/// A NUL-padded name as text.
fn text(bytes: &[u8]) -> &str {
    let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    core::str::from_utf8(&bytes[..len]).unwrap_or("?")
}

/// The key of every type record: an address no object has.
fn record_key() -> *mut c_void {
    // CAST: The address of the kernel's function, only compared.
    bindings::klp_shadow_alloc as *mut c_void
}

/// The `klp_shadow_ctor_t` of a new record.
///
/// # Safety
///
/// `shadow_data` has room for a `TypeRecord`; `ctor_data` is the
/// `NewRecord` passed by `bind`.
unsafe extern "C" fn construct_record(
    _obj: *mut c_void,
    shadow_data: *mut c_void,
    ctor_data: *mut c_void,
) -> c_int {
    // SAFETY: See the function's safety section.
    let new = unsafe { &mut *ctor_data.cast::<NewRecord<'_>>() };
    let init = new.init;
    // SAFETY: See the function's safety section; the kernel's allocation is
    // pointer-aligned, as much as `TypeRecord` needs.
    unsafe {
        shadow_data.cast::<TypeRecord>().write(TypeRecord {
            users: AtomicUsize::new(1),
            size: init.size,
            align: init.align,
            name_hash: init.name_hash,
            name: init.name,
            module: init.module,
        })
    };
    new.created = true;
    0
}

/// The shadow declarations of a module, bound until it is unloaded.
pub struct BoundShadows {
    decls: &'static [&'static dyn ShadowDecl],
}

impl BoundShadows {
    /// Binds every declaration, or none (the error of the first that
    /// failed).
    pub fn bind(module: &'static str, decls: &'static [&'static dyn ShadowDecl]) -> Result<Self> {
        for (i, decl) in decls.iter().enumerate() {
            if let Err(e) = decl.bind(module) {
                decls[..i].iter().for_each(|d| d.unbind());
                return Err(e);
            }
        }
        Ok(Self { decls })
    }
}

impl Drop for BoundShadows {
    fn drop(&mut self) {
        self.decls.iter().for_each(|d| d.unbind());
    }
}
