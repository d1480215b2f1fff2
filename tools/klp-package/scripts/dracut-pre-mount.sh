#!/bin/sh
# dracut pre-mount hook of klp-rs: loads the live patch module-setup.sh
# copied, before the root file system is mounted.
for ko in /lib/klp-rs/boot/*.ko; do
	[ -f "$ko" ] || continue
	if insmod "$ko"; then
		echo "klp-rs: loaded live patch ${ko##*/}"
	else
		echo "klp-rs: warning: cannot load live patch ${ko##*/}: booting unpatched"
	fi
done
