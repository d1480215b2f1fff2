# The Rust twins of the kernel's samples/livepatch/ (kmod/samples/) against
# the kernel's own C target modules, side by side with the C samples built
# from the same tree: each twin must log what its C sample logs.
. /scenarios/ktap.sh

c=/samples/c
log=/tmp/samples.log
: > "$log"

# The kernel log since the last call, kept in $log for the final check.
new_log() { dmesg -c | tee -a "$log" | sed 's/^\[[ 0-9.]*\] //'; }
# The log with pointers, jiffies and counts made alike (`%p` prints a hash,
# or `(____ptrval____)` before the kernel has the randomness to hash).
masked() { sed -E 's/\(____ptrval____\)/X/g; s/(0x)?[0-9a-f]{8,}/X/g; s/= [0-9]+$/= N/'; }
has() { grep -q -- "$1" /tmp/phase || { echo "no line matching '$1' in:"; cat /tmp/phase; return 1; }; }
collect() { new_log >> /tmp/phase; }

# patch_file VARIANT NAME: the module file of sample NAME (c or rust).
patch_file() {
	case $1 in
	c) echo "$c/$(echo "$2" | tr _ -).ko" ;;
	rust) echo "/lib/klp/$2.ko" ;;
	esac
}

enabled() { wait_for 60 file_is "/sys/kernel/livepatch/$1/transition" 0 && file_is "/sys/kernel/livepatch/$1/enabled" 1; }
disable() { echo 0 > "/sys/kernel/livepatch/$1/enabled" && wait_for 60 test ! -e "/sys/kernel/livepatch/$1"; }
gone() { ! grep -q "^$1 " /proc/modules; }
unload() { rmmod "$1" && gone "$1"; }
# wait_log SECONDS PATTERN: until the log since the phase began has it.
wait_log() { wait_for "$1" sh -c "dmesg | grep -q -- '$2' || grep -q -- '$2' /tmp/phase"; }

# The shadow variable demo, as Documentation/livepatch/shadow-vars.rst
# tells it: the target leaks an `int` per dummy; fix1 keeps it in a shadow
# variable and frees it with its dummy; fix2 (on top) counts the checks of
# each dummy in a second one. The target expires a dummy 12 s after its
# allocation and frees expired ones every 3 s.
shadow_demo() {
	v=$1
	: > /tmp/phase
	new_log > /dev/null
	insmod "$c/livepatch-shadow-mod.ko" || return 1
	wait_log 10 "dummy_alloc: dummy @" || return 1
	insmod "$(patch_file "$v" livepatch_shadow_fix1)" && enabled livepatch_shadow_fix1 || return 1
	# Dummies from before fix1 leak; those after have their leak freed.
	wait_log 40 "livepatch_fix1_dummy_free: dummy @ .* leaked!" || return 1
	wait_log 40 "livepatch_fix1_dummy_leak_dtor: dummy @ .*, prevented leak @ " || return 1
	[ "$v" = rust ] && { wrong_type_refused || return 1; }
	insmod "$(patch_file "$v" livepatch_shadow_fix2)" && enabled livepatch_shadow_fix2 || return 1
	wait_log 40 "livepatch_fix2_dummy_free: dummy @ .*, check counter = [1-9]" || return 1
	wait_log 40 "livepatch_fix2_dummy_leak_dtor: dummy @ .*, prevented leak @ " || return 1
	disable livepatch_shadow_fix2 && unload livepatch_shadow_fix2 || return 1
	collect
	disable livepatch_shadow_fix1 || return 1
	collect
	: > /tmp/unload
	# fix1's unload frees the shadow variables of the dummies still alive.
	unload livepatch_shadow_fix1 || return 1
	new_log | tee -a /tmp/phase > /tmp/unload
	grep -q "livepatch_fix1_dummy_leak_dtor: dummy @ .*, prevented leak @ " /tmp/unload || {
		echo "unloading fix1 freed no shadow variable:"; cat /tmp/unload; return 1; }
	unload livepatch_shadow_mod || return 1
	collect
	has "^dummy_free: dummy @ .*, expired = " || return 1
	# What the sample logged, each kind of line once, for the comparison.
	# (The first live patch of a boot taints the kernel: logged once.)
	masked < /tmp/phase | grep -E "livepatch_shadow_fix[12]: " | grep -v "tainting kernel" |
		sort -u > "/tmp/shadow.$v"
}

# A patch that declares fix1's shadow id with another type is refused while
# fix1 holds data under it, naming both types, and leaves nothing behind.
wrong_type_refused() {
	if insmod /lib/klp/klp_rs_test_shadow_type.ko; then
		echo "a patch declaring shadow id 1 as u16 loaded while fix1 holds Leak under it"; return 1
	fi
	dmesg | grep -q "klp_rs_test_shadow_type: shadow variable id 1 holds \`Leak\` (8 bytes) in module livepatch_shadow_fix1, but this module declares it \`u16\` (2 bytes)" || {
		echo "kernel log lacks the type error:"; dmesg | tail -n 5; return 1; }
	test ! -e /sys/kernel/livepatch/klp_rs_test_shadow_type && gone klp_rs_test_shadow_type
}

# The callbacks demo, as Documentation/livepatch/callbacks.rst tells it:
# callbacks of vmlinux and of each target module as the patch and the
# modules come and go, and the busy module's work function replaced.
callbacks_demo() {
	v=$1
	: > /tmp/phase
	new_log > /dev/null
	insmod "$c/livepatch-callbacks-mod.ko" || return 1
	insmod "$(patch_file "$v" livepatch_callbacks_demo)" && enabled livepatch_callbacks_demo || return 1
	insmod "$c/livepatch-callbacks-busymod.ko" || return 1
	wait_log 10 "patched_work_func" || return 1
	disable livepatch_callbacks_demo || return 1
	unload livepatch_callbacks_demo && unload livepatch_callbacks_busymod && unload livepatch_callbacks_mod || return 1
	collect
	grep -v -e "^livepatch: " -e "tainting kernel" /tmp/phase | masked > "/tmp/callbacks.$v"
	# A failing pre-patch callback refuses the patch, and leaves no patch.
	if insmod "$(patch_file "$v" livepatch_callbacks_demo)" pre_patch_ret=-19; then
		echo "the demo loaded although its pre-patch callback failed"; return 1
	fi
	test ! -e /sys/kernel/livepatch/livepatch_callbacks_demo && gone livepatch_callbacks_demo
}

# same KIND: the twin logged exactly the lines its C sample logged.
same() {
	cmp -s "/tmp/$1.c" "/tmp/$1.rust" && test -s "/tmp/$1.c" && return 0
	echo "C sample (<) and Rust twin (>) differ:"
	diff "/tmp/$1.c" "/tmp/$1.rust"
	return 1
}

healthy_samples_log() { new_log > /dev/null; ! grep -E 'WARNING:|BUG:|Oops|Call Trace' "$log"; }

plan 7
check "shadow variables demo, C samples" shadow_demo c
check "shadow variables demo, Rust twins" shadow_demo rust
check "the twins log what the C samples log" same shadow
check "callbacks demo, C sample" callbacks_demo c
check "callbacks demo, Rust twin" callbacks_demo rust
check "the twin logs exactly the C sample's transcript" same callbacks
check "kernel log has no WARNING, BUG or Oops" healthy_samples_log
