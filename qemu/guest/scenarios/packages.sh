#!/bin/bash
# Live patches as Debian packages on a Debian system (`packages` suite; its
# guest boots a root file system mmdebstrap built, see
# xtask/src/debian_root.rs): the seed, then versions 1 and 2 of a cumulative
# series arrive through dpkg and apt, each the active patch in turn; `klp`
# names the package; `klp -n downgrade` goes back through apt; bad input
# changes nothing; then the initramfs is rebuilt and the host boots it
# (`packages-reboot`). Every command's exit status is checked.
. /scenarios/ktap.sh
. /scenarios/packages-lib.sh

lib=/lib/modules/$release/livepatch
repo=/var/local/klp-rs
files=/root/klp-rs

plan 16

check "a Debian system runs this kernel from its disk, with dpkg, apt, initramfs-tools and rpm" \
	step 0 "ID=debian
/dev/root / ext4" sh -c "cat /etc/os-release /proc/mounts && dpkg-query -W dpkg apt initramfs-tools rpm"

check "the kernel is installed: depmod" depmod -a "$release"

check "apt: a repository holding the seed and versions 1 and 2 of this kernel's package" step 0 "$pkg | 2 | file:$repo ./ Packages
$pkg | 1 | file:$repo ./ Packages
$pkg | 0 | file:$repo ./ Packages" \
	sh -c "cd $repo && apt-ftparchive packages . > Packages && apt-get update && apt-cache madison $pkg | tr -s ' '"

check "dpkg -i: the seed package loads the seed and refreshes the initramfs" step 0 "Setting up $pkg (0)
loaded patch \`klp_series_v0\` (version 0) from \`$lib/klp_series_v0.ko\`
$pkg: refreshing the initramfs of $release: update-initramfs -u -k $release" \
	sh -c "dpkg -i $repo/klp-rs-livepatch-common_*.deb $repo/${pkg}_0_*.deb && klp patches"
check "the seed is the active patch" active klp_series_v0

check "apt-get install: version 1 replaces the seed" step 0 "Unpacking $pkg (1) over (0)
loaded patch \`klp_series_v1\` (version 1)" apt-get install -y "$pkg=1"
check "version 1 is the active patch, from its package" bash -c "active klp_series_v1 && installed dpkg 1"

check "apt-get upgrade: version 2 arrives with the system's update and replaces version 1" step 0 "Unpacking $pkg (2) over (1)
loaded patch \`klp_series_v2\` (version 2)" apt-get upgrade -y
check "version 2 is the active patch" bash -c "active klp_series_v2 && installed dpkg 2 && grep -q klp_series_v2 /proc/version"

check "klp -v patches: the package that installed the patch" step 0 "klp_series_v2  2        enabled
  cves: CVE-2026-10001 CVE-2026-10002
  package: $pkg 2 (dpkg)" klp -v patches

check "klp -n downgrade: back to version 1 through apt-get" step 0 "is from package \`$pkg\` 2 (dpkg): going back to 1
ran \`apt-get install -y --allow-downgrades $pkg=1\`
the package's scripts loaded patch \`klp_series_v1\`
unloaded patch \`klp_series_v2\` (version 2)" klp -n downgrade
check "version 1 is active and installed" bash -c "active klp_series_v1 && installed dpkg 1 && ! grep -q klp_series_v2 /proc/version"

check "a package of another kernel release installs, loads nothing and says so" step 0 "the running kernel is $release: nothing loaded" \
	bash -c "dpkg -i $files/other-kernel/*.deb && active klp_series_v1 && installed dpkg 1"

# The postinst fails: dpkg must report the kernel's refusal, not hide it.
check "an unsigned module in a package: dpkg reports the kernel's refusal, version 1 stays active" step 1 "the running kernel is NOT patched" bash -c "dpkg -i $files/unsigned/${pkg}_2_*.deb; status=\$?; active klp_series_v1 || exit 3; exit \$status"

check "apt-get puts the signed version 2 back, active, and update-initramfs carries it" step 0 "loaded patch \`klp_series_v2\` (version 2)
livepatch/klp_series_v2.ko" bash -c "apt-get install -y --allow-downgrades $pkg=1 && apt-get upgrade -y && active klp_series_v2 && installed dpkg 2 \
&& update-initramfs -u -k $release && lsinitramfs /boot/initrd.img-$release | grep klp-rs/boot/"

check "kernel log has no WARNING, BUG or Oops" healthy_log

# The suite `packages-reboot` boots the initramfs update-initramfs wrote.
