// SPDX-License-Identifier: GPL-2.0
/*
 * The module klp_rs_reloc_module patches: /proc/klp_rs_reloc_target is
 * printed by klp_rs_reloc_target_show(). Its helpers and its variable are
 * static, as in a real fix: the patch reaches them through livepatch
 * relocations. The helpers are kept whole (no inlining, no IPA clones) so
 * that their symbols exist under their own names.
 */
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

static int klp_rs_reloc_target_secret = 42;
module_param_named(secret, klp_rs_reloc_target_secret, int, 0644);
MODULE_PARM_DESC(secret, "the value the patch reads (default 42)");

static __used __attribute__((__noipa__)) int klp_rs_reloc_target_double(int x)
{
	return 2 * x;
}

/* The first of two functions of this name (the other is in _twin.c). */
static __used __attribute__((__noipa__)) int klp_rs_reloc_target_twin(int x)
{
	return x + 1;
}

int klp_rs_reloc_target_show(struct seq_file *m, void *v);

noinline int klp_rs_reloc_target_show(struct seq_file *m, void *v)
{
	seq_puts(m, "klp_rs_reloc_target: original\n");
	return 0;
}

static struct proc_dir_entry *klp_rs_reloc_target_pde;

static int __init klp_rs_reloc_target_init(void)
{
	klp_rs_reloc_target_pde = proc_create_single("klp_rs_reloc_target", 0, NULL,
						     klp_rs_reloc_target_show);
	return klp_rs_reloc_target_pde ? 0 : -ENOMEM;
}

static void __exit klp_rs_reloc_target_exit(void)
{
	proc_remove(klp_rs_reloc_target_pde);
}

module_init(klp_rs_reloc_target_init);
module_exit(klp_rs_reloc_target_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("klp-rs test: a module with static helpers a patch calls");
