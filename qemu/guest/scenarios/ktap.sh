# KTAP output for guest scenarios: `plan N`, then one `check` per test point.
# Sourced by the scenario scripts.

ktap_n=0
# The points `plan` announced; and, while `run_script` runs a script, the
# file where `plan` and `check` leave the counts for it.
ktap_planned=0
ktap_state=

plan() {
	ktap_planned=$1
	ktap_save
	# Under run_script, the plan comes last.
	[ -z "$ktap_state" ] || return 0
	echo "KTAP version 1"
	echo "1..$1"
}

ktap_save() { [ -z "$ktap_state" ] || echo "$ktap_n $ktap_planned" > "$ktap_state"; }

# check NAME COMMAND...: run COMMAND; its exit status is the verdict. Its
# output is shown as KTAP diagnostics when it fails.
check() {
	name=$1
	shift
	ktap_n=$((ktap_n + 1))
	ktap_save
	if out=$("$@" 2>&1); then
		echo "ok $ktap_n $name"
	else
		echo "$out" | sed 's/^/# /'
		echo "not ok $ktap_n $name"
	fi
}

# wait_for SECONDS COMMAND...: retry COMMAND every 0.1 s until it succeeds.
wait_for() {
	tries=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		tries=$((tries - 1))
		[ "$tries" -gt 0 ] || { echo "timed out waiting for: $*"; return 1; }
		sleep 0.1
	done
}

# file_is PATH TEXT: the file holds exactly TEXT (one line).
file_is() {
	got=$(cat "$1" 2>&1)
	[ "$got" = "$2" ] || { echo "$1: expected '$2', got '$got'"; return 1; }
}

# transcript EXPECTED COMMAND...: COMMAND's output (stdout and stderr) and
# `[exit N]` are exactly EXPECTED; else show both. For `check`.
transcript() {
	expected=$1
	shift
	got=$("$@" 2>&1; echo "[exit $?]")
	[ "$got" = "$expected" ] && return 0
	echo "\$ $*"
	echo "expected:"
	echo "$expected"
	echo "got:"
	echo "$got"
	return 1
}

# healthy_log: the kernel log has no WARNING, BUG or Oops. For `check`.
healthy_log() { ! dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace'; }

# run_script FILE: runs FILE, a script of its own (`cargo xtask qemu
# --script`), with these helpers: each of its `check`s is a point, and its
# `plan N`, if it has one, the number of its points. It runs in a subshell,
# so that its `exit` or `set -e` ends only it. Then two points more: FILE
# exited 0, and the kernel log has no WARNING, BUG or Oops. The plan comes
# last, once the number of points is known; points FILE planned but never
# reported count as failed.
run_script() {
	echo "KTAP version 1"
	ktap_state=$(mktemp)
	ktap_save
	(. "$1")
	rc=$?
	read -r ktap_n ktap_planned < "$ktap_state"
	rm -f "$ktap_state"
	ktap_state=
	[ "$ktap_planned" -le "$ktap_n" ] || ktap_n=$ktap_planned
	check "${1##*/} exits 0" exited_0 "$rc"
	check "kernel log has no WARNING, BUG or Oops" healthy_log
	echo "1..$ktap_n"
}

# exited_0 STATUS: the status of a script is 0; else say which it is.
exited_0() { [ "$1" = 0 ] || { echo "exit status $1"; return 1; }; }
