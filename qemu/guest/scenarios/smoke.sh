# Smoke suite: the Rust twin of livepatch-sample.c runs in this kernel, and a
# patch that cannot be enabled is refused without harming the kernel.
. /scenarios/ktap.sh

lp=/sys/kernel/livepatch/livepatch_sample
original=$(cat /proc/cmdline)

load_sample() { insmod /lib/klp/livepatch_sample.ko; }
transition_done() { wait_for 30 file_is "$lp/transition" 0; }
enabled_and_done() { file_is "$lp/enabled" 1 && transition_done; }
cmdline_patched() { file_is /proc/cmdline "this has been live patched"; }
# Once the unpatching transition completes, the kernel frees the patch and
# its sysfs directory goes away.
disable() { echo 0 > "$lp/enabled" && wait_for 30 test ! -e "$lp" && file_is /proc/cmdline "$original"; }
remove() { rmmod livepatch_sample && ! grep -q livepatch_sample /proc/modules; }
# Loading must fail, leave no patch behind, and leave /proc/cmdline alone.
bad_refused() {
	if insmod /lib/klp/klp_rs_test_unknown_func.ko; then
		echo "insmod of a patch for a missing function succeeded"
		return 1
	fi
	dmesg | grep -q "livepatch: symbol 'klp_rs_no_such_function' not found" || {
		echo "kernel log lacks the unknown-symbol error:"; dmesg | tail -n 5; return 1; }
	test ! -e /sys/kernel/livepatch/klp_rs_test_unknown_func &&
		! grep -q klp_rs_test_unknown_func /proc/modules &&
		file_is /proc/cmdline "$original"
}
# The kernel of a distribution: 2 CPUs, and the build's signature on the
# sample verified (an unsigned module would taint it `E`).
two_cpus() { file_is /sys/devices/system/cpu/online 0-1; }
signature_verified() {
	taint=$(cat /sys/module/livepatch_sample/taint)
	case $taint in *E*) echo "livepatch_sample taints the kernel '$taint': its signature was not verified"; return 1;; esac
}

plan 9
check "the kernel runs on 2 CPUs" two_cpus
check "livepatch_sample loads" load_sample
check "its signature verified" signature_verified
check "patch enabled, transition complete" enabled_and_done
check "/proc/cmdline shows the patched text" cmdline_patched
check "disabling restores the original text" disable
check "rmmod livepatch_sample" remove
check "patch for an unknown function is refused" bad_refused
check "kernel log has no WARNING, BUG or Oops" healthy_log
