# The second boot of the `klp` suite: from the initramfs plus the archive
# `klp initrd` wrote, whose patch `/init` loaded before any other program.
. /scenarios/ktap.sh

lp=/sys/kernel/livepatch/klp_series_v1

plan 4
check "after the reboot, version 1 was enabled before any program ran" file_is "$lp/enabled" 1
# With 2 CPUs the transition may need the kernel's retry, a second later.
check "its transition completes" wait_for 30 file_is "$lp/transition" 0
check "klp patches: version 1 is the active patch" transcript "NAME           VERSION  STATE
klp_series_v1  1        enabled
[exit 0]" klp patches
check "/proc/cmdline is patched" file_is /proc/cmdline "klp_series_v1: CVE-2026-10001 fixed"
