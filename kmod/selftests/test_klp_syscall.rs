// SPDX-License-Identifier: GPL-2.0

//! Rust twin of the selftests' `test_klp_syscall.c`: replaces the `getpid`
//! system call; each process named in `klp_pids` counts itself off once it
//! runs the new code, and `/sys/kernel/test_klp_syscall/npids` shows how
//! many have not yet.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;
#[path = "../testing/mod.rs"]
pub mod testing;

use core::sync::atomic::{
    AtomicI32,
    AtomicU32,
    Ordering, //
};
use kernel::{
    bindings::pt_regs,
    c_str,
    ffi::c_long,
    prelude::*, //
};
use testing::{
    KernelDir,
    ShowU32, //
};

module! {
    type: SyscallPatch,
    name: "test_klp_syscall",
    authors: [
        "Libor Pechacek <lpechacek@suse.cz>",
        "Nicolai Stange <nstange@suse.de>",
        "Marcos Paulo de Souza <mpdesouza@suse.com>"
    ],
    description: "Livepatch test: syscall transition",
    license: "GPL",
}

livepatch::livepatch_modinfo!();

const NR_CPUS: usize = kernel::bindings::CONFIG_NR_CPUS as usize;

livepatch::param!(klp_pids: [i32; NR_CPUS], 0, "Array of pids to be transitioned to livepatched state.");

/// The pids still to transition (0 once counted off), and how many.
static PIDS: [AtomicI32; NR_CPUS] = [const { AtomicI32::new(0) }; NR_CPUS];
static NPIDS_PENDING: AtomicU32 = AtomicU32::new(0);

struct Npids;

impl ShowU32 for Npids {
    fn show() -> u32 {
        NPIDS_PENDING.load(Ordering::Relaxed)
    }
}

static PATCH: livepatch::Patch = livepatch::spec! {
    vmlinux {
        // The entry takes the registers; `getpid` reads none.
        #[syscall] getpid => fn lp_sys_getpid(_regs: *const pt_regs) -> c_long {
            let current = kernel::current!();
            if NPIDS_PENDING.load(Ordering::Relaxed) > 0 {
                let pid = current.pid();
                let counted = PIDS
                    .iter()
                    .any(|p| p.compare_exchange(pid, 0, Ordering::Relaxed, Ordering::Relaxed).is_ok());
                if counted {
                    NPIDS_PENDING.fetch_sub(1, Ordering::Relaxed);
                }
            }
            // CAST: A pid fits any `long`.
            current.tgid_nr_ns(None) as c_long
        }
    }
};

struct SyscallPatch {
    _registration: livepatch::Registration,
    _npids: KernelDir<Npids>,
}

impl kernel::Module for SyscallPatch {
    fn init(module: &'static ThisModule) -> Result<Self> {
        let npids = KernelDir::create(c_str!("test_klp_syscall"), c_str!("npids"))?;
        let (pids, count) = klp_pids.values();
        for (slot, pid) in PIDS.iter().zip(&pids[..count]) {
            slot.store(*pid, Ordering::Relaxed);
        }
        NPIDS_PENDING.store(count as u32, Ordering::Relaxed);
        Ok(Self {
            _registration: livepatch::Registration::enable(module, &PATCH, false)?,
            _npids: npids,
        })
    }
}
