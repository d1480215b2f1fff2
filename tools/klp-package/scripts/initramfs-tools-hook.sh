#!/bin/sh
# initramfs-tools hook of klp-rs: copies the active live patch of the kernel
# being packed (the installed one of the highest `klp_version`) to
# /lib/klp-rs/boot/, where scripts/init-top/klp-rs loads it.
PREREQ=""
prereqs() {
	echo "$PREREQ"
}
case "$1" in
prereqs)
	prereqs
	exit 0
	;;
esac

. /usr/share/initramfs-tools/hook-functions

@SELECT@

ko=$(klp_rs_select "$version") || exit 0
mkdir -p "$DESTDIR/lib/klp-rs/boot"
copy_file module "$ko" "/lib/klp-rs/boot/${ko##*/}"
copy_exec /sbin/insmod /sbin
