# The maintainer scripts' shared functions (klp-rs, tools/klp-package).
# The package's builder defines before them: KLP_RS_PACKAGE (the package),
# KLP_RS_KERNEL (the patch's kernel release), KLP_RS_NAME (the module name)
# and KLP_RS_MODULE (the installed .ko).

klp_rs_say() {
	echo "$KLP_RS_PACKAGE: $*"
}

# Loads the patch when its kernel is the running one; never fails on a
# transition that is still running.
klp_rs_activate() {
	klp_rs_running=$(uname -r)
	if [ "$klp_rs_running" != "$KLP_RS_KERNEL" ]; then
		klp_rs_say "installed the live patch of kernel $KLP_RS_KERNEL; the running kernel is $klp_rs_running: nothing loaded (the patch loads when $KLP_RS_KERNEL boots)"
		return 0
	fi
	# `KLP_RS_SYSFS` stands for `/sys` in tests.
	klp_rs_sys=${KLP_RS_SYSFS:-/sys}
	if [ -d "$klp_rs_sys/kernel/livepatch/$KLP_RS_NAME" ]; then
		klp_rs_say "patch $KLP_RS_NAME is already loaded"
		return 0
	fi
	if ! command -v klp >/dev/null 2>&1; then
		klp_rs_say "klp is not installed: the patch is installed but not loaded (load it with: klp load $KLP_RS_MODULE)"
		return 0
	fi
	# Its module is still loaded from before a newer patch replaced it (a
	# downgrade goes back to it): a module cannot be loaded twice.
	if [ -d "$klp_rs_sys/module/$KLP_RS_NAME" ]; then
		klp_rs_say "removing the module of the replaced patch $KLP_RS_NAME, to load it again"
		klp unload "$KLP_RS_NAME" || {
			klp_rs_say "error: cannot remove module $KLP_RS_NAME: the running kernel is NOT patched with this version"
			return 1
		}
	fi
	klp_rs_status=0
	klp load "$KLP_RS_MODULE" || klp_rs_status=$?
	if [ "$klp_rs_status" -eq 0 ]; then
		klp_rs_say "loaded patch $KLP_RS_NAME into the running kernel"
		return 0
	fi
	# `klp load` exits 1 when the kernel refused or the transition is still
	# running; `klp check` exits 1 while one is running.
	if [ "$klp_rs_status" -eq 1 ] && ! klp -q check; then
		klp_rs_say "patch $KLP_RS_NAME is loaded and its transition is still running; it completes in the background (klp check, klp blocking)"
		return 0
	fi
	klp_rs_say "error: patch $KLP_RS_NAME could not be loaded: the running kernel is NOT patched (klp load exited $klp_rs_status)"
	return 1
}

# Rebuilds the initramfs of the patch's kernel with `$1`: `update-initramfs`
# or `dracut`; a missing tool or a failed rebuild is said, not fatal. Under
# dpkg's `--force-script-chrootless`, `DPKG_ROOT` is the root installed to.
klp_rs_refresh_initrd() {
	if [ ! -f "${DPKG_ROOT-}/lib/modules/$KLP_RS_KERNEL/modules.dep" ]; then
		klp_rs_say "kernel $KLP_RS_KERNEL is not installed: no initramfs to refresh"
		return 0
	fi
	if ! command -v "$1" >/dev/null 2>&1; then
		klp_rs_say "$1 not found: the initramfs of $KLP_RS_KERNEL is not refreshed"
		return 0
	fi
	case "$1" in
	update-initramfs) set -- update-initramfs -u -k "$KLP_RS_KERNEL" ;;
	dracut) set -- dracut -f --kver "$KLP_RS_KERNEL" ;;
	esac
	klp_rs_say "refreshing the initramfs of $KLP_RS_KERNEL: $*"
	if ! "$@"; then
		klp_rs_say "warning: '$*' failed: the next boot of $KLP_RS_KERNEL may start without the active patch"
	fi
	return 0
}

klp_rs_removed() {
	klp_rs_say "removed; a loaded patch $KLP_RS_NAME stays loaded: unloading a live fix on package removal would silently reopen the hole it closes (to go back: klp downgrade, or klp unload $KLP_RS_NAME)"
}
