#!/bin/sh
# initramfs-tools boot script of klp-rs: loads the live patch the hook
# copied, before the root file system is mounted.
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

for ko in /lib/klp-rs/boot/*.ko; do
	[ -f "$ko" ] || continue
	if insmod "$ko"; then
		echo "klp-rs: loaded live patch ${ko##*/}"
	else
		echo "klp-rs: warning: cannot load live patch ${ko##*/}: booting unpatched"
	fi
done
exit 0
