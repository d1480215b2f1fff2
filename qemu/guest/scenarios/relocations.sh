# Livepatch relocations: Rust patches that call and read symbols their
# target does not export (`livepatch::klp_extern!`), in vmlinux and in a
# module, including a module loaded after its patch (late module patching),
# unloaded and loaded again. Each step is a transcript.
. /scenarios/ktap.sh

lp=/sys/kernel/livepatch
oops=/sys/module/kernel/parameters/pause_on_oops
secret=/sys/module/klp_rs_reloc_target/parameters/secret

# enable NAME: load the patch and wait for its transition.
enable() {
	insmod "/lib/klp/$1.ko" && wait_for 30 file_is "$lp/$1/transition" 0 && cat "$lp/$1/enabled"
}
# disable NAME: disable the patch, wait until the kernel freed it, unload it.
disable() {
	echo 0 > "$lp/$1/enabled" && wait_for 30 test ! -e "$lp/$1" && rmmod "$1"
}
target() { cat /proc/klp_rs_reloc_target; }

# The steps, each a function for `transcript`.
# The vmlinux patch as built without the post-link step (plain `make`, then
# signed): refused before the kernel sees it, with a log line naming the
# step. On aarch64 the module loader refuses it first: a branch or ADRP to
# address 0 is out of range from module space ("overflow in relocation").
# `/bin/insmod` by path: busybox sh runs its own applet for `insmod`, which
# retries a failed load once more (and runs the init twice).
if [ "$(uname -m)" = aarch64 ]; then
	refusal="module klp_rs_reloc_vmlinux: overflow in relocation"
else
	refusal="not enabling this patch: its module was not post-linked (tools/klp-convert never ran on the .ko)"
fi
unconverted_refused() {
	/bin/insmod /lib/klp/unconverted/klp_rs_reloc_vmlinux.ko && { echo "it loaded"; return 1; }
	dmesg | grep -oF "$refusal" | uniq
	test ! -e "$lp/klp_rs_reloc_vmlinux" && ! grep -q '^klp_rs_reloc_vmlinux ' /proc/modules
}
vmlinux_patched() { enable klp_rs_reloc_vmlinux && echo 3 > $oops && cat /proc/cmdline; }
vmlinux_restored() { echo 0 > $oops && disable klp_rs_reloc_vmlinux && cat /proc/cmdline; }
module_first() { insmod /lib/klp/klp_rs_reloc_target.ko && target && enable klp_rs_reloc_module && target; }
module_live() { echo 5 > $secret && target; }
module_restored() { disable klp_rs_reloc_module && target && rmmod klp_rs_reloc_target; }
module_late() { enable klp_rs_reloc_module && insmod /lib/klp/klp_rs_reloc_target.ko && target; }
module_again() { rmmod klp_rs_reloc_target && insmod /lib/klp/klp_rs_reloc_target.ko secret=7 && target; }
module_gone() { disable klp_rs_reloc_module && target && rmmod klp_rs_reloc_target && ! grep -q klp_rs_reloc /proc/modules; }
healthy_log() {
	dmesg | grep -q "livepatch: applying patch 'klp_rs_reloc_module' to loading module 'klp_rs_reloc_target'" ||
		{ echo "no late patching message:"; dmesg | tail -n 20; return 1; }
	! dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace'
}

original_cmdline=$(cat /proc/cmdline)
plan 10

check "unconverted patch (no post-link step): refused at load, named in the log" transcript "insmod: ERROR: could not insert module /lib/klp/unconverted/klp_rs_reloc_vmlinux.ko: Invalid module format
$refusal
[exit 0]" unconverted_refused

check "vmlinux: static pause_on_oops read, static version_proc_show() called" transcript "1
pause_on_oops=3 $(cat /proc/version)
[exit 0]" vmlinux_patched

check "vmlinux: disabled, /proc/cmdline restored" transcript "$original_cmdline
[exit 0]" vmlinux_restored

check "module loaded first: the patch reaches its statics" transcript "klp_rs_reloc_target: original
1
klp_rs_reloc_target: patched, secret 42, doubled 84, second twin 142
[exit 0]" module_first

check "module: the patch reads the variable live" transcript "klp_rs_reloc_target: patched, secret 5, doubled 10, second twin 105
[exit 0]" module_live

check "module: patch disabled, original back" transcript "klp_rs_reloc_target: original
[exit 0]" module_restored

check "module loaded after the patch: relocations applied as it loads" transcript "1
klp_rs_reloc_target: patched, secret 42, doubled 84, second twin 142
[exit 0]" module_late

check "module unloaded and loaded again under the patch" transcript "klp_rs_reloc_target: patched, secret 7, doubled 14, second twin 107
[exit 0]" module_again

check "module: patch disabled and removed, then the module" transcript "klp_rs_reloc_target: original
[exit 0]" module_gone

check "kernel log: late patching announced; no WARNING, BUG or Oops" healthy_log
