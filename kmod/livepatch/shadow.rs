// SPDX-License-Identifier: GPL-2.0

//! Typed shadow variables: new data attached to an existing object whose
//! layout a live patch cannot change (`Documentation/livepatch/shadow-vars.rst`).
//!
//! C header: [`include/linux/livepatch.h`](srctree/include/linux/livepatch.h)

use super::{
    bindings,
    shadow_type::TYPE_RECORD,
    ShadowDecl, //
};
use core::{
    marker::PhantomData,
    mem::{align_of, needs_drop, size_of},
};
use kernel::{
    alloc::Flags,
    ffi::{c_int, c_ulong, c_void},
    prelude::*,
};

/// Shadow variables of type `T` with the id `id`, one per object of type
/// `O`.
///
/// Declared in [`patch!`](super::patch)'s `shadows: { ... }`, which makes
/// each a `static` and binds its id to `T` when the module loads: a module
/// that declares an id already bound, by a loaded module, to another type
/// (its name, size and alignment) is refused, naming both. So every patch
/// that shares an id (a cumulative series, fixes stacked on one another)
/// reads the data as the type it was written as.
///
/// A shadow variable lives from [`Shadow::alloc`] until [`Shadow::free`] or
/// [`Shadow::free_all`]. A reference to one borrows its object (`&O`); `free`
/// needs the object mutably (`&mut O`), and `free_all` can only be called
/// from the module's `exit` hook, once no replacement runs, so no reference
/// to a shadow variable outlives it. `T: Sync`, because every holder of the
/// object can reach it: change it through interior mutability (atomics,
/// locks).
///
/// # Examples
///
/// ```ignore
/// livepatch::patch! {
///     ...
///     shadows: {
///         /// Calls in flight, per device.
///         IN_FLIGHT: Shadow<Device, AtomicU32> = 0x1234,
///     },
///     ...
/// }
/// let counter = IN_FLIGHT.get_or_alloc(dev, GFP_ATOMIC, |_| Ok(AtomicU32::new(0)))?;
/// counter.fetch_add(1, Ordering::Relaxed);
/// ```
pub struct Shadow<O, T> {
    id: c_ulong,
    _data: PhantomData<fn(&O) -> &T>,
}

/// What the constructor trampoline gets as `ctor_data`.
struct Ctor<F> {
    init: Option<F>,
    error: Option<Error>,
}

impl<O, T: Sync> Shadow<O, T> {
    /// Shadow variables of id `id`; patches that share data use the same id.
    ///
    /// # Safety
    ///
    /// Only [`patch!`](super::patch) calls this: the `Shadow` must be bound
    /// to its type ([`ShadowDecl::bind`]) before any other use.
    #[doc(hidden)]
    pub const unsafe fn declare(id: c_ulong) -> Self {
        // The kernel places the data after a pointer-aligned header.
        assert!(
            align_of::<T>() <= align_of::<usize>(),
            "shadow data is only pointer-aligned"
        );
        assert!(
            id & TYPE_RECORD == 0,
            "shadow ids with the top bit set are klp-rs's own"
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
    pub fn get<'a>(&'a self, obj: &'a O) -> Option<&'a T> {
        // SAFETY: The kernel only compares `obj` as an address.
        let data = unsafe { bindings::klp_shadow_get(key(obj), self.id) };
        // SAFETY: Data filed under `self.id` is an initialized `T`: the id
        // is bound to `T` while this module is loaded (`bind`), and it stays
        // until `free` (which needs `&mut O`) or `free_all` (only once no
        // replacement runs), so it outlives the borrow of `obj`.
        (!data.is_null()).then(|| unsafe { &*data.cast::<T>() })
    }

    /// Attaches a new shadow variable to `obj`, built by `init`, which gets
    /// the address the value will live at (for identification only) and runs
    /// under the kernel's shadow spinlock (it must not sleep). Fails with
    /// `EEXIST` if `obj` already has one (the kernel warns), `ENOMEM`, or
    /// what `init` returned.
    pub fn alloc<'a, F>(&'a self, obj: &'a O, flags: Flags, init: F) -> Result<&'a T>
    where
        F: FnOnce(*const T) -> Result<T>,
    {
        self.attach(obj, flags, init, bindings::klp_shadow_alloc)
    }

    /// The shadow variable of `obj`, attaching one built by `init` (as in
    /// [`Shadow::alloc`]) if there is none yet.
    pub fn get_or_alloc<'a, F>(&'a self, obj: &'a O, flags: Flags, init: F) -> Result<&'a T>
    where
        F: FnOnce(*const T) -> Result<T>,
    {
        self.attach(obj, flags, init, bindings::klp_shadow_get_or_alloc)
    }

    fn attach<'a, F>(&'a self, obj: &'a O, flags: Flags, init: F, attach: AttachFn) -> Result<&'a T>
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
    pub fn free(&self, obj: &mut O) {
        // SAFETY: `obj` is compared as an address; `destructor::<T>` drops a
        // `T`, which is what this id holds.
        unsafe { bindings::klp_shadow_free(key(obj), self.id, destructor::<T>()) }
    }

    /// Detaches the shadow variable of `obj`, handing its value to
    /// `D::destroy` with the object, then dropping it.
    pub fn free_with<D: Destroy<O, T>>(&self, obj: &mut O) {
        // SAFETY: As for `free`; `destroy_shadow::<O, T, D>` takes a `T`.
        unsafe { bindings::klp_shadow_free(key(obj), self.id, Some(destroy_shadow::<O, T, D>)) }
    }

    /// Detaches the shadow variables of this id from every object, dropping
    /// their values (C's `klp_shadow_free_all(id, NULL)`, or with a
    /// destructor that frees what they own).
    ///
    /// Takes the token of the module's `exit` hook: it runs once the patch
    /// is disabled and no replacement runs, so no reference from `get` can
    /// still be held.
    pub fn free_all(&self, _: &Unload) {
        // SAFETY: No reference to a value is held (see above).
        unsafe { self.free_all_unchecked(destructor::<T>()) }
    }

    /// As [`Shadow::free_all`], handing each value to `D::destroy` first
    /// (C's `klp_shadow_free_all(id, dtor)`).
    pub fn free_all_with<D: Destroy<O, T>>(&self, _: &Unload) {
        // SAFETY: As for `free_all`.
        unsafe { self.free_all_unchecked(Some(destroy_shadow::<O, T, D>)) }
    }

    /// # Safety
    ///
    /// No reference to a value of this id is held; `dtor` drops a `T`.
    unsafe fn free_all_unchecked(&self, dtor: bindings::klp_shadow_dtor_t) {
        // SAFETY: See the function's safety section.
        unsafe { bindings::klp_shadow_free_all(self.id, dtor) }
    }

    /// The destructor the kernel gets from [`Shadow::free`] and
    /// [`Shadow::free_all`], as an address (null when `T` needs no drop),
    /// for logs that identify it.
    pub fn destructor_address() -> *const c_void {
        destructor::<T>().map_or(core::ptr::null(), |f| f as *const c_void)
    }

    /// The destructor the kernel gets from [`Shadow::free_with`]`::<D>`, as
    /// an address.
    pub fn destructor_address_with<D: Destroy<O, T>>() -> *const c_void {
        destroy_shadow::<O, T, D> as *const c_void
    }
}

/// A [`Shadow`] of code that is no [`patch!`](super::patch) module (a test,
/// a helper module): bound to its type while it lives.
pub struct LocalShadow<O, T: Sync> {
    shadow: Shadow<O, T>,
}

impl<O, T: Sync> LocalShadow<O, T> {
    /// Binds `id` to `T` for `module` (see [`Shadow`]), failing with
    /// `EINVAL` if a loaded module bound it to another type.
    pub fn bind(id: c_ulong, module: &'static str) -> Result<Self> {
        // SAFETY: Bound right here, before any other use.
        let shadow = unsafe { Shadow::declare(id) };
        shadow.bind(module)?;
        Ok(Self { shadow })
    }

    /// As [`Shadow::free_all`]: `&mut self` proves no reference from `get`
    /// is held.
    pub fn free_all(&mut self) {
        // SAFETY: `get` borrows `self`, which is borrowed mutably here.
        unsafe { self.shadow.free_all_unchecked(destructor::<T>()) }
    }

    /// As [`Shadow::free_all_with`].
    pub fn free_all_with<D: Destroy<O, T>>(&mut self) {
        // SAFETY: As for `free_all`.
        unsafe {
            self.shadow
                .free_all_unchecked(Some(destroy_shadow::<O, T, D>))
        }
    }
}

impl<O, T: Sync> core::ops::Deref for LocalShadow<O, T> {
    type Target = Shadow<O, T>;

    fn deref(&self) -> &Shadow<O, T> {
        &self.shadow
    }
}

impl<O, T: Sync> Drop for LocalShadow<O, T> {
    fn drop(&mut self) {
        self.shadow.unbind();
    }
}

/// The token of a patch module's `exit` hook (see [`patch!`](super::patch)):
/// proof that the patch is disabled and no replacement runs.
pub struct Unload {
    _private: (),
}

impl Unload {
    /// # Safety
    ///
    /// Only [`patch!`](super::patch)'s module exit calls this, after the
    /// kernel disabled the patch (a patch module cannot be removed before).
    #[doc(hidden)]
    pub const unsafe fn new() -> Self {
        Self { _private: () }
    }
}

type AttachFn = unsafe extern "C" fn(
    *mut c_void,
    c_ulong,
    usize,
    kernel::bindings::gfp_t,
    bindings::klp_shadow_ctor_t,
    *mut c_void,
) -> *mut c_void;

/// Work to do with a shadow variable's value as it is detached, besides
/// dropping it (C's `klp_shadow_dtor_t`).
pub trait Destroy<O, T> {
    /// Called with the address of the object (which may be on its way to
    /// being freed: for identification only) and the value, just before the
    /// value is dropped.
    fn destroy(obj: *const O, data: &mut T);
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

/// The `klp_shadow_ctor_t` for `Shadow<O, T>` built by `F`.
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
            // `Shadow::declare`).
            unsafe { slot.write(value) };
            0
        }
        Err(e) => {
            ctor.error = Some(e);
            e.to_errno()
        }
    }
}

/// The `klp_shadow_dtor_t` for `Shadow<O, T>` freed with `D`.
///
/// # Safety
///
/// `shadow_data` holds an initialized `T` that is dropped nowhere else.
unsafe extern "C" fn destroy_shadow<O, T, D: Destroy<O, T>>(
    obj: *mut c_void,
    shadow_data: *mut c_void,
) {
    let data = shadow_data.cast::<T>();
    // SAFETY: See the function's safety section.
    D::destroy(obj.cast(), unsafe { &mut *data });
    // SAFETY: See the function's safety section.
    unsafe { core::ptr::drop_in_place(data) }
}

/// The `klp_shadow_dtor_t` for `Shadow<O, T>`.
///
/// # Safety
///
/// `shadow_data` holds an initialized `T` that is dropped nowhere else.
unsafe extern "C" fn drop_shadow<T>(_obj: *mut c_void, shadow_data: *mut c_void) {
    // SAFETY: See the function's safety section.
    unsafe { core::ptr::drop_in_place(shadow_data.cast::<T>()) }
}
