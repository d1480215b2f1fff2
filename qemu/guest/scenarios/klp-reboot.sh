# The second boot of the `klp` suite: from the initramfs plus the archive
# `klp initrd` wrote, whose patch `/init` loaded before any other program.
. /scenarios/ktap.sh

plan 2
check "after the reboot, version 1 is active before any program ran" transcript "NAME           VERSION  STATE
klp_series_v1  1        enabled
[exit 0]" klp patches
check "/proc/cmdline is patched" file_is /proc/cmdline "klp_series_v1: CVE-2026-10001 fixed"
