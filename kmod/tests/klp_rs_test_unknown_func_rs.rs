// SPDX-License-Identifier: GPL-2.0

//! A patch the kernel must refuse: it replaces a function no kernel has.
//!
//! The smoke suite loads it and expects `insmod` to fail with the kernel's
//! error, no patch left in `/sys/kernel/livepatch`, and a healthy kernel.
//! The replacement is C (`klp_rs_test_unknown_func_body.c`): a Rust one
//! would not build, as the post-link step finds no such function in the
//! target (`refused/unknown_func`).

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

livepatch::patch! {
    name: "klp_rs_test_unknown_func",
    authors: ["klp-rs developers"],
    description: "Test patch for a function that does not exist",
    vmlinux {
        klp_rs_no_such_function => extern klp_rs_test_unknown_replacement,
    }
}
