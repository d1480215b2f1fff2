# On an upgrade the new version's postinst has refreshed the initramfs.
case "$1" in
remove | purge)
	klp_rs_refresh_initrd update-initramfs
	;;
esac
exit 0
