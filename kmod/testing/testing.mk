# SPDX-License-Identifier: GPL-2.0
#
# Included, after `livepatch.mk`, by the Kbuild of a directory whose modules
# use `kmod/testing`: bindings for the kernel facilities it wraps that the
# kernel crate has no bindings for, generated like the livepatch ones.

klp_rs_testing_bindings := $(obj)/testing_bindings_generated.rs
$(klp_rs_testing_bindings): klp_rs_allowlist := \
	kprobe kprobe_opcode_t kprobe_pre_handler_t kprobe_post_handler_t \
	arch_specific_insn register_kprobe unregister_kprobe \
	proc_create_single_data proc_remove proc_dir_entry
$(klp_rs_testing_bindings): $(src)/../testing/testing_bindings.h FORCE
	$(call if_changed_dep,klp_rs_bindgen)

targets += testing_bindings_generated.rs
clean-files += testing_bindings_generated.rs

$(klp_rs_objects): $(klp_rs_testing_bindings)
export KLP_RS_TESTING_BINDINGS := $(abspath $(klp_rs_testing_bindings))
