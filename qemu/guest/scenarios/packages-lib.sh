#!/bin/bash
# The helpers of the `packages` suite's two scenarios (packages.sh and
# packages-reboot.sh), sourced after ktap.sh.

release=$(uname -r)
pkg=klp-rs-livepatch-$(echo "$release" | tr .- __)
# Every step's command, output and exit status, which the host reads back
# from the disk once the guest is off.
transcript=/root/klp-rs/transcript.txt

# step STATUS PATTERNS COMMAND...: COMMAND exits STATUS and its output
# (stdout and stderr) holds every line of PATTERNS, as fixed text; else
# the command, its status and its output are shown.
step() {
	want=$1 patterns=$2
	shift 2
	got=$("$@" 2>&1)
	status=$?
	printf '$ %s\n%s\n[exit %s]\n' "$*" "$got" "$status" >> "$transcript"
	ok=0
	[ "$status" = "$want" ] || { echo "exit status $status, expected $want"; ok=1; }
	while IFS= read -r p; do
		[ -n "$p" ] || continue
		case "$got" in
		*"$p"*) ;;
		*) echo "missing: $p"; ok=1 ;;
		esac
	done <<< "$patterns"
	[ "$ok" = 0 ] || { echo "\$ $*"; echo "$got"; }
	return "$ok"
}

# active NAME: NAME is the only enabled patch and its transition is over.
active() {
	wait_for 30 file_is "/sys/kernel/livepatch/$1/transition" 0 || return 1
	file_is "/sys/kernel/livepatch/$1/enabled" 1 || return 1
	others=$(grep -l 1 /sys/kernel/livepatch/*/enabled | grep -v "/$1/")
	[ -z "$others" ] || { echo "also enabled: $others"; return 1; }
}

# installed MANAGER VERSION: dpkg or rpm has version VERSION of the package.
installed() {
	case "$1" in
	dpkg) got=$(dpkg-query -W -f '${Status} ${Version}' "$pkg" 2>&1) want="install ok installed $2" ;;
	rpm) got=$(rpm -q --qf '%{VERSION}' "$pkg" 2>&1) want=$2 ;;
	esac
	[ "$got" = "$want" ] || { echo "$1: '$got', expected '$want'"; return 1; }
}

# The steps run some of these in `bash -c`.
export -f step active installed wait_for file_is
export pkg release transcript
