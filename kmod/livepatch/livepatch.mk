# SPDX-License-Identifier: GPL-2.0
#
# Included by the Kbuild of every directory that holds Rust live patch
# modules, after its `obj-m` lines. It generates the livepatch bindings from
# the kernel's own `include/linux/livepatch.h` with the kernel's own bindgen
# flags (the kernel crate has no livepatch items), so no struct layout is ever
# copied by hand. `kmod/livepatch/mod.rs` includes the result.

# GCC-only flags libclang rejects: the list `rust/Makefile` of this very kernel
# tree uses for its own bindings, read from it so the two never drift.
klp_rs_skip_c_flags := $(shell sed -n -e '/^bindgen_skip_c_flags :=/,/[^\\]$$/p' \
	$(srctree)/rust/Makefile | sed -e 's/^bindgen_skip_c_flags :=//' -e 's/\\$$//')
ifeq ($(strip $(klp_rs_skip_c_flags)),)
$(error klp-rs: no bindgen_skip_c_flags in $(srctree)/rust/Makefile; this kernel tree is not supported)
endif

# libclang targets, as in `rust/Makefile` (only the arches klp-rs runs on).
klp_rs_target_x86 := x86_64-linux-gnu
klp_rs_target_arm64 := aarch64-linux-gnu
klp_rs_target_powerpc := powerpc64le-linux-gnu
klp_rs_target_s390 := s390x-linux-gnu
klp_rs_target := $(klp_rs_target_$(SRCARCH))
ifeq ($(klp_rs_target),)
$(error klp-rs: unsupported SRCARCH `$(SRCARCH)`; supported: x86, arm64, powerpc, s390)
endif

# ppc64le: libclang rejects `-mprofile-kernel` and a GCC-only asm constraint in
# `asm-compat.h` that `CONFIG_CC_IS_CLANG` avoids (no struct layout changes).
klp_rs_skip_c_flags += -mprofile-kernel
klp_rs_extra_c_flags_powerpc := -DCONFIG_CC_IS_CLANG

# cmd_klp_rs_bindgen: bindings for the header `$<` into `$@`, of the items
# matching `klp_rs_allowlist` (a target-specific variable); everything else
# comes from the kernel crate's own bindings.
quiet_cmd_klp_rs_bindgen = BINDGEN $@
      cmd_klp_rs_bindgen = $(BINDGEN) $< --rust-target 1.85 --use-core \
	--ctypes-prefix kernel::ffi --no-layout-tests --no-debug '.*' \
	$(foreach item,$(klp_rs_allowlist),--allowlist-item '$(item)') \
	--no-recursive-allowlist \
	--raw-line 'use kernel::bindings::*;' -o $@ -- \
	$(filter-out $(klp_rs_skip_c_flags), $(c_flags)) -w \
	--target=$(klp_rs_target) $(klp_rs_extra_c_flags_$(SRCARCH)) \
	-fno-builtin -D__BINDGEN__ -DMODULE

klp_rs_bindings := $(obj)/klp_bindings_generated.rs
$(klp_rs_bindings): klp_rs_allowlist := klp_.*
$(klp_rs_bindings): $(srctree)/include/linux/livepatch.h FORCE
	$(call if_changed_dep,klp_rs_bindgen)

targets += klp_bindings_generated.rs
clean-files += klp_bindings_generated.rs

# Every object of the including directory, including the parts of composite
# modules (`name-y := a.o b.o`), may read the bindings.
klp_rs_objects := $(addprefix $(obj)/,$(obj-m) $(foreach m,$(obj-m),$($(m:.o=-y))))
$(klp_rs_objects): $(klp_rs_bindings)
export KLP_RS_BINDINGS := $(abspath $(klp_rs_bindings))
# The release a patch declares it is built for, unless it names one.
export KLP_RS_KERNEL_RELEASE := $(KERNELRELEASE)
