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
# loads MODULE: klp load; the kernel log's last lines if it fails. With
# $dir/insmod (modules of another tool, without klp-rs metadata): insmod,
# then the transition's end.
loads() {
	if [ -e $dir/insmod ]; then
		/bin/insmod "/lib/klp/$1.ko" &&
			wait_for 60 file_is "/sys/kernel/livepatch/$1/transition" 0
	else
		klp load "/lib/klp/$1.ko"
	fi || { dmesg | tail -n 5; return 1; }
}
# unloads MODULE: klp unload; with $dir/insmod: disabled, freed, rmmod.
unloads() {
	if [ -e $dir/insmod ]; then
		echo 0 > "/sys/kernel/livepatch/$1/enabled" &&
			wait_for 60 test ! -e "/sys/kernel/livepatch/$1" && rmmod "$1"
	else
		klp unload "$1"
	fi
}
how="klp load"
undo="klp unload"
[ -e $dir/insmod ] && how=insmod && undo="disable, rmmod"
# reload TARGET: the module out and in again.
reload() { rmmod "$1" && insmod "$dir/targets/$1.ko"; }

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
	check "$case: $how $module" loads "$module"
	check "$case: the test passes while it is loaded" passes "$case"
	if [ "$target" != - ]; then
		check "$case: rmmod $target, insmod it again" reload "$target"
		check "$case: the test passes, $target patched as it loaded" passes "$case"
	fi
	check "$case: $undo $module" unloads "$module"
	check "$case: the test fails again once it is unloaded" fails "$case"
	if [ "$target" != - ]; then
		check "$case: rmmod $target" rmmod "$target"
	fi
done < $dir/cases
check "kernel log: no WARNING, BUG or Oops" healthy_log
