// SPDX-License-Identifier: GPL-2.0

//! Rust twin of the selftests' `test_klp_kprobe.c`: a kprobe on
//! `cmdline_proc_show()`, with a post handler unless `has_post_handler=n`
//! (a kprobe with one cannot share the function's ftrace site with a live
//! patch).

#[path = "../livepatch/mod.rs"]
pub mod livepatch;
#[path = "../testing/mod.rs"]
pub mod testing;

use kernel::{
    c_str,
    prelude::*, //
};
use testing::Kprobe;

module! {
    type: KprobeTest,
    name: "test_klp_kprobe",
    authors: ["Michael Vetter <mvetter@suse.com>"],
    description: "Livepatch test: kprobe function",
    license: "GPL",
}

livepatch::param!(has_post_handler: bool = true, 0o444, "");

struct KprobeTest {
    _probe: Kprobe,
}

impl kernel::Module for KprobeTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let probe = Kprobe::register(c_str!("cmdline_proc_show"), has_post_handler.get())?;
        Ok(Self { _probe: probe })
    }
}
