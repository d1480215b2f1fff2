// SPDX-License-Identifier: GPL-2.0
/*
 * The C livepatch of `cargo xtask bench patched-call`: int_sqrt() replaced
 * by its fixed version, as the kernel's samples/livepatch/livepatch-sample.c
 * replaces a function.
 */

#include <linux/livepatch.h>
#include <linux/module.h>

#include "klp_rs_bench_int_sqrt.h"

static struct klp_func funcs[] = {
	{
		.old_name = "int_sqrt",
		.new_func = klp_rs_bench_int_sqrt,
	},
	{}
};

static struct klp_object objs[] = {
	{
		/* name being NULL means vmlinux */
		.funcs = funcs,
	},
	{}
};

static struct klp_patch patch = {
	.mod = THIS_MODULE,
	.objs = objs,
};

static int __init klp_rs_bench_c_init(void)
{
	return klp_enable_patch(&patch);
}

static void __exit klp_rs_bench_c_exit(void)
{
}

module_init(klp_rs_bench_c_init);
module_exit(klp_rs_bench_c_exit);
MODULE_DESCRIPTION("klp-rs bench: int_sqrt() with the bench's fix, a C livepatch");
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
