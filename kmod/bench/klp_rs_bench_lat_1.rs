// SPDX-License-Identifier: GPL-2.0

//! The transition bench's cumulative replace of 1 function.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;
#[macro_use]
#[path = "shared/latency.rs"]
mod latency;

latency_patch!("klp_rs_bench_lat_1", [00]);
