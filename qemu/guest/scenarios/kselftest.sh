# The kernel's livepatch selftests (tools/testing/selftests/livepatch of the
# tree this guest's kernel was built from), run unmodified with bash: one
# KTAP point per script, in the order of the Makefile's TEST_PROGS. Exit
# code 4 (kselftest's skip) makes a SKIP point with the script's reason; any
# other failure a `not ok` point after the script's output as diagnostics
# (with the diff of expected and actual kernel log lines), then a cleanup so
# that the next script starts afresh. A script that needs test modules the
# suite lacks fails, naming them, without running.
# Sourced by selftests-c.sh and selftests.sh.

# kselftest_guest: what the scripts expect of a system beyond busybox and
# the shims of /bin.
kselftest_guest() {
	# bash runs check_result's `diff <(...) <(...)` through /dev/fd.
	[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
	# functions.sh looks for tracefs here first.
	[ -e /sys/kernel/tracing/trace ] || mount -t tracefs tracefs /sys/kernel/tracing
	# busybox's modinfo (is_livepatch_mod) insists on a modules.dep.
	mkdir -p "/lib/modules/$(uname -r)"
	touch "/lib/modules/$(uname -r)/modules.dep"
}

# kselftest_cleanup: disable the patches and unload the test modules that a
# failed script left behind (the scripts leave them when they die), each
# named as a diagnostic.
kselftest_cleanup() {
	for patch in /sys/kernel/livepatch/*; do
		[ -e "$patch/enabled" ] || continue
		echo "# cleanup: disabling ${patch##*/}"
		echo 0 > "$patch/enabled"
	done
	tries=600
	while [ -n "$(ls /sys/kernel/livepatch)" ] && [ "$tries" -gt 0 ]; do
		sleep 0.1
		tries=$((tries - 1))
	done
	for ko in test_modules/*.ko; do
		mod=$(basename "$ko" .ko)
		[ -e "/sys/module/$mod" ] || continue
		echo "# cleanup: unloading $mod"
		rmmod "$mod" 2>&1 | sed 's/^/# /'
	done
}

# kselftests DIR WHAT CLEANUP: run the scripts of DIR, a copy of the
# selftests directory whose `klp-rs-tests` lists each script followed by the
# test modules it needs that DIR lacks; WHAT names such modules; CLEANUP is
# the command run after a script failed.
kselftests() {
	dir=$1
	what=$2
	cleanup=$3
	if ! cd "$dir"; then
		echo "Bail out! no $dir in this initramfs"
		return
	fi
	# setup_config's has_kdir skips every test unless $KDIR is a directory
	# (to build the test modules in); they come built here.
	export KDIR="$dir/test_modules"
	out=$(mktemp)
	echo "KTAP version 1"
	echo "1..$(($(wc -l < klp-rs-tests)))"
	n=0
	while read -r script missing; do
		n=$((n + 1))
		if [ -n "$missing" ]; then
			echo "# $script: missing $what: $missing"
			echo "not ok $n $script"
			continue
		fi
		bash "./$script" > "$out" 2>&1 < /dev/null
		rc=$?
		case $rc in
		0)
			echo "ok $n $script"
			;;
		4)
			reason=$(sed -n 's/^SKIP: //p' "$out" | tail -n 1)
			[ -n "$reason" ] || reason=$(grep . "$out" | tail -n 1)
			echo "ok $n $script # SKIP ${reason:-exit code 4}"
			;;
		*)
			sed 's/^/# /' "$out"
			echo "# $script: exit code $rc"
			"$cleanup"
			echo "not ok $n $script"
			;;
		esac
	done < klp-rs-tests
	rm -f "$out"
}
