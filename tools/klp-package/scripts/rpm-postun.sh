# On an upgrade the new version's %post has refreshed the initramfs.
if [ "$1" = 0 ]; then
	klp_rs_refresh_initrd dracut
fi
