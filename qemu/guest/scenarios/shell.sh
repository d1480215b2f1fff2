# `cargo xtask qemu --shell`: an interactive shell on the serial console,
# with the helpers of ktap.sh defined (`check`, `wait_for`, `file_is`, ...).
# Its `exit` powers the guest off.
echo "# klp-rs: patch modules in /lib/klp/, the klp tool in /bin; \`exit\` powers the guest off"
ls /lib/klp/
# cttyhack makes the console the shell's controlling terminal, so that
# Ctrl-C interrupts the command running, not the shell.
ENV=/scenarios/ktap.sh setsid cttyhack sh
