# `cargo xtask bench patched-call`: the cost of a call of int_sqrt(),
# unpatched, redirected by a bare ftrace handler (the floor), replaced by a
# C livepatch, by a klp-rs one written in Rust, by a klp-rs one whose body
# is the C one, and by the one `cargo xtask generate` made from kmod/bench/int_sqrt.patch, then unpatched again. Each
# variant runs $reps loops of $calls calls (klp_rs_bench_target, interrupts
# off); each loop prints "bench-call VARIANT calls N ns T sum S". Under
# QEMU's -icount the guest's nanoseconds are instructions.
. /scenarios/ktap.sh

lp=/sys/kernel/livepatch
calls=100000
reps=5
results=/tmp/bench-call
# int_sqrt(1000), whichever version runs.
expect_sum=$((calls * 31))

# loops VARIANT: $reps loops, each checked: all calls made, every result right.
loops() {
	i=0
	while [ $i -lt $reps ]; do
		echo $calls > /proc/klp_rs_bench_call || return 1
		read -r line < /proc/klp_rs_bench_call || return 1
		case "$line" in
		"calls $calls ns "*" sum $expect_sum") echo "bench-call $1 $line" >> $results || return 1 ;;
		*) echo "$1: expected $calls calls summing to $expect_sum, got: $line"; return 1 ;;
		esac
		i=$((i + 1))
	done
}

# livepatch MODULE VARIANT: loaded, transition complete, loops, disabled,
# freed, unloaded.
livepatch() {
	insmod "/lib/klp/$1.ko" &&
		wait_for 60 file_is "$lp/$1/transition" 0 &&
		loops "$2" &&
		echo 0 > "$lp/$1/enabled" &&
		wait_for 60 test ! -e "$lp/$1" &&
		rmmod "$1"
}

floor() {
	insmod /lib/klp/klp_rs_bench_redirect.ko && loops floor && rmmod klp_rs_bench_redirect
}

plan 10
check "target loaded" insmod /lib/klp/klp_rs_bench_target.ko
check "unpatched" loops unpatched
check "bare ftrace redirect (the floor)" floor
check "C livepatch" livepatch klp_rs_bench_c c
check "klp-rs livepatch in Rust" livepatch klp_rs_bench_rust rust
check "klp-rs livepatch, body in C" livepatch klp_rs_bench_mixed mixed
check "generated livepatch" livepatch klp_int_sqrt generated
check "unpatched again" loops unpatched-again
check "kernel log: no WARNING, BUG or Oops" healthy_log
check "target unloaded" rmmod klp_rs_bench_target
cat $results
