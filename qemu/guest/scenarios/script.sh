# `cargo xtask qemu --script FILE`: FILE, which the host put into
# /scenarios/user/, run by run_script (ktap.sh) with the suites' helpers;
# the patch modules of `--modules DIR` are in /lib/klp/.
. /scenarios/ktap.sh

set -- /scenarios/user/*
if [ -f "$1" ]; then
	run_script "$1"
else
	echo "Bail out! no script in /scenarios/user/ (boot it with \`cargo xtask qemu --script FILE\`)"
fi
