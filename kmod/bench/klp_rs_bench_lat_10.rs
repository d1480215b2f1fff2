// SPDX-License-Identifier: GPL-2.0

//! The transition bench's cumulative replace of 10 functions.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;
#[macro_use]
#[path = "shared/latency.rs"]
mod latency;

latency_patch!("klp_rs_bench_lat_10", [00 01 02 03 04 05 06 07 08 09]);
