// SPDX-License-Identifier: GPL-2.0

//! Whether the post-link step ran on this module.
//!
//! A reference to an unexported symbol ([`klp_extern!`](super::klp_extern))
//! is a weak undefined symbol until the post-link step (`tools/klp-convert`)
//! turns it into a livepatch relocation. A module loaded without that step
//! would have the module loader resolve it to 0, and a replacement calling
//! it would call address 0. So the step marks every module it processes:
//! it sets each byte of the section `.klp_rs.post_linked`, which this file
//! puts into every patch module as a 0.
//! [`Registration::enable`](super::Registration::enable) refuses a module
//! whose mark is still 0.

use kernel::prelude::*;

/// The mark: 0 as built, 1 once `klp-convert` processed the `.ko`.
#[used]
#[link_section = ".klp_rs.post_linked"]
static POST_LINKED: u8 = 0;

/// `Ok` if the post-link step processed this module; otherwise logs why the
/// patch cannot be enabled and what to do, and fails with `ENOEXEC` (the
/// module is not in the format the kernel's livepatch code needs).
pub(crate) fn check() -> Result {
    // Volatile: the value was changed in the `.ko` after compilation, which
    // the compiler cannot know.
    let mark =
        // SAFETY: `POST_LINKED` is a valid, aligned `u8` that lives as long
        // as the module.
        unsafe { core::ptr::read_volatile(&POST_LINKED) };
    if mark != 0 {
        return Ok(());
    }
    pr_err!(
        "klp-rs: not enabling this patch: its module was not post-linked (tools/klp-convert never ran on the .ko), so its references to unexported kernel symbols would be calls to address 0; build it with `cargo xtask build DIR`, or run `klp-convert --kernel <kernel build> <module>.ko` after make and before signing\n"
    );
    Err(ENOEXEC)
}
