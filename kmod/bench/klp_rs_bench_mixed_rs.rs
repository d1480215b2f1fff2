// SPDX-License-Identifier: GPL-2.0

//! The klp-rs livepatch of `cargo xtask bench patched-call` whose
//! replacement body is the C one (`klp_rs_bench_mixed_body.c`, compiled by
//! GCC as the C livepatch's): what klp-rs's registration costs a patched
//! call, apart from what the Rust compiler makes of a body.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

livepatch::patch! {
    name: "klp_rs_bench_mixed",
    authors: ["klp-rs developers"],
    description: "int_sqrt() with the bench's fix, registered by klp-rs, body in C",
    vmlinux {
        int_sqrt => extern klp_rs_bench_mixed_int_sqrt,
    }
}
