# The `klp` admin tool on a real kernel, and the life of a cumulative series:
# the kernel's seed patch, versions 1 and 2 replacing it in turn, downgrade,
# a transition held up by a sleeping task, bad input, and finally an
# initramfs archive that loads the active patch at boot (the host boots it:
# suite `klp-reboot`). Each step is a transcript compared line by line, and
# every command's exit status is checked: a step expected to fail says so.
. /scenarios/ktap.sh

lib=/lib/modules/$(uname -r)/livepatch
rounds=20

# 22 steps, and one per round of loading and unloading a patch.
plan $((22 + rounds))

check "the kernel ships its seed patch, installed" transcript "NAME           VERSION  KERNEL  SEED  STATE
klp_series_v0  0        7.3.4   yes   installed
[exit 0]" klp list

check "klp load: the seed" transcript "loaded patch \`klp_series_v0\` (version 0) from \`$lib/klp_series_v0.ko\`
[exit 0]" klp load klp_series_v0

check "klp install: versions 1 and 2" transcript "installed patch \`klp_series_v1\` (version 1) as \`$lib/klp_series_v1.ko\`
installed patch \`klp_series_v2\` (version 2) as \`$lib/klp_series_v2.ko\`
[exit 0]" sh -c "klp install /lib/klp/klp_series_v1.ko && klp install /lib/klp/klp_series_v2.ko"

check "klp load: version 1 replaces the seed" transcript "patch \`klp_series_v0\` was replaced; its module stays loaded until \`klp unload klp_series_v0\`
loaded patch \`klp_series_v1\` (version 1) from \`$lib/klp_series_v1.ko\`
klp_series_v1: CVE-2026-10001 fixed
[exit 0]" sh -c "klp load klp_series_v1 && cat /proc/cmdline"

check "klp unload: the replaced seed module" transcript "unloaded patch \`klp_series_v0\` (version 0)
[exit 0]" klp unload klp_series_v0

check "klp load: version 2 replaces version 1" transcript "patch \`klp_series_v1\` was replaced; its module stays loaded until \`klp unload klp_series_v1\`
loaded patch \`klp_series_v2\` (version 2) from \`$lib/klp_series_v2.ko\`
klp_series_v2: CVE-2026-10001 fixed
klp_series_v2: CVE-2026-10002 fixed
[exit 0]" sh -c "klp load klp_series_v2 && cat /proc/cmdline /proc/version"

check "klp -v patches: the CVEs and bugs of the active patch" transcript "NAME           VERSION  STATE
klp_series_v2  2        enabled
  cves: CVE-2026-10001 CVE-2026-10002
  bugs: klp-rs#101 klp-rs#102
  package: none
[exit 0]" klp -v patches

check "klp patches -vv: functions and end of support" transcript "NAME           VERSION  STATE
klp_series_v2  2        enabled
  cves: CVE-2026-10001 CVE-2026-10002
  bugs: klp-rs#101 klp-rs#102
  package: none
  description: Cumulative patch 2: /proc/cmdline and /proc/version
  kernel: 7.3.4
  released: 2026-11-15, end of support: 2027-12-15
  replace: yes
  vmlinux (patched):
    cmdline_proc_show,1
    version_proc_show,1
[exit 0]" klp patches -vv

# busybox's `dpkg` applet is a package manager that owns no file here.
check "klp downgrade --dry-run: no package owns the patch, says what it would do, does nothing" transcript "\`$lib/klp_series_v2.ko\` belongs to no dpkg or rpm package: downgrading with klp's own files
would unload patch \`klp_series_v1\` (version 1)
would load patch \`klp_series_v1\` (version 1) from \`$lib/klp_series_v1.ko\`
would unload patch \`klp_series_v2\` (version 2)
NAME           VERSION  STATE
klp_series_v2  2        enabled
[exit 0]" sh -c "klp downgrade --dry-run && klp patches"

# Without busybox's `dpkg` and `rpm` applets, no package manager at all.
# `grep` is expected to fail: exit 1, no match.
check "klp -n downgrade (SUSE's form), no package manager: klp's own files, back to version 1, /proc/version unpatched" transcript "no package manager (dpkg, rpm) on this system: downgrading with klp's own files in \`$lib\`
unloaded patch \`klp_series_v1\` (version 1)
loaded patch \`klp_series_v1\` (version 1) from \`$lib/klp_series_v1.ko\`
unloaded patch \`klp_series_v2\` (version 2)
klp_series_v1: CVE-2026-10001 fixed
[exit 0]" sh -c "rm -f /bin/dpkg /bin/rpm && klp -n downgrade && cat /proc/cmdline && { grep klp_series /proc/version; test \$? = 1; }"

check "klp lifecycle: 13 months of support from the kernel's release" transcript "NAME           VERSION  PACKAGE  ACTIVE  INSTALLED  RELEASED    END OF SUPPORT  EXPIRED
klp_series_v0  0        -        no      yes        2026-11-15  2027-12-15      no
klp_series_v1  1        -        yes     yes        2026-11-15  2027-12-15      no
klp_series_v2  2        -        no      yes        2026-11-15  2027-12-15      no
[exit 0]" klp lifecycle --today 2026-11-30

check "klp status/check/--json while no transition runs" transcript 'ready
ready
{"name":"klp_series_v1","version":1,"state":"enabled"}
[exit 0]' sh -c "klp status && klp check && klp patches --json"

# A task sleeping in a function the next patch replaces holds its transition.
check "insmod: a worker asleep in busymod_work_func" \
	insmod /lib/klp/test_klp_callbacks_busy.ko block_transition=Y
check "insmod: test_klp_callbacks_demo, which replaces busymod_work_func" \
	insmod /lib/klp/test_klp_callbacks_demo.ko
# `klp check` is expected to fail: exit 1 during a transition.
blocked() {
	transcript "in_progress
[exit 0]" klp status || return 1
	transcript "in_progress
[exit 1]" klp check || return 1
	out=$(klp blocking -vv 2>&1) || { echo "klp blocking -vv failed:"; echo "$out"; return 1; }
	# The worker, and maybe another task the kernel has not switched yet
	# (aarch64: the console's printing thread, once).
	echo "$out" | grep -qE "^[0-9]+ tasks? blocks? enabling patch \`test_klp_callbacks_demo\`" &&
		echo "$out" | grep -q " kworker/" &&
		echo "$out" | grep -q "busymod_work_func+" || { echo "$out"; return 1; }
}
check "klp blocking: the worker asleep in busymod_work_func, klp check exits 1" blocked
unblocked() {
	echo 0 > /sys/module/test_klp_callbacks_busy/parameters/block_transition &&
		wait_for 30 klp check
}
check "klp check: 0 once the task has left the function" unblocked
check "klp unload: the patch whose transition was held up, then the busy module" \
	transcript "[exit 0]" sh -c "klp -q unload test_klp_callbacks_demo && rmmod test_klp_callbacks_busy"

# The kernel frees a disabled patch's sysfs directory from a work item, while
# `klp unload` reads it: its attributes answer ENODEV, then it vanishes; the
# patch holds its module a moment longer. Version 2 replaces version 1 in the
# first round; each round leaves no patch active.
load_unload() {
	transcript "[exit 0]" klp -q load klp_series_v2 &&
		transcript "[exit 0]" klp -q unload klp_series_v2
}
i=1
while [ "$i" -le "$rounds" ]; do
	check "klp load, klp unload: version 2, round $i of $rounds" load_unload
	i=$((i + 1))
done
check "klp unload, klp load: version 1 again" transcript "unloaded patch \`klp_series_v1\` (version 1)
loaded patch \`klp_series_v1\` (version 1) from \`$lib/klp_series_v1.ko\`
[exit 0]" sh -c "klp unload klp_series_v1 && klp load klp_series_v1"

check "bad input: not a klp-rs module, a corrupt .ko, an unknown patch" transcript "error: failed to install \`/lib/klp/livepatch_sample.ko\`

Caused by:
  it is not a klp-rs patch module

Caused by:
  no \`klp_version=\` in \`.modinfo\` (not built with klp-rs)
[exit 2]" klp install /lib/klp/livepatch_sample.ko
# Both commands are expected to fail: exit 2 with their error.
corrupt_and_unknown() {
	head -c 300 /lib/klp/klp_series_v1.ko > /tmp/corrupt.ko || return 1
	transcript "error: failed to install \`/tmp/corrupt.ko\`

Caused by:
  it is not a klp-rs patch module

Caused by:
  not a valid ELF file

Caused by:
  Invalid ELF section header offset/size/alignment
[exit 2]" klp install /tmp/corrupt.ko || return 1
	transcript "error: failed to load patch \`no_such_patch\`

Caused by:
  no patch named \`no_such_patch\` is installed in \`$lib\` (\`klp list\` shows what is; \`klp install\` adds one)
[exit 2]" klp load no_such_patch || return 1
	transcript "klp_series_v0.ko
klp_series_v1.ko
klp_series_v2.ko
[exit 0]" ls "$lib" || return 1
	transcript "NAME           VERSION  STATE
klp_series_v1  1        enabled
[exit 0]" klp patches
}
check "bad input: corrupt and unknown, nothing changed" corrupt_and_unknown

# Root may add taint flags through the sysctl (`srctree/kernel/panic.c`:
# `proc_taint`), never clear them: the kernel stays tainted by W until the
# klp-reboot boot, which this step comes last before. `klp -n downgrade`
# refuses, naming the flags and `--force`, and changes nothing.
tainted() {
	echo 512 > /proc/sys/kernel/tainted || return 1
	out=$(klp -n downgrade 2>&1)
	rc=$?
	[ "$rc" = 2 ] || { echo "klp -n downgrade exited $rc, expected 2:"; echo "$out"; return 1; }
	for want in "the kernel is tainted: " "W (kernel issued warning)" "K (kernel has been live patched)" \
		"downgrade anyway with \`--force\`"; do
		echo "$out" | grep -qF "$want" || { echo "no \"$want\" in:"; echo "$out"; return 1; }
	done
	transcript "NAME           VERSION  STATE
klp_series_v1  1        enabled
[exit 0]" klp patches || return 1
	out=$(klp -n downgrade --force --dry-run 2>&1) &&
		echo "$out" | grep -q "^would load patch \`klp_series_v0\` (version 0)" || { echo "$out"; return 1; }
}
check "klp -n downgrade: refused on a kernel tainted by a warning, unless --force" tainted

initrd() {
	transcript "added patch \`klp_series_v1\` (version 1) from \`$lib/klp_series_v1.ko\` as \`lib/klp-rs/boot/klp_series_v1.ko\` to \`/tmp/boot.cpio\`
[exit 0]" klp initrd --output /tmp/boot.cpio || return 1
	out=$(cpio -t < /tmp/boot.cpio 2>&1) &&
		echo "$out" | grep -qx lib/klp-rs/boot/klp_series_v1.ko || { echo "$out"; return 1; }
}
check "klp initrd: an archive that loads version 1 at boot" initrd
# No kernel line on the console inside the archive's lines (a debug
# kernel prints more, at any time): emergencies only while it is printed.
console_level=$(cut -f1 /proc/sys/kernel/printk)
dmesg -n 1
echo "# klp-rs: archive begin"
base64 < /tmp/boot.cpio
status=$?
echo "# klp-rs: archive end"
dmesg -n "$console_level"
[ "$status" = 0 ] || echo "Bail out! base64 < /tmp/boot.cpio failed (exit $status)"
