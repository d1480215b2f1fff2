// SPDX-License-Identifier: GPL-2.0

// The body of `test_klp_state2` and `test_klp_state3` (the C `state3`
// includes `state2`): version 2 of `CONSOLE_LOGLEVEL_STATE`, which takes
// over the change of an earlier patch and hands it back on downgrade.

/// Declares the whole patch module `$name`.
macro_rules! console_loglevel_v2 {
    ($name:literal) => {
        use kernel::{
            ffi::c_int,
            prelude::*, //
        };
        use livepatch::{
            Callbacks,
            ObjectRef,
            State, //
        };
        use testing::{
            console_loglevel,
            set_console_loglevel,
            CONSOLE_LOGLEVEL_MOTORMOUTH, //
        };

        static CONSOLE_LOGLEVEL_STATE: State<c_int> = State::new(1, 2);

        struct ConsoleLoglevel;

        #[vtable]
        impl Callbacks for ConsoleLoglevel {
            fn pre_patch(obj: &ObjectRef) -> Result {
                pr_info!("pre_patch_callback: {obj}\n");
                if CONSOLE_LOGLEVEL_STATE.get_prev().is_some() {
                    pr_info!("allocate_loglevel_state: space to store console_loglevel already allocated\n");
                    return Ok(());
                }
                let state = CONSOLE_LOGLEVEL_STATE.get().ok_or(EINVAL)?;
                state.alloc(0, GFP_KERNEL)?;
                pr_info!("allocate_loglevel_state: allocating space to store console_loglevel\n");
                Ok(())
            }
            fn post_patch(obj: &ObjectRef) {
                pr_info!("post_patch_callback: {obj}\n");
                let Some(state) = CONSOLE_LOGLEVEL_STATE.get() else {
                    return;
                };
                if let Some(prev) = CONSOLE_LOGLEVEL_STATE.get_prev() {
                    pr_info!("fix_console_loglevel: taking over the console_loglevel change\n");
                    state.take_over(&prev);
                    return;
                }
                pr_info!("fix_console_loglevel: fixing console_loglevel\n");
                // The data was allocated by `pre_patch`.
                let _ = state.write(console_loglevel());
                set_console_loglevel(CONSOLE_LOGLEVEL_MOTORMOUTH);
            }
            fn pre_unpatch(obj: &ObjectRef) {
                pr_info!("pre_unpatch_callback: {obj}\n");
                let Some(state) = CONSOLE_LOGLEVEL_STATE.get() else {
                    return;
                };
                if CONSOLE_LOGLEVEL_STATE.get_prev().is_some() {
                    pr_info!("restore_console_loglevel: passing the console_loglevel change back to the old livepatch\n");
                    return;
                }
                pr_info!("restore_console_loglevel: restoring console_loglevel\n");
                if let Some(level) = state.read() {
                    set_console_loglevel(level);
                }
            }
            fn post_unpatch(obj: &ObjectRef) {
                pr_info!("post_unpatch_callback: {obj}\n");
                let Some(state) = CONSOLE_LOGLEVEL_STATE.get() else {
                    return;
                };
                if CONSOLE_LOGLEVEL_STATE.get_prev().is_some() {
                    pr_info!("free_loglevel_state: keeping space to store console_loglevel\n");
                    return;
                }
                pr_info!("free_loglevel_state: freeing space for the stored console_loglevel\n");
                state.free();
            }
        }

        livepatch::patch! {
            name: $name,
            authors: ["Petr Mladek <pmladek@suse.com>"],
            description: "Livepatch test: system state modification",
            replace: true,
            states: [CONSOLE_LOGLEVEL_STATE],
            vmlinux with ConsoleLoglevel {}
        }
    };
}
