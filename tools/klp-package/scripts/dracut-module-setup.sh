#!/bin/bash
# dracut module of klp-rs: copies the active live patch of the kernel being
# packed (the installed one of the highest `klp_version`) to
# /lib/klp-rs/boot/, which the pre-mount hook loads.

@SELECT@

check() {
	# Only when the kernel has a patch installed.
	klp_rs_select "$kernel" >/dev/null || return 255
	return 0
}

depends() {
	return 0
}

install() {
	local ko
	ko=$(klp_rs_select "$kernel") || return 0
	inst_simple "$ko" "/lib/klp-rs/boot/${ko##*/}"
	inst_multiple insmod
	inst_hook pre-mount 10 "$moddir/klp-rs-load.sh"
}
