// SPDX-License-Identifier: GPL-2.0

//! Version 2 of the `stress` suite's cumulative series: both functions of
//! `klp_rs_stress_target` return 2, the nap after its sleep.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

use kernel::{
    ffi::{c_int, c_uint},
    time::{delay::fsleep, Delta}, //
};

livepatch::patch! {
    name: "klp_rs_stress_v2",
    authors: ["klp-rs developers"],
    description: "Stress series, version 2",
    replace: true,
    metadata: {
        version: 2,
    },
    module "klp_rs_stress_target" {
        klp_rs_stress_value => fn value_v2() -> c_int {
            2
        }
        klp_rs_stress_nap => fn nap_v2(ms: c_uint) -> c_int {
            fsleep(Delta::from_millis(ms.into()));
            2
        }
    }
}
