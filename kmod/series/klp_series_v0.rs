// SPDX-License-Identifier: GPL-2.0

//! The initial (seed) patch of a kernel build: version 0 of its cumulative
//! series, with no replaced function. Loaded at boot, it makes every later
//! patch of the series an atomic replacement of a patch already in place.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

livepatch::patch! {
    name: "klp_series_v0",
    authors: ["klp-rs developers"],
    description: "Initial cumulative patch of this kernel build (no fixes)",
    replace: true,
    metadata: {
        version: 0,
        seed: true,
    },
    vmlinux {}
}
