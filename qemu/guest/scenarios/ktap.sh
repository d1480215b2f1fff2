# KTAP output for guest scenarios: `plan N`, then one `check` per test point.
# Sourced by the scenario scripts.

ktap_n=0

plan() {
	echo "KTAP version 1"
	echo "1..$1"
}

# check NAME COMMAND...: run COMMAND; its exit status is the verdict. Its
# output is shown as KTAP diagnostics when it fails.
check() {
	name=$1
	shift
	ktap_n=$((ktap_n + 1))
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
