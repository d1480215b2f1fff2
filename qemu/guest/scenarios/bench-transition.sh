# `cargo xtask bench transition`: how long a cumulative replace takes, from
# the kernel's "enabling patch" (klp_enable_patch(), before the functions'
# ftrace handlers are registered) to its "patching complete",
# for a patch of 1, 10 and 100 functions replacing a patch of one, with the
# CPUs idle and with one shell per CPU calling all the patched functions in
# a tight loop (reading /proc/klp_rs_bench_fns). Prints one line
# per transition: "bench-transition LOAD FUNCTIONS MICROSECONDS". Under
# QEMU's -icount a guest microsecond is a thousand instructions.
. /scenarios/ktap.sh

lp=/sys/kernel/livepatch
klog=/tmp/bench-transition-klog
results=/tmp/bench-transition
stop=/tmp/bench-transition-stop
cpus=$(grep -c '^processor' /proc/cpuinfo)

# replace N: the base patch loaded, then the patch of N functions replacing
# it; both transitions complete; then the replaced base unloaded, the patch
# of N disabled, freed and unloaded.
replace() {
	insmod /lib/klp/klp_rs_bench_lat_base.ko &&
		wait_for 120 file_is $lp/klp_rs_bench_lat_base/transition 0 &&
		insmod "/lib/klp/klp_rs_bench_lat_$1.ko" &&
		wait_for 120 file_is "$lp/klp_rs_bench_lat_$1/transition" 0 &&
		wait_for 120 test ! -e $lp/klp_rs_bench_lat_base &&
		rmmod klp_rs_bench_lat_base &&
		echo 0 > "$lp/klp_rs_bench_lat_$1/enabled" &&
		wait_for 120 test ! -e "$lp/klp_rs_bench_lat_$1" &&
		rmmod "klp_rs_bench_lat_$1"
}

# callers: one shell per CPU calling the patched functions in a tight loop
# (through /proc/klp_rs_bench_fns) until $stop exists. (Their results are
# the stress suite's concern; here they are load.)
callers() {
	rm -f $stop
	i=0
	while [ $i -lt "$cpus" ]; do
		sh -c 'while [ ! -e "$1" ]; do read -r v < /proc/klp_rs_bench_fns || exit 1; done' \
			caller $stop > /dev/null 2>&1 &
		i=$((i + 1))
	done
}

# series LOAD REPS: the target loaded (LOAD: idle, or loaded with the
# callers running), REPS replaces of 1, 10 and 100 functions, their times
# from the kernel's timestamps, the callers stopped, the target unloaded.
series() {
	dmesg -c >> $klog
	insmod /lib/klp/klp_rs_bench_target.ko || return 1
	[ "$1" = loaded ] && callers
	for n in 1 10 100; do
		r=0
		while [ $r -lt "$2" ]; do
			replace $n || { dmesg | tail -n 20; return 1; }
			r=$((r + 1))
		done
	done
	touch $stop
	wait
	rmmod klp_rs_bench_target || return 1
	dmesg -c > $klog.$1
	cat $klog.$1 >> $klog
	awk -v load="$1" '
	function stamp(line) { sub(/^\[ */, "", line); sub(/\].*/, "", line); return line }
	function usec(s) { split(s, p, "."); return p[1] * 1000000 + p[2] }
	function patch(line) { sub(/^[^'\'']*'\''/, "", line); sub(/'\''.*/, "", line); return line }
	/: enabling patch / { start[patch($0)] = usec(stamp($0)) }
	/: patching complete/ {
		p = patch($0)
		if (p in start && p ~ /^klp_rs_bench_lat_[0-9]+$/) {
			n = p; sub(/^klp_rs_bench_lat_/, "", n)
			printf "bench-transition %s %s %d\n", load, n, usec(stamp($0)) - start[p]
		}
		delete start[p]
	}' $klog.$1 >> $results
	got=$(grep -c "^bench-transition $1 " $results)
	[ "$got" -eq $((3 * $2)) ] || { echo "$got transitions timed, expected $((3 * $2))"; return 1; }
}

healthy_log() {
	dmesg -c >> $klog
	! grep -E 'WARNING:|BUG:|Oops|Call Trace' $klog
}

plan 4
check "kernel timestamps and the transitions' debug lines on" sh -c \
	"echo 1 > /sys/module/printk/parameters/time &&
	echo 'file kernel/livepatch/transition.c +p' > /proc/dynamic_debug/control &&
	echo 5 > /proc/sys/kernel/printk"
check "idle: 5 replaces of 1, 10 and 100 functions" series idle 5
check "loaded (a caller per CPU): 3 replaces of 1, 10 and 100 functions" series loaded 3
check "kernel log: no WARNING, BUG or Oops" healthy_log
cat $results
