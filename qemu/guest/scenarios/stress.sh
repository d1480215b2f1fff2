# Patching under load: a cumulative series of Rust patches of
# `klp_rs_stress_target` (v0 -> v1 -> v2 -> back to v1 -> unloaded, again
# and again: each step one module loaded, one transition, the replaced module
# unloaded) while one kernel thread per CPU and one shell loop per CPU call
# the patched function in a tight loop, checking every result, and one task
# sleeps inside the other patched function part of the time. Every result
# must be the old or the new version's; every transition must complete; the
# kernel log must stay clean. Transition times come from the kernel's own
# timestamps of "starting ... transition" and "... complete".
. /scenarios/ktap.sh

lp=/sys/kernel/livepatch
params=/sys/module/klp_rs_stress_target/parameters
steps=200
klog=/tmp/stress-klog
times=/tmp/stress-times
stop=/tmp/stress-stop
bad=/tmp/stress-bad-reads
exited=/tmp/stress-exited
cpus=$(grep -c '^processor' /proc/cpuinfo)

# Kernel timestamps on, the transition's per-task verdicts into the log,
# and the console spared the notices of 200 transitions (warnings and worse
# still reach it).
# (In `start_load`, the first step, whose status they are part of.)

bit() { echo $((1 << $1)); }

# load NEW OLD: load version NEW, replacing version OLD (- if none), wait for
# the transition, then unload OLD's module.
load() {
	if [ "$2" = - ]; then old=1; else old=$(bit "$2"); fi
	echo $(($(bit "$1") | old)) > $params/allowed &&
		insmod "/lib/klp/klp_rs_stress_v$1.ko" &&
		wait_for 60 file_is "$lp/klp_rs_stress_v$1/transition" 0 &&
		bit "$1" > $params/allowed || return 1
	[ "$2" = - ] && return 0
	wait_for 30 test ! -e "$lp/klp_rs_stress_v$2" && rmmod "klp_rs_stress_v$2"
}

# unload VERSION: disable the patch, wait until the kernel freed it, unload it.
unload() {
	echo $(($(bit "$1") | 1)) > $params/allowed &&
		echo 0 > "$lp/klp_rs_stress_v$1/enabled" &&
		wait_for 60 test ! -e "$lp/klp_rs_stress_v$1" &&
		echo 1 > $params/allowed &&
		rmmod "klp_rs_stress_v$1"
}

start_load() {
	echo 1 > /sys/module/printk/parameters/time &&
		echo 'file kernel/livepatch/transition.c +p' > /proc/dynamic_debug/control &&
		echo 5 > /proc/sys/kernel/printk &&
		dmesg -c > $klog || return 1
	insmod /lib/klp/klp_rs_stress_target.ko || return 1
	[ "$cpus" -ge 2 ] || { echo "only $cpus CPU"; return 1; }
	threads=$(grep -l '^klp_rs_stress/' /proc/[0-9]*/comm 2>/dev/null | wc -l)
	[ "$threads" -eq "$cpus" ] || { echo "$threads caller threads for $cpus CPUs"; return 1; }
	rm -f $stop $bad $exited
	# In the background of `check`'s subshell (their output must not hold
	# its pipe open), at the lowest priority, as the kernel threads (busybox
	# has `renice` on every arch, `nice` not on all): they
	# take every cycle the steps leave. $1: the file that stops them, $2:
	# where a wrong read goes, $3: where each says it stopped.
	i=0
	while [ $i -lt "$cpus" ]; do
		sh -c 'renice -n 19 -p $$ > /dev/null || exit 1
		while [ ! -e "$1" ]; do
			read -r v < /proc/klp_rs_stress
			case "$v" in "value "[012]) ;; *) echo "$v" >> "$2" ;; esac
		done
		echo reader >> "$3"' reader $stop $bad $exited > /dev/null 2>&1 &
		i=$((i + 1))
	done
	sh -c 'renice -n 19 -p $$ > /dev/null || exit 1
	while [ ! -e "$1" ]; do
		read -r v < /proc/klp_rs_stress_nap
		case "$v" in "value "[012]) ;; *) echo "nap: $v" >> "$2" ;; esac
		sleep 0.3
	done
	echo sleeper >> "$3"' sleeper $stop $bad $exited > /dev/null 2>&1 &
	return 0
}

run_steps() {
	n=0
	while [ $n -lt $steps ]; do
		case $((n % 5)) in
		0) load 0 - ;;
		1) load 1 0 ;;
		2) load 2 1 ;;
		3) load 1 2 ;;
		4) unload 1 ;;
		esac || {
			echo "step $n ($((n % 5)) of the series) failed"
			dmesg | tail -n 20
			return 1
		}
		dmesg -c >> $klog
		n=$((n + 1))
	done
}

kernel_callers() {
	read -r _ calls _ wrong _ last < /proc/klp_rs_stress_stats
	echo "calls $calls wrong $wrong last_wrong $last"
	[ "$calls" -gt 0 ] && [ "$wrong" -eq 0 ]
}

all_exited() { [ "$(cat $exited 2>/dev/null | wc -l)" -eq $((cpus + 1)) ]; }

user_callers() {
	touch $stop
	wait_for 30 all_exited || return 1
	[ ! -s $bad ] || { head -n 5 $bad; return 1; }
}

# The sleeper was found inside klp_rs_stress_nap by at least one transition
# (which retried and completed, as run_steps saw).
sleeper_waited() {
	n=$(grep -c 'is sleeping on function klp_rs_stress_nap' $klog)
	echo "$n transition checks found the sleeper inside klp_rs_stress_nap" > $klog.sleeper
	[ "$n" -gt 0 ]
}

# The kernel's timestamps of each transition's start and end, in ms, sorted.
transition_times() {
	dmesg -c >> $klog
	awk '
	function stamp(line) { sub(/^\[ */, "", line); sub(/\].*/, "", line); return line + 0 }
	function patch(line) { sub(/^[^'\'']*'\''/, "", line); sub(/'\''.*/, "", line); return line }
	/: starting (un)?patching transition/ { start[patch($0)] = stamp($0) }
	/: (un)?patching complete/ {
		p = patch($0)
		if (p in start) { printf "%d\n", (stamp($0) - start[p]) * 1000; delete start[p] }
	}' $klog | sort -n > $times
	n=$(wc -l < $times)
	median=$(sed -n "$(((n + 1) / 2))p" $times)
	p99=$(sed -n "$(((n * 99 + 99) / 100))p" $times)
	max=$(tail -n 1 $times)
	echo "transitions n=$n median=${median}ms p99=${p99}ms max=${max}ms" > $times.summary
	[ "$n" -eq $steps ]
}

healthy_log() {
	! grep -E 'WARNING:|BUG:|Oops|Call Trace|possible recursive locking|circular locking|DEBUG_LOCKS_WARN_ON|INFO: possible|INFO: trying to register|UBSAN:|KASAN:' $klog
}

stop_target() {
	rmmod klp_rs_stress_target && ! grep -q '^klp_rs_stress' /proc/modules &&
		echo 7 > /proc/sys/kernel/printk
}

plan 8
check "target loaded; a caller thread per CPU, a reader per CPU and a sleeper running" start_load
check "$steps steps of v0 -> v1 -> v2 -> v1 -> unloaded under load, each transition complete" run_steps
check "kernel callers: every result was the old or the new version" kernel_callers
echo "# stress: kernel callers: $(cat /proc/klp_rs_stress_stats)"
check "user-space callers: every read showed the old or the new version" user_callers
check "a task sleeping in a patched function held transitions back" sleeper_waited
echo "# stress: $(cat $klog.sleeper)"
check "transition times from the kernel's timestamps, one per step" transition_times
echo "# stress: $(cat $times.summary)"
check "kernel log: no WARNING, BUG, Oops or lockdep report" healthy_log
check "target unloaded" stop_target
