// SPDX-License-Identifier: GPL-2.0

//! Static work items and completions (`DECLARE_WORK`, `DECLARE_COMPLETION`),
//! for modules whose work function is a C entry point a live patch replaces.
//!
//! C headers: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h),
//! [`include/linux/completion.h`](srctree/include/linux/completion.h)

use core::sync::atomic::{
    AtomicBool,
    Ordering, //
};
use kernel::{
    bindings,
    str::CStrExt,
    types::Opaque, //
};

/// A work item in a `static`, run by the system workqueue.
///
/// # Invariants
///
/// Once `ready` is true, `work` has been initialized with `func`.
pub struct StaticWork {
    work: Opaque<bindings::work_struct>,
    func: unsafe extern "C" fn(*mut bindings::work_struct),
    ready: AtomicBool,
}

// SAFETY: The workqueue code synchronizes all accesses to `work`; `ready`
// is atomic.
unsafe impl Sync for StaticWork {}

impl StaticWork {
    /// A work item that runs `func` (typically a C entry point).
    pub const fn new(func: unsafe extern "C" fn(*mut bindings::work_struct)) -> Self {
        Self {
            work: Opaque::uninit(),
            func,
            ready: AtomicBool::new(false),
        }
    }

    fn init(&'static self) {
        if !self.ready.load(Ordering::Acquire) {
            // SAFETY: `work` is static memory, not queued (it was never
            // initialized); `func` takes a `work_struct`, and the class key
            // is static.
            unsafe {
                bindings::init_work_with_key(
                    self.work.get(),
                    Some(self.func),
                    false,
                    c"klp_rs_static_work".as_char_ptr(),
                    kernel::static_lock_class!().as_ptr(),
                )
            };
            // INVARIANT: `work` is initialized with `func`.
            self.ready.store(true, Ordering::Release);
        }
    }

    /// Queues the work on the system workqueue (`schedule_work()`); false if
    /// it was already queued. Call it from one thread at a time (module init).
    pub fn schedule(&'static self) -> bool {
        self.init();
        // CAST: `WORK_CPU_UNBOUND` is `NR_CPUS`, a small `int`.
        let any_cpu = bindings::wq_misc_consts_WORK_CPU_UNBOUND as kernel::ffi::c_int;
        // SAFETY: `work` is initialized (the type invariant) and static.
        unsafe { bindings::queue_work_on(any_cpu, bindings::system_percpu_wq, self.work.get()) }
    }

    /// Waits until the work has finished running (`flush_work()`).
    pub fn flush(&'static self) {
        if self.ready.load(Ordering::Acquire) {
            // SAFETY: `work` is initialized (the type invariant).
            unsafe { bindings::flush_work(self.work.get()) };
        }
    }
}

/// A completion in a `static`.
///
/// # Invariants
///
/// Once `ready` is true, `done` has been initialized.
pub struct StaticCompletion {
    done: Opaque<bindings::completion>,
    ready: AtomicBool,
}

// SAFETY: The completion's own lock synchronizes all accesses.
unsafe impl Sync for StaticCompletion {}

impl StaticCompletion {
    /// A completion not yet completed.
    pub const fn new() -> Self {
        Self {
            done: Opaque::uninit(),
            ready: AtomicBool::new(false),
        }
    }

    /// Initializes the completion; call it before any other method, from
    /// one thread (module init), before the completion is shared.
    pub fn init(&'static self) {
        if !self.ready.load(Ordering::Acquire) {
            // SAFETY: `done` is static memory nobody else uses yet.
            unsafe { bindings::init_completion(self.done.get()) };
            // INVARIANT: `done` is initialized.
            self.ready.store(true, Ordering::Release);
        }
    }

    /// Wakes the waiter (`complete()`); does nothing before `init`.
    pub fn complete(&'static self) {
        if self.ready.load(Ordering::Acquire) {
            // SAFETY: `done` is initialized (the type invariant).
            unsafe { bindings::complete(self.done.get()) };
        }
    }

    /// Sleeps until `complete` (`wait_for_completion()`); returns at once
    /// before `init`.
    pub fn wait(&'static self) {
        if self.ready.load(Ordering::Acquire) {
            // SAFETY: `done` is initialized (the type invariant).
            unsafe { bindings::wait_for_completion(self.done.get()) };
        }
    }
}

impl Default for StaticCompletion {
    fn default() -> Self {
        Self::new()
    }
}

/// Sleeps at least `ms` milliseconds (`msleep()`).
pub fn msleep(ms: u32) {
    // SAFETY: `msleep` may be called from any sleepable context, which is
    // where module code that sleeps runs.
    unsafe { bindings::msleep(ms) }
}
