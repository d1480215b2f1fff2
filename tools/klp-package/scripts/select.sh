# Prints the active patch of kernel `$1` as installed: the
# `/lib/modules/$1/livepatch/*.ko` of the highest `klp_version`, read with
# kmod's `modinfo` (klp-rs, tools/klp-package).
klp_rs_select() {
	best=
	best_version=-1
	for ko in "/lib/modules/$1/livepatch/"*.ko; do
		[ -f "$ko" ] || continue
		v=$(modinfo -F klp_version "$ko" 2>/dev/null) || continue
		case "$v" in
		'' | *[!0-9]*) continue ;;
		esac
		if [ "$v" -gt "$best_version" ]; then
			best=$ko
			best_version=$v
		fi
	done
	[ -n "$best" ] && echo "$best"
}
