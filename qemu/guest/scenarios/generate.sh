# Generated live patches, kpatch's integration-test semantics: for each case
# listed in /lib/klp-corpus/cases (`<case> <module>`), its test script
# /lib/klp-corpus/<case>-LOADED.test fails before the patch loads, passes
# while the patch is loaded, and fails again once it is unloaded; the
# kernel log has no WARNING, BUG or Oops at the end.
. /scenarios/ktap.sh

dir=/lib/klp-corpus

# fails CASE: the case's test fails (its output shown if it passes).
fails() {
	if out=$(sh "$dir/$1-LOADED.test" 2>&1); then
		echo "the test of $1 passed, expected it to fail:"
		echo "$out"
		return 1
	fi
}
passes() { sh "$dir/$1-LOADED.test"; }
# loads MODULE: klp load; the kernel log's last lines if it fails.
loads() { klp load "/lib/klp/$1.ko" || { dmesg | tail -n 5; return 1; }; }
healthy_log() { ! dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace'; }

cases=$(wc -l < $dir/cases)
plan $((cases * 5 + 1))
while read -r case module; do
	check "$case: the test fails before the patch" fails "$case"
	check "$case: klp load $module" loads "$module"
	check "$case: the test passes while it is loaded" passes "$case"
	check "$case: klp unload $module" klp unload "$module"
	check "$case: the test fails again once it is unloaded" fails "$case"
done < $dir/cases
check "kernel log: no WARNING, BUG or Oops" healthy_log
