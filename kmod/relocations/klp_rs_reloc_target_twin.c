// SPDX-License-Identifier: GPL-2.0
/*
 * The second klp_rs_reloc_target_twin() of the module klp_rs_reloc_target:
 * a patch names it with sympos 2 (in symbol table order, this file's
 * symbols come after those of klp_rs_reloc_target_main.c).
 */
#include <linux/compiler.h>

static __used __attribute__((__noipa__)) int klp_rs_reloc_target_twin(int x)
{
	return x + 100;
}
