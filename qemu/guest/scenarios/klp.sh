# The `klp` admin tool on a real kernel, and the life of a cumulative series:
# the kernel's seed patch, versions 1 and 2 replacing it in turn, downgrade,
# a transition held up by a sleeping task, bad input, and finally an
# initramfs archive that loads the active patch at boot (the host boots it:
# suite `klp-reboot`). Each step is a transcript compared line by line.
. /scenarios/ktap.sh

lib=/lib/modules/$(uname -r)/livepatch

plan 17

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
[exit 0]" klp -v patches

check "klp patches -vv: functions and end of support" transcript "NAME           VERSION  STATE
klp_series_v2  2        enabled
  cves: CVE-2026-10001 CVE-2026-10002
  bugs: klp-rs#101 klp-rs#102
  description: Cumulative patch 2: /proc/cmdline and /proc/version
  kernel: 7.3.4
  released: 2026-11-15, end of support: 2027-12-15
  replace: yes
  vmlinux (patched):
    cmdline_proc_show,1
    version_proc_show,1
[exit 0]" klp patches -vv

check "klp downgrade -n: says what it would do, does nothing" transcript "would unload patch \`klp_series_v1\` (version 1)
would load patch \`klp_series_v1\` (version 1) from \`$lib/klp_series_v1.ko\`
would unload patch \`klp_series_v2\` (version 2)
NAME           VERSION  STATE
klp_series_v2  2        enabled
[exit 0]" sh -c "klp downgrade -n && klp patches"

check "klp downgrade: back to version 1, /proc/version unpatched" transcript "unloaded patch \`klp_series_v1\` (version 1)
loaded patch \`klp_series_v1\` (version 1) from \`$lib/klp_series_v1.ko\`
unloaded patch \`klp_series_v2\` (version 2)
klp_series_v1: CVE-2026-10001 fixed
[exit 0]" sh -c "klp downgrade && cat /proc/cmdline && ! grep -q klp_series /proc/version"

check "klp lifecycle: 13 months of support from the kernel's release" transcript "NAME           VERSION  ACTIVE  INSTALLED  RELEASED    END OF SUPPORT  EXPIRED
klp_series_v0  0        no      yes        2026-11-15  2027-12-15      no
klp_series_v1  1        yes     yes        2026-11-15  2027-12-15      no
klp_series_v2  2        no      yes        2026-11-15  2027-12-15      no
[exit 0]" klp lifecycle --today 2026-11-30

check "klp status/check/--json while no transition runs" transcript 'ready
ready
{"name":"klp_series_v1","version":1,"state":"enabled"}
[exit 0]' sh -c "klp status && klp check && klp patches --json"

# A task sleeping in a function the next patch replaces holds its transition.
insmod /lib/klp/test_klp_callbacks_busy.ko block_transition=Y
insmod /lib/klp/test_klp_callbacks_demo.ko
blocked() {
	klp status | grep -qx in_progress || { echo "status is not in_progress"; return 1; }
	klp check > /dev/null && { echo "klp check exited 0 during a transition"; return 1; }
	out=$(klp blocking -vv 2>&1)
	echo "$out" | grep -q "^1 task blocks enabling patch \`test_klp_callbacks_demo\`" &&
		echo "$out" | grep -q " kworker/" &&
		echo "$out" | grep -q "busymod_work_func+" || { echo "$out"; return 1; }
}
check "klp blocking: the worker asleep in busymod_work_func, klp check exits 1" blocked
echo 0 > /sys/module/test_klp_callbacks_busy/parameters/block_transition
check "klp check: 0 once the task has left the function" wait_for 30 klp check
klp unload test_klp_callbacks_demo > /dev/null && rmmod test_klp_callbacks_busy

head -c 300 /lib/klp/klp_series_v1.ko > /tmp/corrupt.ko
check "bad input: not a klp-rs module, a corrupt .ko, an unknown patch" transcript "error: failed to install \`/lib/klp/livepatch_sample.ko\`

Caused by:
  it is not a klp-rs patch module

Caused by:
  no \`klp_version=\` in \`.modinfo\` (not built with klp-rs)
[exit 2]" klp install /lib/klp/livepatch_sample.ko
check "bad input: corrupt and unknown, nothing changed" sh -c "
	! klp install /tmp/corrupt.ko 2>/dev/null && ! klp load no_such_patch 2>/dev/null &&
	test \"\$(ls $lib)\" = 'klp_series_v0.ko
klp_series_v1.ko
klp_series_v2.ko' && klp patches | grep -q '^klp_series_v1 '"

klp initrd --output /tmp/boot.cpio > /dev/null
check "klp initrd: an archive that loads version 1 at boot" sh -c \
	"cpio -t < /tmp/boot.cpio 2>/dev/null | grep -qx lib/klp-rs/boot/klp_series_v1.ko"
echo "# klp-rs: archive begin"
base64 < /tmp/boot.cpio
echo "# klp-rs: archive end"
