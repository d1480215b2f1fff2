// SPDX-License-Identifier: GPL-2.0

//! Rust twin of the selftests' `test_klp_state2.c`: version 2 of the
//! console loglevel state, which supports migration
//! (`shared/console_loglevel_v2.rs`).

#[path = "../livepatch/mod.rs"]
pub mod livepatch;
#[path = "../testing/mod.rs"]
pub mod testing;

include!("shared/console_loglevel_v2.rs");
console_loglevel_v2!("test_klp_state2");
