# Demo: a transcript of a Rust live patch at work, then its verdict as KTAP.
. /scenarios/ktap.sh

lp=/sys/kernel/livepatch/livepatch_sample
# The steps that failed, one a line: the verdict names them.
failed=""
# show COMMAND: print it and its output, as a transcript; remember a failure.
show() {
	echo "\$ $*"
	out=$(sh -c "$*" 2>&1)
	rc=$?
	[ -z "$out" ] || echo "$out" | sed 's/^/  /'
	[ "$rc" = 0 ] || { echo "  [exit $rc]"; failed="$failed$* (exit $rc)
"; }
}
# quietly COMMAND: a step not shown; remember a failure.
quietly() { "$@" >/dev/null 2>&1 || failed="$failed$*
"; }

original=$(cat /proc/cmdline)
show cat /proc/cmdline
show insmod /lib/klp/livepatch_sample.ko
quietly wait_for 30 file_is "$lp/transition" 0
show "ls $lp; cat $lp/enabled $lp/transition"
patched=$(cat /proc/cmdline)
show cat /proc/cmdline
show "echo 0 > $lp/enabled"
quietly wait_for 30 test ! -e "$lp"
show ls /sys/kernel/livepatch
show cat /proc/cmdline
show rmmod livepatch_sample
echo

every_step_succeeded() { [ -z "$failed" ] || { printf 'failed: %s' "$failed"; return 1; }; }

plan 3
check "every step succeeded" every_step_succeeded
check "patched: /proc/cmdline says so" test "$patched" = "this has been live patched"
check "reverted: /proc/cmdline is back" file_is /proc/cmdline "$original"
