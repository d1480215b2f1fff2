// SPDX-License-Identifier: GPL-2.0

//! A patch whose build must fail: a Rust replacement of a function no
//! kernel has, which the post-link step does not find in the target
//! (`expected` holds its error). With a C replacement the module builds and
//! the kernel refuses it (`kmod/tests/klp_rs_test_unknown_func_rs.rs`).

#[path = "../../../livepatch/mod.rs"]
pub mod livepatch;

livepatch::patch! {
    name: "klp_rs_test_unknown_rust",
    authors: ["klp-rs developers"],
    description: "Test patch for a function that does not exist",
    vmlinux {
        klp_rs_no_such_function => fn replacement() {}
    }
}
