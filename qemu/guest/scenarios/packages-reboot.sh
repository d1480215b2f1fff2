#!/bin/bash
# The second boot of the `packages` suite: from the initramfs that
# update-initramfs wrote in the first, which loaded the active patch before
# the root file system was mounted. Then the same series as RPM packages,
# installed with rpm on the same system; and `klp downgrade` refused on a
# kernel a warning tainted.
. /scenarios/ktap.sh
. /scenarios/packages-lib.sh

# The package of the kernel this one derives from, which packages.sh installed.
other=klp-rs-livepatch-$(echo "${release%-debian}" | tr .- __)
rpms=/root/klp-rs/rpms
lp=/sys/kernel/livepatch

# at_init: what /sbin/klp-rs-init found before it ran any program.
at_init() {
	[ "$KLP_RS_PATCHES_AT_INIT" = "klp_series_v2=1 " ] ||
		{ echo "patches when the first program started: '$KLP_RS_PATCHES_AT_INIT'"; return 1; }
}

plan 12

check "after the reboot, version 2 was enabled before the first program of the root file system ran" at_init
check "its transition completes" wait_for 30 file_is "$lp/klp_series_v2/transition" 0
check "the initramfs loaded it: the kernel enabled it before mounting the root file system" \
	sh -c "dmesg | grep -B1000 'EXT4-fs (vda): mounted' | grep -q \"enabling patch 'klp_series_v2'\""

check "rpm -qip: name, version, kernel, CVEs and end of support" step 0 "Name        : $pkg
Version     : 2
klp-rs live patch 2 of Linux $release
CVEs: CVE-2026-10001 CVE-2026-10002
Supported until:" rpm -qip "$rpms/${pkg}-2-1.x86_64.rpm"
check "rpm -qp --requires --scripts: the common package, kmod, and the scriptlets that load the patch" step 0 "klp-rs-livepatch-common
kmod
postinstall scriptlet
klp_rs_activate
preuninstall scriptlet
postuninstall scriptlet" rpm -qp --requires --scripts "$rpms/${pkg}-2-1.x86_64.rpm"

check "dpkg --purge: the packages go, the loaded patch stays and it is said" step 0 "stays loaded" \
	bash -c "dpkg --purge $pkg $other klp-rs-livepatch-common && active klp_series_v2"
check "rpm -i: version 2 as an RPM, already loaded, and its scriptlet says so" step 0 "patch klp_series_v2 is already loaded
dracut not found" bash -c "rpm -i --nodeps $rpms/klp-rs-livepatch-common-*.rpm $rpms/${pkg}-2-1.x86_64.rpm && installed rpm 2"
check "klp -v patches: the RPM that installed the patch" step 0 "package: $pkg 2 (rpm)" klp -v patches
check "klp -n downgrade with no older version installed: refused, nothing changed" step 2 "no version of package \`$pkg\` older than 2 is installed or available
nothing changed" \
	bash -c "klp -n downgrade; status=\$?; file_is $lp/klp_series_v2/enabled 1 || exit 3; exit \$status"
check "rpm -U --oldpackage: version 1 through rpm's scriptlet" step 0 "loaded patch \`klp_series_v1\` (version 1)" \
	bash -c "rpm -U --nodeps --oldpackage $rpms/${pkg}-1-1.x86_64.rpm && installed rpm 1 && active klp_series_v1"
check "kernel log has no WARNING, BUG or Oops" healthy_log

# Last: the warning taints the kernel for good.
check "on a kernel a warning tainted, klp downgrade refuses and names the taint" step 2 "the kernel is tainted: W (kernel issued warning)
downgrade anyway with \`--force\`" \
	bash -c "insmod /root/klp-rs/modules/klp_rs_test_warn.ko && klp -n downgrade; status=\$?; file_is $lp/klp_series_v1/enabled 1 || exit 3; exit \$status"
