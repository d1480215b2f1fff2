# A real fix, live: "sysctl: Negate before converting in the int read path"
# (stable 7.2.10, kmod/fixes/sysctl_negate.diff). This guest's kernel is
# 7.3.4 built without it (`cargo xtask fix sysctl_negate`): a negative
# jiffies sysctl reads back as a huge number until the patch is loaded,
# reads right while it is, and wrong again once it is removed. Each step is
# a transcript.
. /scenarios/ktap.sh

knob=/proc/sys/kernel/printk_ratelimit
patch=klp_fix_sysctl_negate

# put VALUE: write VALUE (seconds; the kernel keeps jiffies), read it back.
put() { echo "$1" > $knob && cat $knob; }

without_fix() { put -5 && put 7; }
patched() { klp load /lib/klp/$patch.ko && put -5 && put 7 && klp -v patches; }
unpatched() { klp unload $patch && put -5; }

original=$(cat $knob)
plan 4

check "without the fix: -5 reads back as a huge negative number" transcript "-18372957097414713415
7
[exit 0]" without_fix

check "patch loaded: -5 reads back as -5, without a reboot" transcript "loaded patch \`$patch\` (version 1) from \`/lib/klp/$patch.ko\`
-5
7
NAME                   VERSION  STATE
$patch  1        enabled
  cves: -
  bugs: stable-7.2.10: sysctl: Negate before converting in the int read path
  package: none
[exit 0]" patched

check "patch removed: the bug is back" transcript "unloaded patch \`$patch\` (version 1)
-18372957097414713415
[exit 0]" unpatched

echo "$original" > $knob
check "kernel log: no WARNING, BUG or Oops" healthy_log
