# The check of `my_sample.ko`, a copy of kmod/samples/livepatch_sample.rs
# built from a directory of its own: `cargo xtask qemu --modules DIR
# --script my_sample.sh` runs it in the guest with busybox sh and the
# helpers of qemu/guest/scenarios/ktap.sh (`check NAME COMMAND...` reports
# a KTAP point). `cargo xtask test` runs it on every arch.
lp=/sys/kernel/livepatch/my_sample
original=$(cat /proc/cmdline)

enabled() { file_is $lp/enabled 1 && wait_for 30 file_is $lp/transition 0; }
# Once the transition back completes, the kernel frees the patch.
disable() { echo 0 > $lp/enabled && wait_for 30 test ! -e $lp; }

check "insmod my_sample.ko" insmod /lib/klp/my_sample.ko
check "enabled, transition complete" enabled
check "/proc/cmdline is patched" file_is /proc/cmdline "this has been live patched"
check "disabled, the patch is gone" disable
check "/proc/cmdline is back" file_is /proc/cmdline "$original"
check "rmmod my_sample" rmmod my_sample
