// SPDX-License-Identifier: GPL-2.0

//! Typed shadow variables: new data attached to an existing object whose
//! layout a live patch cannot change (`Documentation/livepatch/shadow-vars.rst`).
//!
//! C header: [`include/linux/livepatch.h`](srctree/include/linux/livepatch.h)

use super::bindings;
use core::{
    marker::PhantomData,
    mem::{align_of, needs_drop, size_of},
};
use kernel::{
    alloc::Flags,
    ffi::{c_int, c_ulong, c_void},
    prelude::*,
};

/// Shadow variables of type `T` with the id `id`, one per object.
///
/// A shadow variable lives from [`Shadow::alloc`] until [`Shadow::free`] or
/// [`Shadow::free_all`]. A reference to one borrows its object (`&O`) and
/// this `Shadow`; `free` needs the object mutably (`&mut O`) and `free_all`
/// consumes the `Shadow`, so no reference to a shadow variable outlives it.
/// Keep one `Shadow` per id in a module: two would defeat that borrow. `T: Sync`, because every holder of the object can
/// reach it: change it through interior mutability (atomics, locks).
///
/// # Examples
///
/// ```ignore
/// static IN_FLIGHT: Shadow<AtomicU32> = Shadow::new(0x1234);
/// let counter = IN_FLIGHT.get_or_alloc(&*dev, GFP_ATOMIC, |_| Ok(AtomicU32::new(0)))?;
/// counter.fetch_add(1, Ordering::Relaxed);
/// ```
pub struct Shadow<T> {
    id: c_ulong,
    _data: PhantomData<T>,
}

/// What the constructor trampoline gets as `ctor_data`.
struct Ctor<F> {
    init: Option<F>,
    error: Option<Error>,
}

impl<T: Sync> Shadow<T> {
    /// Shadow variables of id `id`; patches that share data use the same id.
    pub const fn new(id: c_ulong) -> Self {
        // The kernel places the data after a pointer-aligned header.
        assert!(
            align_of::<T>() <= align_of::<usize>(),
            "shadow data is only pointer-aligned"
        );
        Self {
            id,
            _data: PhantomData,
        }
    }

    /// The id the kernel files these variables under.
    pub fn id(&self) -> c_ulong {
        self.id
    }

    /// The shadow variable of `obj`, if one is attached.
    pub fn get<'a, O>(&'a self, obj: &'a O) -> Option<&'a T> {
        // SAFETY: The kernel only compares `obj` as an address.
        let data = unsafe { bindings::klp_shadow_get(key(obj), self.id) };
        // SAFETY: Data filed under `self.id` is an initialized `T` (only this
        // type writes it), and it stays until `free` (which needs `&mut O`)
        // or `free_all`, so it outlives the borrow of `obj`.
        (!data.is_null()).then(|| unsafe { &*data.cast::<T>() })
    }

    /// Attaches a new shadow variable to `obj`, built by `init`, which gets
    /// the address the value will live at (for identification only) and runs
    /// under the kernel's shadow spinlock (it must not sleep). Fails with
    /// `EEXIST` if `obj` already has one (the kernel warns), `ENOMEM`, or
    /// what `init` returned.
    pub fn alloc<'a, O, F>(&'a self, obj: &'a O, flags: Flags, init: F) -> Result<&'a T>
    where
        F: FnOnce(*const T) -> Result<T>,
    {
        self.attach(obj, flags, init, bindings::klp_shadow_alloc)
    }

    /// The shadow variable of `obj`, attaching one built by `init` (as in
    /// [`Shadow::alloc`]) if there is none yet.
    pub fn get_or_alloc<'a, O, F>(&'a self, obj: &'a O, flags: Flags, init: F) -> Result<&'a T>
    where
        F: FnOnce(*const T) -> Result<T>,
    {
        self.attach(obj, flags, init, bindings::klp_shadow_get_or_alloc)
    }

    fn attach<'a, O, F>(
        &'a self,
        obj: &'a O,
        flags: Flags,
        init: F,
        attach: unsafe extern "C" fn(
            *mut c_void,
            c_ulong,
            usize,
            kernel::bindings::gfp_t,
            bindings::klp_shadow_ctor_t,
            *mut c_void,
        ) -> *mut c_void,
    ) -> Result<&'a T>
    where
        F: FnOnce(*const T) -> Result<T>,
    {
        let mut ctor = Ctor {
            init: Some(init),
            error: None,
        };
        // SAFETY: `construct::<T, F>` reads `ctor_data` as the `Ctor<F>` we
        // pass, which lives across the call; the kernel compares `obj` only
        // as an address and allocates `size_of::<T>()` bytes for the data.
        let data = unsafe {
            attach(
                key(obj),
                self.id,
                size_of::<T>(),
                raw_gfp(flags),
                Some(construct::<T, F>),
                (&raw mut ctor).cast(),
            )
        };
        if data.is_null() {
            return Err(match ctor.error {
                Some(e) => e,
                None if self.get(obj).is_some() => EEXIST,
                None => ENOMEM,
            });
        }
        // SAFETY: The kernel returned the data `construct` initialized (or
        // the existing variable, also a `T`); it lives as `get` explains.
        Ok(unsafe { &*data.cast::<T>() })
    }

    /// Detaches the shadow variable of `obj`, dropping its value.
    pub fn free<O>(&self, obj: &mut O) {
        // SAFETY: `obj` is compared as an address; `destructor::<T>` drops a
        // `T`, which is what this id holds.
        unsafe { bindings::klp_shadow_free(key(obj), self.id, destructor::<T>()) }
    }

    /// Detaches the shadow variable of `obj`, handing its value to
    /// `D::destroy` with the object, then dropping it.
    pub fn free_with<O, D: Destroy<T>>(&self, obj: &mut O) {
        // SAFETY: As for `free`; `destroy_shadow::<T, D>` takes a `T`.
        unsafe { bindings::klp_shadow_free(key(obj), self.id, Some(destroy_shadow::<T, D>)) }
    }

    /// Detaches the shadow variables of this id from every object, dropping
    /// their values.
    ///
    /// Takes `self` by value: the `Shadow` that handed out references must
    /// be gone; call it where no reference can still be held (module exit,
    /// or a `post_unpatch` callback once no patched code runs).
    pub fn free_all(self) {
        // SAFETY: As for `free`.
        unsafe { bindings::klp_shadow_free_all(self.id, destructor::<T>()) }
    }

    /// The destructor the kernel gets from [`Shadow::free`] and
    /// [`Shadow::free_all`], as an address (null when `T` needs no drop),
    /// for logs that identify it.
    pub fn destructor_address() -> *const c_void {
        destructor::<T>().map_or(core::ptr::null(), |f| f as *const c_void)
    }

    /// The destructor the kernel gets from [`Shadow::free_with`]`::<_, D>`,
    /// as an address.
    pub fn destructor_address_with<D: Destroy<T>>() -> *const c_void {
        destroy_shadow::<T, D> as *const c_void
    }
}

/// Work to do with a shadow variable's value as it is detached, besides
/// dropping it (C's `klp_shadow_dtor_t`).
pub trait Destroy<T> {
    /// Called with the address of the object and the value, just before the
    /// value is dropped.
    fn destroy(obj: *const c_void, data: &mut T);
}

/// The `gfp_t` of `flags` (the kernel crate keeps its raw value private):
/// the union of the bits of every public flag `flags` contains.
fn raw_gfp(flags: Flags) -> kernel::bindings::gfp_t {
    use kernel::{
        alloc::flags as f,
        bindings as b, //
    };
    [
        (f::GFP_ATOMIC, b::GFP_ATOMIC),
        (f::GFP_KERNEL, b::GFP_KERNEL),
        (f::GFP_KERNEL_ACCOUNT, b::GFP_KERNEL_ACCOUNT),
        (f::GFP_NOWAIT, b::GFP_NOWAIT),
        (f::__GFP_ZERO, b::__GFP_ZERO),
        (f::__GFP_HIGHMEM, b::__GFP_HIGHMEM),
        (f::__GFP_NOWARN, b::__GFP_NOWARN),
    ]
    .into_iter()
    .filter(|&(flag, _)| flags.contains(flag))
    .fold(0, |raw, (_, bits)| raw | bits)
}

fn key<O>(obj: &O) -> *mut c_void {
    // CAST: Only the address is used, as the key of the shadow variable.
    core::ptr::from_ref(obj).cast_mut().cast()
}

fn destructor<T>() -> bindings::klp_shadow_dtor_t {
    needs_drop::<T>().then_some(drop_shadow::<T> as unsafe extern "C" fn(*mut c_void, *mut c_void))
}

/// The `klp_shadow_ctor_t` for `Shadow<T>` built by `F`.
///
/// # Safety
///
/// `shadow_data` has room for a `T`; `ctor_data` is the `Ctor<F>` passed by
/// `Shadow::attach`, not otherwise accessed during the call.
unsafe extern "C" fn construct<T, F>(
    _obj: *mut c_void,
    shadow_data: *mut c_void,
    ctor_data: *mut c_void,
) -> c_int
where
    F: FnOnce(*const T) -> Result<T>,
{
    // SAFETY: See the function's safety section.
    let ctor = unsafe { &mut *ctor_data.cast::<Ctor<F>>() };
    let Some(init) = ctor.init.take() else {
        return EINVAL.to_errno();
    };
    let slot = shadow_data.cast::<T>();
    match init(slot) {
        Ok(value) => {
            // SAFETY: `slot` has room for a `T` and is suitably aligned (see
            // `Shadow::new`).
            unsafe { slot.write(value) };
            0
        }
        Err(e) => {
            ctor.error = Some(e);
            e.to_errno()
        }
    }
}

/// The `klp_shadow_dtor_t` for `Shadow<T>` freed with `D`.
///
/// # Safety
///
/// `shadow_data` holds an initialized `T` that is dropped nowhere else.
unsafe extern "C" fn destroy_shadow<T, D: Destroy<T>>(obj: *mut c_void, shadow_data: *mut c_void) {
    let data = shadow_data.cast::<T>();
    // SAFETY: See the function's safety section.
    D::destroy(obj, unsafe { &mut *data });
    // SAFETY: See the function's safety section.
    unsafe { core::ptr::drop_in_place(data) }
}

/// The `klp_shadow_dtor_t` for `Shadow<T>`.
///
/// # Safety
///
/// `shadow_data` holds an initialized `T` that is dropped nowhere else.
unsafe extern "C" fn drop_shadow<T>(_obj: *mut c_void, shadow_data: *mut c_void) {
    // SAFETY: See the function's safety section.
    unsafe { core::ptr::drop_in_place(shadow_data.cast::<T>()) }
}
