// SPDX-License-Identifier: GPL-2.0
/*
 * A module whose init warns on purpose: the kernel is then tainted `W`, as
 * after a real warning, for the `packages` suite's check that
 * `klp downgrade` refuses a kernel in that state and names the taint.
 */
#include <linux/bug.h>
#include <linux/module.h>

static int __init klp_rs_test_warn_init(void)
{
	WARN(1, "klp_rs_test_warn: a warning on purpose, to taint the kernel\n");
	return 0;
}

static void __exit klp_rs_test_warn_exit(void)
{
}

module_init(klp_rs_test_warn_init);
module_exit(klp_rs_test_warn_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klp-rs test: a warning on purpose (taints the kernel W)");
