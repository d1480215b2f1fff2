// SPDX-License-Identifier: GPL-2.0

//! Rust twin of the selftests' `test_klp_shadow_vars.c`: exercises typed
//! shadow variables in its init and logs every call with address-agnostic
//! pointer ids (`PTR<n>`, numbered in order of first appearance).

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

use core::sync::atomic::{
    AtomicUsize,
    Ordering, //
};
use kernel::{
    ffi::{c_char, c_int, c_ulong, c_void},
    prelude::*, //
};
use livepatch::{
    Destroy,
    LocalShadow,
    Shadow, //
};

module! {
    type: ShadowVarsTest,
    name: "test_klp_shadow_vars",
    authors: ["Joe Lawrence <joe.lawrence@redhat.com>"],
    description: "Livepatch test: shadow variables",
    license: "GPL",
}

/// Pointers seen so far; a pointer's id is its index.
static PTRS: [AtomicUsize; 64] = [const { AtomicUsize::new(0) }; 64];
static NR_PTRS: AtomicUsize = AtomicUsize::new(0);

/// The id of `ptr`, given at its first appearance (`-ENOMEM` when full).
fn ptr_id<P>(ptr: *const P) -> c_int {
    let addr = ptr as usize;
    let seen = NR_PTRS.load(Ordering::Relaxed);
    if let Some(id) = PTRS[..seen]
        .iter()
        .position(|p| p.load(Ordering::Relaxed) == addr)
    {
        return id as c_int;
    }
    if seen == PTRS.len() {
        return ENOMEM.to_errno();
    }
    PTRS[seen].store(addr, Ordering::Relaxed);
    NR_PTRS.store(seen + 1, Ordering::Relaxed);
    seen as c_int
}

fn forget_ptrs() {
    NR_PTRS.store(0, Ordering::Relaxed);
}

const NUM_OBJS: usize = 3;
const SV_ID1: c_ulong = 0x1234;
const SV_ID2: c_ulong = 0x1235;

/// The structure the shadow variables extend (C: `struct test_object`).
#[derive(Default)]
struct TestObject {
    _sp: usize,
}

/// A shadow variable holds the address of a new field.
type Field = usize;

/// The constructor: remembers the field's address.
fn shadow_ctor(slot: *const Field, var: Field) -> Result<Field> {
    if var == 0 {
        return Err(EINVAL);
    }
    pr_info!(
        "shadow_ctor: PTR{} -> PTR{}\n",
        ptr_id(slot),
        ptr_id(var as *const c_void)
    );
    Ok(var)
}

/// The destructor of the 'char' fields: only logs.
struct ShadowDtor;

impl Destroy<TestObject, Field> for ShadowDtor {
    fn destroy(obj: *const TestObject, data: &mut Field) {
        pr_info!(
            "shadow_dtor(obj=PTR{}, shadow_data=PTR{})\n",
            ptr_id(obj),
            ptr_id(core::ptr::from_ref(data))
        );
    }
}

fn ctor_id() -> c_int {
    ptr_id(shadow_ctor as *const c_void)
}

fn addr<T>(r: Option<&T>) -> *const T {
    r.map_or(core::ptr::null(), |r| r)
}

fn shadow_get(sv: &Shadow<TestObject, Field>, obj: &TestObject) -> *const Field {
    let found = addr(sv.get(obj));
    pr_info!(
        "klp_shadow_get(obj=PTR{}, id=0x{:x}) = PTR{}\n",
        ptr_id(obj),
        sv.id(),
        ptr_id(found)
    );
    found
}

/// `alloc` (or `get_or_alloc` when `get_or`) of a field whose address is
/// `var`.
fn shadow_alloc(
    sv: &Shadow<TestObject, Field>,
    obj: &TestObject,
    var: Field,
    get_or: bool,
) -> *const Field {
    let init = |slot| shadow_ctor(slot, var);
    let result = if get_or {
        sv.get_or_alloc(obj, GFP_KERNEL, init)
    } else {
        sv.alloc(obj, GFP_KERNEL, init)
    };
    let found = addr(result.ok());
    pr_info!(
        "klp_shadow_{}(obj=PTR{}, id=0x{:x}, size={:x}, gfp_flags=GFP_KERNEL), ctor=PTR{}, ctor_data=PTR{} = PTR{}\n",
        if get_or { "get_or_alloc" } else { "alloc" },
        ptr_id(obj),
        sv.id(),
        core::mem::size_of::<Field>(),
        ctor_id(),
        ptr_id(var as *const c_void),
        ptr_id(found)
    );
    found
}

fn shadow_free(sv: &Shadow<TestObject, Field>, obj: &mut TestObject) {
    sv.free_with::<ShadowDtor>(obj);
    pr_info!(
        "klp_shadow_free(obj=PTR{}, id=0x{:x}, dtor=PTR{})\n",
        ptr_id(obj),
        sv.id(),
        ptr_id(Shadow::<TestObject, Field>::destructor_address_with::<
            ShadowDtor,
        >())
    );
}

fn shadow_free_all(sv: &mut Vars) {
    sv.free_all();
    pr_info!(
        "klp_shadow_free_all(id=0x{:x}, dtor=PTR{})\n",
        sv.id(),
        ptr_id(Shadow::<TestObject, Field>::destructor_address())
    );
}

type Vars = LocalShadow<TestObject, Field>;

fn run(objs: &mut [TestObject; NUM_OBJS], chars: &Vars, ints: &mut Vars) -> Result {
    let nfields1: [c_char; NUM_OBJS] = [0; NUM_OBJS];
    let nfields2: [c_int; NUM_OBJS] = [0; NUM_OBJS];
    let pnfields1: [Field; NUM_OBJS] =
        core::array::from_fn(|i| core::ptr::from_ref(&nfields1[i]) as Field);
    let pnfields2: [Field; NUM_OBJS] =
        core::array::from_fn(|i| core::ptr::from_ref(&nfields2[i]) as Field);
    let mut sv1 = [core::ptr::null(); NUM_OBJS];
    let mut sv2 = [core::ptr::null(); NUM_OBJS];
    ptr_id(core::ptr::null::<c_void>());

    // With an empty shadow variable hash table, expect no match.
    if shadow_get(chars, &objs[0]).is_null() {
        pr_info!("  got expected NULL result\n");
    }

    // Pass 1: a char+int pair of shadow variables for each object.
    for i in 0..NUM_OBJS {
        ptr_id(pnfields1[i] as *const c_void);
        sv1[i] = shadow_alloc(chars, &objs[i], pnfields1[i], i % 2 == 0);
        if sv1[i].is_null() {
            return Err(ENOMEM);
        }
        ptr_id(pnfields2[i] as *const c_void);
        sv2[i] = shadow_alloc(ints, &objs[i], pnfields2[i], false);
        if sv2[i].is_null() {
            return Err(ENOMEM);
        }
    }

    // Pass 2: find them, and where they point to.
    for i in 0..NUM_OBJS {
        for (sv, saved, field) in [
            (chars, sv1[i], pnfields1[i]),
            (&*ints, sv2[i], pnfields2[i]),
        ] {
            let found = shadow_get(sv, &objs[i]);
            if found.is_null() {
                return Err(EINVAL);
            }
            if found == saved && sv.get(&objs[i]) == Some(&field) {
                pr_info!(
                    "  got expected PTR{} -> PTR{} result\n",
                    ptr_id(saved),
                    ptr_id(field as *const c_void)
                );
            }
        }
    }

    // Pass 3: `get_or_alloc` returns the existing variables.
    for i in 0..NUM_OBJS {
        let dup = core::ptr::from_ref(&nfields1[i]) as Field;
        ptr_id(dup as *const c_void);
        let found = shadow_alloc(chars, &objs[i], dup, true);
        if found.is_null() {
            return Err(EINVAL);
        }
        if found == sv1[i] && chars.get(&objs[i]) == Some(&pnfields1[i]) {
            pr_info!(
                "  got expected PTR{} -> PTR{} result\n",
                ptr_id(sv1[i]),
                ptr_id(pnfields1[i] as *const c_void)
            );
        }
    }

    // Pass 4: free the char variables, verify they are gone.
    for obj in objs.iter_mut() {
        shadow_free(chars, obj);
        if shadow_get(chars, obj).is_null() {
            pr_info!("  got expected NULL result\n");
        }
    }

    // Pass 5: the int variables are still there.
    for i in 0..NUM_OBJS {
        let found = shadow_get(ints, &objs[i]);
        if found.is_null() {
            return Err(EINVAL);
        }
        if found == sv2[i] && ints.get(&objs[i]) == Some(&pnfields2[i]) {
            pr_info!(
                "  got expected PTR{} -> PTR{} result\n",
                ptr_id(sv2[i]),
                ptr_id(pnfields2[i] as *const c_void)
            );
        }
    }

    // Pass 6: free all the int variables too.
    shadow_free_all(ints);
    for obj in objs.iter() {
        if shadow_get(ints, obj).is_null() {
            pr_info!("  got expected NULL result\n");
        }
    }
    Ok(())
}

struct ShadowVarsTest;

impl kernel::Module for ShadowVarsTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let mut objs: [TestObject; NUM_OBJS] = Default::default();
        let mut chars = Vars::bind(SV_ID1, "test_klp_shadow_vars")?;
        let mut ints = Vars::bind(SV_ID2, "test_klp_shadow_vars")?;
        let result = run(&mut objs, &chars, &mut ints);
        if result.is_err() {
            chars.free_all();
            ints.free_all();
        }
        forget_ptrs();
        result.map(|()| Self)
    }
}
