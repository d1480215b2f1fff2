// SPDX-License-Identifier: GPL-2.0

//! The patches of `cargo xtask bench transition`: cumulative patches of the
//! first N of `klp_rs_bench_target`'s latency functions, each replacement
//! returning 1. Included by each `klp_rs_bench_lat_*.rs`.

/// `latency_patch!("name", [00 01 ...])`: a cumulative (`replace: true`)
/// patch of `klp_rs_bench_fn_<n>` for every `n` listed.
macro_rules! latency_patch {
    ($name:literal, [$($n:literal)+]) => {
        ::kernel::macros::paste! {
            livepatch::patch! {
                name: $name,
                authors: ["klp-rs developers"],
                description: "Transition latency bench: a cumulative patch",
                replace: true,
                module "klp_rs_bench_target" {
                    $(
                        [<klp_rs_bench_fn_ $n>] => fn [<fn_ $n>]() -> ::kernel::ffi::c_int {
                            1
                        }
                    )+
                }
            }
        }
    };
}
