# Demo: a transcript of a Rust live patch at work, then its verdict as KTAP.
. /scenarios/ktap.sh

lp=/sys/kernel/livepatch/livepatch_sample
show() {
	echo "\$ $*"
	sh -c "$*" 2>&1 | sed 's/^/  /'
}

original=$(cat /proc/cmdline)
show cat /proc/cmdline
show insmod /lib/klp/livepatch_sample.ko
wait_for 30 file_is "$lp/transition" 0
show "ls $lp; cat $lp/enabled $lp/transition"
patched=$(cat /proc/cmdline)
show cat /proc/cmdline
show "echo 0 > $lp/enabled"
wait_for 30 test ! -e "$lp"
show ls /sys/kernel/livepatch
show cat /proc/cmdline
show rmmod livepatch_sample
echo

plan 2
check "patched: /proc/cmdline says so" test "$patched" = "this has been live patched"
check "reverted: /proc/cmdline is back" file_is /proc/cmdline "$original"
