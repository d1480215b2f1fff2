# Signing suite, on a kernel built with CONFIG_MODULE_SIG_FORCE: the patch
# `cargo xtask build` signed loads; the same patch unsigned, and changed
# after signing, is refused by the kernel: `klp load` exits 1 with the
# kernel's error and says how to sign, and nothing changes.
. /scenarios/ktap.sh

original=$(cat /proc/cmdline)
ko=klp_series_v1.ko

enforced() { file_is /sys/module/module/parameters/sig_enforce Y; }
# No patch, no module, /proc/cmdline as it was.
unchanged() {
	[ -z "$(ls /sys/kernel/livepatch)" ] || { echo "patches registered: $(ls /sys/kernel/livepatch)"; return 1; }
	! grep -q klp_series_v1 /proc/modules || { echo "klp_series_v1 is in /proc/modules"; return 1; }
	file_is /proc/cmdline "$original"
}
# refused DIR STATE: `klp load` of /lib/klp/DIR/$ko exits 1 with the
# kernel's error, says the file's STATE and how to sign it; nothing changes.
refused() {
	out=$(klp load "/lib/klp/$1/$ko" 2>&1)
	rc=$?
	[ "$rc" = 1 ] || { echo "klp load exited $rc, expected 1:"; echo "$out"; return 1; }
	for want in "the kernel refused to load \`/lib/klp/$1/$ko\`" "$2" \
		"sign it with the key of its kernel build" "Key was rejected by service (os error 129)"; do
		echo "$out" | grep -qF "$want" || { echo "no '$want' in:"; echo "$out"; return 1; }
	done
	unchanged
}
logged() { dmesg | grep -qF "$1" || { echo "kernel log lacks '$1':"; dmesg | tail -n 5; return 1; }; }
all_clear() { unchanged && healthy_log; }

plan 8
check "the kernel enforces module signatures" enforced
check "klp load refuses the unsigned patch" refused unsigned "the module is not signed"
check "the kernel logs why" logged "Loading of unsigned module is rejected"
check "klp load refuses the patch changed after signing" refused altered "its signature does not verify"
check "klp load of the signed patch" transcript "loaded patch \`klp_series_v1\` (version 1) from \`/lib/klp/$ko\`
[exit 0]" klp load "/lib/klp/$ko"
check "the patch is at work" file_is /proc/cmdline "klp_series_v1: CVE-2026-10001 fixed"
check "klp unload" transcript "unloaded patch \`klp_series_v1\` (version 1)
[exit 0]" klp unload klp_series_v1
check "nothing left; kernel log has no WARNING, BUG or Oops" all_clear
