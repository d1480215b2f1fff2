# `$1`: 1 on install, 2 or more on upgrade: both load and refresh. A
# refused load fails the scriptlet (the fix is not live and the admin must
# know) after the initramfs is refreshed.
status=0
klp_rs_activate || status=$?
klp_rs_refresh_initrd dracut
exit "$status"
