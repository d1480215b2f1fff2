// SPDX-License-Identifier: GPL-2.0

//! The patch the transition bench replaces: one function.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;
#[macro_use]
#[path = "shared/latency.rs"]
mod latency;

latency_patch!("klp_rs_bench_lat_base", [00]);
