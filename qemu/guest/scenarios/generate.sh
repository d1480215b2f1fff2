# Generated live patches, kpatch's integration-test semantics: for each case
# listed in /lib/klp-corpus/cases (`<case> <patch module> <target module or
# -> `), its test script /lib/klp-corpus/<case>-LOADED.test fails before the
# patch loads, passes while the patch is loaded, and fails again once it is
# unloaded. A patch of a module is proven with the module loaded before
# the patch, and loaded again while the patch is (the kernel patches it as
# it loads). The kernel log has no WARNING, BUG or Oops at the end.
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
# reload TARGET: the module out and in again.
reload() { rmmod "$1" && insmod "$dir/targets/$1.ko"; }
healthy_log() { ! dmesg | grep -E 'WARNING:|BUG:|Oops|Call Trace'; }

points=1
while read -r case module target; do
	if [ "$target" = - ]; then points=$((points + 5)); else points=$((points + 9)); fi
done < $dir/cases
plan $points
while read -r case module target; do
	if [ "$target" != - ]; then
		check "$case: insmod $target" insmod "$dir/targets/$target.ko"
	fi
	check "$case: the test fails before the patch" fails "$case"
	check "$case: klp load $module" loads "$module"
	check "$case: the test passes while it is loaded" passes "$case"
	if [ "$target" != - ]; then
		check "$case: rmmod $target, insmod it again" reload "$target"
		check "$case: the test passes, $target patched as it loaded" passes "$case"
	fi
	check "$case: klp unload $module" klp unload "$module"
	check "$case: the test fails again once it is unloaded" fails "$case"
	if [ "$target" != - ]; then
		check "$case: rmmod $target" rmmod "$target"
	fi
done < $dir/cases
check "kernel log: no WARNING, BUG or Oops" healthy_log
