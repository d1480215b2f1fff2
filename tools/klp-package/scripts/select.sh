# Prints the active patch of kernel `$1` as installed: the
# `/lib/modules/$1/livepatch/*.ko` of the highest `klp_version`, read with
# kmod's `modinfo` (klp-rs, tools/klp-package). `KLP_RS_MODULES_DIR`
# stands for `/lib/modules` in tests.
klp_rs_select() {
	klp_rs_best=
	klp_rs_best_version=-1
	for klp_rs_ko in "${KLP_RS_MODULES_DIR:-/lib/modules}/$1/livepatch/"*.ko; do
		[ -f "$klp_rs_ko" ] || continue
		klp_rs_v=$(modinfo -F klp_version "$klp_rs_ko" 2>/dev/null) || continue
		case "$klp_rs_v" in
		'' | *[!0-9]*) continue ;;
		esac
		if [ "$klp_rs_v" -gt "$klp_rs_best_version" ]; then
			klp_rs_best=$klp_rs_ko
			klp_rs_best_version=$klp_rs_v
		fi
	done
	[ -n "$klp_rs_best" ] && echo "$klp_rs_best"
}
