// SPDX-License-Identifier: GPL-2.0

//! Replaces `klp_rs_reloc_target_show()` of the module `klp_rs_reloc_target`
//! with a function that reads its `static` variable and calls two of its
//! `static` helpers, one of which shares its name with another (`sympos`).
//! The kernel resolves them when the module loads, before or after the
//! patch.

#[path = "../livepatch/mod.rs"]
pub mod livepatch;

use kernel::{
    ffi::{c_int, c_void},
    seq_file::SeqFile,
    seq_print, //
};

livepatch::klp_extern! {
    module "klp_rs_reloc_target" {
        safe fn klp_rs_reloc_target_double(x: c_int) -> c_int;
        #[sympos = 2]
        safe fn klp_rs_reloc_target_twin(x: c_int) -> c_int;
        static klp_rs_reloc_target_secret: c_int;
    }
}

livepatch::patch! {
    name: "klp_rs_reloc_module",
    authors: ["klp-rs"],
    description: "Livepatch test: calls and reads static symbols of a module",
    module "klp_rs_reloc_target" {
        klp_rs_reloc_target_show => fn klp_rs_reloc_target_show_fixed(m: &SeqFile, _v: *mut c_void) -> c_int {
            let secret = klp_rs_reloc_target_secret().read();
            seq_print!(
                m,
                "klp_rs_reloc_target: patched, secret {}, doubled {}, second twin {}\n",
                secret,
                klp_rs_reloc_target_double(secret),
                klp_rs_reloc_target_twin(secret)
            );
            0
        }
    }
}
