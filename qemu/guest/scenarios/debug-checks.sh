# Run by the guest's init after any suite on the debug kernel (`klp.debug=1`):
# the suite left no memory leak kmemleak can find, and the kernel's bug
# detectors reported nothing.
. /scenarios/ktap.sh

kmemleak=/sys/kernel/debug/kmemleak

# kmemleak only suspects objects unreferenced for 5 s: wait, then scan (a
# second scan confirms what the first found).
no_leaks() {
	sleep 6
	echo scan > "$kmemleak" && echo scan > "$kmemleak" || return 1
	leaks=$(cat "$kmemleak") || return 1
	[ -z "$leaks" ] && return 0
	echo "kmemleak found $(echo "$leaks" | grep -c '^unreferenced object') leak(s):"
	echo "$leaks" | head -n 80
	return 1
}

# What KFENCE, UBSAN, lockdep (and its RCU checks), SLUB's red zones and
# poisoning, and DEBUG_ATOMIC_SLEEP print.
detectors='BUG: KFENCE|BUG: KASAN|UBSAN:|WARNING: possible|WARNING: suspicious RCU|INFO: possible|INFO: trying to register non-static key|BUG: sleeping function|BUG: scheduling while atomic|Redzone overwritten|Poison overwritten|Object padding overwritten|Freepointer corrupt|BUG: Bad page'
no_reports() { ! dmesg | grep -E -A 20 "$detectors"; }

plan 2
check "kmemleak finds no leak" no_leaks
check "no KFENCE, UBSAN, lockdep, SLUB or sleep-in-atomic report" no_reports
