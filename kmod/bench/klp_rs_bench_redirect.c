// SPDX-License-Identifier: GPL-2.0
/*
 * The floor of `cargo xtask bench patched-call`: int_sqrt() redirected to
 * its fixed version by a bare ftrace handler that only sets the
 * instruction pointer: the ftrace call site, the trampoline and one store,
 * which every livepatch pays, without livepatch's own bookkeeping (the
 * recursion guard, the function stack lookup, the transition check). The
 * ops are flagged as kernel/livepatch/patch.c flags a livepatch's.
 */

#include <linux/ftrace.h>
#include <linux/module.h>
#include <linux/string.h>

#include "klp_rs_bench_int_sqrt.h"

static void notrace klp_rs_bench_redirect_handler(unsigned long ip, unsigned long parent_ip,
						  struct ftrace_ops *ops,
						  struct ftrace_regs *fregs)
{
	ftrace_regs_set_instruction_pointer(fregs, (unsigned long)klp_rs_bench_int_sqrt);
}

static struct ftrace_ops klp_rs_bench_redirect_ops = {
	.func = klp_rs_bench_redirect_handler,
	.flags = FTRACE_OPS_FL_DYNAMIC |
#ifndef CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS
		 FTRACE_OPS_FL_SAVE_REGS |
#endif
		 FTRACE_OPS_FL_IPMODIFY,
};

static int __init klp_rs_bench_redirect_init(void)
{
	unsigned char name[] = "int_sqrt";
	int err;

	err = ftrace_set_filter(&klp_rs_bench_redirect_ops, name, strlen(name), 1);
	if (err) {
		pr_err("klp_rs_bench_redirect: int_sqrt has no ftrace call site (%d)\n", err);
		return err;
	}
	err = register_ftrace_function(&klp_rs_bench_redirect_ops);
	if (err)
		ftrace_free_filter(&klp_rs_bench_redirect_ops);
	return err;
}

static void __exit klp_rs_bench_redirect_exit(void)
{
	unregister_ftrace_function(&klp_rs_bench_redirect_ops);
	ftrace_free_filter(&klp_rs_bench_redirect_ops);
}

module_init(klp_rs_bench_redirect_init);
module_exit(klp_rs_bench_redirect_exit);
MODULE_DESCRIPTION("klp-rs bench: int_sqrt() redirected by a bare ftrace handler (the floor)");
MODULE_LICENSE("GPL");
